"""Retention in Dagster: a job that prunes the export root, and the schedule that runs it.

The policy comes from the environment of the run (``OCOMMS_RETENTION_*``) unless the run
config overrides it, so a run launched from the UI and the scheduled one agree. The bundles
that export requests still need are read from the request queue first; if that read fails the
run fails and nothing is deleted.
"""

from datetime import UTC, datetime

import dagster as dg
import psycopg
from pydantic import Field

from ocomms_pipeline.bundle import retention
from ocomms_pipeline.defs.common import KIND_TAG
from ocomms_pipeline.defs.export.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.errors import describe
from ocomms_pipeline.requests import queue as request_queue

RETENTION_JOB = "prune_exports"
KIND_RETENTION = "retention"
_LISTED = 200

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class RetentionConfig(dg.Config):
    """Overrides of the deployment's policy for one run; unset values come from the env."""

    keep: int | None = Field(default=None, description="Newest bundles kept per organization.")
    max_age_days: float | None = Field(
        default=None, description="Bundles younger than this are kept whatever their rank."
    )
    staging_max_age_hours: float | None = Field(
        default=None, description="Staging of runs not running is removed after this age."
    )
    dry_run: bool = Field(default=False, description="Report what would go; delete nothing.")


def active_run_ids(instance: dg.DagsterInstance) -> set[str]:
    return set(instance.get_run_ids(filters=dg.RunsFilter(statuses=IN_PROGRESS)))


def _paths(paths: list) -> dg.MetadataValue:
    return dg.MetadataValue.json([str(p) for p in paths[:_LISTED]])


@dg.op(
    description="Deletes bundles beyond the retention policy and stale staging directories.",
    out=dg.Out(dg.Nothing),
)
def prune_export_root(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    database: OcommsDatabase,
    storage: ExportStorage,
) -> dg.Output:
    policy = retention.RetentionPolicy.from_env().with_overrides(
        keep=config.keep,
        max_age_days=config.max_age_days,
        staging_max_age_hours=config.staging_max_age_hours,
    )
    try:
        protected = request_queue.protected_bundles(database.url)
    except (psycopg.Error, OSError) as error:
        raise dg.Failure(
            description=f"cannot read export requests, nothing deleted: {describe(error)}",
            allow_retries=True,
        ) from error
    plan = retention.plan_retention(
        storage.path, datetime.now(UTC), policy, protected, active_run_ids(context.instance)
    )
    verb = "would delete" if config.dry_run else "deleting"
    context.log.info(
        f"{verb} {len(plan.bundles)} bundle(s) and {len(plan.staging)} staging dir(s); "
        f"keeping {plan.kept} (keep {policy.keep}, max age {policy.max_age_days} days)"
    )
    if not config.dry_run:
        retention.apply_plan(plan)
    return dg.Output(
        None,
        metadata={
            "dry_run": config.dry_run,
            "deleted_bundles": dg.MetadataValue.int(len(plan.bundles)),
            "deleted_staging": dg.MetadataValue.int(len(plan.staging)),
            "kept_bundles": dg.MetadataValue.int(plan.kept),
            "protected_by_requests": dg.MetadataValue.int(len(protected)),
            "bundles": _paths(plan.bundles),
            "staging": _paths(plan.staging),
        },
    )


@dg.job(
    name=RETENTION_JOB,
    executor_def=dg.in_process_executor,
    tags={KIND_TAG: KIND_RETENTION},
    description="Prune old bundles per organization (keep newest N and all younger than D days).",
)
def prune_exports_job() -> None:
    prune_export_root()
