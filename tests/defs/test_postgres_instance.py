"""The production dagster.yaml: Dagster's own state in PostgreSQL, runs queued within limits."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.pool import QueuePool

from ocomms_pipeline import catalog
from ocomms_pipeline.launch.pooling import COMMAND_POOL
from ocomms_pipeline.launch.postgres_event_log import PooledPostgresEventLogStorage
from ocomms_pipeline.sandbox import servers

from ..support.exports import export, read_manifest

PRODUCTION_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"


@pytest.fixture
def postgres_instance(admin_url, tmp_path, monkeypatch):
    """A DAGSTER_HOME holding deploy/dagster.yaml, its env pointing at a fresh database."""
    name = f"ocomms_test_dagster_{os.getpid()}_{secrets.token_hex(4)}"
    url = servers.create_database(admin_url, name)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PRODUCTION_CONFIG, home / "dagster.yaml")
    params = conninfo_to_dict(url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_HOST", str(params.get("host", "127.0.0.1")))
    monkeypatch.setenv("DAGSTER_PG_PORT", str(params.get("port", 5432)))
    monkeypatch.setenv("DAGSTER_PG_USER", str(params.get("user", "")))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", str(params.get("password", "")))
    monkeypatch.setenv("DAGSTER_PG_DB", name)
    monkeypatch.setenv("DAGSTER_MAX_CONCURRENT_RUNS", "4")
    instance = dg.DagsterInstance.get()
    try:
        yield instance, url
    finally:
        instance.dispose()
        servers.drop_database(admin_url, name)


def test_production_instance_keeps_runs_events_and_schedules_in_postgres(postgres_instance):
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    instance, _ = postgres_instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    # The event log a run worker gets from this file holds a pooled connection.
    assert isinstance(instance.event_log_storage, PooledPostgresEventLogStorage)
    assert isinstance(instance.event_log_storage._engine.pool, QueuePool)


def _sessions(url: str, database: str) -> int:
    """Sessions other than this query's own open on ``database``."""
    with psycopg.connect(url, autocommit=True) as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        )
        return conn.execute(query, (database,)).fetchone()[0]


def test_the_cli_keeps_the_pooled_event_log_and_a_new_pool_closes_the_old(postgres_instance):
    from ocomms_pipeline.launch.instances import instance_in

    _, url = postgres_instance
    database = conninfo_to_dict(url)["dbname"]
    cli_instance = instance_in(Path(os.environ["DAGSTER_HOME"]))
    try:
        storage = cli_instance.event_log_storage
        assert isinstance(storage, PooledPostgresEventLogStorage)
        engine = storage._engine
        # The CLI asks for the pool the class already has: the same engine, no second pool.
        cli_instance.optimize_for_webserver(**COMMAND_POOL.as_arguments())
        assert storage._engine is engine
        storage.get_logs_for_run("no-such-run")  # takes the pool's connection and keeps it
        before = _sessions(url, database)
        # The webserver's settings (a statement timeout) replace the pool; the old one's
        # connection is closed, not left open beside the new one's.
        storage.optimize_for_webserver(statement_timeout=15000, pool_recycle=3600, max_overflow=4)
        assert storage._engine is not engine
        storage.get_logs_for_run("no-such-run")
        assert _sessions(url, database) == before
        with storage._engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "15s"
    finally:
        cli_instance.dispose()


def test_production_instance_queues_runs_within_the_concurrency_limits(postgres_instance):
    instance, _ = postgres_instance
    coordinator = instance.run_coordinator
    assert isinstance(coordinator, dg.QueuedRunCoordinator)
    settings = coordinator.get_run_queue_config()
    assert settings.max_concurrent_runs == 4
    limits = {
        (lim["key"], str(lim.get("value"))): lim["limit"] for lim in settings.tag_concurrency_limits
    }
    per_value = str({"applyLimitPerUniqueValue": True})
    assert limits == {
        ("ocomms/organization", per_value): 1,
        ("dagster/partition", per_value): 1,
        ("ocomms/kind", "backup"): 2,
        ("ocomms/kind", "request"): 3,
    }


def test_an_export_runs_through_the_postgres_backed_instance(
    postgres_instance, seeded_db, tmp_path
):
    instance, dagster_db = postgres_instance
    org = seeded_db.sample.orgs["Acme"]
    outcome = export(seeded_db.url, org, "operator:ops", tmp_path / "out", instance=instance)
    assert outcome.success, outcome.reason
    assert read_manifest(outcome.bundle_path)["dagster_run_id"] == outcome.run_id
    with psycopg.connect(dagster_db) as conn:
        (status,) = conn.execute(
            "SELECT status FROM runs WHERE run_id = %s", (outcome.run_id,)
        ).fetchone()
        (materialized,) = conn.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s"
            " AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (outcome.run_id,),
        ).fetchone()
    assert status == "SUCCESS"
    assert materialized == len(catalog.exported_tables()) + 2  # tables, bundle, archive


def test_a_backup_with_event_batching_on_records_every_asset_in_postgres(
    postgres_instance, seeded_db, tmp_path, monkeypatch
):
    """dagster-postgres keeps only the last asset's record of a batch: a backup batches an
    organization's materializations only on an event log that stores such batches whole."""
    from ocomms_pipeline.definitions import defs
    from ocomms_pipeline.defs.backups.jobs import BACKUP_JOB, backup_run_config
    from ocomms_pipeline.defs.common import organizations
    from ocomms_pipeline.defs.export.asset_keys import BUNDLE_KEY, table_key

    instance, _ = postgres_instance
    org = seeded_db.sample.orgs["Acme"]
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "100")
    monkeypatch.setenv("OCOMMS_DATABASE_URL", seeded_db.url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(tmp_path / "exports"))
    instance.add_dynamic_partitions(organizations.name, [org])
    result = defs.resolve_job_def(BACKUP_JOB).execute_in_process(
        run_config=backup_run_config([org], "operator:nightly-backup"), instance=instance
    )
    assert result.success
    keys = [BUNDLE_KEY, *(table_key(t.name) for t in catalog.exported_tables())]
    records = {r.asset_entry.asset_key: r for r in instance.get_asset_records(keys)}
    assert set(records) == set(keys)
    for key in keys:
        latest = records[key].asset_entry.last_materialization
        assert latest is not None and latest.run_id == result.run_id, key
