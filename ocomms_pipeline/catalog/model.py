"""The vocabulary of the export catalog.

A catalog entry says two things about one source table: which of its rows belong to one
organization (its *scope*) and, column by column, whether the value may leave the database.
Everything that reads or writes data is driven from these declarations, so a decision about
privacy is made once, here, and reviewed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Treatment(StrEnum):
    """What the export does with a column."""

    EXPORTED = "exported"
    SECRET = "secret"  # credentials and tokens: never leave the database
    INTERNAL = "internal"  # plumbing (queue ids, derived indexes): meaningless to the owner


class ColumnType(StrEnum):
    """Logical column types: enough to format JSON and to build an Arrow schema."""

    TEXT = "text"
    UUID = "uuid"
    INTEGER = "integer"
    BIGINT = "bigint"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # without time zone, holding UTC
    TIMESTAMPTZ = "timestamptz"
    JSONB = "jsonb"
    TSVECTOR = "tsvector"
    ENUM = "enum"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    treatment: Treatment = Treatment.EXPORTED
    reason: str | None = None
    references: str | None = None  # table whose primary key this column holds

    @property
    def exported(self) -> bool:
        return self.treatment is Treatment.EXPORTED


# --- scopes: how a table's rows are tied to one organization --------------------------------


@dataclass(frozen=True)
class InOrganization:
    """Rows whose ``column`` holds the organization id."""

    column: str


@dataclass(frozen=True)
class ThroughParent:
    """Rows whose ``column`` points at an in-scope row of ``parent``.

    ``only_when_null`` names columns that must all be NULL for this path to apply, for rows
    whose organization is decided by a stronger reference when one is present.
    """

    column: str
    parent: str
    only_when_null: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnyOf:
    """Rows reached by at least one of several paths (channel *or* conversation)."""

    paths: tuple[ThroughParent | InOrganization, ...]


@dataclass(frozen=True)
class ReferencedUsers:
    """Rows of a global per-user table whose ``column`` names a user the export references.

    Users are global, so an organization's export carries every user its rows mention
    (authors, reactors, former members), not only its current members.
    """

    column: str


@dataclass(frozen=True)
class ReferencedBy:
    """Rows of a global table that in-scope rows of ``table`` point at through ``column``."""

    table: str
    column: str


@dataclass(frozen=True)
class NotExported:
    """Tables that never leave the database, with the reason shown in the manifest."""

    reason: str


Scope = InOrganization | ThroughParent | AnyOf | ReferencedUsers | ReferencedBy | NotExported


@dataclass(frozen=True)
class Table:
    name: str
    scope: Scope
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("id",)
    columns_by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns_by_name", {c.name: c for c in self.columns})
        missing = [k for k in self.primary_key if k not in self.columns_by_name]
        if missing:
            raise ValueError(f"{self.name}: primary key columns {missing} are not declared")

    @property
    def exported(self) -> bool:
        return not isinstance(self.scope, NotExported)

    @property
    def exported_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.exported)

    @property
    def excluded_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.exported)


@dataclass(frozen=True)
class OwnershipRule:
    """Where membership and roles live, so the owner gate needs no table names of its own."""

    organizations: str
    organization_key: str
    members: str
    member_organization: str
    member_user: str
    member_role: str
    member_is_guest: str
    owner_role: str
    organization_name: str
