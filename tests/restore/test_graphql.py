"""``restore_organization`` launched over GraphQL on a real webserver and daemon, as operators do.

The deployment helpers are the live-deployment test's own (``tests/test_live_deployment``):
the same processes, environment and shutdown by process group, plus the restore's database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.restore.jobs import RESTORE_JOB, restore_run_config
from ocomms_pipeline.defs.restore.resources import DATABASE_ENV
from ocomms_pipeline.launch.graphql import LOCATION, REPOSITORY, wait_for_run
from ocomms_pipeline.requests import audit
from ocomms_pipeline.sandbox import servers
from tests.conftest import _build, _unique_name

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
from ..support.requests_world import SECRET
from .support import export_bundle, fingerprint


@dataclass(frozen=True)
class RestoreDeployment:
    port: int
    home: Path
    target_url: str
    audit_dir: Path
    logs: Path


@pytest.fixture(scope="module")
def restore_deployment(seeded_db, admin_url, tmp_path_factory) -> Iterator[RestoreDeployment]:

    base = tmp_path_factory.mktemp("live-restore")
    name = _unique_name()
    processes = []
    try:
        target = _build(admin_url, name, seed=False)
        env = {**deployment_environment(seeded_db.url, base), DATABASE_ENV: target.url}
        port, workspace = free_port(), str(PROJECT / "workspace.yaml")
        webserver = [str(BIN / "dagster-webserver"), "-w", workspace, "-h", HOST, "-p", str(port)]
        processes.append(start_process(webserver, env, base, base / "webserver.log"))
        daemon = [str(BIN / "dagster-daemon"), "run", "-w", workspace]
        processes.append(start_process(daemon, env, base, base / "daemon.log"))
        wait_until_serving(port, processes, base)
        yield RestoreDeployment(port, base / "home", target.url, base / "audit", base)
    finally:
        for process in processes:
            stop_process(process)
        servers.drop_database(admin_url, name)


def _launch(deployment: RestoreDeployment, bundle: Path, requested_by: str) -> DagsterRunStatus:
    client = DagsterGraphQLClient(HOST, port_number=deployment.port)
    run_id = client.submit_job_execution(
        RESTORE_JOB,
        repository_location_name=LOCATION,
        repository_name=REPOSITORY,
        run_config=restore_run_config(bundle, requested_by),
    )
    return wait_for_run(HOST, deployment.port, run_id, timeout=300)


def test_an_owner_is_refused_and_an_operator_restores(
    seeded_db, restore_deployment: RestoreDeployment, tmp_path: Path
):
    sample = seeded_db.sample
    organization = sample.orgs["Initech"]
    bundle = export_bundle(seeded_db.url, organization, tmp_path)
    before = fingerprint(restore_deployment.target_url)

    owner = sample.owners["Initech"][0]
    assert _launch(restore_deployment, bundle, owner) == DagsterRunStatus.FAILURE
    assert fingerprint(restore_deployment.target_url) == before

    status = _launch(restore_deployment, bundle, "operator:alice")
    assert status == DagsterRunStatus.SUCCESS, log_tails(restore_deployment.logs)
    with psycopg.connect(restore_deployment.target_url) as conn:
        found = conn.execute("SELECT count(*) FROM organizations WHERE id = %s", [organization])
        assert found.fetchone()[0] == 1
    instance = dg.DagsterInstance.from_config(str(restore_deployment.home))
    try:
        assert organization in instance.get_dynamic_partitions(organizations.name)
    finally:
        instance.dispose()
    lines = [
        json.loads(line)
        for day in sorted(restore_deployment.audit_dir.glob("*.jsonl"))
        for line in day.open()
    ]
    assert [(e["eventType"], e["details"]["decision"]) for e in lines] == [
        (audit.AUTHZ_FAILURE, "unauthorized"),
        (audit.EXPORT_EVENT, "restored"),
    ]
    assert audit.verify(restore_deployment.audit_dir, SECRET).ok
