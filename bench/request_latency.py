"""Benchmark: how long an owner's export request takes through the daemon, tick to completed.

A real deployment without the webserver: ``dagster-daemon run`` on the project's workspace,
its request sensor, run queue, run launcher (a run worker process per run) and run-status
sensors, over a seeded ocomms database (the sample's Acme, about 1,400 messages). Requests are
queued one at a time, as the ocomms app queues them; for each it reports, from the request
row's own timestamps and this script's polling of it:

- tick to run end: from the run's creation (the request sensor's tick creates it) to the
  run's end (``finished_at``): the run queue, the run worker's start, the export;
- tick to completed: from the tick until this script sees the row read ``completed`` (what the
  app sees; a run-status sensor writes it at its next tick,
  ``OCOMMS_REQUEST_STATUS_INTERVAL_SECONDS``);
- queued to completed: from ``created_at``, which adds the wait for the request sensor's tick
  (``OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS``).

The instance is SQLite with the kept-open event log (as docs/operations.md advises), or
``deploy/dagster.yaml`` on a database of its own with ``--instance postgres``. Everything it
creates is removed at the end.

    .venv/bin/python -m bench.request_latency --requests 5
    .venv/bin/python -m bench.request_latency --instance postgres --interval 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg

from bench.support.dagster_homes import (
    PREFIX,
    create_instance,
    dagster_database,
    postgres_home,
    tuned_sqlite_home,
)
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data
from ocomms_pipeline.status import FINAL, RequestStatus

PROJECT = Path(__file__).resolve().parents[1]
DAEMON = str(Path(sys.executable).with_name("dagster-daemon"))
AUDIT_SECRET = "bench-audit-secret"  # signs the benchmark's own throwaway audit log
TIMEOUT = 600.0


def _wait_completed(url: str, request_id: object) -> tuple[request_queue.ExportRequest, datetime]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with psycopg.connect(url, autocommit=True) as conn:
            row = request_queue.get(conn, request_id)
        if row is not None and row.status in FINAL:
            seen = datetime.now(UTC)
            if row.status != RequestStatus.COMPLETED:
                raise RuntimeError(f"request {request_id} ended {row.status}: {row.reason}")
            return row, seen
        time.sleep(0.2)
    raise RuntimeError(f"request {request_id} not final after {TIMEOUT:.0f} s")


def measure(instance: str, requests: int, interval: int, admin_url: str) -> list[dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="ocomms-request-bench-"))
    name = f"{PREFIX}_requests"
    url = servers.create_database(admin_url, name)
    daemon: subprocess.Popen | None = None
    try:
        with psycopg.connect(url) as conn:
            ddl.create_schema(conn)
            sample = sample_data.seed(conn)
        request_queue.init_db(url)
        home = work / "home"
        env = postgres_home(home, admin_url) if instance == "postgres" else tuned_sqlite_home(home)
        create_instance(env)
        env = {
            **os.environ,
            **env,
            "OCOMMS_DATABASE_URL": url,
            "OCOMMS_EXPORT_ROOT": str(work / "exports"),
            "OCOMMS_AUDIT_LOG_DIR": str(work / "audit"),
            "AUDIT_LOG_SECRET": AUDIT_SECRET,
            "OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": str(interval),
        }
        with open(work / "daemon.log", "wb") as log:
            daemon = subprocess.Popen(
                [DAEMON, "run", "-w", str(PROJECT / "workspace.yaml")],
                cwd=work,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        os.environ.update(env)  # this process reads the run's creation from the instance
        instance = dg.DagsterInstance.get()
        org, owner = sample.orgs["Acme"], sample.owners["Acme"][0]
        found = []
        for _ in range(requests):
            with psycopg.connect(url, autocommit=True) as conn:
                request_id = request_queue.enqueue(conn, org, owner)
            row, seen = _wait_completed(url, request_id)
            assert row.dagster_run_id and row.finished_at
            record = instance.get_run_record_by_id(row.dagster_run_id)
            assert record is not None
            tick = record.create_timestamp
            tick = tick if tick.tzinfo else tick.replace(tzinfo=UTC)  # stored as UTC
            found.append(
                {
                    "tick_to_run_end": (row.finished_at - tick).total_seconds(),
                    "tick_to_completed": (seen - tick).total_seconds(),
                    "queued_to_completed": (seen - row.created_at).total_seconds(),
                }
            )
        return found
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
        servers.drop_database(admin_url, name)
        if instance == "postgres":
            servers.drop_database(admin_url, dagster_database())


def render(instance: str, interval: int, found: list[dict[str, float]]) -> str:
    lines = [
        f"Export requests through the daemon ({instance} instance, sensor interval {interval} s,"
        f" {len(found)} requests one after another)",
        "",
        "| measure | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    for key in ("tick_to_run_end", "tick_to_completed", "queued_to_completed"):
        values = [f[key] for f in found]
        label = key.replace("_", " ")
        lines.append(
            f"| {label} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--interval", type=int, default=30, help="the request sensor's, s")
    parser.add_argument("--admin-url", help="server for the databases (default: as the tests)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin_url = args.admin_url or servers.admin_server_url()
    found = measure(args.instance, args.requests, args.interval, admin_url)
    print(render(args.instance, args.interval, found), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
