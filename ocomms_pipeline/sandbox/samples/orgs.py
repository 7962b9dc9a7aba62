"""Organization-scoped structure of the sample dataset, and the order it is built in.

Every organization gets the same generic shape (members and a guest, categories,
public/private/archived channels, notes, a user group, custom emoji, 1:1 and group DMs);
`build` then adds messages (`sample_messages`), access requests (`sample_access`) and each
regular member's own state (`sample_member_state`) in a fixed order, because ids and
timestamps come from creation order. Uniform shapes make tenant leaks visible: an Acme export
that contains any id built here for Globex or Initech is wrong, whatever table it sits in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ocomms_pipeline.sandbox.samples.access import add_access_requests
from ocomms_pipeline.sandbox.samples.member_state import add_member_state
from ocomms_pipeline.sandbox.samples.messages import (
    add_chatter,
    add_edge_cases,
    add_files,
    add_former_member_traces,
    add_link_previews,
    add_scheduled_messages,
)
from ocomms_pipeline.sandbox.samples.rows import Rows
from ocomms_pipeline.sandbox.samples.specs import (
    FORMER_MEMBER,
    MAIN_ORG,
    ORG_SPECS,
    OUTSIDER,
    Org,
    OrgSpec,
)

# sample_data reads these names from here: the cast constants are re-exported on purpose.
__all__ = ["FORMER_MEMBER", "MAIN_ORG", "OUTSIDER", "World", "build"]


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
