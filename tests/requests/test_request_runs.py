"""Requests end to end: queue row -> sensor tick -> run -> run-status sensor -> row, audit.

Everything goes through Dagster's own sensor daemon code and a real code server, on a real
instance and a real PostgreSQL; see requests_world for how runs execute synchronously.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster import DagsterEventType

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.archive import archive_path
from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.jobs import EXPORT_JOB
from ocomms_pipeline.defs.requests.resources import AuditLog, RequestQueue
from ocomms_pipeline.defs.requests.sensors import RUN_KEY_TAG, plan_tick
from ocomms_pipeline.requests import audit

from ..support.exports import read_manifest, tree
from ..support.requests_world import (
    SECRET,
    World,
    add_organizations,
    audit_entries,
    delete_organization,
)
from ..support.requests_world import open_world as _open_world
from .test_audit import OCOMMS_LAST_BEFORE_PIPELINE, OCOMMS_WRITTEN
from .test_audit import SECRET as OCOMMS_SECRET


@pytest.fixture(scope="module")
def world(admin_url, tmp_path_factory):
    with _open_world(admin_url, tmp_path_factory.mktemp("requests")) as opened:
        yield opened


def _decisions(world: World, request_id: str) -> list[tuple[str, str]]:
    return [
        (e["eventType"], e["details"]["decision"])
        for e in audit_entries(world.audit_dir, request_id)
    ]


def test_owner_request_completes_with_archive(world):
    org, owner = world.sample.orgs["Globex"], world.sample.owners["Globex"][0]
    request_id = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(request_id))
    row = world.row(request_id)
    assert (row.status, row.reason) == ("completed", None)
    [run] = world.daemon.runs_of(request_id)
    assert row.dagster_run_id == run.run_id and run.tags["dagster/partition"] == org
    assert row.created_at <= row.started_at <= row.authorized_at <= row.finished_at
    bundle_path, zip_path = Path(row.bundle_path), Path(row.archive_path)
    assert bundle_path.parent == world.export_root / org and bundle.BUNDLE_PATTERN.fullmatch(
        bundle_path.name
    )
    assert zip_path == archive_path(bundle_path) and zip_path.name.endswith("Z.zip")
    assert bundle.sha256_file(zip_path) == row.archive_sha256
    manifest = read_manifest(bundle_path)
    assert manifest["requester"] == {"principal": owner, "kind": "user", "capacity": "owner"}
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert names[0] == f"{bundle_path.name}/manifest.json"
        for name in names:
            assert zf.read(name) == (bundle_path.parent / name).read_bytes()
    assert len(names) == len(list(bundle_path.iterdir()))
    assert _decisions(world, request_id) == [
        (audit.EXPORT_EVENT, "authorized"),
        (audit.EXPORT_EVENT, "completed"),
    ]
    entry = audit_entries(world.audit_dir, request_id)[-1]
    assert (entry["userId"], entry["organizationId"]) == (owner, org)
    assert entry["details"]["archiveSha256"] == row.archive_sha256
    assert audit.verify(world.audit_dir, SECRET).ok


@pytest.mark.parametrize("who", ["admin", "guest", "outsider"])
def test_non_owner_is_rejected_with_no_files_and_an_audit_event(world, who):
    org = world.sample.orgs["Acme"]
    requester = getattr(world.sample, who)
    before = tree(world.export_root / org)
    request_id = world.enqueue(org, requester)
    world.daemon.tick_until(lambda: world.settled(request_id))
    row = world.row(request_id)
    assert row.status == "rejected"
    assert "only owners may export" in row.reason or "not a member" in row.reason
    assert "\n" not in row.reason and "Traceback" not in row.reason
    assert (row.archive_path, row.bundle_path, row.authorized_at) == (None, None, None)
    assert tree(world.export_root / org) == before
    [entry] = audit_entries(world.audit_dir, request_id)
    assert (entry["eventType"], entry["userId"], entry["organizationId"]) == (
        audit.AUTHZ_FAILURE,
        requester,
        org,
    )
    assert entry["details"]["reason"] == row.reason
    assert entry["details"]["code"] in ("not_an_owner", "guest", "not_a_member")
    # Decided before launching: no run, so no asset of the organization is marked failed.
    assert (world.daemon.runs_of(request_id), row.dagster_run_id) == ([], None)


def test_repeated_ticks_and_a_restarted_daemon_never_launch_twice(world):
    org, owner = world.sample.orgs["Initech"], world.sample.owners["Initech"][0]
    first = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(first))
    second = world.enqueue(org, owner)
    world.daemon.restart()
    world.daemon.tick_until(lambda: world.settled(second))
    for _ in range(3):
        world.daemon.tick()
    world.daemon.restart()
    world.daemon.tick()
    assert [len(world.daemon.runs_of(r)) for r in (first, second)] == [1, 1]
    assert [world.row(r).status for r in (first, second)] == ["completed", "completed"]
    assert world.row(first).archive_path != world.row(second).archive_path
    for request_id in (first, second):
        assert _decisions(world, request_id) == [
            (audit.EXPORT_EVENT, "authorized"),
            (audit.EXPORT_EVENT, "completed"),
        ]


def test_an_organization_deleted_before_the_run_fails_clearly(world):
    [org] = add_organizations(world.url, 1, owner="grace", prefix="Doomed").values()
    request_id = world.enqueue(org, world.sample.users["grace"])
    delete_organization(world.url, org)
    world.daemon.tick_until(lambda: world.settled(request_id))
    row = world.row(request_id)
    assert row.status == "failed"
    assert row.reason == (
        f"organization {org!r} does not exist: it was deleted after the export was requested"
    )
    assert not (world.export_root / org).exists() or tree(world.export_root / org) == []
    assert _decisions(world, request_id) == [(audit.EXPORT_EVENT, "failed")]


def test_malformed_rows_are_rejected_and_the_sensor_carries_on(world):
    org, owner = world.sample.orgs["Globex"], world.sample.owners["Globex"][0]
    bad = {
        world.enqueue("../../etc", owner): "malformed organization id",
        world.enqueue(org, "operator:mallory"): "operator principal",
        world.enqueue(org, "x" * 65): "malformed requester id",
        world.enqueue("", owner): "malformed organization id",
    }
    good = world.enqueue(org, owner)
    world.daemon.tick_until(lambda: world.settled(good, *bad))
    assert world.row(good).status == "completed"
    for request_id, reason in bad.items():
        row = world.row(request_id)
        assert row.status == "rejected" and reason in row.reason, row
        assert row.dagster_run_id is None and world.daemon.runs_of(request_id) == []
        [entry] = audit_entries(world.audit_dir, request_id)
        assert entry["eventType"] == audit.AUTHZ_FAILURE
    partitions = world.daemon.instance.get_dynamic_partitions("organizations")
    assert "../../etc" not in partitions and "" not in partitions
    assert audit.verify(world.audit_dir, SECRET).ok


def _launch_as_the_daemon_would(world: World, request_id: str) -> dg.DagsterRun:
    """Execute the run the sensor asks for, in process, with the daemon's run key tag."""
    [run_request] = plan_tick([world.row(request_id)], {}, set()).run_requests
    instance = world.daemon.instance
    org = run_request.partition_key
    if not instance.has_dynamic_partition(organizations.name, org):
        instance.add_dynamic_partitions(organizations.name, [org])
    result = defs.resolve_job_def(EXPORT_JOB).execute_in_process(
        run_config=run_request.run_config,
        instance=instance,
        partition_key=org,
        tags={**run_request.tags, RUN_KEY_TAG: run_request.run_key},
        raise_on_error=False,
    )
    return result.dagster_run


def _resources(world: World) -> dict:
    return {
        "request_queue": RequestQueue(url=world.url),
        "audit_log": AuditLog(directory=str(world.audit_dir), secret=SECRET),
    }


@pytest.mark.parametrize(
    ("who", "sensor_name", "event_type", "status"),
    [
        ("owner", "export_request_succeeded", DagsterEventType.RUN_SUCCESS, "completed"),
        ("admin", "export_request_failed", DagsterEventType.RUN_FAILURE, "rejected"),
    ],
)
def test_a_run_status_sensor_alone_writes_the_outcome(world, who, sensor_name, event_type, status):
    org = world.sample.orgs["Acme"]
    requester = world.sample.owners["Acme"][0] if who == "owner" else world.sample.admin
    request_id = world.enqueue(org, requester)
    run = _launch_as_the_daemon_would(world, request_id)
    assert world.row(request_id).status == "pending"  # no daemon tick happened
    [record] = world.daemon.instance.all_logs(run.run_id, of_type=event_type)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor_name,
        dagster_event=record.dagster_event,
        dagster_instance=world.daemon.instance,
        dagster_run=run,
        resources=_resources(world),
    )
    defs.resolve_sensor_def(sensor_name)(context)
    row = world.row(request_id)
    assert (row.status, row.dagster_run_id) == (status, run.run_id)
    expected = ["authorized", "completed"] if status == "completed" else ["rejected"]
    assert [d for _, d in _decisions(world, request_id)] == expected
    defs.resolve_sensor_def(sensor_name)(context)  # a second evaluation of the same event
    world.daemon.tick()  # and the request sensor's reconciliation
    assert [d for _, d in _decisions(world, request_id)] == expected
    assert len(world.daemon.runs_of(request_id)) == 1


def test_a_canceled_run_fails_its_request(world):
    org, owner = world.sample.orgs["Initech"], world.sample.owners["Initech"][0]
    request_id = world.enqueue(org, owner)
    [run_request] = plan_tick([world.row(request_id)], {}, set()).run_requests
    instance = world.daemon.instance
    run = instance.create_run_for_job(
        defs.resolve_job_def(EXPORT_JOB),
        run_config=run_request.run_config,
        tags={
            **run_request.tags,
            RUN_KEY_TAG: run_request.run_key,
            "dagster/partition": org,
        },
    )
    instance.report_run_canceled(run)
    world.daemon.tick_until(lambda: world.settled(request_id))
    row = world.row(request_id)
    assert row.status == "failed" and row.reason.startswith("the export run was canceled")
    assert row.dagster_run_id == run.run_id and len(world.daemon.runs_of(request_id)) == 1


def test_a_fresh_sensor_context_asks_only_for_requests_without_a_run(world):
    """The sensor keeps no cursor: a new context (a restart) sees what the queue and runs say."""
    org, owner = world.sample.orgs["Globex"], world.sample.owners["Globex"][0]
    launched, waiting = world.enqueue(org, owner), world.enqueue(org, owner)
    [run_request] = plan_tick([world.row(launched)], {}, set()).run_requests
    instance = world.daemon.instance
    run = instance.create_run_for_job(
        defs.resolve_job_def(EXPORT_JOB),
        run_config=run_request.run_config,
        tags={**run_request.tags, RUN_KEY_TAG: launched, "dagster/partition": org},
    )
    sensor = defs.resolve_sensor_def("export_requests")
    for _ in range(2):
        context = dg.build_sensor_context(instance=instance, resources=_resources(world))
        result = sensor(context)
        assert [r.run_key for r in result.run_requests] == [waiting]
    assert (world.row(launched).status, world.row(launched).dagster_run_id) == (
        "running",
        run.run_id,
    )
    instance.report_run_canceled(run)
    world.daemon.tick_until(lambda: world.settled(launched, waiting))
    assert [world.row(r).status for r in (launched, waiting)] == ["failed", "completed"]
    assert [len(world.daemon.runs_of(r)) for r in (launched, waiting)] == [1, 1]


def test_sensors_append_onto_a_day_file_that_ocomms_started(world, tmp_path):
    """The request sensor and a run-status sensor chain on to the lines ocomms wrote today.

    The day file is one ocomms's own logger wrote (see test_audit), put down under today's
    name and tomorrow's, in case the day turns while the test runs.
    """
    written = (OCOMMS_WRITTEN / "2026-01-18.jsonl").read_bytes()
    today = datetime.now(UTC)
    names = sorted({audit.day_file(tmp_path, today + timedelta(days=d)).name for d in (0, 1)})
    for name in names:
        (tmp_path / name).write_bytes(written)
    resources = {
        "request_queue": RequestQueue(url=world.url),
        "audit_log": AuditLog(directory=str(tmp_path), secret=OCOMMS_SECRET),
    }
    org, owner = world.sample.orgs["Globex"], world.sample.owners["Globex"][0]
    malformed = world.enqueue(org, "x" * 65)
    sensor = defs.resolve_sensor_def("export_requests")
    sensor(dg.build_sensor_context(instance=world.daemon.instance, resources=resources))
    assert world.row(malformed).status == "rejected"
    request_id = world.enqueue(org, owner)
    run = _launch_as_the_daemon_would(world, request_id)
    [record] = world.daemon.instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name="export_request_succeeded",
        dagster_event=record.dagster_event,
        dagster_instance=world.daemon.instance,
        dagster_run=run,
        resources=resources,
    )
    defs.resolve_sensor_def("export_request_succeeded")(context)
    assert world.row(request_id).status == "completed"

    ours = []
    for name in names:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(written)  # ocomms's lines untouched
        appended = [json.loads(line) for line in data[len(written) :].decode().split("\n") if line]
        if appended:
            assert appended[0]["previousHash"] == OCOMMS_LAST_BEFORE_PIPELINE
        ours += appended
    assert [
        (e["eventType"], e["details"]["decision"], e["details"]["requestId"]) for e in ours
    ] == [
        (audit.AUTHZ_FAILURE, "rejected", malformed),
        (audit.EXPORT_EVENT, "authorized", request_id),
        (audit.EXPORT_EVENT, "completed", request_id),
    ]
    result = audit.verify(tmp_path, OCOMMS_SECRET)
    assert result.ok, result.problem
    assert (result.files, result.entries) == (len(names), 2 * len(names) + 3)
