"""The request queue table, its guarded transitions, and the sensor's pure planning."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ocomms_pipeline.defs import common
from ocomms_pipeline.defs.export.jobs import export_run_config
from ocomms_pipeline.defs.requests.sensors import (
    DEFAULT_STATUS_INTERVAL_SECONDS,
    REQUEST_TAG,
    REQUESTED_BY_TAG,
    interval_from_env,
    plan_tick,
    status_interval_from_env,
)
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.requests.queue import ExportRequest, Finish

from ..support.cli import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"
ORG, USER = "-WuEr5KgcLWSytBDW3-YsD_A", "gqL_ZcpVns9Xhudf0TgYatXa"


def readme_insert() -> str:
    """The INSERT the README tells the ocomms app to run, with node-postgres placeholders."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [insert] = [b for b in blocks if "INSERT INTO ocomms_export.export_requests" in b]
    return insert.strip()


@pytest.fixture
def queue_db(make_database):
    url = make_database(seed=False).url
    request_queue.init_db(url)
    return url


def test_the_readme_insert_is_what_the_app_runs(queue_db):
    insert = readme_insert()
    with psycopg.connect(queue_db, autocommit=True) as conn:
        query = insert.replace("$1", "%s").replace("$2", "%s")
        (request_id,) = conn.execute(query, (ORG, USER)).fetchone()
        row = request_queue.get(conn, request_id)
    assert row is not None
    assert (row.organization_id, row.requested_by, row.status) == (ORG, USER, "pending")
    assert row.started_at is row.finished_at is row.dagster_run_id is None


def test_init_db_is_idempotent_and_safe_concurrently(make_database):
    url = make_database(seed=False).url
    errors: list[BaseException] = []

    def init() -> None:
        try:
            request_queue.init_db(url)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=init) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    request_queue.init_db(url)
    assert errors == []
    with psycopg.connect(url) as conn:
        assert request_queue.queue_exists(conn)


def test_transitions_happen_once(queue_db):
    with psycopg.connect(queue_db, autocommit=True) as conn:
        request_id = request_queue.enqueue(conn, ORG, USER)
        now = datetime.now(UTC)
        assert request_queue.mark_running(conn, request_id, "run-1", now)
        assert not request_queue.mark_running(conn, request_id, "run-2", now)
        assert request_queue.mark_authorized(conn, request_id, now)
        assert not request_queue.mark_authorized(conn, request_id, now)
        done = Finish("completed", archive_path="/a.zip", archive_sha256="ab" * 32)
        assert not request_queue.finish(conn, request_id, done, from_="pending")
        assert request_queue.finish(conn, request_id, done, from_="running")
        assert not request_queue.finish(conn, request_id, Finish("failed"), from_="running")
        row = request_queue.get(conn, request_id)
    assert (row.status, row.dagster_run_id, row.archive_path) == ("completed", "run-1", "/a.zip")


def test_the_table_refuses_impossible_rows(queue_db):
    with psycopg.connect(queue_db, autocommit=True) as conn:
        request_id = request_queue.enqueue(conn, ORG, USER)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "UPDATE ocomms_export.export_requests SET status = 'completed' WHERE id = %s",
                (request_id,),
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "UPDATE ocomms_export.export_requests SET status = 'done' WHERE id = %s",
                (request_id,),
            )


def test_reasons_are_one_bounded_line():
    assert request_queue.one_line("first\n  Traceback (most recent call last):\n") == "first"
    assert len(request_queue.one_line("x" * 2000)) == request_queue.REASON_LIMIT


def _request(org: str = ORG, user: str = USER) -> ExportRequest:
    return ExportRequest(
        id=uuid.uuid4(),
        organization_id=org,
        requested_by=user,
        status="pending",
        created_at=datetime.now(UTC),
        started_at=None,
        authorized_at=None,
        finished_at=None,
        dagster_run_id=None,
        bundle_path=None,
        archive_path=None,
        archive_sha256=None,
        reason=None,
    )


def test_plan_requests_one_run_per_new_request():
    a, b, c = _request(), _request(), _request(org="Other_org")
    plan = plan_tick([a, b, c], runs={}, known_partitions={ORG})
    assert [r.run_key for r in plan.run_requests] == [a.key, b.key, c.key]
    assert plan.new_partitions == ["Other_org"]
    first = plan.run_requests[0]
    assert first.partition_key == ORG
    assert first.tags == {
        REQUEST_TAG: a.key,
        REQUESTED_BY_TAG: USER,
        common.ORGANIZATION_TAG: ORG,  # one run per organization at a time (dagster.yaml)
        common.KIND_TAG: common.KIND_REQUEST,
    }
    assert first.run_config == export_run_config(USER)


def test_plan_never_requests_a_run_that_exists():
    a, b = _request(), _request()
    plan = plan_tick([a, b], runs={a.key: "run-a"}, known_partitions={ORG})
    assert [r.run_key for r in plan.run_requests] == [b.key]
    assert plan.launched == [(a, "run-a")]
    assert plan.new_partitions == []


def test_plan_launches_nothing_for_a_gate_refusal():
    refused, other_org, granted = _request(), _request(org="Other_org"), _request()
    refusal = ExportRefused("user is a guest", code="guest")
    plan = plan_tick(
        [refused, other_org, granted],
        runs={},
        known_partitions=set(),
        refusals={refused.key: refusal, other_org.key: refusal},
    )
    assert plan.refused == [(refused, refusal), (other_org, refusal)]
    assert [r.run_key for r in plan.run_requests] == [granted.key]
    assert plan.new_partitions == [ORG]  # no partition for an organization only refused


def test_plan_rejects_malformed_rows_without_partitions():
    rows = [_request(org="a/b"), _request(user="operator:eve"), _request(user=""), _request()]
    plan = plan_tick(rows, runs={}, known_partitions=set())
    assert [r for r, _ in plan.invalid] == rows[:3]
    assert "malformed organization id" in plan.invalid[0][1]
    assert "operator principal" in plan.invalid[1][1]
    assert plan.new_partitions == [ORG] and len(plan.run_requests) == 1


def test_sensor_interval_comes_from_the_environment():
    assert interval_from_env({}) == 30
    assert interval_from_env({"OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": "5"}) == 5
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="whole number"):
            interval_from_env({"OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": bad})
    # A finished run shows in its row within seconds, whatever the queue's polling interval.
    assert status_interval_from_env({}) == DEFAULT_STATUS_INTERVAL_SECONDS == 2
    assert status_interval_from_env({"OCOMMS_REQUEST_STATUS_INTERVAL_SECONDS": "2"}) == 2
    with pytest.raises(ValueError, match="whole number"):
        status_interval_from_env({"OCOMMS_REQUEST_STATUS_INTERVAL_SECONDS": "0"})


def test_cli_init_db_request_and_status(make_database):
    url = make_database(seed=False).url
    env = {"OCOMMS_DATABASE_URL": url}
    missing = run_cli("request", "--requested-by", USER, "--", ORG, env=env)
    assert missing.returncode == 1 and "init-db" in missing.stderr
    for _ in range(2):
        init = run_cli("init-db", env=env)
        assert init.returncode == 0, init.stderr
    made = run_cli("request", "--requested-by", USER, "--", ORG, env=env)
    assert made.returncode == 0, made.stderr
    request_id = made.stdout.strip()
    uuid.UUID(request_id)
    shown = run_cli("status", request_id, env=env)
    assert shown.returncode == 0
    fields = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    assert fields["status"].strip() == "pending" and fields["organization_id"].strip() == ORG
    as_json = run_cli("status", "--json", request_id, env=env)
    assert '"status": "pending"' in as_json.stdout
    refused = run_cli("request", "--requested-by", "operator:eve", "--", ORG, env=env)
    assert refused.returncode == 3 and refused.stderr.startswith("refused: ")
    malformed = run_cli("request", "--requested-by", USER, "a/b", env=env)
    assert malformed.returncode == 3 and "malformed organization id" in malformed.stderr
    unknown = run_cli("status", str(uuid.uuid4()), env=env)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no export request")
    assert run_cli("status", "not-a-uuid", env=env).returncode == 2
