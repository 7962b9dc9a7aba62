"""Moving a request row along with its run, and auditing every decision exactly once.

Each step is its own transaction: a guarded UPDATE takes the row lock and says whether this
process won the transition; only the winner appends the audit entry, before committing. So a
decision is audited once however many sensors observe the same run, and if the audit append
fails the transition is rolled back and retried at the next tick (an entry may then be
written twice, never lost: a missing audit entry is the worse failure).

What a run came to reaches this module as a ``RunOutcome``: plain data, so the lifecycle stays
free of Dagster; reading a run's record and events into one is the Dagster layer's job
(``defs.requests.request_outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ocomms_pipeline import identifiers
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.requests import audit
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.requests.audit import AuditAppender
from ocomms_pipeline.requests.queue import ExportRequest, Finish
from ocomms_pipeline.status import RequestStatus

_CLAIM_LIMIT = 100
ACTIVE = "active"
UNKNOWN_ORGANIZATION = "unknown_organization"


@dataclass(frozen=True)
class RunOutcome:
    """A run as the request sees it: still going, or finished with a final status."""

    run_id: str
    state: str  # ACTIVE, or one of FINAL
    started_at: datetime | None = None
    finished_at: datetime | None = None
    authorized_at: datetime | None = None
    reason: str | None = None
    code: str | None = None
    bundle_path: str | None = None
    archive_path: str | None = None
    archive_sha256: str | None = None

    @property
    def finished(self) -> bool:
        return self.state != ACTIVE


def refusal_status(organization_id: str, reason: str, code: str | None) -> tuple[str, str]:
    """(request status, reason) of a gate refusal, whether decided before or inside a run.

    An organization that no longer exists was deleted after the request was made: the
    request failed, the requester was not refused.
    """
    if code == UNKNOWN_ORGANIZATION:
        return (
            RequestStatus.FAILED,
            f"organization {organization_id!r} does not exist: it was deleted after the"
            " export was requested",
        )
    return RequestStatus.REJECTED, reason


def _claimed(value: str, check: Any) -> str | None:
    """The id to put in ``userId``/``organizationId``: only a well-formed one."""
    try:
        return str(check(value))
    except ExportRefused:
        return None


def _details(request: ExportRequest, decision: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "source": audit.SOURCE,
        "action": "organization_export",
        "decision": decision,
        "requestId": request.key,
    }
    details.update({k: v for k, v in extra.items() if v is not None})
    return details


def record_decision(
    log: AuditAppender, request: ExportRequest, decision: str, **extra: Any
) -> dict[str, Any]:
    """Append one decision on a request to ocomms's audit log."""
    user = _claimed(request.requested_by, identifiers.principal)
    organization = _claimed(request.organization_id, identifiers.organization_id)
    if user is None or user.startswith(identifiers.OPERATOR_PREFIX):
        extra["claimedRequester"] = request.requested_by[:_CLAIM_LIMIT]
        user = None
    if organization is None:
        extra["claimedOrganizationId"] = request.organization_id[:_CLAIM_LIMIT]
    event = audit.AUTHZ_FAILURE if decision == RequestStatus.REJECTED else audit.EXPORT_EVENT
    return log.append(event, user, organization, _details(request, decision, **extra))


def _end_pending(
    conn: psycopg.Connection, log: AuditAppender, request: ExportRequest, end: Finish, code: str
) -> bool:
    """A pending row decided without a run: final at once, the decision audited once."""
    with conn.transaction():
        if not request_queue.finish(conn, request.id, end, from_=RequestStatus.PENDING):
            return False
        record_decision(log, request, end.status, reason=end.reason, code=code)
    return True


def reject_invalid(
    conn: psycopg.Connection, log: AuditAppender, request: ExportRequest, reason: str
) -> bool:
    """A row that names no valid request goes straight from pending to rejected."""
    return _end_pending(
        conn, log, request, Finish(RequestStatus.REJECTED, reason=reason), "invalid"
    )


def refuse(
    conn: psycopg.Connection, log: AuditAppender, request: ExportRequest, refusal: ExportRefused
) -> bool:
    """The owner gate said no before any run: the row ends as the run's gate would end it."""
    status, reason = refusal_status(request.organization_id, str(refusal), refusal.code)
    return _end_pending(conn, log, request, Finish(status, reason=reason), refusal.code)


def _start(conn: psycopg.Connection, request: ExportRequest, outcome: RunOutcome) -> bool:
    if request.status == RequestStatus.RUNNING:
        return True
    with conn.transaction():
        return request_queue.mark_running(conn, request.id, outcome.run_id, outcome.started_at)


def _authorize(
    conn: psycopg.Connection, log: AuditAppender, request: ExportRequest, outcome: RunOutcome
) -> bool:
    if outcome.authorized_at is None or request.authorized_at is not None:
        return False
    with conn.transaction():
        if not request_queue.mark_authorized(conn, request.id, outcome.authorized_at):
            return False
        record_decision(
            log,
            request,
            "authorized",
            dagsterRunId=outcome.run_id,
            decidedAt=audit.js_timestamp(outcome.authorized_at),
        )
    return True


def _finish(
    conn: psycopg.Connection, log: AuditAppender, request: ExportRequest, outcome: RunOutcome
) -> bool:
    end = Finish(
        outcome.state,
        finished_at=outcome.finished_at,
        reason=outcome.reason,
        bundle_path=outcome.bundle_path,
        archive_path=outcome.archive_path,
        archive_sha256=outcome.archive_sha256,
    )
    with conn.transaction():
        if not request_queue.finish(conn, request.id, end, from_=RequestStatus.RUNNING):
            return False
        record_decision(
            log,
            request,
            outcome.state,
            dagsterRunId=outcome.run_id,
            reason=request_queue.one_line(outcome.reason) if outcome.reason else None,
            code=outcome.code,
            archiveSha256=outcome.archive_sha256,
        )
    return True


def sync(
    conn: psycopg.Connection, log: AuditAppender, request: ExportRequest, outcome: RunOutcome
) -> list[str]:
    """Bring a request up to date with its run; returns the transitions this call made.

    Always in lifecycle order, even when a finished run is first seen at once: pending ->
    running (run id, start time), the gate's authorization, then the final state.
    """
    made: list[str] = []
    if not _start(conn, request, outcome):
        return made
    if request.status == RequestStatus.PENDING:
        made.append(RequestStatus.RUNNING)
    if _authorize(conn, log, request, outcome):
        made.append("authorized")
    if outcome.finished and _finish(conn, log, request, outcome):
        made.append(outcome.state)
    return made
