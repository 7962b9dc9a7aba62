"""The production instance config's concurrency limits hold under a real daemon.

``deploy/dagster.yaml`` as shipped (PostgreSQL storage, queued run coordinator, tag limits)
with two run slots; requests for three organizations are queued at once and the daemon's
sensor, run queue and launcher (a subprocess per run) drain them. The runs' recorded start
and end times must never show more than two runs at once, nor two of one organization.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import time

import dagster as dg
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from ocomms_pipeline.defs import common
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data
from ocomms_pipeline.status import FINAL

from ..support.processes import BIN, PROJECT, start_process, stop_process
from ..support.requests_world import SECRET, add_organizations

SLOTS = 2
ORGANIZATIONS = 3
PER_ORGANIZATION = 3


@pytest.fixture
def daemon_deployment(admin_url, tmp_path, monkeypatch):
    token = f"{os.getpid()}_{secrets.token_hex(3)}"
    url = servers.create_database(admin_url, f"ocomms_limits_{token}")
    dagster_db = f"ocomms_limits_dagster_{token}"
    dagster_url = servers.create_database(admin_url, dagster_db)
    params = conninfo_to_dict(dagster_url)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": str(params.get("host", "127.0.0.1")),
        "DAGSTER_PG_PORT": str(params.get("port", "5432")),
        "DAGSTER_PG_USER": str(params.get("user", "")),
        "DAGSTER_PG_PASSWORD": str(params.get("password", "")),
        "DAGSTER_PG_DB": dagster_db,
        "DAGSTER_MAX_CONCURRENT_RUNS": str(SLOTS),
        "OCOMMS_DATABASE_URL": url,
        "OCOMMS_EXPORT_ROOT": str(tmp_path / "exports"),
        "OCOMMS_AUDIT_LOG_DIR": str(tmp_path / "audit"),
        "AUDIT_LOG_SECRET": SECRET,
        "OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with psycopg.connect(url) as conn:
        ddl.create_schema(conn)
        sample = sample_data.seed(conn)
    request_queue.init_db(url)
    instance = dg.DagsterInstance.get()  # creates Dagster's tables before the daemon starts
    daemon = start_process(
        [str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT / "workspace.yaml")],
        {**os.environ},
        tmp_path,
        tmp_path / "daemon.log",
    )
    try:
        yield url, sample, instance, tmp_path / "daemon.log"
    finally:
        stop_process(daemon)
        instance.dispose()
        servers.drop_database(admin_url, dagster_db)
        servers.drop_database(admin_url, f"ocomms_limits_{token}")


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    return max(itertools.accumulate(step for _, step in events))


def test_the_run_queue_keeps_to_the_global_and_per_organization_limits(daemon_deployment):
    url, sample, instance, log = daemon_deployment
    owner = sample.users["heidi"]
    orgs = list(add_organizations(url, ORGANIZATIONS, prefix="Limit").values())
    with psycopg.connect(url, autocommit=True) as conn:
        requests = [
            str(request_queue.enqueue(conn, org, owner))
            for org in orgs
            for _ in range(PER_ORGANIZATION)
        ]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = [request_queue.get(conn, r) for r in requests]
        if all(row.status in FINAL for row in rows):
            break
        time.sleep(2)
    assert [row.status for row in rows] == ["completed"] * len(requests), log.read_text()[-3000:]
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={common.KIND_TAG: common.KIND_REQUEST})
    )
    assert len(records) == len(requests)
    intervals = {r.dagster_run.tags[common.ORGANIZATION_TAG]: [] for r in records}
    for record in records:
        assert record.start_time and record.end_time
        intervals[record.dagster_run.tags[common.ORGANIZATION_TAG]].append(
            (record.start_time, record.end_time)
        )
    everything = [i for spans in intervals.values() for i in spans]
    assert most_at_once(everything) <= SLOTS
    assert all(most_at_once(spans) == 1 for spans in intervals.values())
    assert most_at_once(everything) == SLOTS, "the queue should have used both slots"
