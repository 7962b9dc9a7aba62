"""Messages of the sample dataset and what hangs off them, per organization.

Threads, reactions and pins, the main organization's hostile and edited/deleted messages, a
former member's leftover content, files, scheduled messages and link previews. `post` keeps
per-container sequences and reply counts as ocomms does, so exported values can be asserted
exactly.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ocomms_pipeline.sandbox.samples.content import EDGE_CASE_MESSAGES, big_message
from ocomms_pipeline.sandbox.samples.rows import Rows
from ocomms_pipeline.sandbox.samples.specs import MAIN_ORG, SHARED_LINK, Org


def post(
    rows: Rows,
    org: Org,
    handle: str,
    content: str,
    *,
    channel: uuid.UUID | None = None,
    conversation: uuid.UUID | None = None,
    parent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message with the next sequence of its channel or conversation.

    A reply shares its parent's container, bumps the parent's reply_count and makes its
    author (and the parent's) a thread participant, as ocomms does.
    """
    if parent is not None:
        channel, conversation = parent["channel_id"], parent["conversation_id"]
    container = channel or conversation
    assert container is not None, "a message needs a channel or a conversation"
    org.sequences[container] += 1
    at = rows.now()
    message = rows.add(
        "messages",
        org.name,
        content=content,
        author_id=org.uid(handle),
        channel_id=channel,
        conversation_id=conversation,
        parent_id=parent["id"] if parent else None,
        reply_count=0,
        sequence=org.sequences[container],
        deleted_at=None,
        created_at=at,
        updated_at=at,
    )
    org.messages.append(message["id"])
    org.first_message.setdefault(container, message)
    if parent is not None:
        parent["reply_count"] += 1
        _join_thread(rows, org, parent, parent["author_id"])
        _join_thread(rows, org, parent, message["author_id"])
    return message


def _join_thread(rows: Rows, org: Org, parent: dict[str, Any], user_id: str) -> None:
    if (parent["id"], user_id) in org.thread_members:
        return
    org.thread_members.add((parent["id"], user_id))
    at = rows.now()
    rows.add(
        "thread_participants",
        org.name,
        thread_id=parent["id"],
        user_id=user_id,
        last_read_at=at,
        joined_at=at,
    )


def react(rows: Rows, org: Org, message: dict[str, Any], handle: str, emoji: str) -> None:
    rows.add(
        "reactions",
        org.name,
        message_id=message["id"],
        user_id=org.uid(handle),
        emoji=emoji,
        created_at=rows.now(),
    )


def add_chatter(rows: Rows, org: Org) -> None:
    """Ordinary traffic: a pinned thread in #general, a link, posts elsewhere, DM threads."""
    lead, second, third, *_ = org.regulars
    general = org.channels["general"]
    parent = post(rows, org, lead, f"Welcome to {org.name}! 👋 Say hi.", channel=general)
    org.thread_parent = parent
    first_reply = post(rows, org, second, f"Hi from {second} 🙌", parent=parent)
    post(rows, org, third, "Glad to be here.", parent=parent)
    post(rows, org, org.spec.guest, "Hello, guest here 👀", channel=general)
    link = SHARED_LINK if org.spec.shares_link else "(no shared link)"
    text = f"Roadmap: https://{org.spec.slug}.example.com/roadmap and {link}"
    org.link_message = post(rows, org, second, text, channel=general)
    for slug in ("random", "leads", "old-launch"):
        post(rows, org, lead, f"First post in #{slug}", channel=org.channels[slug])
    for conversation, handles in org.conversations.items():
        opener = post(rows, org, handles[0], f"Hey {handles[1]}!", conversation=conversation)
        post(rows, org, handles[1], "Hey! ☕ coffee?", conversation=conversation)
        if len(handles) > 2:
            post(rows, org, handles[2], "Count me in (thread)", parent=opener)
    react(rows, org, parent, second, "👍")
    react(rows, org, parent, third, ":party:")
    react(rows, org, parent, second, "🎉")
    react(rows, org, first_reply, lead, "❤️")
    rows.add(
        "pinned_messages",
        org.name,
        message_id=parent["id"],
        channel_id=general,
        pinned_by=org.uid(lead),
        pinned_at=rows.now(),
    )


def add_edge_cases(rows: Rows, org: Org) -> dict[str, uuid.UUID]:
    """Hostile text, the 100 KiB message, an edited and a soft-deleted message in #general."""
    general = org.channels["general"]
    authors = itertools.cycle(org.regulars)
    ids = {
        label: post(rows, org, next(authors), text, channel=general)["id"]
        for label, text in EDGE_CASE_MESSAGES.items()
    }
    ids["big"] = post(rows, org, "carol", big_message(), channel=general)["id"]
    edited = post(rows, org, "dave", "Stand-up at 10:00 (edited: 10:30) ✏️", channel=general)
    edited["updated_at"] = edited["created_at"] + timedelta(minutes=5, microseconds=654_321)
    deleted = post(rows, org, "erin", "Oops, wrong channel 🙈", channel=general)
    deleted["deleted_at"] = deleted["created_at"] + timedelta(seconds=42, microseconds=7)
    deleted["updated_at"] = deleted["deleted_at"]
    ids["edited"], ids["deleted"] = edited["id"], deleted["id"]
    return ids


def add_former_member_traces(rows: Rows, org: Org, handle: str) -> None:
    """Content of someone who has left: their messages, replies and reactions stay."""
    general = org.channels["general"]
    post(rows, org, handle, "My last day — thanks all! 👋", channel=general)
    post(rows, org, handle, "Handing over to Carol.", parent=org.thread_parent)
    react(rows, org, org.thread_parent, handle, "🫡")
    react(rows, org, org.link_message, handle, "👀")


def add_files(rows: Rows, org: Org) -> None:
    """A file on the pinned thread, an image in a DM, and an upload attached to nothing."""
    lead, second = org.regulars[0], org.regulars[1]
    first_dm = next(iter(org.conversations))
    files = (
        ("report.pdf", "Q1 report ✓ (final).pdf", "application/pdf", org.thread_parent, lead),
        ("photo.png", "IMG_0001.png", "image/png", org.first_message[first_dm], lead),
        ("draft.txt", "draft notes.txt", "text/plain", None, second),
    )
    for filename, original, mime, message, handle in files:
        row = rows.add(
            "file_attachments",
            org.name,
            message_id=message["id"] if message else None,
            filename=f"{uuid.uuid5(uuid.NAMESPACE_URL, org.id + filename)}-{filename}",
            original_name=original,
            mime_type=mime,
            size_bytes=123_456 + len(filename),
            path=f"uploads/{org.id}/{filename}",
            is_image=mime.startswith("image/"),
            uploaded_by=org.uid(handle),
            created_at=rows.now(),
        )
        if message is org.thread_parent:
            org.attached_file = row["id"]
        elif message is None:
            org.unattached_file = row["id"]


def add_scheduled_messages(rows: Rows, org: Org) -> None:
    """Pending, sent and failed scheduled messages; the queue job id is internal."""
    lead = org.regulars[0]
    first_dm = next(iter(org.conversations))
    plans = (
        ("pending", org.channels["general"], None, None),
        ("sent", None, first_dm, org.first_message[first_dm]["id"]),
        ("failed", org.channels["old-launch"], None, None),
    )
    for status, channel, conversation, message_id in plans:
        at = rows.now()
        rows.add(
            "scheduled_messages",
            org.name,
            author_id=org.uid(lead),
            content=f"Scheduled ({status}) reminder ⏰",
            channel_id=channel,
            conversation_id=conversation,
            scheduled_for=at + timedelta(days=1),
            status=status,
            job_id=rows.job_id("scheduled_messages.job_id", f"{org.spec.slug}-{status}"),
            message_id=message_id,
            error="channel is archived" if status == "failed" else None,
            sent_at=at + timedelta(days=1, seconds=1) if status == "sent" else None,
            created_at=at,
            updated_at=at,
        )


def add_link_previews(rows: Rows, orgs: Mapping[str, Org]) -> uuid.UUID:
    """Previews are global, deduplicated by URL: one of them serves two organizations."""
    at = rows.now()
    shared = rows.add(
        "link_previews",
        url=SHARED_LINK,
        title="Shared article — “quoted” title",
        description="Read by two organizations",
        image_url="https://example.com/og.png",
        site_name="Example",
        fetched_at=at,
        expires_at=at + timedelta(days=7),
    )
    for org in orgs.values():
        own = rows.add(
            "link_previews",
            url=f"https://{org.spec.slug}.example.com/roadmap",
            title=f"{org.name} roadmap",
            fetched_at=at,
            expires_at=at + timedelta(days=7),
        )
        previews = [own["id"]] + ([shared["id"]] if org.spec.shares_link else [])
        for position, preview_id in enumerate(previews):
            rows.add(
                "message_link_previews",
                org.name,
                message_id=org.link_message["id"],
                link_preview_id=preview_id,
                position=position,
                hidden=position > 0 and org.name != MAIN_ORG,
            )
    return shared["id"]
