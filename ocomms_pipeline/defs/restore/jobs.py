"""The Dagster job ``restore_organization``: a bundle back into ocomms from the UI or GraphQL.

Operators only: the requester must be ``operator:<name>``; ocomms users (owners included)
cannot restore, and there is no request queue for it. The job writes through its own
resource, ``restore_database`` (``OCOMMS_RESTORE_DATABASE_URL``), because the export's role
only reads. Every outcome is appended to ocomms's audit log (``restore.audit_entry``), a
successful one before the restore commits; a restored organization gets its partition of
``organizations`` at once, so its exports can be launched without waiting for the sensor.
"""

from pathlib import Path
from typing import Any, NoReturn

import dagster as dg
from pydantic import Field

from ocomms_pipeline import identifiers
from ocomms_pipeline.defs.common import KIND_TAG, organizations
from ocomms_pipeline.defs.requests.resources import AuditLog
from ocomms_pipeline.defs.restore.resources import RestoreDatabase
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.restore import audit_entry
from ocomms_pipeline.restore.report import RestoreReport
from ocomms_pipeline.status import RequestStatus

RESTORE_JOB = "restore_organization"
RESTORE_OP = "restore_bundle"
KIND_RESTORE = "restore"


class RestoreConfig(dg.Config):
    bundle_path: str = Field(description="A bundle directory or its .zip, as the run sees it.")
    requested_by: str = Field(description="The operator who restores: operator:<name>.")
    dry_run: bool = Field(
        default=False, description="Check and insert everything, then roll back: nothing changes."
    )
    uploads_dir: str | None = Field(
        default=None,
        description="The target's uploads directory (its ocomms UPLOAD_DIR), as the run sees "
        "it: the bundle's files go there, never over a different file. None: no files restored.",
    )


def restore_run_config(
    bundle_path: str | Path,
    requested_by: str,
    dry_run: bool = False,
    uploads_dir: str | Path | None = None,
) -> dict:
    """The run config of one restore, for the launchpad, GraphQL and tests."""
    config: dict[str, Any] = {
        "bundle_path": str(bundle_path),
        "requested_by": requested_by,
        "dry_run": dry_run,
    }
    if uploads_dir is not None:
        config["uploads_dir"] = str(uploads_dir)
    return {"ops": {RESTORE_OP: {"config": config}}}


def _refuse(
    log: AuditLog,
    requester: str,
    decision: str,
    reason: str,
    organization_id: str | None = None,
    **extra: Any,
) -> NoReturn:
    trouble = audit_entry.record_quietly(
        log, organization_id, requester[:100], decision, reason=reason, **extra
    )
    shown = reason if trouble is None else f"{reason} ({trouble})"
    raise dg.Failure(
        description=shown, metadata={"outcome": "refused", "reason": reason}, allow_retries=False
    )


def _operator(log: AuditLog, requested_by: str) -> str:
    try:
        principal = identifiers.principal(requested_by)
    except ExportRefused as error:
        _refuse(log, requested_by, "unauthorized", str(error))
    if not principal.is_operator:
        _refuse(
            log,
            requested_by,
            "unauthorized",
            f"only operators restore (operator:<name>); {requested_by!r} is not one",
        )
    return str(principal)


def _metadata(report: RestoreReport) -> dict[str, Any]:
    return {
        "organization": report.organization_id,
        "dry_run": report.dry_run,
        "restored_rows": dg.MetadataValue.int(report.restored_rows),
        "users_created_without_credentials": dg.MetadataValue.int(len(report.users_created)),
        "jobs_to_requeue": dg.MetadataValue.json([vars(job) for job in report.requeue]),
        "tables": dg.MetadataValue.json([vars(t) for t in report.tables]),
        "files": dg.MetadataValue.json(report.files),
        "summary": dg.MetadataValue.md("\n".join(f"    {line}" for line in report.lines())),
    }


def _restore(
    config: RestoreConfig, database: RestoreDatabase, log: AuditLog, requester: str
) -> RestoreReport:
    """The restore, every way it can end without one turned into a one-line failure."""
    from ocomms_pipeline.restore import RestoreFailed, RestoreRefused, restore_bundle

    try:
        return restore_bundle(
            Path(config.bundle_path),
            database.url,
            dry_run=config.dry_run,
            lock_timeout_seconds=database.lock_timeout_seconds,
            before_commit=audit_entry.before_commit(log, requester),
            uploads_dir=Path(config.uploads_dir).expanduser() if config.uploads_dir else None,
        )
    except RestoreRefused as refusal:
        _refuse(
            log,
            requester,
            audit_entry.REFUSED,
            str(refusal),
            refusal.organization_id,
            bundle=config.bundle_path,
        )
    except audit_entry.AuditUnwritable as error:
        raise dg.Failure(
            description=str(error), metadata={"outcome": RequestStatus.FAILED.value}
        ) from None
    except RestoreFailed as error:
        trouble = audit_entry.record_quietly(
            log, error.organization_id, requester, audit_entry.FAILED, reason=str(error)
        )
        shown = str(error) if trouble is None else f"{error} ({trouble})"
        raise dg.Failure(
            description=shown, metadata={"outcome": RequestStatus.FAILED.value}
        ) from None


@dg.op(name=RESTORE_OP, description="Restores one organization from a bundle, all or nothing.")
def restore_bundle_op(
    context: dg.OpExecutionContext,
    config: RestoreConfig,
    restore_database: RestoreDatabase,
    audit_log: AuditLog,
) -> dg.Output[str]:
    requester = _operator(audit_log, config.requested_by)
    report = _restore(config, restore_database, audit_log, requester)
    for line in report.lines():
        context.log.info(line)
    if report.dry_run:
        audit_entry.record_report(audit_log, report, requester)
    elif not context.instance.has_dynamic_partition(organizations.name, report.organization_id):
        context.instance.add_dynamic_partitions(organizations.name, [report.organization_id])
    return dg.Output(report.organization_id, metadata=_metadata(report))


@dg.job(
    name=RESTORE_JOB,
    executor_def=dg.in_process_executor,
    tags={KIND_TAG: KIND_RESTORE},
    description="Restore one organization from a bundle into OCOMMS_RESTORE_DATABASE_URL "
    "(operators only; one transaction; audited).",
)
def restore_organization_job() -> None:
    restore_bundle_op()
