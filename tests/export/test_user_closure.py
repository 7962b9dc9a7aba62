"""Users found only in streamed rows: exported, and their secrets looked for in what was written."""

from __future__ import annotations

import json

import psycopg

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.checks.row_scan import SecretValues
from ocomms_pipeline.export import scoping, user_closure
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.export.shared_snapshots import SharedSnapshots
from ocomms_pipeline.identifiers import principal
from ocomms_pipeline.postgres.snapshots import open_snapshot


def _early(url: str, org: str) -> set[str]:
    with (
        open_snapshot(url) as snapshot,
        SharedSnapshots(snapshot, url, connections=1, lock_timeout_seconds=5) as pool,
    ):
        return user_closure.early_users(pool, org)


def _staged_rows(root, org: str, run: str, table: str) -> list[dict]:
    path = bundle.staging_dir(root, org, run) / f"{table}.json"
    return json.loads(path.read_text())


def test_streamed_tables_are_those_scoped_through_messages():
    streamed = user_closure.streamed_tables()
    assert {"reactions", "thread_participants", "notifications"} <= streamed
    assert not streamed & {"members", "messages", "channel_members", "users", "profiles"}
    assert all(not scoping.uses_users(catalog.table(t)) for t in streamed)
    assert {t.name for t in catalog.exported_tables() if scoping.uses_users(t)} == {
        "users",
        "profiles",
        "user_statuses",
    }


def test_a_user_known_only_from_a_reaction_is_exported_and_their_secret_found(
    make_database, tmp_path
):
    db = make_database()
    org = db.sample.orgs["Acme"]
    early = _early(db.url, org)
    with psycopg.connect(db.url, autocommit=True) as conn:
        stranger, token = conn.execute(
            "SELECT user_id, token FROM sessions WHERE user_id <> ALL(%s) "
            "ORDER BY user_id, token LIMIT 1",
            (sorted(early),),
        ).fetchone()
        (first_message,) = conn.execute(
            "SELECT m.id FROM messages m JOIN channels c ON c.id = m.channel_id "
            "WHERE c.organization_id = %s ORDER BY m.id LIMIT 1",
            (org,),
        ).fetchone()
        conn.execute(
            "INSERT INTO reactions (message_id, user_id, emoji) VALUES (%s, %s, 'wave')",
            (first_message, stranger),
        )
        conn.execute("UPDATE messages SET content = %s WHERE id = %s", (token, first_message))
    assert stranger not in _early(db.url, org)  # found only while the reactions stream

    state = stage_organization(db.url, org, principal("operator:ops"), tmp_path, "r", connections=2)

    users = {u["id"] for u in _staged_rows(tmp_path, org, "r", "users")}
    assert stranger in users
    profiles = {p["user_id"] for p in _staged_rows(tmp_path, org, "r", "profiles")}
    assert stranger in profiles
    reasons = [p["reason"] for p in state.problems if p["table"] == "messages"]
    assert reasons == ["column 'content' holds a value of secret column sessions.token (row 1)"]


def test_the_users_are_the_same_as_one_query_over_every_table(seeded_db, tmp_path):
    org = seeded_db.sample.orgs["Acme"]
    with open_snapshot(seeded_db.url) as snapshot:
        expected = [
            r[0] for r in snapshot.fetch_all(scoping.referenced_users_query(), {"org": org})
        ]
    stage_organization(seeded_db.url, org, principal("operator:ops"), tmp_path, "r")
    users = [u["id"] for u in _staged_rows(tmp_path, org, "r", "users")]
    assert users == expected  # the same users, in the same (bytewise) order


def test_new_secrets_are_those_not_known_before():
    known = SecretValues.of([("sessions.token", "token-aaaaaaaa")])
    found = SecretValues.of(
        [("sessions.token", "token-aaaaaaaa"), ("accounts.password", "hash-bbbbbbbb")]
    )
    late = user_closure.new_secrets(known, found)
    assert late.values.to_pylist() == ["hash-bbbbbbbb"]
    assert late.origins == {"hash-bbbbbbbb": "accounts.password"}
    assert len(user_closure.new_secrets(found, found).values) == 0


def test_one_connection_asks_once_and_finds_the_users_several_connections_find(seeded_db):
    org = seeded_db.sample.orgs["Acme"]
    found = {}
    for connections in (1, 2):
        with (
            open_snapshot(seeded_db.url) as snapshot,
            SharedSnapshots(
                snapshot, seeded_db.url, connections=connections, lock_timeout_seconds=5
            ) as pool,
        ):
            probed = scoping.probed_tables(snapshot.relation_sizes())
            found[connections] = user_closure.early_users(pool, org, probed)
    assert found[1] == found[2]
    assert len(found[1]) > 1
