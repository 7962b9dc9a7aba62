"""Back up many organizations in one Dagster run, each in its own snapshot.

A Dagster run costs seconds of CPU whatever it does, so a nightly backup of a thousand
organizations cannot be a thousand runs. One run of ``backup_organizations`` exports a batch
of organizations one after another with the same code path as the export job
(``stage_organization`` then ``publish_staged``) and reports, for each organization, the
materializations the export job would have produced, so every partition of every asset shows
its backup in the UI. An organization that fails is logged, observed on the bundle asset and
listed; the others go on, and the run fails at the end naming the failed ones.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, generate_event_batch_id
from pydantic import Field

from ocomms_pipeline import identifiers, settings
from ocomms_pipeline.bundle.publish import Published, publish_staged
from ocomms_pipeline.checks.staged import check_staged
from ocomms_pipeline.defs import common
from ocomms_pipeline.defs.backups.interrupts import held_interrupts
from ocomms_pipeline.defs.common import KIND_BACKUP, KIND_TAG
from ocomms_pipeline.defs.export.asset_keys import BUNDLE_KEY
from ocomms_pipeline.defs.export.assets import asset_events
from ocomms_pipeline.defs.export.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.errors import ExportError
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.status import RequestStatus

BACKUP_JOB = "backup_organizations"
BACKUP_OP = "back_up_organizations"
_FAILURES_NAMED = 20


class BackupConfig(dg.Config):
    """Which organizations one backup run covers, and as whom it exports them."""

    organizations: list[str] = Field(description="Organization ids to back up, in this order.")
    requested_by: str = Field(
        default=settings.BACKUP_PRINCIPAL_DEFAULT,
        description="Principal recorded in each manifest, normally operator:<name>.",
    )


@dataclass
class BatchReport:
    """What happened to each organization of the batch."""

    backed_up: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    export_seconds: float = 0.0

    def summary(self) -> dict[str, dg.MetadataValue]:
        return {
            "backed_up": dg.MetadataValue.int(len(self.backed_up)),
            "failed": dg.MetadataValue.int(len(self.failed)),
            "failures": dg.MetadataValue.json(self.failed),
            "export_seconds": dg.MetadataValue.float(round(self.export_seconds, 3)),
        }

    def failure_description(self) -> str:
        names = list(self.failed)
        shown = ", ".join(names[:_FAILURES_NAMED]) + (
            ", ..." if len(names) > _FAILURES_NAMED else ""
        )
        total = len(self.backed_up) + len(self.failed)
        return f"backup failed for {len(names)} of {total} organization(s): {shown}"


def stage_one(
    database: OcommsDatabase,
    root: Path,
    organization_id: str,
    requested_by: str,
    run_id: str,
    uploads_dir: Path | None = None,
) -> str:
    """Export one organization in its own snapshot and check it, staged; raises on any failure.

    Returns the organization id, validated: what ``publish_staged`` takes.
    """
    org = identifiers.organization_id(organization_id)
    stage_organization(
        database.url,
        org,
        identifiers.principal(requested_by),
        root,
        run_id,
        lock_timeout_seconds=database.lock_timeout_seconds,
        uploads_dir=uploads_dir,
    )
    checked = check_staged(root, org, run_id)
    if checked.problem:
        raise ExportError(checked.problem)
    return org


def materializations(published: Published) -> Iterator[dg.AssetMaterialization]:
    """The events the export job records for one organization: every table, then the bundle."""
    org = published.state.organization_id
    for _, key, metadata in asset_events(published):
        yield dg.AssetMaterialization(key, partition=org, metadata=metadata)


def recorded(context: dg.OpExecutionContext, published: Published) -> list[DagsterEvent]:
    """One organization's materializations, logged now as one batch where that is safe.

    Each is the event Dagster makes of a yielded ``AssetMaterialization``, and making it logs
    it. Marked as one batch, as Dagster marks the asset events of a step's output, an
    instance with ``DAGSTER_EVENT_BATCH_SIZE`` set stores the organization's 35 events at
    once (the SQLite event log of ``launch.sqlite_event_log``: one transaction instead of
    70). Only an event log that says it stores a batch of many assets whole gets them
    marked: dagster-postgres would record only the last asset's latest materialization.
    Unmarked, or without the variable, they are stored one by one. All are logged before the
    caller yields any: Dagster holds a batch back until its last event, and a termination
    arriving between two yields would drop what it holds.
    """
    step = context.get_step_execution_context()
    storage = context.instance.event_log_storage
    batch = generate_event_batch_id()
    batched = getattr(storage, "stores_batches_of_many_assets", False) is True
    events = list(materializations(published))
    return [
        DagsterEvent.asset_materialization(
            step,
            materialization,
            DagsterEventBatchMetadata(batch, index == len(events)) if batched else None,
        )
        for index, materialization in enumerate(events, start=1)
    ]


def _failed_observation(organization_id: str, reason: str) -> dg.AssetObservation:
    """Shown on the bundle asset's partition, so a failed backup is visible where it is missed."""
    valid = identifiers.ID_PATTERN.fullmatch(organization_id) is not None
    return dg.AssetObservation(
        BUNDLE_KEY,
        partition=organization_id if valid else None,
        metadata={
            "outcome": RequestStatus.FAILED.value,
            "reason": reason,
            "organization": organization_id,
        },
    )


@dg.op(
    name=BACKUP_OP,
    description="Exports and publishes each organization of the batch; one failure stops none.",
    out=dg.Out(dg.Nothing),
)
def back_up_organizations(
    context: dg.OpExecutionContext,
    config: BackupConfig,
    database: OcommsDatabase,
    storage: ExportStorage,
) -> Iterator[DagsterEvent | dg.AssetObservation | dg.Output]:
    report = BatchReport()
    for organization_id in config.organizations:
        started, timed = time.monotonic(), False
        try:
            staged = stage_one(
                database,
                storage.path,
                organization_id,
                config.requested_by,
                context.run_id,
                storage.uploads_path(),
            )
            # Published, an organization's materializations are recorded whole before a
            # termination takes effect (see ``recorded``).
            with held_interrupts():
                published = publish_staged(storage.path, staged, context.run_id)
                report.export_seconds += time.monotonic() - started
                timed = True
                logged = recorded(context, published)
            yield from logged
        except Exception as error:
            if not timed:
                report.export_seconds += time.monotonic() - started
            reason = common.failure_reason(error)
            context.log.error(f"backup of organization {organization_id!r} failed: {reason}")
            report.failed[organization_id] = reason
            yield _failed_observation(organization_id, reason)
            continue
        report.backed_up.append(organization_id)
    context.log.info(f"backed up {len(report.backed_up)}, failed {len(report.failed)}")
    if report.failed:
        raise dg.Failure(
            description=report.failure_description(),
            metadata=report.summary(),
            allow_retries=False,
        )
    yield dg.Output(None, metadata=report.summary())


@dg.job(
    name=BACKUP_JOB,
    executor_def=dg.in_process_executor,
    tags={KIND_TAG: KIND_BACKUP},
    description="Back up a batch of organizations, each in its own snapshot, in one run.",
)
def backup_organizations_job() -> None:
    back_up_organizations()


def backup_run_config(organization_ids: list[str], requested_by: str) -> dict:
    """Run config of ``backup_organizations`` for one batch."""
    return {
        "ops": {
            BACKUP_OP: {
                "config": {"organizations": list(organization_ids), "requested_by": requested_by}
            }
        }
    }
