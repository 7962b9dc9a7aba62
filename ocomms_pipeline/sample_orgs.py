"""Organization-scoped rows of the sample dataset: structure, messages, per-member state.

Every organization gets the same generic shape (categories, public/private/archived channels,
1:1 and group DMs, threads, reactions, pins, files, notes, scheduled messages, groups, custom
emoji, invitations, guest access, join requests), and every regular member gets their own
notifications, read states, bookmarks, reminders, notes and preferences in each organization
they belong to. Uniform shapes make tenant leaks visible: an Acme export that contains any id
built here for Globex or Initech is wrong, whatever table it sits in. The main organization
adds the hostile text and a former member on top.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ocomms_pipeline.sample_content import (
    EDGE_CASE_MESSAGES,
    big_message,
    personal_note,
    sidebar_preferences,
)

if TYPE_CHECKING:
    from ocomms_pipeline.sample_data import Rows

MAIN_ORG = "Acme"
FORMER_MEMBER = "frank"
OUTSIDER = "mallory"
SHARED_LINK = "https://example.com/shared-article?utm=ocomms&x=1"


@dataclass(frozen=True)
class OrgSpec:
    """Who is in an organization. The first member is the lead owner who creates things."""

    name: str
    slug: str
    id_prefix: str  # "-" gives an id that looks like a command-line option
    members: tuple[tuple[str, str], ...]  # (user handle, role)
    guest: str
    join_request: tuple[str, str]  # (user handle, status)
    shares_link: bool  # links the preview shared with another organization


ORG_SPECS = (
    OrgSpec(
        name="Acme",
        slug="acme",
        id_prefix="-",
        members=(
            ("alice", "owner"),
            ("bob", "owner"),
            ("carol", "admin"),
            ("dave", "member"),
            ("erin", "member"),
            ("grace", "member"),
        ),
        guest="gus",
        join_request=(OUTSIDER, "pending"),
        shares_link=True,
    ),
    OrgSpec(
        name="Globex",
        slug="globex",
        id_prefix="",
        members=(("grace", "owner"), ("alice", "member"), ("heidi", "member")),
        guest="olivia",
        join_request=(OUTSIDER, "rejected"),
        shares_link=True,
    ),
    OrgSpec(
        name="Initech",
        slug="initech",
        id_prefix="_",
        members=(("ivan", "owner"), ("alice", "admin"), ("bob", "member"), ("judy", "member")),
        guest="peggy",
        join_request=("judy", "approved"),
        shares_link=False,
    ),
)


@dataclass
class Org:
    """One organization under construction: the ids later rows refer to."""

    spec: OrgSpec
    id: str
    users: Mapping[str, str]  # every user handle -> users.id
    member_ids: dict[str, str] = field(default_factory=dict)  # handle -> members.id
    categories: list[uuid.UUID] = field(default_factory=list)
    channels: dict[str, uuid.UUID] = field(default_factory=dict)  # slug -> id
    conversations: dict[uuid.UUID, list[str]] = field(default_factory=dict)  # id -> handles
    dm_of: dict[str, uuid.UUID] = field(default_factory=dict)  # handle -> a 1:1 DM of theirs
    first_message: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)  # container
    sequences: Counter[uuid.UUID] = field(default_factory=Counter)
    thread_members: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    messages: list[uuid.UUID] = field(default_factory=list)
    thread_parent: dict[str, Any] = field(default_factory=dict)
    link_message: dict[str, Any] = field(default_factory=dict)
    attached_file: uuid.UUID | None = None
    unattached_file: uuid.UUID | None = None
    pending_invitation: str = ""
    accepted_invitation: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def regulars(self) -> list[str]:
        """Members who are not guests, lead owner first."""
        return [handle for handle, _ in self.spec.members]

    def uid(self, handle: str) -> str:
        return self.users[handle]


@dataclass(frozen=True)
class World:
    """What build() made, for SampleData."""

    orgs: dict[str, Org]
    edge_messages: dict[str, uuid.UUID]
    shared_preview: uuid.UUID


def build(rows: Rows, users: Mapping[str, str]) -> World:
    """Add the rows of all organizations; the main one gets the edge cases on top."""
    orgs = {spec.name: add_organization(rows, spec, users) for spec in ORG_SPECS}
    edge_messages: dict[str, uuid.UUID] = {}
    for org in orgs.values():
        add_channels(rows, org)
        add_org_extras(rows, org)
        add_conversations(rows, org)
        add_chatter(rows, org)
        if org.name == MAIN_ORG:
            edge_messages = add_edge_cases(rows, org)
            add_former_member_traces(rows, org, FORMER_MEMBER)
        add_files(rows, org)
        add_scheduled_messages(rows, org)
        add_access_requests(rows, org)
        for handle in org.regulars:
            add_member_state(rows, org, handle)
    shared = add_link_previews(rows, orgs)
    return World(orgs, edge_messages, shared)


def add_organization(rows: Rows, spec: OrgSpec, users: Mapping[str, str]) -> Org:
    """The organization row and its current members, the guest last."""
    org = Org(spec, rows.nanoid(f"organizations/{spec.slug}", spec.id_prefix), users)
    rows.add(
        "organizations",
        spec.name,
        id=org.id,
        name=spec.name,
        slug=spec.slug,
        logo=f"https://cdn.example.com/logos/{spec.slug}.png",
        metadata=json.dumps({"plan": "team", "region": "eu-west"}),
        created_at=rows.now(),
        join_policy="request" if spec.name == MAIN_ORG else "invite_only",
        description=f"{spec.name} Corporation — “we make everything”",
    )
    for handle, role in spec.members:
        org.member_ids[handle] = _add_member(rows, org, handle, role=role)
    org.member_ids[spec.guest] = _add_member(rows, org, spec.guest, role="member", guest=True)
    return org


def _add_member(rows: Rows, org: Org, handle: str, *, role: str, guest: bool = False) -> str:
    member_id = rows.nanoid(f"members/{org.spec.slug}/{handle}")
    at = rows.now()
    rows.add(
        "members",
        org.name,
        id=member_id,
        user_id=org.uid(handle),
        organization_id=org.id,
        role=role,
        created_at=at,
        is_guest=guest,
        guest_expires_at=at + timedelta(days=30) if guest else None,
        guest_soft_locked=False,
        guest_job_id=rows.job_id("members.guest_job_id", f"{org.spec.slug}-{handle}")
        if guest
        else None,
    )
    return member_id


def add_channels(rows: Rows, org: Org) -> None:
    """Two categories; public, uncategorised, private and archived channels with members."""
    lead = org.uid(org.regulars[0])
    for n, name in enumerate(("Team ✨", "Projects")):
        at = rows.now()
        category = rows.add(
            "channel_categories",
            org.name,
            organization_id=org.id,
            name=name,
            sort_order=n,
            created_by=lead,
            created_at=at,
            updated_at=at,
        )
        org.categories.append(category["id"])
    layout = (
        ("general", org.categories[0], False, False),
        ("random", None, False, False),
        ("leads", org.categories[1], True, False),
        ("old-launch", org.categories[1], False, True),
    )
    for n, (slug, category_id, private, archived) in enumerate(layout):
        org.channels[slug] = _add_channel(rows, org, slug, n, category_id, private, archived)
    _add_channel_members(rows, org)


def _add_channel(
    rows: Rows,
    org: Org,
    slug: str,
    sort_order: int,
    category_id: uuid.UUID | None,
    private: bool,
    archived: bool,
) -> uuid.UUID:
    at = rows.now()
    lead = org.uid(org.regulars[0])
    channel = rows.add(
        "channels",
        org.name,
        organization_id=org.id,
        name=slug.replace("-", " "),
        slug=slug,
        description=f"#{slug} of {org.name}",
        topic="Launch 🚀" if slug == "general" else None,
        is_private=private,
        is_archived=archived,
        archived_at=at + timedelta(days=1) if archived else None,
        archived_by=lead if archived else None,
        category_id=category_id,
        sort_order=sort_order,
        created_by=lead,
        created_at=at,
        updated_at=at,
    )
    return channel["id"]


def _add_channel_members(rows: Rows, org: Org) -> None:
    """general has everyone incl. the guest, random the regulars, leads two, the archive one."""
    seats = {
        "general": [*org.regulars, org.spec.guest],
        "random": org.regulars,
        "leads": org.regulars[:2],
        "old-launch": org.regulars[:1],
    }
    for slug, handles in seats.items():
        for n, handle in enumerate(handles):
            rows.add(
                "channel_members",
                org.name,
                channel_id=org.channels[slug],
                user_id=org.uid(handle),
                role="owner" if n == 0 else "member",
                joined_at=rows.now(),
            )


def add_org_extras(rows: Rows, org: Org) -> None:
    """Channel notes, guest channel access, a user group and a custom emoji."""
    lead, second = org.uid(org.regulars[0]), org.uid(org.regulars[1])
    at = rows.now()
    rows.add(
        "channel_notes",
        org.name,
        channel_id=org.channels["general"],
        content=f"## {org.name} notes\n\n*Be kind* — ✅ rules apply.",
        version=3,
        updated_by=lead,
        created_at=at,
        updated_at=at + timedelta(hours=2),
    )
    rows.add(
        "guest_channel_access",
        org.name,
        member_id=org.member_ids[org.spec.guest],
        channel_id=org.channels["general"],
        granted_at=rows.now(),
    )
    _add_user_group(rows, org, [lead, second])
    rows.add(
        "custom_emojis",
        org.name,
        workspace_id=org.id,
        name="party",  # the same name in every organization: unique per workspace only
        filename="party.gif",
        path=f"emoji/{org.id}/party.gif",
        mime_type="image/gif",
        size_bytes=48_213,
        is_animated=True,
        uploaded_by=second,
        created_at=rows.now(),
    )


def _add_user_group(rows: Rows, org: Org, user_ids: list[str]) -> None:
    at = rows.now()
    group = rows.add(
        "user_groups",
        org.name,
        organization_id=org.id,
        name="Engineering",
        handle="eng",
        description="Builders 🛠️",
        created_by=user_ids[0],
        created_at=at,
        updated_at=at,
    )
    for user_id in user_ids:
        rows.add("user_group_members", org.name, group_id=group["id"], user_id=user_id, added_at=at)


def add_conversations(rows: Rows, org: Org) -> None:
    """A 1:1 DM between the lead and each other regular, and one group DM of three."""
    lead, *others = org.regulars
    groups = [[lead, other] for other in others] + [org.regulars[:3]]
    for handles in groups:
        at = rows.now()
        conversation = rows.add(
            "conversations",
            org.name,
            organization_id=org.id,
            is_group=len(handles) > 2,
            name="Project Ω" if len(handles) > 2 else None,
            created_by=org.uid(handles[0]),
            created_at=at,
            updated_at=at,
        )
        org.conversations[conversation["id"]] = handles
        for handle in handles:
            rows.add(
                "conversation_participants",
                org.name,
                conversation_id=conversation["id"],
                user_id=org.uid(handle),
                joined_at=at,
            )
            if len(handles) == 2:
                org.dm_of.setdefault(handle, conversation["id"])


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


def add_access_requests(rows: Rows, org: Org) -> None:
    """Invitations (pending ids are accept-link tokens), guest invites and a join request."""
    lead = org.uid(org.regulars[0])
    org.pending_invitation = rows.nanoid(f"invitations/{org.spec.slug}/pending", "CANARYinv")
    rows.canaries["invitations.id"].append(org.pending_invitation)
    org.accepted_invitation = rows.nanoid(f"invitations/{org.spec.slug}/accepted")
    invitations = (
        (org.pending_invitation, f"newcomer+{org.spec.slug}@example.net", "pending"),
        (org.accepted_invitation, f"{org.regulars[-1]}@example.com", "accepted"),
    )
    for invitation_id, email, status in invitations:
        at = rows.now()
        rows.add(
            "invitations",
            org.name,
            id=invitation_id,
            email=email,
            organization_id=org.id,
            inviter_id=lead,
            role="member",
            status=status,
            expires_at=at + timedelta(days=7),
            created_at=at,
        )
    _add_guest_invites(rows, org)
    _add_join_request(rows, org)


def _add_guest_invites(rows: Rows, org: Org) -> None:
    lead, guest = org.uid(org.regulars[0]), org.uid(org.spec.guest)
    for used in (True, False):
        at = rows.now()
        rows.add(
            "guest_invites",
            org.name,
            organization_id=org.id,
            token=rows.secret("guest_invites.token", f"{org.spec.slug}-{used}"),
            created_by=lead,
            expires_at=at + timedelta(days=14),
            channel_ids=json.dumps([str(org.channels["general"])]),
            used_by=guest if used else None,
            used_at=at + timedelta(hours=1) if used else None,
            created_at=at,
        )


def _add_join_request(rows: Rows, org: Org) -> None:
    handle, status = org.spec.join_request
    at = rows.now()
    reviewed = status != "pending"
    rows.add(
        "workspace_join_requests",
        org.name,
        id=rows.nanoid(f"workspace_join_requests/{org.spec.slug}/{handle}"),
        user_id=org.uid(handle),
        organization_id=org.id,
        message="Please let me in — I'm on the 🚀 team",
        status=status,
        rejection_reason="Not an employee" if status == "rejected" else None,
        created_at=at,
        reviewed_at=at + timedelta(hours=3) if reviewed else None,
        reviewed_by=org.uid(org.regulars[0]) if reviewed else None,
    )


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
