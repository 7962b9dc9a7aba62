"""The kept-open SQLite event log writes what Dagster's own class reads, through one engine.

A real job with an asset and a blocking check runs on an instance made by ``instance_at``;
then Dagster's stock ``SqliteEventLogStorage`` (what a webserver or daemon without this
class uses) opens the same files and must see the same events, materializations and check
results.
"""

import sqlite3
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from ocomms_pipeline.launch.instances import instance_at
from ocomms_pipeline.launch.sqlite_event_log import KeptOpenSqliteEventLogStorage

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
