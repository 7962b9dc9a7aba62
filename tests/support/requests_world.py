"""A deployment in miniature for request tests: queue, Dagster instance, sensor daemon.

``SensorDaemon`` drives Dagster's own sensor daemon code (``execute_sensor_iteration``, what
``dagster-daemon`` runs every few seconds) against the project's code location served by a
real code-server subprocess. The instance uses Dagster's synchronous run coordinator and
launcher, so a run the daemon launches executes, in this process, before the tick returns:
request -> sensor tick -> run -> run-status sensor tick -> row is the production chain, only
without waiting. ``restart()`` drops the daemon's workspace and code server and starts anew
on the same instance, which is what a restarted ``dagster-daemon`` sees.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration

from ocomms_pipeline.catalog import OWNERSHIP
from ocomms_pipeline.defs.requests.sensors import REQUEST_TAG
from ocomms_pipeline.postgres.quoting import quote
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.sandbox import ddl, servers
from ocomms_pipeline.sandbox.samples import data as sample_data
from ocomms_pipeline.sandbox.samples import orgs as sample_orgs
from ocomms_pipeline.status import FINAL

LOCATION = ModuleTarget("ocomms_pipeline.definitions", None, None, "ocomms_pipeline")
SECRET = "test-audit-secret"


class SensorDaemon:
    """Dagster's sensor daemon loop, one iteration at a time, on a synchronous instance."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self._stack = ExitStack()
        self._context = None
        self.logger = logging.getLogger("test-sensor-daemon")

    def start(self) -> SensorDaemon:
        self._context = self._stack.enter_context(
            create_test_daemon_workspace_context(LOCATION, self.instance)
        )
        return self

    def restart(self) -> None:
        self.stop()
        self._stack = ExitStack()
        self.start()

    def stop(self) -> None:
        self._stack.close()

    def tick(self) -> None:
        """One daemon iteration: every sensor whose minimum interval has passed is evaluated."""
        for _ in execute_sensor_iteration(self._context, self.logger, None, None):
            pass

    def tick_until(self, done, *, limit: int = 60) -> None:
        """Tick (1 s apart: the sensors' minimum interval in tests) until ``done()`` holds."""
        for _ in range(limit):
            self.tick()
            if done():
                return
            time.sleep(1.0)
        raise AssertionError(f"not done after {limit} daemon iterations")

    def runs_of(self, request_id: str) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(filters=dg.RunsFilter(tags={REQUEST_TAG: request_id})))


@dataclass(frozen=True)
class World:
    url: str
    export_root: Path
    audit_dir: Path
    sample: sample_data.SampleData
    daemon: SensorDaemon

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def enqueue(self, organization_id: str, requested_by: str) -> str:
        with self.connect() as conn:
            return str(request_queue.enqueue(conn, organization_id, requested_by))

    def row(self, request_id: str) -> request_queue.ExportRequest:
        with self.connect() as conn:
            found = request_queue.get(conn, request_id)
        assert found is not None
        return found

    def settled(self, *request_ids: str) -> bool:
        return all(self.row(r).status in FINAL for r in request_ids)


def add_organizations(url: str, count: int, *, prefix: str, owner: str = "heidi") -> dict[str, str]:
    """Small extra organizations (an owner and a member each): name -> organization id."""
    snapshot = ddl.load_snapshot()
    rows = sample_data.Rows(snapshot)
    users = {handle: sample_data.nanoid(f"users/{handle}") for handle in sample_data.USER_NAMES}
    made = {}
    for n in range(count):
        spec = sample_orgs.OrgSpec(
            name=f"{prefix}{n:02d}",
            slug=f"{prefix.lower()}{n:02d}",
            id_prefix="",
            members=((owner, "owner"), ("ivan", "member")),
            guest="olivia",
            join_request=("mallory", "pending"),
            shares_link=False,
        )
        made[spec.name] = sample_orgs.add_organization(rows, spec, users).id
    with psycopg.connect(url) as conn, conn.transaction():
        sample_data.insert_rows(conn, rows, snapshot)
    return made


def delete_organization(url: str, organization_id: str) -> None:
    """What an ocomms admin deleting an organization does (rows cascade)."""
    rule = OWNERSHIP
    with psycopg.connect(url) as conn:
        deleted = conn.execute(
            f"DELETE FROM {quote(rule.organizations)} WHERE {quote(rule.organization_key)} = %s",
            (organization_id,),
        ).rowcount
    assert deleted == 1


def _memory_backed_tmp() -> str | None:
    """Dagster's SQLite storage opens, commits and closes a database per event: on a
    memory-backed filesystem the 50-request test takes a third less time. Else the default."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@contextmanager
def open_world(admin_url: str, base: Path) -> Iterator[World]:
    """A seeded ocomms database with the queue, the env a deployment sets, and a daemon."""
    name = f"ocomms_requests_{os.getpid()}_{secrets.token_hex(3)}"
    url = servers.create_database(admin_url, name)
    stack = ExitStack()
    try:
        with psycopg.connect(url) as conn:
            ddl.create_schema(conn)
            sample = sample_data.seed(conn)
        request_queue.init_db(url)
        env = {
            "OCOMMS_DATABASE_URL": url,
            "OCOMMS_EXPORT_ROOT": str(base / "exports"),
            "OCOMMS_AUDIT_LOG_DIR": str(base / "audit"),
            "AUDIT_LOG_SECRET": SECRET,
            "OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": "1",
        }
        home = Path(tempfile.mkdtemp(prefix="dagster-home-", dir=_memory_backed_tmp()))
        stack.callback(shutil.rmtree, home, ignore_errors=True)
        with (
            pytest.MonkeyPatch.context() as patch,
            dg.instance_for_test(
                temp_dir=str(home),
                synchronous_run_coordinator=True,
                synchronous_run_launcher=True,
            ) as instance,
        ):
            for key, value in env.items():
                patch.setenv(key, value)
            daemon = SensorDaemon(instance).start()
            try:
                daemon.tick()  # the run-status sensors start their cursors on their first tick
                yield World(url, base / "exports", base / "audit", sample, daemon)
            finally:
                daemon.stop()
    finally:
        stack.close()
        servers.drop_database(admin_url, name)


def audit_entries(directory: Path, request_id: str) -> list[dict]:
    """The audit entries about one request, in log order."""
    found = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry["details"].get("requestId") == request_id:
                found.append(entry)
    return found
