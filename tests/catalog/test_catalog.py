"""The catalog classifies every table and column of the real ocomms schema, and correctly."""

from __future__ import annotations

import psycopg

from ocomms_pipeline import catalog
from ocomms_pipeline.catalog import ColumnType, Treatment
from ocomms_pipeline.sandbox import ddl

SECRETS = {
    "accounts": {"password", "access_token", "refresh_token", "id_token"},
    "sessions": {"token"},
    "verifications": {"value"},
    "two_factor": {"secret", "backup_codes"},
    "password_history": {"password_hash"},
    "push_subscriptions": {"p256dh", "auth"},
    "guest_invites": {"token"},
    "invitations": {"id"},
}
INTERNALS = {
    "members": {"guest_job_id"},
    "scheduled_messages": {"job_id"},
    "reminders": {"job_id"},
    "user_statuses": {"job_id"},
    "messages": {"search_content"},
    "users": {"two_factor_enabled"},
}
SQL_TYPES = {
    "text": ColumnType.TEXT,
    "character varying": ColumnType.TEXT,
    "uuid": ColumnType.UUID,
    "integer": ColumnType.INTEGER,
    "bigint": ColumnType.BIGINT,
    "boolean": ColumnType.BOOLEAN,
    "timestamp without time zone": ColumnType.TIMESTAMP,
    "timestamp with time zone": ColumnType.TIMESTAMPTZ,
    "jsonb": ColumnType.JSONB,
    "tsvector": ColumnType.TSVECTOR,
    "USER-DEFINED": ColumnType.ENUM,
}


def live_schema(url: str) -> dict[str, list[tuple[str, str, str]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ).fetchall()
    tables: dict[str, list[tuple[str, str, str]]] = {}
    for table, column, data_type, udt in rows:
        tables.setdefault(table, []).append((column, data_type, udt))
    return tables


def test_every_table_and_column_of_the_database_is_classified(make_database):
    schema = live_schema(make_database(seed=False).url)
    assert len(schema) == 42
    assert set(schema) == set(catalog.BY_NAME)
    for name, columns in schema.items():
        declared = [c.name for c in catalog.table(name).columns]
        assert [c for c, _, _ in columns] == declared, name


def test_declared_types_match_the_database(make_database):
    schema = live_schema(make_database(seed=False).url)
    for name, columns in schema.items():
        for column, data_type, _ in columns:
            assert catalog.table(name).columns_by_name[column].type is SQL_TYPES[data_type], (
                f"{name}.{column}"
            )


def test_secrets_and_internals_are_excluded_and_nothing_else():
    for table in catalog.TABLES:
        secret = {c.name for c in table.columns if c.treatment is Treatment.SECRET}
        internal = {c.name for c in table.columns if c.treatment is Treatment.INTERNAL}
        assert secret == SECRETS.get(table.name, set()), table.name
        assert internal == INTERNALS.get(table.name, set()), table.name
        for column in table.excluded_columns:
            assert column.reason, f"{table.name}.{column.name} needs a reason"


def test_declared_references_are_the_schemas_foreign_keys():
    """The referenced-user closure is only complete if no user column is missed."""
    snapshot = ddl.load_snapshot()
    for spec in snapshot["tables"].values():
        table = catalog.table(spec["name"])
        foreign = {
            column: fk["tableTo"]
            for fk in spec["foreignKeys"].values()
            for column in fk["columnsFrom"]
        }
        for column, target in foreign.items():
            if target == catalog.USERS_TABLE:
                assert table.columns_by_name[column].references == target, f"{table.name}.{column}"
        for column in table.columns:
            if column.references:
                assert foreign.get(column.name) == column.references, f"{table.name}.{column.name}"


def test_tables_holding_secrets_never_leave_or_exclude_them():
    for table in catalog.TABLES:
        if table.name in SECRETS and table.exported:
            assert all(c.exported is False for c in table.columns if c.name in SECRETS[table.name])
    never = {t.name for t in catalog.not_exported_tables()}
    assert {"accounts", "sessions", "verifications", "two_factor", "password_history"} <= never
