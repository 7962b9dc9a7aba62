"""Benchmark: the nightly backup of 1,000 small organizations, the way the schedule runs it.

Builds a database with the real ocomms schema and N small organizations (members, channels,
messages, reactions, a direct conversation each) in a few set-based statements, creates the
partitions with the partition sensor, evaluates the nightly backup schedule and executes every
run it requests (``backup_organizations``, in-process executor) against a real
DagsterInstance in a temporary DAGSTER_HOME. Its ``dagster.yaml`` and environment are what
docs/operations.md asks of a SQLite deployment (the event log through
``KeptOpenSqliteEventLogStorage``, ``DAGSTER_EVENT_BATCH_SIZE`` set); ``--instance
sqlite-stock`` leaves Dagster's own event log, ``--instance postgres`` installs
``deploy/dagster.yaml``. ``--workers`` runs that many batches at a time in separate
processes, as the queued run coordinator would with its ``ocomms/kind=backup`` limit.

Prints wall time, time per organization and overhead per run, then checks what a person
would see: every partition of every asset the backup records shown as materialized (the
partition status Dagster's UI reads), and exits 1 if any is short. Needs nothing in the
environment: its PostgreSQL server is the tests' (``OCOMMS_ADMIN_DATABASE_URL``, else the
local one, else an embedded one). Everything it creates (database, DAGSTER_HOME, export
root) is removed at the end unless ``--keep``.

    .venv/bin/python -m bench.backup_many                      # 1,000 organizations
    .venv/bin/python -m bench.backup_many --organizations 200 --batch-size 50 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict

from ocomms_pipeline.defs.backups.jobs import BACKUP_OP
from ocomms_pipeline.launch.instances import kept_open_event_log
from ocomms_pipeline.sandbox import ddl, servers

PROJECT = Path(__file__).resolve().parents[1]
BENCH_TAG = "ocomms/bench_run"
DAGSTER = str(Path(sys.executable).with_name("dagster"))
# What docs/operations.md asks of a SQLite deployment beside its dagster.yaml: an organization's
# 35 materializations stored as one batch.
EVENT_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = "100"
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

# One statement per table; %(n)s organizations, three members each (owner, admin, member).
_POPULATE = [
    """INSERT INTO organizations (id, name, slug)
       SELECT 'org_' || lpad(g::text, 20, '0'), 'Organization ' || g, 'org-' || g
       FROM generate_series(1, %(n)s) g""",
    """INSERT INTO users (id, name, email)
       SELECT 'usr_' || lpad(g::text, 20, '0'), 'User ' || g, 'user' || g || '@example.test'
       FROM generate_series(1, 3 * %(n)s) g""",
    """INSERT INTO members (id, user_id, organization_id, role)
       SELECT 'mem_' || lpad(g::text, 20, '0'), 'usr_' || lpad(g::text, 20, '0'),
              'org_' || lpad(((g - 1) / 3 + 1)::text, 20, '0'),
              (ARRAY['owner', 'admin', 'member'])[(g - 1) %% 3 + 1]
       FROM generate_series(1, 3 * %(n)s) g""",
    """INSERT INTO channels (organization_id, name, slug)
       SELECT o.id, c.name, c.name
       FROM organizations o CROSS JOIN (VALUES ('general'), ('random')) c(name)""",
    """INSERT INTO channel_members (channel_id, user_id)
       SELECT ch.id, m.user_id FROM channels ch JOIN members m USING (organization_id)""",
    """INSERT INTO messages (content, author_id, channel_id, sequence)
       SELECT 'Message ' || s || ' in #' || ch.name, m.user_id, ch.id, s
       FROM channels ch CROSS JOIN generate_series(1, 12) s
       JOIN members m ON m.organization_id = ch.organization_id
        AND m.role = (ARRAY['owner', 'admin', 'member'])[s %% 3 + 1]""",
    """INSERT INTO reactions (message_id, user_id, emoji)
       SELECT msg.id, m.user_id, ':+1:' FROM messages msg
       JOIN channels ch ON ch.id = msg.channel_id
       JOIN members m ON m.organization_id = ch.organization_id AND m.role = 'member'
       WHERE msg.sequence <= 4""",
    """INSERT INTO conversations (organization_id, is_group, created_by)
       SELECT m.organization_id, false, m.user_id FROM members m WHERE m.role = 'owner'""",
    """INSERT INTO conversation_participants (conversation_id, user_id)
       SELECT c.id, m.user_id FROM conversations c
       JOIN members m ON m.organization_id = c.organization_id AND m.role IN ('owner', 'admin')""",
    """INSERT INTO messages (content, author_id, conversation_id, sequence)
       SELECT 'Direct message ' || s, p.user_id, p.conversation_id, 2 * s + p.n
       FROM (SELECT *, row_number() OVER (PARTITION BY conversation_id ORDER BY user_id) n
             FROM conversation_participants) p CROSS JOIN generate_series(1, 2) s""",
]


def organization_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM organizations")]


def build_database(admin_url: str, name: str, organizations: int) -> str:
    url = servers.create_database(admin_url, name)
    with psycopg.connect(url) as conn:
        ddl.create_schema(conn)
        for statement in _POPULATE:
            conn.execute(statement, {"n": organizations})
        conn.execute("ANALYZE")
    return url


@cache
def instance() -> Any:
    """This process's instance of DAGSTER_HOME, opened once (its dagster.yaml applies)."""
    import dagster as dg

    return dg.DagsterInstance.get()


@dataclass(frozen=True)
class RunTiming:
    run_id: str
    success: bool
    seconds: float  # the run as a whole, process start to exit
    step_seconds: float  # the backup op, from its start event to its end event
    export_seconds: float  # of which exporting and publishing the organizations
    backed_up: int
    failed: int


def execute_inline(run_config: dict[str, Any], tags: dict[str, str]) -> str:
    """Execute one requested run in this process (``execute_in_process``); return its run id."""

    from ocomms_pipeline.definitions import defs
    from ocomms_pipeline.defs.backups.jobs import BACKUP_JOB

    result = defs.resolve_job_def(BACKUP_JOB).execute_in_process(
        run_config={**run_config, **_QUIET},
        instance=instance(),
        tags=tags,
        raise_on_error=False,
    )
    return result.run_id


def execute_in_worker(run_config: dict[str, Any], tags: dict[str, str]) -> str:
    """Execute one requested run in a fresh process, as a run launcher's worker does.

    ``dagster job execute`` starts Python, loads the code location and runs the job with its
    in-process executor: the same fixed cost a launched run pays.
    """
    from ocomms_pipeline.defs.backups.jobs import BACKUP_JOB

    marker = {**tags, BENCH_TAG: uuid.uuid4().hex}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        json.dump({**run_config, **_QUIET}, config)
    try:
        subprocess.run(
            [
                DAGSTER,
                "job",
                "execute",
                "-m",
                "ocomms_pipeline.definitions",
                "-j",
                BACKUP_JOB,
                "-c",
                config.name,
                "--tags",
                json.dumps(marker),
            ],
            cwd=os.environ["DAGSTER_HOME"],
            check=False,
            capture_output=True,
        )
    finally:
        os.unlink(config.name)
    return _run_tagged(marker[BENCH_TAG])


def _run_tagged(value: str) -> str:
    import dagster as dg

    runs = instance().get_runs(filters=dg.RunsFilter(tags={BENCH_TAG: value}))
    if not runs:
        raise RuntimeError("the worker process recorded no run; run it by hand to see why")
    return runs[0].run_id


def timing(run_id: str, seconds: float) -> RunTiming:
    """The op's summary metadata and duration in a finished run, read from the instance."""
    import dagster as dg

    record = instance().get_run_record_by_id(run_id)
    summary: dict[str, Any] = {}
    step_start = step_end = 0.0
    for entry in instance().all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key != BACKUP_OP:
            continue
        if event.event_type_value == "STEP_START":
            step_start = entry.timestamp
        elif event.event_type_value == "STEP_OUTPUT":
            summary = _values(event.event_specific_data.metadata)
        elif event.event_type_value == "STEP_FAILURE":
            summary = _values(event.step_failure_data.user_failure_data.metadata)
        if event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            step_end = entry.timestamp
    return RunTiming(
        run_id,
        record.dagster_run.status == dg.DagsterRunStatus.SUCCESS,
        seconds,
        max(0.0, step_end - step_start),
        summary.get("export_seconds", 0.0),
        summary.get("backed_up", 0),
        summary.get("failed", 0),
    )


def _values(metadata: Any) -> dict[str, Any]:
    return {k: v.value for k, v in metadata.items()}


def create_partitions() -> float:
    """Run the partition sensor once, as the daemon would, and apply what it returns."""
    import dagster as dg

    from ocomms_pipeline.definitions import defs
    from ocomms_pipeline.defs.partitions.sensors import SENSOR_NAME

    started = time.monotonic()
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    repository = defs.get_repository_def()
    # Only what the sensor asks for: the code location's other resources (the request
    # sensors' audit log, the restore target) need variables a backup never reads.
    every = repository.get_top_level_resources()
    resources = {key: every[key] for key in sensor.required_resource_keys}
    context = dg.build_sensor_context(
        instance=instance(), repository_def=repository, resources=resources
    )
    result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance().add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return time.monotonic() - started


def scheduled_runs(batch_size: int) -> list[Any]:
    import dagster as dg

    from ocomms_pipeline.defs.backups.schedules import BackupSettings, build_backup_schedule

    schedule = build_backup_schedule(BackupSettings(batch_size=batch_size))
    context = dg.build_schedule_context(
        instance=instance(), scheduled_execution_time=datetime.now(UTC)
    )
    return list(schedule.evaluate_tick(context).run_requests or [])


def execute(mode: str, run_config: dict[str, Any], tags: dict[str, str]) -> RunTiming:
    run = execute_in_worker if mode == "process" else execute_inline
    started = time.monotonic()
    run_id = run(run_config, tags)
    return timing(run_id, time.monotonic() - started)


def run_all(requests: list[Any], workers: int, mode: str) -> list[RunTiming]:
    """Every batch, at most ``workers`` at a time (the coordinator's backup limit)."""
    jobs = [(mode, r.run_config, dict(r.tags)) for r in requests]
    if workers <= 1:
        return [execute(*job) for job in jobs]
    pool_type = ThreadPoolExecutor if mode == "process" else ProcessPoolExecutor
    with pool_type(max_workers=workers) as pool:
        return list(pool.map(execute, *zip(*jobs, strict=True)))


def fixed_overhead(mode: str) -> float:
    """Duration of a backup run over no organization: what every run costs before any work."""
    from ocomms_pipeline import settings
    from ocomms_pipeline.defs.backups.jobs import backup_run_config

    config = backup_run_config([], settings.BACKUP_PRINCIPAL_DEFAULT)
    started = time.monotonic()
    execute(mode, config, {})
    return time.monotonic() - started


def report(
    organizations: int, workers: int, wall: float, timings: list[RunTiming], fixed: float
) -> None:
    """Wall time, and where each run's time went: the organizations' exports, the events that
    record them (the rest of the backup op), and the run around the op."""
    runs = max(len(timings), 1)
    export = sum(t.export_seconds for t in timings)
    step = sum(t.step_seconds for t in timings)
    run_total = sum(t.seconds for t in timings)
    backed_up = sum(t.backed_up for t in timings)
    failed = sum(t.failed for t in timings)
    done = max(backed_up + failed, 1)
    print(f"organizations backed up: {backed_up} of {organizations} ({failed} failed)")
    print(f"runs: {len(timings)} ({sum(t.success for t in timings)} succeeded), workers: {workers}")
    print(f"BACKUP WALL TIME: {wall:.1f} s")
    print(f"per organization, export and publish: {export / done * 1000:.0f} ms")
    print(
        "per organization, recording its 35 materializations: "
        f"{(step - export) / done * 1000:.0f} ms"
    )
    print(f"per run, outside the backup op: {(run_total - step) / runs:.1f} s")
    print(f"per run, fixed overhead (wall time of a run over no organization): {fixed:.1f} s")


def recorded_assets() -> list[Any]:
    """The assets a backup materializes for each organization: every table, then the bundle."""
    from ocomms_pipeline import catalog
    from ocomms_pipeline.defs.export.asset_keys import BUNDLE_KEY, table_key

    return [*(table_key(t.name) for t in catalog.exported_tables()), BUNDLE_KEY]


def short_partitions(wanted: set[str]) -> dict[str, list[str]]:
    """Per asset, the wanted partitions its partition status does not show as materialized.

    The status is the one Dagster's UI reads (materialized, less failed or in progress),
    brought up to date from the event log as the UI would.
    """
    from dagster._core.storage.partition_status_cache import (
        get_and_update_asset_status_cache_value,
    )

    from ocomms_pipeline.defs.common import organizations

    short: dict[str, list[str]] = {}
    for key in recorded_assets():
        status = get_and_update_asset_status_cache_value(instance(), key, organizations)
        shown: set[str] = set()
        if status is not None:
            materialized = status.deserialize_materialized_partition_subsets(organizations)
            failed = status.deserialize_failed_partition_subsets(organizations)
            in_progress = status.deserialize_in_progress_partition_subsets(organizations)
            shown = (
                set(materialized.get_partition_keys())
                - set(failed.get_partition_keys())
                - set(in_progress.get_partition_keys())
            )
        if missing := sorted(wanted - shown):
            short[key.to_user_string()] = missing
    return short


def check_partitions(organization_ids: list[str]) -> bool:
    """Print whether every partition of every recorded asset shows as materialized."""
    from ocomms_pipeline.defs.common import organizations

    partitions = set(instance().get_dynamic_partitions(organizations.name))
    wanted = set(organization_ids)
    assets = recorded_assets()
    short = short_partitions(wanted)
    if partitions != wanted:
        print(f"PARTITIONS: {len(partitions)} in the instance, {len(wanted)} organizations")
    if not short and partitions == wanted:
        print(
            f"MATERIALIZED: all {len(wanted)} partitions of all {len(assets)} assets "
            "(tables and ocomms/bundle)"
        )
        return True
    print(f"NOT MATERIALIZED: {len(short)} of {len(assets)} assets are short")
    for asset, missing in sorted(short.items()):
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        print(f"  {asset}: {len(missing)} partition(s), e.g. {shown}")
    return False


def write_sqlite_instance(home: Path, kept_open: bool) -> None:
    """The SQLite instance's dagster.yaml; ``kept_open``: the event log docs/operations.md asks."""
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if kept_open:
        config |= kept_open_event_log(home)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def use_postgres_instance(dagster_home: Path, admin_url: str, database: str) -> None:
    """Install the production dagster.yaml, its connection taken from the admin server's."""
    shutil.copy(PROJECT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    params = conninfo_to_dict(admin_url)
    os.environ.update(
        DAGSTER_PG_HOST=str(params.get("host", "127.0.0.1")),
        DAGSTER_PG_PORT=str(params.get("port", 5432)),
        DAGSTER_PG_USER=str(params.get("user", "")),
        DAGSTER_PG_PASSWORD=str(params.get("password", "")),
        DAGSTER_PG_DB=database,
        DAGSTER_MAX_CONCURRENT_RUNS="4",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="batches running at once")
    parser.add_argument(
        "--mode",
        choices=["process", "inline"],
        default="process",
        help="process: each run in a fresh `dagster job execute` process, as launched runs are"
        " (default); inline: execute_in_process in this process",
    )
    parser.add_argument(
        "--instance",
        choices=["sqlite", "sqlite-stock", "postgres"],
        default="sqlite",
        help="Dagster storage: SQLite in DAGSTER_HOME with the event log docs/operations.md asks"
        " (default), SQLite with Dagster's own event log, or deploy/dagster.yaml on this server",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and directories")
    args = parser.parse_args()
    # Stopped with SIGTERM, still drop the database and directories (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    admin_url = servers.admin_server_url()
    name = f"ocomms_bench_backup_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="ocomms-backup-bench-"))
    try:
        started = time.monotonic()
        url = build_database(admin_url, name, args.organizations)
        print(
            f"database with {args.organizations} organizations: {time.monotonic() - started:.1f} s"
        )
        (work / "dagster").mkdir()
        if args.instance == "postgres":
            servers.create_database(admin_url, f"{name}_dagster")
            use_postgres_instance(work / "dagster", admin_url, f"{name}_dagster")
        else:
            write_sqlite_instance(work / "dagster", kept_open=args.instance == "sqlite")
        if args.instance == "sqlite":
            os.environ[EVENT_BATCH_ENV] = EVENT_BATCH_SIZE  # as docs/operations.md asks of SQLite
        os.environ.update(
            DAGSTER_HOME=str(work / "dagster"),
            OCOMMS_DATABASE_URL=url,
            OCOMMS_EXPORT_ROOT=str(work / "exports"),
        )
        print(f"partition sensor: {create_partitions():.1f} s")
        fixed = fixed_overhead(args.mode)
        started = time.monotonic()
        requests = scheduled_runs(args.batch_size)
        timings = run_all(requests, args.workers, args.mode)
        report(args.organizations, args.workers, time.monotonic() - started, timings, fixed)
        bundles = sum(1 for _ in (work / "exports").glob("*/ocomms-export-*"))
        print(f"bundles on disk: {bundles}")
        materialized = check_partitions(organization_ids(url))
    finally:
        if instance.cache_info().currsize:
            instance().dispose()  # its kept connections, before their files go
        if args.keep:
            print(f"kept: database {name}, directory {work}")
        else:
            servers.drop_database(admin_url, name)
            servers.drop_database(admin_url, f"{name}_dagster")
            shutil.rmtree(work, ignore_errors=True)
    return 0 if materialized else 1


if __name__ == "__main__":
    sys.exit(main())
