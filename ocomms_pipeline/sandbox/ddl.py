"""Build a PostgreSQL schema from ocomms's drizzle-kit schema snapshot.

Test and demo databases must have exactly the schema ocomms runs on, or the exporter is tested
against a schema of our own imagination. ocomms records its schema in drizzle-kit's snapshot
format, which we vendor; this module turns that record into DDL. It is deliberately generic:
it knows the snapshot format, not ocomms, so a newer snapshot needs no code change here.

Statement order follows what PostgreSQL needs: enum types before the tables that use them,
every table before any foreign key (tables reference each other in both directions), and
indexes last. A snapshot feature we do not translate raises instead of being skipped: a
silently different schema would make every test built on it lie.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from ocomms_pipeline.postgres.quoting import literal, quote

SNAPSHOT_RESOURCE = "data/drizzle-schema-snapshot.json"
DEFAULT_SCHEMA = "public"

# Top-level snapshot sections we cannot translate; any content in them must not go unnoticed.
_UNSUPPORTED_SECTIONS = ("sequences", "views", "policies", "roles")


def load_snapshot() -> dict[str, Any]:
    """Read the vendored snapshot shipped inside the package (see package-data)."""
    text = (Path(__file__).parents[1] / SNAPSHOT_RESOURCE).read_text("utf-8")
    return json.loads(text)


def qualified(schema: str | None, name: str) -> str:
    """Schema-qualify a name; drizzle writes '' for the default schema."""
    return f"{quote(schema or DEFAULT_SCHEMA)}.{quote(name)}"


def schema_statements(snapshot: dict[str, Any]) -> list[str]:
    """All DDL statements that recreate the snapshot's schema, in an executable order."""
    _reject_unsupported(snapshot)
    tables = list(snapshot["tables"].values())
    statements = [_create_schema(name) for name in _extra_schemas(snapshot)]
    statements += [_create_enum(enum) for enum in snapshot.get("enums", {}).values()]
    statements += [_create_table(table) for table in tables]
    for table in tables:
        statements += [_add_foreign_key(table, fk) for fk in table["foreignKeys"].values()]
    for table in tables:
        statements += [_create_index(table, index) for index in table["indexes"].values()]
    return statements


def create_schema(conn: psycopg.Connection) -> None:
    """Create the ocomms schema in the connected (empty) database, in one transaction."""
    statements = schema_statements(load_snapshot())
    with conn.transaction():
        if any("gen_random_uuid(" in s for s in statements) and not _has_gen_random_uuid(conn):
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        for statement in statements:
            conn.execute(statement)


def _has_gen_random_uuid(conn: psycopg.Connection) -> bool:
    """PostgreSQL 13+ has gen_random_uuid built in; older servers need pgcrypto for it."""
    row = conn.execute("SELECT to_regprocedure('gen_random_uuid()') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _reject_unsupported(snapshot: dict[str, Any]) -> None:
    """Fail loudly on snapshot features this translator does not implement."""
    for section in _UNSUPPORTED_SECTIONS:
        if snapshot.get(section):
            raise ValueError(f"snapshot section {section!r} is not supported by ddl.py")
    for key, table in snapshot["tables"].items():
        if table.get("policies") or table.get("isRLSEnabled"):
            raise ValueError(f"row-level security on {key} is not supported by ddl.py")
        for column in table["columns"].values():
            if column.get("identity"):
                raise ValueError(f"identity column {key}.{column['name']} is not supported")


def _extra_schemas(snapshot: dict[str, Any]) -> Iterable[str]:
    """Schemas other than public must exist before anything is created in them."""
    names = {t.get("schema") or DEFAULT_SCHEMA for t in snapshot["tables"].values()}
    names |= {e.get("schema") or DEFAULT_SCHEMA for e in snapshot.get("enums", {}).values()}
    return sorted(names - {DEFAULT_SCHEMA})


def _create_schema(name: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {quote(name)}"


def _create_enum(enum: dict[str, Any]) -> str:
    values = ", ".join(literal(v) for v in enum["values"])
    return f"CREATE TYPE {qualified(enum.get('schema'), enum['name'])} AS ENUM ({values})"


def _create_table(table: dict[str, Any]) -> str:
    parts = [_column_definition(c) for c in table["columns"].values()]
    for pk in table.get("compositePrimaryKeys", {}).values():
        parts.append(f"CONSTRAINT {quote(pk['name'])} PRIMARY KEY ({_idents(pk['columns'])})")
    for unique in table.get("uniqueConstraints", {}).values():
        parts.append(_unique_constraint(unique))
    for check in table.get("checkConstraints", {}).values():
        parts.append(f"CONSTRAINT {quote(check['name'])} CHECK ({check['value']})")
    body = ",\n    ".join(parts)
    return f"CREATE TABLE {qualified(table.get('schema'), table['name'])} (\n    {body}\n)"


def _column_definition(column: dict[str, Any]) -> str:
    """One column: type, then generation or default, then PRIMARY KEY / NOT NULL."""
    sql = f"{quote(column['name'])} {_column_type(column)}"
    generated = column.get("generated")
    if generated:
        sql += f" GENERATED ALWAYS AS ({generated['as']}) {generated['type'].upper()}"
    elif "default" in column:
        sql += f" DEFAULT {_default(column['default'])}"
    if column.get("primaryKey"):
        sql += " PRIMARY KEY"
    if column.get("notNull"):
        sql += " NOT NULL"
    return sql


def _column_type(column: dict[str, Any]) -> str:
    """Built-in types are SQL text already; enum types name their schema and need quoting."""
    type_schema = column.get("typeSchema")
    if not type_schema:
        return column["type"]
    name, brackets, rest = column["type"].partition("[")
    return qualified(type_schema, name) + brackets + rest


def _default(value: object) -> str:
    """drizzle stores SQL text for most defaults but JSON scalars for booleans and numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return str(value)


def _unique_constraint(unique: dict[str, Any]) -> str:
    nulls = " NULLS NOT DISTINCT" if unique.get("nullsNotDistinct") else ""
    name = quote(unique["name"])
    return f"CONSTRAINT {name} UNIQUE{nulls} ({_idents(unique['columns'])})"


def _idents(names: Iterable[str]) -> str:
    return ", ".join(quote(n) for n in names)


def _add_foreign_key(table: dict[str, Any], fk: dict[str, Any]) -> str:
    target = qualified(fk.get("schemaTo"), fk["tableTo"])
    return (
        f"ALTER TABLE {qualified(table.get('schema'), table['name'])} "
        f"ADD CONSTRAINT {quote(fk['name'])} "
        f"FOREIGN KEY ({_idents(fk['columnsFrom'])}) "
        f"REFERENCES {target} ({_idents(fk['columnsTo'])}) "
        f"ON DELETE {fk.get('onDelete') or 'no action'} "
        f"ON UPDATE {fk.get('onUpdate') or 'no action'}"
    )


def _create_index(table: dict[str, Any], index: dict[str, Any]) -> str:
    unique = "UNIQUE " if index.get("isUnique") else ""
    keys = ", ".join(_index_key(key) for key in index["columns"])
    sql = (
        f"CREATE {unique}INDEX {quote(index['name'])} "
        f"ON {qualified(table.get('schema'), table['name'])} "
        f"USING {index.get('method') or 'btree'} ({keys})"
    )
    if index.get("with"):
        options = ", ".join(f"{quote(k)} = {v}" for k, v in index["with"].items())
        sql += f" WITH ({options})"
    if index.get("where"):
        sql += f" WHERE {index['where']}"
    return sql


def _index_key(key: dict[str, Any]) -> str:
    """Spell out direction and null order only where they differ from PostgreSQL's default."""
    expression = key["expression"]
    sql = f"({expression})" if key.get("isExpression") else quote(expression)
    if key.get("opclass"):
        sql += f" {key['opclass']}"
    ascending = key.get("asc", True)
    if not ascending:
        sql += " DESC"
    nulls = key.get("nulls") or ("last" if ascending else "first")
    if nulls != ("last" if ascending else "first"):
        sql += f" NULLS {nulls.upper()}"
    return sql
