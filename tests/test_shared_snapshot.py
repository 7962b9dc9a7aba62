"""Parallel connections read the export's one snapshot, and change nothing in the output."""

from __future__ import annotations

import psycopg
import pytest

from ocomms_pipeline import bundle, catalog
from ocomms_pipeline.export import export_organization
from ocomms_pipeline.identifiers import principal
from ocomms_pipeline.source import open_shared_snapshot, open_snapshot

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


def test_parallel_connections_write_the_same_bytes_as_one(seeded_db, tmp_path):
    org = seeded_db.sample.orgs["Acme"]
    states = {
        n: export_organization(
            seeded_db.url, org, principal("operator:ops"), tmp_path / str(n), f"r{n}", connections=n
        )
        for n in (1, 4)
    }
    assert states[1].problems == states[4].problems == []
    assert [vars(t) for t in states[1].tables] == [vars(t) for t in states[4].tables]
    for table in catalog.exported_tables():
        files = [
            (
                bundle.staging_dir(tmp_path / str(n), org, f"r{n}") / f"{table.name}.json"
            ).read_bytes()
            for n in (1, 4)
        ]
        assert files[0] == files[1], table.name
