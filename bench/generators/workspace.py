"""Rows of the workspace around the messages: the organization, members, channels, threads.

These tables grow with members and channels rather than with messages, except thread
followers and read positions; they are small next to messages but they are many, and each
costs an export a query, so the benchmark's organization has every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from bench.generators.messages import People, Rows, _picks, _place, line
from bench.generators.organization import BASE_TIME, Organization, UuidPool, timestamps
from bench.generators.text import copy_text

_T0 = str(np.datetime_as_string(BASE_TIME, unit="us"))


def organization(org: Organization) -> Rows:
    columns = ("id", "name", "slug", "created_at", "join_policy", "description")
    text = copy_text(f"{org.name} — équipe 日本 🚀")
    row = line(org.id, text, org.name.lower(), _T0, "invite_only", text)
    return "organizations", columns, iter([row])


def members(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    ids = [f"mem_{org.id[3:13]}_{n:09d}" for n in range(len(org.member_users))]
    guests = rng.random(len(ids)) < 0.03

    def lines() -> Iterator[str]:
        for n, member_id in enumerate(ids):
            role = "owner" if n == 0 else "admin" if n < 3 else "member"
            guest = "t" if guests[n] and n >= 3 else "f"
            yield line(member_id, people[n], org.id, role, _T0, guest)

    columns = ("id", "user_id", "organization_id", "role", "created_at", "is_guest")
    return "members", columns, lines()


def channels(rng: np.random.Generator, org: Organization, people: People) -> list[Rows]:
    categories = UuidPool(rng, 4)
    owner = people[0]
    category_rows = [
        line(categories[k], org.id, copy_text(name), k, owner, _T0, _T0)
        for k, name in enumerate(["Engineering", "Équipe", "社内", "Random 🎲"])
    ]
    channel_rows, note_rows = [], []
    notes = UuidPool(rng, len(org.channels))
    for c in range(len(org.channels)):
        topic = copy_text(f"Topic of channel {c}: «déploiement» 🚢\ttabbed")
        channel_rows.append(
            line(
                org.channels[c],
                org.id,
                f"channel-{c}",
                f"channel-{c}",
                topic,
                topic,
                "t" if c % 7 == 6 else "f",
                categories[c % 4],
                c,
                owner,
                _T0,
                _T0,
            )
        )
        if c % 3 == 0:
            body = copy_text(f"# Notes for channel {c}\n- agenda\n- 決定事項")
            note_rows.append(line(notes[c], org.channels[c], body, 3, owner, _T0, _T0))
    return [
        ("channel_categories", ("id", "organization_id", "name", "sort_order", "created_by",
         "created_at", "updated_at"), iter(category_rows)),
        ("channels", ("id", "organization_id", "name", "slug", "description", "topic",
         "is_private", "category_id", "sort_order", "created_by", "created_at", "updated_at"),
         iter(channel_rows)),
        ("channel_notes", ("id", "channel_id", "content", "version", "updated_by", "created_at",
         "updated_at"), iter(note_rows)),
    ]  # fmt: skip


def memberships(rng: np.random.Generator, org: Organization, people: People) -> list[Rows]:
    """Channel members, conversation participants and their read positions."""
    pairs = [(c, int(m)) for c in org.containers for m in c.members]
    ids, reads, settings = UuidPool(rng, len(pairs)), UuidPool(rng, len(pairs)), []
    read_upto = rng.random(len(pairs))
    channel_rows, participant_rows, read_rows = [], [], []
    for n, (container, member) in enumerate(pairs):
        sequence = int(container.last_sequence * read_upto[n])
        if container.kind == "channel":
            channel = org.channels[container.index]
            channel_rows.append(line(ids[n], channel, people[member], "member", _T0))
            read_rows.append(line(reads[n], people[member], channel, None, sequence, _T0))
            if n % 10 == 0:
                settings.append(line(reads[n], channel, people[member], "mentions", _T0))
        else:
            conversation = org.conversations[container.index]
            participant_rows.append(line(ids[n], conversation, people[member], _T0))
            read_rows.append(line(reads[n], people[member], None, conversation, sequence, _T0))
    conversation_rows = [
        line(org.conversations[c.index], org.id, "t" if len(c.members) > 2 else "f",
             None, people[int(c.members[0])], _T0, _T0)
        for c in org.containers if c.kind == "conversation"
    ]  # fmt: skip
    return [
        ("conversations", ("id", "organization_id", "is_group", "name", "created_by",
         "created_at", "updated_at"), iter(conversation_rows)),
        ("channel_members", ("id", "channel_id", "user_id", "role", "joined_at"),
         iter(channel_rows)),
        ("conversation_participants", ("id", "conversation_id", "user_id", "joined_at"),
         iter(participant_rows)),
        ("channel_read_state", ("id", "user_id", "channel_id", "conversation_id",
         "last_read_sequence", "updated_at"), iter(read_rows)),
        ("channel_notification_settings", ("id", "channel_id", "user_id", "mode", "updated_at"),
         iter(settings)),
    ]  # fmt: skip


def threads(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    ids = UuidPool(rng, len(org.thread_followers))

    def lines() -> Iterator[str]:
        for n, (parent, member) in enumerate(org.thread_followers):
            at = timestamps(BASE_TIME, org.created_us[parent : parent + 1])[0]
            yield line(ids[n], org.message_ids[parent], people[member], at, at)

    columns = ("id", "thread_id", "user_id", "last_read_at", "joined_at")
    return "thread_participants", columns, lines()


def saved(rng: np.random.Generator, org: Organization, people: People) -> list[Rows]:
    """Pins, bookmarks and reminders: a few per thousand messages."""
    pins = [m for m in _picks(rng, org, 0.0005).tolist() if _place(org, m)[0] is not None]
    pins = sorted(set(pins))
    marked = sorted({(int(org.author_of[m]), m) for m in _picks(rng, org, 0.002).tolist()})
    reminded = _picks(rng, org, 0.001).tolist()
    pin_ids, mark_ids, remind_ids = (UuidPool(rng, len(x)) for x in (pins, marked, reminded))
    remind_at = "2026-12-01T09:00:00.000000+00"
    return [
        ("pinned_messages", ("id", "message_id", "channel_id", "pinned_by", "pinned_at"), iter([
            line(pin_ids[n], org.message_ids[m], _place(org, m)[0], people[0], _T0)
            for n, m in enumerate(pins)])),
        ("bookmarks", ("id", "user_id", "type", "message_id", "note", "created_at"), iter([
            line(mark_ids[n], people[u], "message", org.message_ids[m], "à relire 📌", _T0 + "+00")
            for n, (u, m) in enumerate(marked)])),
        ("reminders", ("id", "user_id", "message_id", "note", "remind_at", "status", "job_id",
         "created_at", "updated_at"), iter([
            line(remind_ids[n], people[int(org.author_of[m])], org.message_ids[m], "follow up",
                 remind_at, "pending", f"job-{n}", _T0 + "+00", _T0 + "+00")
            for n, m in enumerate(reminded)])),
    ]  # fmt: skip
