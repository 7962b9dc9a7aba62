"""The owner gate: may this principal export this organization?

The answer is read from the database, never from the caller: run config and tags are claims
(open-source Dagster has no login). The same check runs twice, in the gate op before any table
is touched and again inside the export's own snapshot, so a member demoted between the two
cannot receive data that the snapshot says they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ocomms_pipeline import catalog, identifiers
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.identifiers import Principal
from ocomms_pipeline.postgres.quoting import quote


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


def authorize(reader: Reader, organization_id: str, requested_by: str | Principal) -> Grant:
    """The one owner check: a grant, or ``ExportRefused`` with a reason fit for the requester.

    Takes the claim as it came (an unparsed id and requester are validated here) and reads the
    answer from membership alone, on whatever the caller holds: the export's snapshot, a
    snapshot opened for the gate, or the request sensor's connection. Whoever launches runs
    with access to the database (the request sensor, the CLI) asks it before launching too,
    so a refusal is decided without a run: a refused run would mark every asset of the
    organization as failed in Dagster's UI although its last bundle is good.
    """
    organization_id = identifiers.organization_id(organization_id)
    principal = identifiers.principal(requested_by)
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
