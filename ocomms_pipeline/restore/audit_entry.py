"""Restores in ocomms's audit log, beside the exports, so an organization's admins see them.

ocomms's logger knows seven event types (``src/lib/audit-logger.ts``) and none is a restore;
its viewer's API rejects a filter on any other type. The nearest is ``ADMIN_EXPORT_DATA``
(an administrator's operation on the organization's data), so a restore is written as that
type with ``details.action = "organization_restore"``, which tells it apart from the
exports' ``organization_export``. A requester who is not an operator is an ``AUTHZ_FAILURE``.
``userId`` is null (operators are not ocomms users); the principal is in ``details``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocomms_pipeline.errors import describe
from ocomms_pipeline.requests import audit
from ocomms_pipeline.restore.errors import RestoreFailed
from ocomms_pipeline.restore.report import RestoreReport

ACTION = "organization_restore"
RESTORED, REFUSED, FAILED, DRY_RUN = "restored", "refused", "failed", "dry_run"


def record(
    log: audit.AuditAppender,
    organization_id: str | None,
    requester: str,
    decision: str,
    **extra: Any,
) -> dict[str, Any]:
    """One decision on a restore; ``organization_id`` None when the bundle named none."""
    details: dict[str, Any] = {
        "source": audit.SOURCE,
        "action": ACTION,
        "decision": decision,
        "requester": requester,
    }
    details.update({k: v for k, v in extra.items() if v is not None})
    event = audit.AUTHZ_FAILURE if decision == "unauthorized" else audit.EXPORT_EVENT
    return log.append(event, None, organization_id, details)


def record_report(
    log: audit.AuditAppender, report: RestoreReport, requester: str
) -> dict[str, Any]:
    """A finished restore, written before its transaction commits."""
    return record(
        log,
        report.organization_id,
        requester,
        DRY_RUN if report.dry_run else RESTORED,
        bundle=report.bundle,
        rows=report.restored_rows,
        usersCreated=len(report.users_created),
        jobsToRequeue=len(report.requeue),
    )


class AuditUnwritable(RestoreFailed):
    """The restore's own audit entry could not be written, so the restore was rolled back."""


def before_commit(log: audit.AuditAppender, requester: str) -> Callable[[RestoreReport], None]:
    """The hook that audits a restore inside its transaction: no entry, no restore."""

    def audit_it(report: RestoreReport) -> None:
        try:
            record_report(log, report, requester)
        except (audit.AuditError, OSError) as error:
            raise AuditUnwritable(
                f"the audit log cannot be written, nothing restored: {describe(error)}"
            ) from None

    return audit_it


def record_quietly(log: audit.AuditAppender, *args: Any, **extra: Any) -> str | None:
    """Record an outcome that is already decided; the reason it could not be, if not."""
    try:
        record(log, *args, **extra)
    except (audit.AuditError, OSError) as error:
        return f"the audit log cannot be written: {describe(error)}"
    return None
