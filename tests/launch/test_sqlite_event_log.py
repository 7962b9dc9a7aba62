"""The kept-open SQLite event log writes what Dagster's own writes and reads, batched or not.

Two ways in. The events of a real backup run, recorded by a real instance, are stored by
each storage into files of its own, and every table of every file is compared row by row.
And a real job with an asset and a blocking check runs on an instance made by
``instance_at``; Dagster's stock ``SqliteEventLogStorage`` (what a webserver or daemon
without this class uses) then opens the same files and must see the same events,
materializations and check results.
"""

from __future__ import annotations

import sqlite3
from itertools import groupby
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from ocomms_pipeline import catalog
from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.backups.jobs import BACKUP_JOB, backup_run_config
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.asset_keys import BUNDLE_KEY, table_key
from ocomms_pipeline.launch.instances import instance_at, kept_open_event_log
from ocomms_pipeline.launch.sqlite_event_log import KeptOpenSqliteEventLogStorage


@pytest.fixture(scope="module")
def backup_events(seeded_db, tmp_path_factory) -> list[EventLogEntry]:
    """Every event of a backup run over two organizations, in the order they were stored."""
    orgs = sorted(seeded_db.sample.orgs.values())[:2]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OCOMMS_DATABASE_URL", seeded_db.url)
        patch.setenv("OCOMMS_EXPORT_ROOT", str(tmp_path_factory.mktemp("exports")))
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(organizations.name, orgs)
            result = defs.resolve_job_def(BACKUP_JOB).execute_in_process(
                run_config=backup_run_config(orgs, "operator:nightly-backup"), instance=instance
            )
            assert result.success
            return list(instance.all_logs(result.run_id))


# Columns that hold when a row was written, not what it says.
_WRITE_TIMES = {"create_timestamp", "migration_completed"}


def _rows(directory: Path) -> dict[str, dict[str, list[tuple]]]:
    """Every row of every table of every SQLite file under ``directory``, in rowid order,
    without the times the rows were written."""
    found = {}
    for path in sorted(directory.glob("*.db")):
        with sqlite3.connect(path) as conn:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = [name for (name,) in listed]
            found[path.name] = {}
            for table in tables:
                cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
                kept = [i for i, d in enumerate(cursor.description) if d[0] not in _WRITE_TIMES]
                found[path.name][table] = [tuple(r[i] for i in kept) for r in cursor]
    return found


def _organization(event: EventLogEntry) -> str | None:
    """The partition of an asset event (the backup's batch), None for any other event."""
    if event.dagster_event_type not in ASSET_EVENTS:
        return None
    return event.get_dagster_event().partition


def test_a_batch_writes_the_rows_the_stock_storage_writes_event_by_event(
    backup_events: list[EventLogEntry], tmp_path: Path
):
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    for event in backup_events:
        stock.store_event(event)
    kept = KeptOpenSqliteEventLogStorage(str(tmp_path / "kept"))
    batches = 0
    for organization, group in groupby(backup_events, key=_organization):
        if organization is not None:
            kept.store_event_batch(list(group))
            batches += 1
        else:
            for event in group:
                kept.store_event(event)
    kept.store_event_batch([])  # nothing to write, and no error
    stock.dispose()
    kept.dispose()
    assert batches >= 2  # one run of materializations per organization
    stock_rows, kept_rows = _rows(tmp_path / "stock"), _rows(tmp_path / "kept")
    assert set(stock_rows) == {"index.db", f"{backup_events[0].run_id}.db"}
    assert kept_rows == stock_rows


def test_a_batch_of_other_events_is_stored_one_by_one_as_the_stock_storage_does(
    backup_events: list[EventLogEntry], tmp_path: Path
):
    """Run-status events are mirrored in the index too: a batch holding them is not merged."""
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    for event in backup_events:
        stock.store_event(event)
    kept = KeptOpenSqliteEventLogStorage(str(tmp_path / "kept"))
    kept.store_event_batch(backup_events)
    stock.dispose()
    kept.dispose()
    assert _rows(tmp_path / "kept") == _rows(tmp_path / "stock")


def test_with_batching_on_a_backup_run_records_every_materialization(
    seeded_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The instance a dagster.yaml naming the storage gives, with DAGSTER_EVENT_BATCH_SIZE set:
    every organization's 35 materializations are stored (none left waiting in a batch)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(kept_open_event_log(home)))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "100")
    monkeypatch.setenv("OCOMMS_DATABASE_URL", seeded_db.url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(tmp_path / "exports"))
    orgs = sorted(seeded_db.sample.orgs.values())[:2]
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        instance.add_dynamic_partitions(organizations.name, orgs)
        result = defs.resolve_job_def(BACKUP_JOB).execute_in_process(
            run_config=backup_run_config(orgs, "operator:nightly-backup"), instance=instance
        )
        assert result.success
        keys = [BUNDLE_KEY, *(table_key(t.name) for t in catalog.exported_tables())]
        assert len(keys) == 35
        for key in keys:
            assert instance.get_materialized_partitions(key) == set(orgs), key
        latest = instance.get_latest_materialization_event(BUNDLE_KEY)
        assert latest is not None and latest.run_id == result.run_id
        assert latest.asset_materialization.metadata["tables"].value == 34
    finally:
        instance.dispose()


KEY = dg.AssetKey(["probe"])


@dg.asset(check_specs=[dg.AssetCheckSpec("sound", asset=KEY, blocking=True)])
def probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"rows": 3}, check_results=[dg.AssetCheckResult(passed=True)]
    )


def _run(instance: dg.DagsterInstance) -> str:
    result = dg.materialize([probe], instance=instance)
    assert result.success
    return result.run_id


def test_a_run_recorded_through_kept_connections_reads_back_with_dagsters_own_class(
    tmp_path: Path,
):
    instance = instance_at(tmp_path / "home")
    storage = instance.event_log_storage
    assert isinstance(storage, KeptOpenSqliteEventLogStorage)
    run_ids = [_run(instance) for _ in range(3)]
    # One engine per database file touched, not one per event.
    assert len(storage._engines) <= len(run_ids) + 1
    written = {run_id: len(instance.all_logs(run_id)) for run_id in run_ids}
    instance.dispose()

    stock = SqliteEventLogStorage(str(tmp_path / "home" / "history" / "runs"))
    try:
        for run_id, count in written.items():
            assert len(stock.get_logs_for_run(run_id)) == count > 10
        (record,) = stock.get_asset_records([KEY])
        latest = record.asset_entry.last_materialization_record
        assert latest is not None and latest.run_id == run_ids[-1]
        assert latest.asset_materialization.metadata["rows"].value == 3
        check = dg.AssetCheckKey(KEY, "sound")
        history = stock.get_asset_check_execution_history(check, limit=5)
        assert [h.run_id for h in history] == list(reversed(run_ids))
    finally:
        stock.dispose()


def test_event_databases_stay_in_wal_and_wipe_releases_the_files(tmp_path: Path):
    instance = instance_at(tmp_path / "home")
    run_id = _run(instance)
    runs = tmp_path / "home" / "history" / "runs"
    for name in (f"{run_id}.db", "index.db"):
        with sqlite3.connect(runs / name) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    instance.event_log_storage.wipe()
    assert not (runs / f"{run_id}.db").exists()
    assert run_id not in instance.event_log_storage._engines
    # After a wipe the storage starts afresh: a new run is recorded and read back.
    assert len(instance.all_logs(_run(instance))) > 10
    instance.dispose()
