"""A real deployment: ``dagster-webserver`` and ``dagster-daemon`` processes on the workspace.

Runs are launched over GraphQL as an operator's script does, and requests go through the
queue as the ocomms app does; the daemon's sensors, run queue and run launcher (a subprocess
per run) do the rest. Both processes are stopped by process group at the end.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from dagster import DagsterRunStatus

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.launch.graphql import launch_export, wait_for_run
from ocomms_pipeline.requests import audit
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data
from ocomms_pipeline.status import FINAL

from ..support.exports import read_manifest
from ..support.processes import (
    BIN,
    HOST,
    PROJECT,
    deployment_environment,
    free_port,
    log_tails,
    start_process,
    stop_process,
    wait_until_serving,
)
from ..support.requests_world import SECRET, audit_entries


@dataclass(frozen=True)
class Deployment:
    port: int
    url: str
    export_root: Path
    audit_dir: Path
    sample: sample_data.SampleData
    logs: Path


@pytest.fixture(scope="module")
def deployment(admin_url, tmp_path_factory) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("live")
    name = f"ocomms_live_{os.getpid()}_{secrets.token_hex(3)}"
    url = servers.create_database(admin_url, name)
    processes: list[subprocess.Popen] = []
    try:
        with psycopg.connect(url) as conn:
            ddl.create_schema(conn)
            sample = sample_data.seed(conn)
        request_queue.init_db(url)
        env, port = deployment_environment(url, base), free_port()
        workspace = str(PROJECT / "workspace.yaml")
        webserver = [str(BIN / "dagster-webserver"), "-w", workspace, "-h", HOST, "-p", str(port)]
        processes.append(start_process(webserver, env, base, base / "webserver.log"))
        daemon = [str(BIN / "dagster-daemon"), "run", "-w", workspace]
        processes.append(start_process(daemon, env, base, base / "daemon.log"))
        wait_until_serving(port, processes, base)
        yield Deployment(port, url, base / "exports", base / "audit", sample, base)
    finally:
        for process in processes:
            stop_process(process)
        servers.drop_database(admin_url, name)


def test_graphql_launches_an_export_and_reports_its_status(deployment):
    org, owner = deployment.sample.orgs["Globex"], deployment.sample.owners["Globex"][0]
    run_id = launch_export(HOST, deployment.port, org, owner)
    status = wait_for_run(HOST, deployment.port, run_id, timeout=300)
    assert status == DagsterRunStatus.SUCCESS, log_tails(deployment.logs)
    [published] = bundle.finished_bundles(deployment.export_root, org)
    manifest = read_manifest(published)
    assert manifest["dagster_run_id"] == run_id
    assert manifest["requester"]["capacity"] == "owner"
    assert (published.parent / f"{published.name}.zip").is_file()


def test_graphql_launch_by_a_guest_is_refused_by_the_gate(deployment):
    org = deployment.sample.orgs["Initech"]
    run_id = launch_export(HOST, deployment.port, org, deployment.sample.guests["Initech"])
    assert wait_for_run(HOST, deployment.port, run_id, timeout=300) == DagsterRunStatus.FAILURE
    assert not (deployment.export_root / org).exists()


def test_a_queued_request_is_run_by_the_daemon(deployment):
    org, owner = deployment.sample.orgs["Acme"], deployment.sample.owners["Acme"][0]
    with psycopg.connect(deployment.url, autocommit=True) as conn:
        request_id = request_queue.enqueue(conn, org, owner)
    deadline = time.monotonic() + 300
    while True:
        with psycopg.connect(deployment.url, autocommit=True) as conn:
            row = request_queue.get(conn, request_id)
        if row.status in FINAL or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (row.status, row.reason) == ("completed", None), log_tails(deployment.logs)
    assert bundle.sha256_file(Path(row.archive_path)) == row.archive_sha256
    assert audit.verify(deployment.audit_dir, SECRET).ok
    entries = audit_entries(deployment.audit_dir, str(request_id))
    assert [e["details"]["decision"] for e in entries] == ["authorized", "completed"]
