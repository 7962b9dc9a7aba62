"""The owner gate: may this principal export this organization?

The answer is read from the database, never from the caller: run config and tags are claims
(open-source Dagster has no login). The same check runs twice, in the gate op before any table
is touched and again inside the export's own snapshot, so a member demoted between the two
cannot receive data that the snapshot says they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ocomms_pipeline import catalog, identifiers, settings
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.identifiers import Principal
from ocomms_pipeline.postgres.quoting import quote
from ocomms_pipeline.postgres.snapshots import open_snapshot


class Reader(Protocol):
    def fetch_one(self, query: str, params: dict | None = None) -> tuple | None: ...


@dataclass(frozen=True)
class Grant:
    """A decision to export: who, what, and in which capacity."""

    organization_id: str
    organization_name: str
    principal: Principal
    capacity: str  # "owner" or "operator"


def _organization_query() -> str:
    rule = catalog.OWNERSHIP
    return (
        f"SELECT {quote(rule.organization_name)} FROM {quote(rule.organizations)} "
        f"WHERE {quote(rule.organization_key)} = %(org)s"
    )


def _membership_query() -> str:
    rule = catalog.OWNERSHIP
    return (
        f"SELECT {quote(rule.member_role)}, {quote(rule.member_is_guest)} "
        f"FROM {quote(rule.members)} WHERE {quote(rule.member_organization)} = %(org)s "
        f"AND {quote(rule.member_user)} = %(user)s"
    )


def authorize(reader: Reader, organization_id: str, principal: Principal) -> Grant:
    """Return a grant or raise ``ExportRefused`` with a reason fit to show the requester."""
    found = reader.fetch_one(_organization_query(), {"org": organization_id})
    if found is None:
        raise ExportRefused(
            f"unknown organization {organization_id!r}", code="unknown_organization"
        )
    (name,) = found
    if principal.is_operator:
        return Grant(organization_id, name, principal, "operator")
    membership = reader.fetch_one(
        _membership_query(), {"org": organization_id, "user": principal.name}
    )
    if membership is None:
        raise ExportRefused(
            f"user {principal.name!r} is not a member of organization {organization_id!r}",
            code="not_a_member",
        )
    role, is_guest = membership
    if is_guest:
        raise ExportRefused(
            f"user {principal.name!r} is a guest of organization {organization_id!r};"
            " only owners may export it",
            code="guest",
        )
    if role != catalog.OWNERSHIP.owner_role:
        raise ExportRefused(
            f"user {principal.name!r} is {role!r}, not an owner, of organization"
            f" {organization_id!r}; only owners may export it",
            code="not_an_owner",
        )
    return Grant(organization_id, name, principal, "owner")


def check_requester(
    url: str,
    organization_id: str,
    requested_by: str,
    *,
    lock_timeout_seconds: float = settings.LOCK_TIMEOUT_SECONDS,
) -> Grant:
    """The gate's decision for a claimed requester, read from membership alone.

    The gate op asks it first in every run. Whoever launches runs with access to the database
    (the request sensor, the CLI) asks it before launching too, so a refusal is decided
    without a run: a refused run would mark every asset of the organization as failed in
    Dagster's UI although its last bundle is good.
    """
    with open_snapshot(url, lock_timeout_seconds=lock_timeout_seconds) as snapshot:
        return decide(snapshot, organization_id, requested_by)


def decide(reader: Reader, organization_id: str, requested_by: str) -> Grant:
    """The gate's decision for claimed (unparsed) ids, on a connection the caller holds."""
    organization = identifiers.organization_id(organization_id)
    principal = identifiers.principal(requested_by)
    return authorize(reader, organization, principal)
