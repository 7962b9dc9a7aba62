"""The export catalog: the only place that names ocomms tables and columns."""

from __future__ import annotations

from ocomms_pipeline.catalog.model import (
    AnyOf,
    Column,
    ColumnType,
    InOrganization,
    NotExported,
    OwnershipRule,
    ReferencedBy,
    ReferencedUsers,
    Scope,
    Table,
    ThroughParent,
    Treatment,
)
from ocomms_pipeline.catalog.tables import OWNERSHIP, TABLES

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
USERS_TABLE = "users"


def table(name: str) -> Table:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"table {name!r} is not in the export catalog") from None


def exported_tables() -> tuple[Table, ...]:
    return tuple(t for t in TABLES if t.exported)


def not_exported_tables() -> tuple[Table, ...]:
    return tuple(t for t in TABLES if not t.exported)


__all__ = [
    "BY_NAME",
    "OWNERSHIP",
    "TABLES",
    "USERS_TABLE",
    "AnyOf",
    "Column",
    "ColumnType",
    "InOrganization",
    "NotExported",
    "OwnershipRule",
    "ReferencedBy",
    "ReferencedUsers",
    "Scope",
    "Table",
    "ThroughParent",
    "Treatment",
    "exported_tables",
    "not_exported_tables",
    "table",
]
