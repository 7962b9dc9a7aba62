"""Rows about people: global user rows, their secrets, and each member's own workspace rows.

Users are global in ocomms and shared between organizations, and their login secrets
(accounts, sessions) sit beside them: the export reads those secrets to prove none leaks, so
the benchmark pays that cost too. Per-member rows (notes, sidebar layout as ``jsonb``) and
the organization's small extras (custom emoji, groups, invitations, previews, scheduled
messages) complete the set of exported tables.
"""

from __future__ import annotations

import json

import numpy as np

from bench.generators.messages import People, Rows, _picks, _place, line
from bench.generators.organization import BASE_TIME, Organization, UuidPool, text_ids
from bench.generators.text import copy_text

_T0 = str(np.datetime_as_string(BASE_TIME, unit="us"))
_FIRST = ["Ana", "Björn", "Chloé", "Дмитрий", "Eitan", "Fatima", "Günther", "陈", "Ines", "Jo"]
_LAST = ["O'Neil", "Müller", "Ngô", "Ivanova", "Smith", "García", "Kowalski", "山田", "Dubois"]


def users(rng: np.random.Generator, count: int) -> tuple[list[str], list[Rows]]:
    """Global users with profiles, statuses, a password account and two sessions each."""
    ids = text_ids(rng, count, "usr")
    profile_ids, status_ids = UuidPool(rng, count), UuidPool(rng, count)
    session_ids = UuidPool(rng, 2 * count)
    secrets = rng.bytes(48 * count).hex()
    user_rows, profile_rows, status_rows, account_rows, session_rows = [], [], [], [], []
    for n, user in enumerate(ids):
        name = copy_text(f'{_FIRST[n % len(_FIRST)]} "{n}" {_LAST[n % len(_LAST)]}')
        user_rows.append(line(user, name, f"user{n}@example.test", "t", None, _T0, _T0))
        profile_rows.append(line(profile_ids[n], user, name, f"Bio of {name} ✨", _T0, _T0))
        if n % 2 == 0:
            status_rows.append(line(status_ids[n], user, "🌴", "En vacances", _T0, _T0))
        secret = secrets[96 * n : 96 * n + 96]
        account_rows.append(
            line(f"acc{user[3:]}", user, user, "credential", f"$argon2id${secret}", _T0, _T0)
        )
        for k in range(2):
            token = secret[48 * k : 48 * k + 48]
            session_rows.append(
                line(session_ids[2 * n + k], user, token, "2027-01-01T00:00:00", _T0, _T0)
            )
    return ids, [
        ("users", ("id", "name", "email", "email_verified", "image", "created_at", "updated_at"),
         iter(user_rows)),
        ("profiles", ("id", "user_id", "display_name", "bio", "created_at", "updated_at"),
         iter(profile_rows)),
        ("user_statuses", ("id", "user_id", "emoji", "text", "created_at", "updated_at"),
         iter(status_rows)),
        ("accounts", ("id", "user_id", "account_id", "provider_id", "password", "created_at",
         "updated_at"), iter(account_rows)),
        ("sessions", ("id", "user_id", "token", "expires_at", "created_at", "updated_at"),
         iter(session_rows)),
    ]  # fmt: skip


def member_rows(rng: np.random.Generator, org: Organization, people: People) -> list[Rows]:
    """Each member's personal note and sidebar layout (``jsonb``) in this organization."""
    count = len(org.member_users)
    note_ids, layout_ids = UuidPool(rng, count), UuidPool(rng, count)
    order = [org.channels[c] for c in range(min(5, len(org.channels)))]
    notes, layouts = [], []
    for n in range(count):
        body = copy_text(f"## Notes {n}\n- [ ] relire «docs»\n- [x] 完了")
        notes.append(line(note_ids[n], people[n], org.id, body, 2, _T0, _T0))
        layout = {"version": 2, "channelOrder": order, "labels": {"日本語": "ラベル"}, "n": n}
        text = copy_text(json.dumps(layout, ensure_ascii=False))
        layouts.append(line(layout_ids[n], people[n], org.id, text, _T0, _T0))
    return [
        ("personal_notes", ("id", "user_id", "organization_id", "content", "version",
         "created_at", "updated_at"), iter(notes)),
        ("user_sidebar_preferences", ("id", "user_id", "organization_id", "preferences",
         "created_at", "updated_at"), iter(layouts)),
    ]  # fmt: skip


def extras(rng: np.random.Generator, org: Organization, people: People) -> list[Rows]:
    """Custom emoji, user groups, invitations, link previews and scheduled messages."""
    emoji_ids, group_ids = UuidPool(rng, 10), UuidPool(rng, 3)
    group_members = [(g, m) for g in range(3) for m in range(g, len(org.member_users), 4)]
    group_member_ids = UuidPool(rng, len(group_members))
    owner, t0z = people[0], _T0 + "+00"
    return [
        ("custom_emojis", ("id", "workspace_id", "name", "filename", "path", "mime_type",
         "size_bytes", "uploaded_by", "created_at"), iter([
            line(emoji_ids[k], org.id, f"party_{k}", f"{emoji_ids[k]}.png",
                 f"emoji/{org.id}/{emoji_ids[k]}.png", "image/png", 2048 + k, owner, t0z)
            for k in range(10)])),
        ("user_groups", ("id", "organization_id", "name", "handle", "created_by", "created_at",
         "updated_at"), iter([
            line(group_ids[g], org.id, f"Équipe {g}", f"team-{g}", owner, _T0, _T0)
            for g in range(3)])),
        ("user_group_members", ("id", "group_id", "user_id", "added_at"), iter([
            line(group_member_ids[n], group_ids[g], people[m], _T0)
            for n, (g, m) in enumerate(group_members)])),
        ("invitations", ("id", "email", "organization_id", "inviter_id", "expires_at",
         "created_at"), iter([
            line(f"inv_{org.id[3:13]}_{k:09d}", f"invitee{k}@example.test", org.id, owner,
                 "2027-01-01T00:00:00", _T0)
            for k in range(10)])),
        *_previews(rng, org),
        _scheduled(rng, org, people),
    ]  # fmt: skip


def _previews(rng: np.random.Generator, org: Organization) -> list[Rows]:
    pool = max(5, org.messages // 2_000)
    picked = _picks(rng, org, 0.01)
    links = sorted(
        {(int(m), int(p)) for m, p in zip(picked, rng.integers(0, pool, len(picked)), strict=True)}
    )
    preview_ids, link_ids = UuidPool(rng, pool), UuidPool(rng, len(links))
    expires = "2027-06-01T00:00:00.000000+00"
    return [
        ("link_previews", ("id", "url", "title", "description", "site_name", "fetched_at",
         "expires_at"), iter([
            line(preview_ids[p], f"https://example.test/{org.id}/article/{p}",
                 f"Article {p} — «titre» 📰", "Description with ünïcode", "Example", _T0 + "+00",
                 expires)
            for p in range(pool)])),
        ("message_link_previews", ("id", "message_id", "link_preview_id", "position"), iter([
            line(link_ids[n], org.message_ids[m], preview_ids[p], 0)
            for n, (m, p) in enumerate(links)])),
    ]  # fmt: skip


def _scheduled(rng: np.random.Generator, org: Organization, people: People) -> Rows:
    picked = _picks(rng, org, 0.0005).tolist()
    ids = UuidPool(rng, len(picked))
    rows = []
    for n, m in enumerate(picked):
        channel, conversation = _place(org, m)
        rows.append(
            line(ids[n], people[int(org.author_of[m])], f"Rappel programmé {n} ⏰", channel,
                 conversation, "2027-02-01T09:00:00+00", "pending", _T0 + "+00", _T0 + "+00")
        )  # fmt: skip
    columns = ("id", "author_id", "content", "channel_id", "conversation_id", "scheduled_for",
               "status", "created_at", "updated_at")  # fmt: skip
    return "scheduled_messages", columns, iter(rows)
