"""Compare the live database schema with the catalog.

ocomms upgrades add columns the catalog has not seen. Such a column is never exported (default
deny: it may hold a secret) but it is named in the manifest so an operator notices and
classifies it. A column the catalog exports that the database lacks means the wrong database
or an unknown ocomms version: that export stops rather than silently drop data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocomms_pipeline import catalog
from ocomms_pipeline.errors import SchemaMismatch


@dataclass(frozen=True)
class SchemaDrift:
    unknown_columns: dict[str, list[str]]  # table -> columns the catalog does not know
    unknown_tables: list[str]  # tables of the database the catalog does not know


def compare(live: dict[str, list[str]]) -> SchemaDrift:
    missing: list[str] = []
    unknown_columns: dict[str, list[str]] = {}
    for table in catalog.TABLES:
        columns = live.get(table.name)
        if columns is None:
            if table.exported:
                missing.append(f"table {table.name}")
            continue
        if table.exported:
            missing += [
                f"{table.name}.{c.name}" for c in table.exported_columns if c.name not in columns
            ]
        extra = [c for c in columns if c not in table.columns_by_name]
        if extra:
            unknown_columns[table.name] = extra
    if missing:
        raise SchemaMismatch(
            "the database lacks what the catalog exports: "
            + ", ".join(missing)
            + " (is OCOMMS_DATABASE_URL an ocomms database of a supported version?)"
        )
    unknown_tables = sorted(set(live) - set(catalog.BY_NAME))
    return SchemaDrift(unknown_columns, unknown_tables)
