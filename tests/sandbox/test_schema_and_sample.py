"""The test databases are only as good as their schema and data: check both against ocomms.

The schema must match the vendored drizzle snapshot exactly (a schema of our own invention
would let the exporter pass tests that production breaks), and the sample data must be
coherent the way ocomms keeps it (rows of one organization referring only to that
organization) or export tests would assert against nonsense.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import content as sample_content
from tests.conftest import DatabaseHandle, MakeDatabase

SNAPSHOT = ddl.load_snapshot()
TABLES = {t["name"]: t for t in SNAPSHOT["tables"].values()}
NANOID_TABLES = (
    "organizations",
    "users",
    "members",
    "sessions",
    "accounts",
    "invitations",
    "workspace_join_requests",
)
SECRET_COLUMNS = {
    "accounts.password",
    "accounts.access_token",
    "accounts.refresh_token",
    "accounts.id_token",
    "sessions.token",
    "verifications.value",
    "two_factor.secret",
    "two_factor.backup_codes",
    "password_history.password_hash",
    "push_subscriptions.p256dh",
    "push_subscriptions.auth",
    "guest_invites.token",
    "invitations.id",
}
INTERNAL_COLUMNS = {
    "members.guest_job_id",
    "scheduled_messages.job_id",
    "reminders.job_id",
    "user_statuses.job_id",
}
GENERATED = "<generated>"
FK_ACTIONS = {
    "a": "no action",
    "r": "restrict",
    "c": "cascade",
    "n": "set null",
    "d": "set default",
}


def query(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def expected_type(column: dict[str, Any]) -> str:
    """The snapshot's type as format_type() spells it."""
    spelled = column["type"]
    if spelled == "timestamp":
        return "timestamp without time zone"
    return re.sub(r"^varchar\((\d+)\)$", r"character varying(\1)", spelled)


def pg_name(name: str) -> str:
    """PostgreSQL truncates identifiers to 63 bytes, so ocomms's own database does too."""
    return name.encode("utf-8")[:63].decode("utf-8", "ignore")


def expected_default(column: dict[str, Any]) -> str | None:
    if "default" not in column:
        return None
    value = column["default"]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- schema -------------------------------------------------------------------------------


def live_columns(url: str) -> dict[str, list[tuple[Any, ...]]]:
    rows = query(
        url,
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               regexp_replace(pg_get_expr(d.adbin, d.adrelid), '::[a-z_ ]+$', ''),
               a.attgenerated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum
        """,
    )
    tables: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for table, name, type_, not_null, default, generated in rows:
        # A generation expression comes back normalised by PostgreSQL; whether it computes
        # what the snapshot says is checked on the data (test_search_content_...).
        default = GENERATED if generated else default
        tables[table].append((name, type_, not_null, default, generated))
    return tables


def test_schema_has_exactly_the_snapshot_tables_and_columns(seeded_db: DatabaseHandle) -> None:
    live = live_columns(seeded_db.url)
    assert sorted(live) == sorted(TABLES)
    assert len(live) == 42
    for name, table in TABLES.items():
        expected = []
        for column in table["columns"].values():
            generated = "s" if column.get("generated") else ""
            default = GENERATED if generated else expected_default(column)
            not_null = column["notNull"] or column["primaryKey"]
            expected.append((column["name"], expected_type(column), not_null, default, generated))
        assert live[name] == expected, name


def test_schema_has_the_snapshot_keys_and_unique_constraints(seeded_db: DatabaseHandle) -> None:
    rows = query(
        seeded_db.url,
        """
        SELECT con.contype, c.relname, con.conname,
               array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, pos)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                     ORDER BY k.pos)
        FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
        WHERE con.contype IN ('p', 'u') AND c.relnamespace = 'public'::regnamespace
        """,
    )
    primary = {table: columns for kind, table, _, columns in rows if kind == "p"}
    unique = {(table, name, tuple(cols)) for kind, table, name, cols in rows if kind == "u"}
    for name, table in TABLES.items():
        keys = [c["name"] for c in table["columns"].values() if c["primaryKey"]]
        for composite in table["compositePrimaryKeys"].values():
            keys = composite["columns"]
        assert primary[name] == keys, name
    assert unique == {
        (name, u["name"], tuple(u["columns"]))
        for name, table in TABLES.items()
        for u in table["uniqueConstraints"].values()
    }


def test_schema_has_the_snapshot_foreign_keys(seeded_db: DatabaseHandle) -> None:
    rows = query(
        seeded_db.url,
        """
        SELECT con.conname, c.relname, f.relname,
               array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, pos)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                     ORDER BY k.pos),
               array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, pos)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                     ORDER BY k.pos),
               con.confdeltype, con.confupdtype
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_class f ON f.oid = con.confrelid
        WHERE con.contype = 'f'
        """,
    )
    live = {
        (name, table, tuple(cols), target, tuple(to), FK_ACTIONS[on_del], FK_ACTIONS[on_upd])
        for name, table, target, cols, to, on_del, on_upd in rows
    }
    expected = {
        (
            pg_name(fk["name"]),
            name,
            tuple(fk["columnsFrom"]),
            fk["tableTo"],
            tuple(fk["columnsTo"]),
            fk["onDelete"],
            fk["onUpdate"],
        )
        for name, table in TABLES.items()
        for fk in table["foreignKeys"].values()
    }
    assert live == expected


def test_schema_has_the_snapshot_indexes(seeded_db: DatabaseHandle) -> None:
    """Indexes other than those backing primary keys and unique constraints."""
    rows = query(
        seeded_db.url,
        """
        SELECT t.relname, i.relname, x.indisunique, am.amname,
               array(SELECT pg_get_indexdef(x.indexrelid, k, true)
                     FROM generate_series(1, x.indnatts) k ORDER BY k),
               pg_get_expr(x.indpred, x.indrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_am am ON am.oid = i.relam
        WHERE t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)
        """,
    )
    live = {(t, n, u, m, tuple(cols), where) for t, n, u, m, cols, where in rows}
    expected = {
        (
            name,
            index["name"],
            index["isUnique"],
            index["method"],
            tuple(c["expression"] for c in index["columns"]),
            f"({index['where']})" if index.get("where") else None,
        )
        for name, table in TABLES.items()
        for index in table["indexes"].values()
    }
    assert live == expected


def test_schema_has_the_snapshot_enums(seeded_db: DatabaseHandle) -> None:
    rows = query(
        seeded_db.url,
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)"
        " FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid GROUP BY t.typname",
    )
    assert dict(rows) == {e["name"]: e["values"] for e in SNAPSHOT["enums"].values()}


def test_ddl_orders_types_tables_foreign_keys_indexes() -> None:
    """Foreign keys can only follow every table; indexes come last, as drizzle-kit does."""
    prefixes = ("CREATE TYPE", "CREATE TABLE", "ALTER TABLE", "CREATE")
    ranks = [
        next(n for n, prefix in enumerate(prefixes) if statement.startswith(prefix))
        for statement in ddl.schema_statements(SNAPSHOT)
    ]
    assert ranks == sorted(ranks)
    assert ranks.count(1) == len(TABLES)


def test_ddl_names_no_ocomms_table() -> None:
    """ddl.py is a generic drizzle translator; ocomms knowledge belongs to the snapshot."""
    source = Path(ddl.__file__).read_text(encoding="utf-8")
    assert not [name for name in TABLES if re.search(rf"\b{name}\b", source)]


# --- sample data ----------------------------------------------------------------------------


def test_seed_fills_every_table(seeded_db: DatabaseHandle) -> None:
    assert seeded_db.sample is not None
    for name in TABLES:
        (count,) = query(seeded_db.url, f'SELECT count(*) FROM "{name}"')[0]
        assert count >= 1, name
        assert count == seeded_db.sample.row_counts[name], name


def test_sample_describes_the_scenario(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    acme = sample.members["Acme"]
    assert sorted(sample.orgs) == ["Acme", "Globex", "Initech"]
    assert len(sample.owners["Acme"]) == 2
    assert all(sample.owners[org] for org in sample.orgs)
    assert acme[sample.admin] == "admin"
    assert sample.former_member not in acme
    assert sample.globex_owner_in_acme in sample.owners["Globex"]
    assert acme[sample.globex_owner_in_acme] == "member"
    in_all = [u for u in sample.multi_org_users if all(u in m for m in sample.members.values())]
    assert len(sample.multi_org_users) >= 2 and in_all
    assert set(sample.all_users) == set(sample.users.values())
    assert not any(sample.outsider in members for members in sample.members.values())


def test_an_organization_id_begins_with_a_dash(seeded_db: DatabaseHandle) -> None:
    ids = [row[0] for row in query(seeded_db.url, "SELECT id FROM organizations")]
    assert any(org_id.startswith("-") for org_id in ids)


def test_nanoid_tables_use_24_character_nanoids(seeded_db: DatabaseHandle) -> None:
    for table in NANOID_TABLES:
        for (row_id,) in query(seeded_db.url, f'SELECT id FROM "{table}"'):
            assert re.fullmatch(r"[A-Za-z0-9_-]{24}", row_id), (table, row_id)


def test_guest_membership(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    rows = query(
        seeded_db.url,
        "SELECT role, is_guest, guest_expires_at, guest_job_id FROM members"
        " WHERE user_id = %s AND organization_id = %s",
        (sample.guest, sample.orgs["Acme"]),
    )
    [(role, is_guest, expires_at, job_id)] = rows
    assert (role, is_guest) == ("member", True)
    assert expires_at is not None and "INTERNALJOB" in job_id


def test_former_member_left_content_behind(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    for table, column in (
        ("messages", "author_id"),
        ("reactions", "user_id"),
        ("thread_participants", "user_id"),
    ):
        (count,) = query(
            seeded_db.url,
            f'SELECT count(*) FROM "{table}" WHERE {column} = %s',
            (sample.former_member,),
        )[0]
        assert count > 0, table


PER_MEMBER_STATE = {
    "notifications (channel)": "SELECT n.user_id, c.organization_id FROM notifications n"
    " JOIN channels c ON c.id = n.channel_id",
    "notifications (conversation)": "SELECT n.user_id, v.organization_id FROM notifications n"
    " JOIN conversations v ON v.id = n.conversation_id",
    "notifications (message only)": "SELECT n.user_id, c.organization_id FROM notifications n"
    " JOIN messages m ON m.id = n.message_id JOIN channels c ON c.id = m.channel_id"
    " WHERE n.channel_id IS NULL AND n.conversation_id IS NULL",
    "read state (channel)": "SELECT r.user_id, c.organization_id FROM channel_read_state r"
    " JOIN channels c ON c.id = r.channel_id",
    "read state (conversation)": "SELECT r.user_id, v.organization_id FROM channel_read_state r"
    " JOIN conversations v ON v.id = r.conversation_id",
    "bookmarks (message)": "SELECT b.user_id, c.organization_id FROM bookmarks b"
    " JOIN messages m ON m.id = b.message_id JOIN channels c ON c.id = m.channel_id"
    " WHERE b.type = 'message'",
    "bookmarks (file)": "SELECT b.user_id, c.organization_id FROM bookmarks b"
    " JOIN file_attachments f ON f.id = b.file_id JOIN messages m ON m.id = f.message_id"
    " JOIN channels c ON c.id = m.channel_id WHERE b.type = 'file'",
    "reminders": "SELECT r.user_id, c.organization_id FROM reminders r"
    " JOIN messages m ON m.id = r.message_id JOIN channels c ON c.id = m.channel_id",
    "personal notes": "SELECT user_id, organization_id FROM personal_notes",
    "sidebar preferences": "SELECT user_id, organization_id FROM user_sidebar_preferences",
    "direct messages": "SELECT p.user_id, v.organization_id FROM conversation_participants p"
    " JOIN conversations v ON v.id = p.conversation_id",
    "notification settings": "SELECT s.user_id, c.organization_id"
    " FROM channel_notification_settings s JOIN channels c ON c.id = s.channel_id",
    "collapse states": "SELECT s.user_id, k.organization_id FROM user_category_collapse_states s"
    " JOIN channel_categories k ON k.id = s.category_id",
}


@pytest.mark.parametrize("kind", PER_MEMBER_STATE)
def test_multi_org_users_have_state_in_each_of_their_orgs(
    seeded_db: DatabaseHandle, kind: str
) -> None:
    sample = seeded_db.sample
    assert sample is not None
    present = set(query(seeded_db.url, PER_MEMBER_STATE[kind]))
    for user in sample.multi_org_users:
        for org, members in sample.members.items():
            if user in members:
                assert (user, sample.orgs[org]) in present, (kind, user, org)


# Each query lists rows that break organization scoping; all must come back empty.
SCOPING_VIOLATIONS = {
    "message in neither or both containers": "SELECT id FROM messages"
    " WHERE (channel_id IS NULL) = (conversation_id IS NULL)",
    "reply outside its parent's container": "SELECT r.id FROM messages r"
    " JOIN messages p ON p.id = r.parent_id WHERE r.channel_id IS DISTINCT FROM p.channel_id"
    " OR r.conversation_id IS DISTINCT FROM p.conversation_id OR p.parent_id IS NOT NULL",
    "wrong reply_count": "SELECT p.id FROM messages p WHERE p.reply_count <>"
    " (SELECT count(*) FROM messages r WHERE r.parent_id = p.id)",
    "thread participant of a non-thread": "SELECT t.id FROM thread_participants t"
    " JOIN messages m ON m.id = t.thread_id WHERE m.parent_id IS NOT NULL OR m.reply_count = 0",
    "sequence gap": "SELECT coalesce(channel_id, conversation_id) FROM messages"
    " GROUP BY 1 HAVING max(sequence) <> count(*) OR min(sequence) <> 1",
    "pin outside the message's channel": "SELECT p.id FROM pinned_messages p"
    " JOIN messages m ON m.id = p.message_id WHERE m.channel_id IS DISTINCT FROM p.channel_id",
    "channel in another org's category": "SELECT c.id FROM channels c"
    " JOIN channel_categories k ON k.id = c.category_id"
    " WHERE k.organization_id <> c.organization_id",
    "channel member not in the org": "SELECT cm.id FROM channel_members cm"
    " JOIN channels c ON c.id = cm.channel_id WHERE NOT EXISTS (SELECT 1 FROM members m"
    " WHERE m.user_id = cm.user_id AND m.organization_id = c.organization_id)",
    "participant not in the org": "SELECT p.id FROM conversation_participants p"
    " JOIN conversations v ON v.id = p.conversation_id WHERE NOT EXISTS (SELECT 1 FROM members m"
    " WHERE m.user_id = p.user_id AND m.organization_id = v.organization_id)",
    "guest access across orgs": "SELECT g.id FROM guest_channel_access g"
    " JOIN members m ON m.id = g.member_id JOIN channels c ON c.id = g.channel_id"
    " WHERE m.organization_id <> c.organization_id OR NOT m.is_guest",
    "group member not in the org": "SELECT gm.id FROM user_group_members gm"
    " JOIN user_groups g ON g.id = gm.group_id WHERE NOT EXISTS (SELECT 1 FROM members m"
    " WHERE m.user_id = gm.user_id AND m.organization_id = g.organization_id)",
    "notification pointing at two orgs": "SELECT n.id FROM notifications n"
    " JOIN messages m ON m.id = n.message_id"
    " LEFT JOIN channels c ON c.id = n.channel_id LEFT JOIN conversations v"
    " ON v.id = n.conversation_id WHERE n.channel_id IS DISTINCT FROM m.channel_id"
    " AND n.conversation_id IS DISTINCT FROM m.conversation_id"
    " AND (n.channel_id IS NOT NULL OR n.conversation_id IS NOT NULL)",
    "scheduled message sent elsewhere": "SELECT s.id FROM scheduled_messages s"
    " JOIN messages m ON m.id = s.message_id WHERE s.channel_id IS DISTINCT FROM m.channel_id"
    " OR s.conversation_id IS DISTINCT FROM m.conversation_id",
    "read state on both or neither": "SELECT id FROM channel_read_state"
    " WHERE (channel_id IS NULL) = (conversation_id IS NULL)",
}


@pytest.mark.parametrize("violation", SCOPING_VIOLATIONS)
def test_seed_is_scoped_coherently(seeded_db: DatabaseHandle, violation: str) -> None:
    assert query(seeded_db.url, SCOPING_VIOLATIONS[violation]) == []


def test_messages_belong_to_the_org_sample_data_says(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    rows = query(
        seeded_db.url,
        "SELECT m.id::text, coalesce(c.organization_id, v.organization_id) FROM messages m"
        " LEFT JOIN channels c ON c.id = m.channel_id"
        " LEFT JOIN conversations v ON v.id = m.conversation_id",
    )
    by_org: dict[str, set[str]] = defaultdict(set)
    for message_id, org_id in rows:
        by_org[org_id].add(message_id)
    assert by_org == {sample.orgs[org]: set(ids) for org, ids in sample.message_ids.items()}


def test_a_link_preview_is_shared_by_two_orgs(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    rows = query(
        seeded_db.url,
        "SELECT DISTINCT c.organization_id FROM message_link_previews l"
        " JOIN messages m ON m.id = l.message_id JOIN channels c ON c.id = m.channel_id"
        " WHERE l.link_preview_id = %s",
        (sample.shared_link_preview_id,),
    )
    assert len(rows) == 2


def test_unattached_uploads_exist(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    rows = query(seeded_db.url, "SELECT id::text FROM file_attachments WHERE message_id IS NULL")
    assert {row[0] for row in rows} == set(sample.unattached_file_ids.values())


# --- secrets, internal values and content --------------------------------------------------


def test_every_secret_column_holds_canaries(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    assert set(sample.canaries) == SECRET_COLUMNS
    for column, seeded in sample.canaries.items():
        table, name = column.split(".")
        where = " AND status = 'pending'" if column == "invitations.id" else ""
        values = [
            row[0]
            for row in query(
                seeded_db.url, f'SELECT "{name}" FROM "{table}" WHERE "{name}" IS NOT NULL{where}'
            )
        ]
        assert values and all("CANARY" in value for value in values), column
        assert sorted(values) == sorted(seeded), column
        assert len(set(values)) == len(values), column


def test_accepted_invitations_have_ordinary_ids(seeded_db: DatabaseHandle) -> None:
    rows = query(seeded_db.url, "SELECT id FROM invitations WHERE status = 'accepted'")
    assert rows and not any("CANARY" in row[0] for row in rows)


def test_internal_columns_hold_marked_values(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    assert set(sample.internal_values) == INTERNAL_COLUMNS
    for column, seeded in sample.internal_values.items():
        table, name = column.split(".")
        sql = f'SELECT "{name}" FROM "{table}" WHERE "{name}" IS NOT NULL'
        values = sorted(row[0] for row in query(seeded_db.url, sql))
        assert values == sorted(seeded) and all("INTERNALJOB" in v for v in values), column


def test_search_content_is_derived_from_content(seeded_db: DatabaseHandle) -> None:
    rows = query(
        seeded_db.url,
        "SELECT count(*) FROM messages"
        " WHERE search_content IS DISTINCT FROM to_tsvector('english', content)",
    )
    assert rows == [(0,)]


def test_edge_case_text_round_trips(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    ids = sample.edge_message_ids
    for label, text in sample_content.EDGE_CASE_MESSAGES.items():
        rows = query(seeded_db.url, "SELECT content FROM messages WHERE id = %s", (ids[label],))
        assert rows == [(text,)], label
    [(size, content)] = query(
        seeded_db.url,
        "SELECT octet_length(content), content FROM messages WHERE id = %s",
        (sample.big_message_id,),
    )
    assert size == 100 * 1024 and content == sample_content.big_message()
    assert len(content) < size  # multi-byte


def test_edited_and_deleted_messages(seeded_db: DatabaseHandle) -> None:
    sample = seeded_db.sample
    assert sample is not None
    statement = "SELECT created_at, updated_at, deleted_at FROM messages WHERE id = %s"
    [(created, updated, deleted)] = query(
        seeded_db.url, statement, (sample.edge_message_ids["edited"],)
    )
    assert updated > created and deleted is None
    [(created, _, deleted)] = query(seeded_db.url, statement, (sample.edge_message_ids["deleted"],))
    assert deleted is not None and deleted > created


def test_every_timestamp_keeps_its_microseconds(seeded_db: DatabaseHandle) -> None:
    for name, table in TABLES.items():
        for column in table["columns"].values():
            if not column["type"].startswith("timestamp"):
                continue
            (count,) = query(
                seeded_db.url,
                f'SELECT count(*) FROM "{name}" WHERE "{column["name"]}" IS NOT NULL'
                f" AND date_part('microseconds', \"{column['name']}\")::bigint %% 1000000 = 0",
            )[0]
            assert count == 0, f"{name}.{column['name']}"


def test_timestamptz_values_are_the_utc_instants_seeded(seeded_db: DatabaseHandle) -> None:
    """A naive timestamp and a timestamptz written from the same clock agree in UTC."""
    [(value,)] = query(seeded_db.url, "SELECT min(fetched_at) FROM link_previews")
    assert value.utcoffset() is not None
    assert value.microsecond != 0


# --- fixtures and servers -------------------------------------------------------------------


def test_seeding_is_deterministic(make_database: MakeDatabase) -> None:
    first, second = make_database(), make_database()
    assert first.sample == second.sample
    assert table_digests(first.url) == table_digests(second.url)


def table_digests(url: str) -> dict[str, str]:
    digests = {}
    with psycopg.connect(url) as conn:
        for name in TABLES:
            row = conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f' FROM "{name}" t'
            ).fetchone()
            assert row is not None
            digests[name] = row[0]
    return digests


def test_make_database_drops_what_it_made(admin_url: str, make_database: MakeDatabase) -> None:
    handle = make_database(seed=False)
    assert handle.sample is None
    with psycopg.connect(handle.url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (handle.name,)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    servers.drop_database(admin_url, handle.name)
    exists = query(admin_url, "SELECT 1 FROM pg_database WHERE datname = %s", (handle.name,))
    assert exists == []


def test_database_url_keeps_socket_directory_and_options() -> None:
    admin = "postgresql://u@/postgres?host=/sockets/some%20dir&sslmode=disable"
    params = psycopg.conninfo.conninfo_to_dict(servers.database_url(admin, "x"))
    assert params == {"user": "u", "dbname": "x", "host": "/sockets/some dir", "sslmode": "disable"}


def test_state_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(servers.STATE_DIR_ENV, str(tmp_path))
    assert servers.state_dir() == tmp_path
    monkeypatch.delenv(servers.STATE_DIR_ENV)
    assert servers.state_dir().name in (".state", "ocomms-pipeline")
