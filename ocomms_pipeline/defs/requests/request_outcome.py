"""What a request's Dagster run came to, read from the instance's run record and event log.

The request sensor and the run-status sensors both turn runs into request outcomes; they do it
through this one function, so a run reads the same whichever of them gets to it first. Only
one-line reasons leave this module: the owner gate's ``dg.Failure`` carries its reason and
outcome as metadata, and anything else is named by its exception class and the run id an
operator can look up, never by a stack trace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus

from ocomms_pipeline.defs.export.asset_keys import ARCHIVE_KEY, BUNDLE_KEY
from ocomms_pipeline.defs.export.assets import authorize_requester, organization_tables
from ocomms_pipeline.defs.export.run_results import first_failure, materialized
from ocomms_pipeline.requests.lifecycle import ACTIVE, RunOutcome, refusal_status
from ocomms_pipeline.status import RequestStatus

GATE_STEP = f"{organization_tables.name}.{authorize_requester.name}"
_EVENTS = {
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.ASSET_MATERIALIZATION,
}


def _time(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def _operator_hint(run_id: str) -> str:
    return f"an operator can find the details in Dagster run {run_id}"


def failure_of(
    entries: list[dg.EventLogEntry], run_id: str, organization_id: str
) -> tuple[str, str, str | None]:
    """(status, reason, code) of a failed run, from its first step failure."""
    failed = first_failure(entry.dagster_event for entry in entries)
    if failed is None:
        return (
            RequestStatus.FAILED,
            "the export run failed before its steps could finish; " + _operator_hint(run_id),
            None,
        )
    if not failed.expected:
        return (
            RequestStatus.FAILED,
            f"the export failed unexpectedly in step {failed.step_key} "
            f"({failed.error_class or 'error'}); " + _operator_hint(run_id),
            None,
        )
    if failed.outcome == RequestStatus.REJECTED:
        status, reason = refusal_status(organization_id, failed.reason, failed.code)
        return status, reason, failed.code
    return RequestStatus.FAILED, failed.reason, failed.code


def _success(run_id: str, materialized: dict[dg.AssetKey, dict[str, Any]]) -> dict[str, Any]:
    archive = materialized.get(ARCHIVE_KEY)
    bundle = materialized.get(BUNDLE_KEY, {})
    if archive is None:
        return {
            "state": RequestStatus.FAILED,
            "reason": "the run finished without producing the archive; " + _operator_hint(run_id),
        }
    return {
        "state": RequestStatus.COMPLETED,
        "bundle_path": bundle.get("path"),
        "archive_path": archive.get("path"),
        "archive_sha256": archive.get("sha256"),
    }


def request_outcome(instance: dg.DagsterInstance, run_id: str, organization_id: str) -> RunOutcome:
    """Read one run: status and times from its record, details from its event log."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return RunOutcome(run_id, RequestStatus.FAILED, reason=f"Dagster run {run_id} is gone")
    times = {"started_at": _time(record.start_time), "finished_at": _time(record.end_time)}
    status = record.dagster_run.status
    if status not in (
        DagsterRunStatus.SUCCESS,
        DagsterRunStatus.FAILURE,
        DagsterRunStatus.CANCELED,
    ):
        return RunOutcome(run_id, ACTIVE, **times, authorized_at=_gate_time(instance, run_id))
    entries = list(instance.all_logs(run_id, of_type=_EVENTS))
    authorized = _gate_passed(entries)
    if status == DagsterRunStatus.CANCELED:
        reason = "the export run was canceled in Dagster; " + _operator_hint(run_id)
        return RunOutcome(
            run_id, RequestStatus.FAILED, **times, authorized_at=authorized, reason=reason
        )
    if status == DagsterRunStatus.FAILURE:
        state, reason, code = failure_of(entries, run_id, organization_id)
        return RunOutcome(
            run_id, state, **times, authorized_at=authorized, reason=reason, code=code
        )
    assets = materialized(entry.dagster_event for entry in entries)
    return RunOutcome(run_id, **times, authorized_at=authorized, **_success(run_id, assets))


def _gate_passed(entries: list[dg.EventLogEntry]) -> datetime | None:
    for entry in entries:
        event = entry.dagster_event
        if (
            event
            and event.event_type == DagsterEventType.STEP_SUCCESS
            and event.step_key == GATE_STEP
        ):
            return _time(entry.timestamp)
    return None


def _gate_time(instance: dg.DagsterInstance, run_id: str) -> datetime | None:
    return _gate_passed(list(instance.all_logs(run_id, of_type=DagsterEventType.STEP_SUCCESS)))
