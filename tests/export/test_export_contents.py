"""What a bundle holds: complete, exact, tenant-pure, secret-free, deterministic.

One export per sample organization is made through the real Dagster job against a real
PostgreSQL; the expectations are computed by queries written independently of the catalog's
generated SQL (joins here, IN-subqueries there).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle.files import sha256_file

from ..support.exports import all_files, export, read_manifest, read_table

SCOPE_CTE = """
WITH ch AS (SELECT id FROM channels WHERE organization_id = %(org)s),
cv AS (SELECT id FROM conversations WHERE organization_id = %(org)s),
msg AS (
  SELECT m.id FROM messages m
  LEFT JOIN channels c ON c.id = m.channel_id
  LEFT JOIN conversations v ON v.id = m.conversation_id
  WHERE c.organization_id = %(org)s OR v.organization_id = %(org)s),
fa AS (SELECT f.id FROM file_attachments f JOIN msg ON msg.id = f.message_id)
"""

# Independent statement of each table's organization scope (the keys it must export).
EXPECTED_KEYS: dict[str, str] = {
    "organizations": "SELECT id::text FROM organizations WHERE id = %(org)s",
    "members": "SELECT id::text FROM members WHERE organization_id = %(org)s",
    "invitations": "SELECT email || '|' || status FROM invitations WHERE organization_id = %(org)s",
    "workspace_join_requests": "SELECT id FROM workspace_join_requests "
    "WHERE organization_id = %(org)s",
    "guest_invites": "SELECT id::text FROM guest_invites WHERE organization_id = %(org)s",
    "channel_categories": "SELECT id::text FROM channel_categories WHERE organization_id = %(org)s",
    "user_category_collapse_states": "SELECT s.id::text FROM user_category_collapse_states s "
    "JOIN channel_categories k ON k.id = s.category_id WHERE k.organization_id = %(org)s",
    "channels": "SELECT id::text FROM ch",
    "channel_members": "SELECT x.id::text FROM channel_members x JOIN ch ON ch.id = x.channel_id",
    "guest_channel_access": "SELECT x.id::text FROM guest_channel_access x "
    "JOIN ch ON ch.id = x.channel_id",
    "channel_notes": "SELECT x.id::text FROM channel_notes x JOIN ch ON ch.id = x.channel_id",
    "channel_notification_settings": "SELECT x.id::text FROM channel_notification_settings x "
    "JOIN ch ON ch.id = x.channel_id",
    "conversations": "SELECT id::text FROM cv",
    "conversation_participants": "SELECT x.id::text FROM conversation_participants x "
    "JOIN cv ON cv.id = x.conversation_id",
    "messages": "SELECT id::text FROM msg",
    "thread_participants": "SELECT x.id::text FROM thread_participants x "
    "JOIN msg ON msg.id = x.thread_id",
    "reactions": "SELECT x.id::text FROM reactions x JOIN msg ON msg.id = x.message_id",
    "pinned_messages": "SELECT x.id::text FROM pinned_messages x JOIN ch ON ch.id = x.channel_id",
    "file_attachments": "SELECT id::text FROM fa",
    "message_link_previews": "SELECT x.id::text FROM message_link_previews x "
    "JOIN msg ON msg.id = x.message_id",
    "link_previews": "SELECT DISTINCT p.id::text FROM link_previews p "
    "JOIN message_link_previews x ON x.link_preview_id = p.id JOIN msg ON msg.id = x.message_id",
    "notifications": "SELECT n.id::text FROM notifications n "
    "LEFT JOIN ch ON ch.id = n.channel_id LEFT JOIN cv ON cv.id = n.conversation_id "
    "LEFT JOIN msg ON msg.id = n.message_id WHERE ch.id IS NOT NULL OR cv.id IS NOT NULL "
    "OR (n.channel_id IS NULL AND n.conversation_id IS NULL AND msg.id IS NOT NULL)",
    "channel_read_state": "SELECT r.id::text FROM channel_read_state r "
    "LEFT JOIN ch ON ch.id = r.channel_id LEFT JOIN cv ON cv.id = r.conversation_id "
    "WHERE ch.id IS NOT NULL OR cv.id IS NOT NULL",
    "scheduled_messages": "SELECT r.id::text FROM scheduled_messages r "
    "LEFT JOIN ch ON ch.id = r.channel_id LEFT JOIN cv ON cv.id = r.conversation_id "
    "WHERE ch.id IS NOT NULL OR cv.id IS NOT NULL",
    "reminders": "SELECT x.id::text FROM reminders x JOIN msg ON msg.id = x.message_id",
    "bookmarks": "SELECT b.id::text FROM bookmarks b LEFT JOIN msg ON msg.id = b.message_id "
    "LEFT JOIN fa ON fa.id = b.file_id WHERE msg.id IS NOT NULL OR fa.id IS NOT NULL",
    "personal_notes": "SELECT id::text FROM personal_notes WHERE organization_id = %(org)s",
    "user_sidebar_preferences": "SELECT id::text FROM user_sidebar_preferences "
    "WHERE organization_id = %(org)s",
    "custom_emojis": "SELECT id::text FROM custom_emojis WHERE workspace_id = %(org)s",
    "user_groups": "SELECT id::text FROM user_groups WHERE organization_id = %(org)s",
    "user_group_members": "SELECT x.id::text FROM user_group_members x "
    "JOIN user_groups g ON g.id = x.group_id WHERE g.organization_id = %(org)s",
}
GLOBAL_TABLES = {"users", "profiles", "user_statuses", "link_previews"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def row_key(table: str, row: dict) -> str:
    return f"{row['email']}|{row['status']}" if table == "invitations" else str(row["id"])


@pytest.fixture(scope="module")
def bundles(seeded_db, tmp_path_factory) -> dict[str, Path]:
    """One bundle per sample organization, each exported by its owner."""
    root = tmp_path_factory.mktemp("exports")
    made = {}
    for name, org_id in seeded_db.sample.orgs.items():
        outcome = export(seeded_db.url, org_id, seeded_db.sample.owners[name][0], root)
        assert outcome.success, outcome.reason
        made[name] = outcome.bundle_path
    return made


def test_every_exported_table_has_a_file_and_nothing_else(bundles):
    names = {t.name for t in catalog.exported_tables()}
    for path in bundles.values():
        files = {p.name for p in path.iterdir()}
        assert files == {f"{n}.json" for n in names} | {"manifest.json"}


@pytest.mark.parametrize("table", sorted(EXPECTED_KEYS))
def test_table_holds_exactly_the_organizations_rows(seeded_db, bundles, table):
    with psycopg.connect(seeded_db.url) as conn:
        for name, path in bundles.items():
            org = seeded_db.sample.orgs[name]
            expected = sorted(
                r[0] for r in conn.execute(SCOPE_CTE + EXPECTED_KEYS[table], {"org": org})
            )
            got = sorted(row_key(table, r) for r in read_table(path, table))
            assert got == expected, f"{table} of {name}"


def test_the_sample_exercises_every_table(bundles):
    acme = bundles["Acme"]
    empty = [t.name for t in catalog.exported_tables() if not read_table(acme, t.name)]
    assert empty == []


def test_no_row_appears_in_two_organizations(bundles):
    for table in set(EXPECTED_KEYS) - GLOBAL_TABLES:
        seen: dict[str, str] = {}
        for name, path in bundles.items():
            for row in read_table(path, table):
                key = row_key(table, row)
                assert key not in seen, f"{table} row {key} in {seen.get(key)} and {name}"
                seen[key] = name


def test_multi_organization_users_state_stays_in_its_organization(seeded_db, bundles):
    sample = seeded_db.sample
    with psycopg.connect(seeded_db.url) as conn:
        for name, path in bundles.items():
            org = sample.orgs[name]
            for table in (
                "notifications",
                "channel_read_state",
                "bookmarks",
                "reminders",
                "personal_notes",
                "user_sidebar_preferences",
            ):
                ids = [r["id"] for r in read_table(path, table)]
                foreign = conn.execute(
                    SCOPE_CTE + f"SELECT count(*) FROM {table} t WHERE t.id = ANY(%(ids)s::uuid[]) "
                    f"AND t.id::text NOT IN ({EXPECTED_KEYS[table]})",
                    {"org": org, "ids": ids},
                ).fetchone()[0]
                assert foreign == 0, (name, table)
        for user in sample.multi_org_users:
            per_org = [
                [r for r in read_table(p, "notifications") if r["user_id"] == user]
                for p in bundles.values()
            ]
            assert sum(1 for rows in per_org if rows) >= 2, "sample must spread notifications"


def test_referenced_users_are_exactly_the_users_exported(bundles):
    for name, path in bundles.items():
        referenced = set()
        for table in catalog.exported_tables():
            refs = [c.name for c in table.exported_columns if c.references == catalog.USERS_TABLE]
            if table.name in {"users", "profiles", "user_statuses"}:
                continue
            for row in read_table(path, table.name):
                referenced.update(row[c] for c in refs if row[c] is not None)
        users = {u["id"] for u in read_table(path, "users")}
        assert users == referenced, name
        profiles = {p["user_id"] for p in read_table(path, "profiles")}
        assert profiles == users, name


def test_former_members_and_authors_are_carried(seeded_db, bundles):
    sample = seeded_db.sample
    acme = bundles["Acme"]
    users = {u["id"] for u in read_table(acme, "users")}
    members = {m["user_id"] for m in read_table(acme, "members")}
    assert sample.former_member in users
    assert sample.former_member not in members


def test_no_secret_or_internal_value_in_any_byte(seeded_db, bundles):
    canaries = [v for values in seeded_db.sample.canaries.values() for v in values]
    assert canaries
    for path in bundles.values():
        for file in all_files(path):
            data = file.read_bytes()
            assert b"CANARY" not in data, file
            assert b"INTERNALJOB" not in data, file
            for value in canaries:
                assert value.encode() not in data


def test_manifest_describes_every_file(bundles):
    for path in bundles.values():
        manifest = read_manifest(path)
        assert manifest["format_version"] == 1
        for table, entry in manifest["tables"].items():
            file = path / entry["file"]
            assert entry["sha256"] == sha256_file(file)
            assert entry["bytes"] == file.stat().st_size
            assert entry["rows"] == len(read_table(path, table))
            spec = catalog.table(table)
            assert entry["exported_columns"] == [c.name for c in spec.exported_columns]
            assert set(entry["excluded_columns"]) == {c.name for c in spec.excluded_columns}
        assert set(manifest["not_exported_tables"]) == {
            t.name for t in catalog.not_exported_tables()
        }


def test_files_are_arrays_with_one_object_per_line_in_key_order(bundles):
    for path in bundles.values():
        for table in catalog.exported_tables():
            lines = (path / f"{table.name}.json").read_text(encoding="utf-8").split("\n")
            assert lines[0] == "[" and lines[-2:] == ["]", ""]
            rows = [json.loads(line.rstrip(",")) for line in lines[1:-2]]
            if table.name != "invitations":  # its key is a secret, not exported
                keys = [str(r[table.primary_key[0]]) for r in rows]
                assert keys == sorted(keys), f"{table.name} not in primary-key order"
            for row in rows:
                assert list(row) == [c.name for c in table.exported_columns]


def test_text_round_trips_exactly(seeded_db, bundles):
    rows = {r["id"]: r for r in read_table(bundles["Acme"], "messages")}
    with psycopg.connect(seeded_db.url) as conn:
        for message_id, content in conn.execute(
            "SELECT id::text, content FROM messages WHERE id = ANY(%s::uuid[])",
            ([seeded_db.sample.big_message_id, *seeded_db.sample.edge_message_ids.values()],),
        ):
            assert rows[message_id]["content"] == content
    big = rows[seeded_db.sample.big_message_id]["content"]
    assert len(big.encode()) >= 100_000


def test_timestamps_are_utc_with_microseconds(seeded_db, bundles):
    acme = bundles["Acme"]
    for table in catalog.exported_tables():
        stamps = [
            c.name
            for c in table.exported_columns
            if c.type in (catalog.ColumnType.TIMESTAMP, catalog.ColumnType.TIMESTAMPTZ)
        ]
        for row in read_table(acme, table.name):
            for column in stamps:
                assert row[column] is None or TIMESTAMP.fullmatch(row[column]), (table.name, column)
    with psycopg.connect(seeded_db.url) as conn:
        conn.execute("SET TIME ZONE 'America/New_York'")  # must not matter
        for row in read_table(acme, "reminders"):
            (remind_at,) = conn.execute(
                "SELECT remind_at FROM reminders WHERE id = %s", (row["id"],)
            ).fetchone()
            assert row["remind_at"] == remind_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for row in read_table(acme, "messages"):
            (created,) = conn.execute(
                "SELECT created_at FROM messages WHERE id = %s", (row["id"],)
            ).fetchone()
            assert datetime.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ") == created


def test_values_keep_their_json_types(seeded_db, bundles):
    acme = bundles["Acme"]
    prefs = read_table(acme, "user_sidebar_preferences")
    with psycopg.connect(seeded_db.url) as conn:
        for row in prefs:
            (stored,) = conn.execute(
                "SELECT preferences FROM user_sidebar_preferences WHERE id = %s", (row["id"],)
            ).fetchone()
            assert row["preferences"] == stored and isinstance(row["preferences"], dict)
    channel = read_table(acme, "channels")[0]
    assert isinstance(channel["is_private"], bool) and isinstance(channel["sort_order"], int)


def test_same_state_gives_byte_identical_tables(seeded_db, bundles, tmp_path):
    sample = seeded_db.sample
    again = export(seeded_db.url, sample.orgs["Acme"], sample.owners["Acme"][0], tmp_path)
    assert again.success, again.reason
    first = bundles["Acme"]
    for table in catalog.exported_tables():
        name = f"{table.name}.json"
        assert (again.bundle_path / name).read_bytes() == (first / name).read_bytes(), name
