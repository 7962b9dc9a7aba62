"""Parallel connections read the export's one snapshot, and change nothing in the output."""

from __future__ import annotations

import psycopg
import pyarrow.parquet as pq
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.parquet import relative_name
from ocomms_pipeline.export.key_ranges import DEFAULT_PARTS, PartPolicy
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.identifiers import principal
from ocomms_pipeline.postgres.snapshots import open_shared_snapshot, open_snapshot

COUNT = "SELECT count(*) FROM organizations"


def test_a_shared_connection_sees_the_snapshot_not_later_commits(make_database):
    db = make_database(seed=False)
    with open_snapshot(db.url) as main:
        assert main.fetch_one(COUNT) == (0,)
        name = main.export_snapshot()
        with psycopg.connect(db.url, autocommit=True) as writer:
            writer.execute(
                "INSERT INTO organizations (id, name, slug, created_at) "
                "VALUES ('later_org_aaaaaaaaaaaaaaa', 'Later', 'later', now())"
            )
        with open_shared_snapshot(db.url, name, main.info) as shared:
            assert shared.info == main.info
            assert shared.fetch_one(COUNT) == (0,)
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                shared.fetch_one("DELETE FROM organizations")
        with open_snapshot(db.url) as fresh:
            assert fresh.fetch_one(COUNT) == (1,)
        with pytest.raises(psycopg.Error), open_shared_snapshot(db.url, "00000003-1", main.info):
            pass


SPLIT_EVERYTHING = PartPolicy(min_bytes=0, part_bytes=1, max_parts=5)


def _staged(root, org, run_id, name):
    return bundle.staging_dir(root, org, run_id) / name


@pytest.mark.parametrize("parquet", [False, True])
def test_parallel_connections_and_key_ranges_write_the_same_rows_as_one(
    seeded_db, tmp_path, parquet
):
    """One connection reading whole tables, and four reading every table in five key ranges."""
    org = seeded_db.sample.orgs["Acme"]
    runs = {"whole": (1, DEFAULT_PARTS), "ranges": (4, SPLIT_EVERYTHING)}
    states = {
        name: stage_organization(
            seeded_db.url,
            org,
            principal("operator:ops"),
            tmp_path / name,
            name,
            connections=connections,
            parts=policy,
            parquet=parquet,
        )
        for name, (connections, policy) in runs.items()
    }
    assert states["whole"].problems == states["ranges"].problems == []
    json_results = [[{**vars(t), "parquet": None} for t in s.tables] for s in states.values()]
    assert json_results[0] == json_results[1]
    for table in catalog.exported_tables():
        files = [_staged(tmp_path / n, org, n, f"{table.name}.json").read_bytes() for n in runs]
        assert files[0] == files[1], table.name
        if parquet:
            copies = [
                pq.read_table(_staged(tmp_path / n, org, n, relative_name(table.name)))
                for n in runs
            ]
            assert copies[0].equals(copies[1]), table.name
    for name in runs:  # no fragment is left behind
        staged = bundle.staging_dir(tmp_path / name, org, name)
        assert not [p for p in staged.rglob("*") if ".part" in p.name]


def test_a_secret_in_a_later_key_range_is_reported_at_its_row_in_the_table(make_database, tmp_path):
    db = make_database()
    org = db.sample.orgs["Acme"]
    with psycopg.connect(db.url, autocommit=True) as conn:
        (token,) = conn.execute(
            "SELECT s.token FROM sessions s JOIN members m ON m.user_id = s.user_id "
            "WHERE m.organization_id = %s LIMIT 1",
            (org,),
        ).fetchone()
        (last_id,) = conn.execute(
            "SELECT m.id FROM messages m JOIN channels c ON c.id = m.channel_id "
            "WHERE c.organization_id = %s ORDER BY m.id DESC LIMIT 1",
            (org,),
        ).fetchone()
        conn.execute("UPDATE messages SET content = %s WHERE id = %s", (token, last_id))
    state = stage_organization(
        db.url, org, principal("operator:ops"), tmp_path, "r", connections=3, parts=SPLIT_EVERYTHING
    )
    messages = next(t for t in state.tables if t.table == "messages")
    reasons = [p["reason"] for p in state.problems if p["table"] == "messages"]
    assert reasons == [
        f"column 'content' holds a value of secret column sessions.token (row {messages.rows})"
    ]
