"""Each regular member's own rows in each organization they belong to.

Notifications, read states, notification settings, bookmarks, reminders, personal notes and
sidebar preferences belong to a user but are scoped to an organization, so users in several
organizations have such rows in several tenants: exactly what an exporter must split right.
"""

from __future__ import annotations

from datetime import timedelta

from ocomms_pipeline.sandbox.samples.content import personal_note, sidebar_preferences
from ocomms_pipeline.sandbox.samples.rows import Rows
from ocomms_pipeline.sandbox.samples.specs import Org


def add_member_state(rows: Rows, org: Org, handle: str) -> None:
    """A member's own rows in this organization: the ones that span tenants per user."""
    _add_notifications(rows, org, handle)
    _add_read_state(rows, org, handle)
    _add_saved_items(rows, org, handle)
    _add_preferences(rows, org, handle)


def _add_notifications(rows: Rows, org: Org, handle: str) -> None:
    """One via a channel, one via a conversation, one that names only a message."""
    lead, second = org.regulars[0], org.regulars[1]
    actor = org.uid(second if handle == lead else lead)
    dm = org.dm_of[handle]
    targets = (
        ("mention", org.link_message["id"], org.channels["general"], None, actor),
        ("dm", org.first_message[dm]["id"], None, dm, actor),
        ("thread_reply", org.thread_parent["id"], None, None, None),
    )
    for n, (kind, message_id, channel, conversation, actor_id) in enumerate(targets):
        at = rows.now()
        rows.add(
            "notifications",
            org.name,
            user_id=org.uid(handle),
            type=kind,
            message_id=message_id,
            channel_id=channel,
            conversation_id=conversation,
            actor_id=actor_id,
            content=f"{kind} in {org.name}: “{handle}” ✉️",
            read_at=at if n == 0 else None,
            created_at=at,
        )


def _add_read_state(rows: Rows, org: Org, handle: str) -> None:
    user_id = org.uid(handle)
    places = ((org.channels["general"], None, None), (None, org.dm_of[handle], 1))
    for channel, conversation, unread_at in places:
        rows.add(
            "channel_read_state",
            org.name,
            user_id=user_id,
            channel_id=channel,
            conversation_id=conversation,
            last_read_sequence=org.sequences[channel or conversation] - 1,
            marked_unread_at_sequence=unread_at,
            updated_at=rows.now(),
        )
    rows.add(
        "channel_notification_settings",
        org.name,
        channel_id=org.channels["general"],
        user_id=user_id,
        mode="mentions" if handle == org.regulars[0] else "all",
        updated_at=rows.now(),
    )


def _add_saved_items(rows: Rows, org: Org, handle: str) -> None:
    """Bookmarks of a message and of a file, and a recurring reminder on the thread."""
    user_id = org.uid(handle)
    for kind, message_id, file_id in (
        ("message", org.thread_parent["id"], None),
        ("file", None, org.attached_file),
    ):
        rows.add(
            "bookmarks",
            org.name,
            user_id=user_id,
            type=kind,
            message_id=message_id,
            file_id=file_id,
            note=f"saved {kind} 🔖",
            created_at=rows.now(),
        )
    at = rows.now()
    rows.add(
        "reminders",
        org.name,
        user_id=user_id,
        message_id=org.thread_parent["id"],
        note="Follow up ⏰",
        remind_at=at + timedelta(days=1),
        status="pending",
        recurring_pattern="weekly" if handle == org.regulars[0] else None,
        job_id=rows.job_id("reminders.job_id", f"{org.spec.slug}-{handle}"),
        created_at=at,
        updated_at=at,
    )


def _add_preferences(rows: Rows, org: Org, handle: str) -> None:
    user_id = org.uid(handle)
    at = rows.now()
    rows.add(
        "personal_notes",
        org.name,
        user_id=user_id,
        organization_id=org.id,
        content=personal_note(org.name),
        version=2,
        created_at=at,
        updated_at=at,
    )
    channel_ids = [str(channel) for channel in org.channels.values()]
    rows.add(
        "user_sidebar_preferences",
        org.name,
        user_id=user_id,
        organization_id=org.id,
        preferences=sidebar_preferences(org.name, channel_ids),
        created_at=at,
        updated_at=at,
    )
    rows.add(
        "user_category_collapse_states",
        org.name,
        user_id=user_id,
        category_id=org.categories[1],
        is_collapsed=True,
        updated_at=at,
    )
