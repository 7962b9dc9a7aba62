"""Failures leave nothing that looks like a bundle; schema drift is reported, never exported."""

from __future__ import annotations

import psycopg

from ocomms_pipeline.bundle.files import BUNDLE_PATTERN, finished_bundles

from ..support.exports import all_files, export, read_manifest, tree
from ..support.locks import table_locked


def test_a_failure_midway_leaves_no_bundle_and_a_retry_succeeds(make_database, tmp_path):
    """A table locked by a migration makes the export fail after earlier files were written."""
    db = make_database()
    acme, owner = db.sample.orgs["Acme"], db.sample.owners["Acme"][0]
    with table_locked(db.url):
        outcome = export(db.url, acme, owner, tmp_path, lock_timeout_seconds=0.5)
    assert outcome.outcome == "failed"
    assert "lock" in outcome.reason
    assert tree(tmp_path) in ([], [acme]), tree(tmp_path)
    retry = export(db.url, acme, owner, tmp_path)
    assert retry.success, retry.reason
    assert [p.name for p in finished_bundles(tmp_path, acme)] == [retry.bundle_path.name]
    names = [p.name.removesuffix(".zip") for p in (tmp_path / acme).iterdir()]
    assert names and all(BUNDLE_PATTERN.fullmatch(name) for name in names)


def test_a_database_without_an_exported_column_fails_clearly(make_database, tmp_path):
    db = make_database()
    with psycopg.connect(db.url) as conn:
        conn.execute("ALTER TABLE reactions DROP COLUMN emoji")
    outcome = export(db.url, db.sample.orgs["Acme"], "operator:ops", tmp_path)
    assert outcome.outcome == "failed"
    assert "reactions.emoji" in outcome.reason
    assert tree(tmp_path) == []


def test_unknown_columns_and_tables_are_not_exported_but_reported(make_database, tmp_path):
    db = make_database()
    with psycopg.connect(db.url) as conn:
        conn.execute("ALTER TABLE messages ADD COLUMN signing_key text DEFAULT 'CANARY-upgrade'")
        conn.execute("ALTER TABLE users ADD COLUMN recovery_phrase text DEFAULT 'CANARY-phrase'")
        conn.execute("CREATE TABLE audit_shadow (id int PRIMARY KEY, note text)")
    outcome = export(db.url, db.sample.orgs["Acme"], "operator:ops", tmp_path)
    assert outcome.success, outcome.reason
    manifest = read_manifest(outcome.bundle_path)
    assert manifest["tables"]["messages"]["unknown_columns"] == ["signing_key"]
    assert manifest["tables"]["users"]["unknown_columns"] == ["recovery_phrase"]
    assert manifest["unknown_tables"] == ["audit_shadow"]
    for file in all_files(outcome.bundle_path):
        if file.name != "manifest.json":
            assert b"CANARY" not in file.read_bytes()
            assert b"signing_key" not in file.read_bytes()
