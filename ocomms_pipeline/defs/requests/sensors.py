"""Sensors that turn queued export requests into runs and write the runs' outcomes back.

``export_requests`` reads the oldest pending rows and asks for one run of
``export_organization`` per request: ``run_key`` = request id (Dagster never launches a run key
twice for a sensor), the request id and requester in tags, the requester in run config for
the owner gate, and the organization's dynamic partition added in the same tick when it is
missing. A pending row whose run already exists is not asked for again; it is moved to
``running`` instead. The sensor keeps no cursor: the queue and the instance's runs are the
whole state, so a restarted daemon, a repeated tick or a daemon that was down for a day all
see the same thing and do the same thing, draining a backlog ``max_runs_per_tick`` at a time.

Three run-status sensors (started, success, failure) write outcomes back promptly. The
request sensor also reconciles every running row with its run, which covers what they cannot
see: runs that ended while the daemon was down before their cursor existed, and canceled runs.
"""

import logging
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import dagster as dg
import psycopg
from dagster import DagsterRunStatus

from ocomms_pipeline import settings
from ocomms_pipeline.defs import common
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.jobs import (
    export_organization_job,
    export_run_config,
    requested_by_of,
)
from ocomms_pipeline.defs.requests.request_outcome import request_outcome
from ocomms_pipeline.defs.requests.resources import AuditLog, RequestQueue
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.export.owner_gate import authorize
from ocomms_pipeline.postgres.snapshots import Reader
from ocomms_pipeline.requests import lifecycle as request_lifecycle
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.requests.queue import ExportRequest

SENSOR_NAME = "export_requests"
REQUEST_TAG = "ocomms/request_id"
REQUESTED_BY_TAG = "ocomms/requested_by"
PARTITION_TAG = "dagster/partition"
RUN_KEY_TAG = "dagster/run_key"
DEFAULT_INTERVAL_SECONDS = settings.request_sensor_interval({})
# A finished run reaches its request row at the next tick of a run-status sensor: what the
# owner waits for after the export itself. Their ticks only read the event log past a cursor.
# Dagster's sensor daemon passes over its sensors every 5 s at most, and skips a sensor whose
# last tick began less than its interval ago; at 5 s, passes a hair under 5 s apart skipped
# every other one (a 10 s wait). Below the pass time, each pass ticks them.
DEFAULT_STATUS_INTERVAL_SECONDS = settings.request_status_interval({})
_LOGGER = logging.getLogger(__name__)


def interval_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The request sensor's minimum interval: ``OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS`` or 30."""
    return settings.request_sensor_interval(environ)


def status_interval_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The run-status sensors' interval: ``OCOMMS_REQUEST_STATUS_INTERVAL_SECONDS`` or 2."""
    return settings.request_status_interval(environ)


def run_request_for(request: ExportRequest) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=request.key,
        partition_key=request.organization_id,
        run_config=export_run_config(request.requested_by),
        tags={
            REQUEST_TAG: request.key,
            REQUESTED_BY_TAG: request.requested_by,
            **common.single_organization_tags(request.organization_id, common.KIND_REQUEST),
        },
    )


def belongs_to(run: dg.DagsterRun, request: ExportRequest) -> bool:
    """Is this the run the sensor asked for this request: same key, organization, requester?"""
    return (
        run.tags.get(REQUEST_TAG) == request.key
        and run.tags.get(RUN_KEY_TAG) == request.key
        and run.tags.get(PARTITION_TAG) == request.organization_id
        and requested_by_of(run.run_config) == request.requested_by
    )


@dataclass(frozen=True)
class TickPlan:
    """What one tick does with the pending rows it read."""

    run_requests: list[dg.RunRequest] = field(default_factory=list)
    new_partitions: list[str] = field(default_factory=list)
    invalid: list[tuple[ExportRequest, str]] = field(default_factory=list)
    launched: list[tuple[ExportRequest, str]] = field(default_factory=list)
    refused: list[tuple[ExportRequest, ExportRefused]] = field(default_factory=list)


def plan_tick(
    pending: list[ExportRequest],
    runs: Mapping[str, str],
    known_partitions: Collection[str],
    refusals: Mapping[str, ExportRefused] | None = None,
) -> TickPlan:
    """Pure: pending rows, their existing runs (request id -> run id), known partitions and
    the gate's refusals (request id -> refusal) -> plan."""
    refusals = refusals or {}
    plan = TickPlan()
    for request in pending:
        reason = request_queue.invalid_reason(request)
        if reason is not None:
            plan.invalid.append((request, reason))
        elif request.key in runs:
            plan.launched.append((request, runs[request.key]))
        elif request.key in refusals:
            plan.refused.append((request, refusals[request.key]))
        else:
            plan.run_requests.append(run_request_for(request))
            org = request.organization_id
            if org not in known_partitions and org not in plan.new_partitions:
                plan.new_partitions.append(org)
    return plan


def existing_runs(instance: dg.DagsterInstance, requests: list[ExportRequest]) -> dict[str, str]:
    """Request id -> the oldest run launched for it, among runs that match the request."""
    found: dict[str, str] = {}
    for request in requests:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={REQUEST_TAG: request.key}))
        matching = [run for run in runs if belongs_to(run, request)]
        if matching:
            found[request.key] = matching[-1].run_id
    return found


def _known_partitions(instance: dg.DagsterInstance, requests: list[ExportRequest]) -> set[str]:
    candidates = {r.organization_id for r in requests if request_queue.invalid_reason(r) is None}
    return {o for o in candidates if instance.has_dynamic_partition(organizations.name, o)}


def reconcile(
    conn: psycopg.Connection,
    log: AuditLog,
    instance: dg.DagsterInstance,
    requests: list[tuple[ExportRequest, str]],
) -> int:
    """Sync each request with its run; returns how many changed."""
    changed = 0
    for request, run_id in requests:
        outcome = request_outcome(instance, run_id, request.organization_id)
        changed += bool(request_lifecycle.sync(conn, log, request, outcome))
    return changed


def gate_refusals(
    conn: psycopg.Connection, pending: list[ExportRequest], runs: Mapping[str, str]
) -> dict[str, ExportRefused]:
    """The owner gate's refusals among the rows about to get a run, read from membership.

    Decided before launching because a refused run would mark every asset of the
    organization as failed in the UI, though its last bundle is good; the run's own gate
    still decides again, for a member demoted in between.
    """
    refusals: dict[str, ExportRefused] = {}
    for request in pending:
        if request_queue.invalid_reason(request) is not None or request.key in runs:
            continue
        try:
            authorize(Reader(conn), request.organization_id, request.requested_by)
        except ExportRefused as refusal:
            refusals[request.key] = refusal
    return refusals


def _decided(plan: TickPlan) -> list[str]:
    """One line per row this tick ended without a run, for the tick's log."""
    return [
        *(f"request {r.key} rejected: {reason}" for r, reason in plan.invalid),
        *(f"request {r.key} refused by the owner gate: {refusal}" for r, refusal in plan.refused),
    ]


def evaluate_requests(
    instance: dg.DagsterInstance,
    queue: RequestQueue,
    log: AuditLog,
    logger: logging.Logger | dg.DagsterLogManager | None = None,
) -> dg.SensorResult | dg.SkipReason:
    """One tick of the request sensor, against the real queue and instance."""
    with queue.connect() as conn:
        if not request_queue.queue_exists(conn):
            return dg.SkipReason(f"no {request_queue.TABLE}: run `ocomms-pipeline init-db`")
        running = [(r, r.dagster_run_id or "") for r in request_queue.running(conn)]
        pending = request_queue.pending(conn, queue.max_runs_per_tick)
        runs = existing_runs(instance, pending)
        plan = plan_tick(
            pending,
            runs,
            _known_partitions(instance, pending),
            gate_refusals(conn, pending, runs),
        )
        for request, reason in plan.invalid:
            request_lifecycle.reject_invalid(conn, log, request, reason)
        for request, refusal in plan.refused:
            request_lifecycle.refuse(conn, log, request, refusal)
        changed = reconcile(conn, log, instance, [*plan.launched, *running])
    decided = _decided(plan)
    for line in decided:
        (logger or _LOGGER).info(line)
    if not plan.run_requests:
        if decided:
            return dg.SkipReason("; ".join(decided))
        return dg.SkipReason("no new export requests" if not changed else "request rows updated")
    partitions = (
        [organizations.build_add_request(plan.new_partitions)] if plan.new_partitions else []
    )
    return dg.SensorResult(run_requests=plan.run_requests, dynamic_partitions_requests=partitions)


def record_run_status(
    context: dg.RunStatusSensorContext, queue: RequestQueue, log: AuditLog
) -> dg.SkipReason | None:
    """Write what a request's run came to back to its row (no-op for other runs)."""
    run = context.dagster_run
    key = run.tags.get(REQUEST_TAG)
    if key is None:
        return dg.SkipReason(f"run {run.run_id} is not an export request")
    with queue.connect() as conn:
        request = request_queue.get(conn, key) if _is_uuid(key) else None
        if request is None or not belongs_to(run, request):
            return dg.SkipReason(f"run {run.run_id} matches no queued request {key!r}")
        if request.dagster_run_id not in (None, run.run_id):
            return dg.SkipReason(f"request {key} belongs to run {request.dagster_run_id}")
        outcome = request_outcome(context.instance, run.run_id, request.organization_id)
        made = request_lifecycle.sync(conn, log, request, outcome)
    context.log.info(f"request {key}: {', '.join(made) or 'already up to date'}")
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _status_sensor(status: DagsterRunStatus, name: str, interval: int) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=name,
        monitored_jobs=[export_organization_job],
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Writes {status.value.lower()} export runs back to their request rows. It ticks"
            f" at most every {interval} s, and no more often than the sensor daemon passes over"
            " its sensors (every 5 s)."
        ),
    )
    def _sensor(
        context: dg.RunStatusSensorContext, request_queue: RequestQueue, audit_log: AuditLog
    ):
        return record_run_status(context, request_queue, audit_log)

    return _sensor


def build_request_sensors(
    minimum_interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    status_interval_seconds: int = DEFAULT_STATUS_INTERVAL_SECONDS,
) -> list[dg.SensorDefinition]:
    """The request sensor and its three run-status sensors, all running by default."""

    @dg.sensor(
        name=SENSOR_NAME,
        job=export_organization_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Launches one export run per pending row of ocomms_export.export_requests.",
    )
    def export_requests(
        context: dg.SensorEvaluationContext, request_queue: RequestQueue, audit_log: AuditLog
    ):
        return evaluate_requests(context.instance, request_queue, audit_log, context.log)

    return [
        export_requests,
        _status_sensor(DagsterRunStatus.STARTED, "export_request_started", status_interval_seconds),
        _status_sensor(
            DagsterRunStatus.SUCCESS, "export_request_succeeded", status_interval_seconds
        ),
        _status_sensor(DagsterRunStatus.FAILURE, "export_request_failed", status_interval_seconds),
    ]
