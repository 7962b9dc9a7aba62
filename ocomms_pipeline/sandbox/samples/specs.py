"""Who is in each organization of the sample dataset, and the record builders fill in.

The cast (specs, the main organization, the former member, the outsider, the shared link) and
the `Org` under construction are what every sample builder refers to. They live apart from the
builders so that the organization, message and member-state modules can all use them without
importing one another.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
