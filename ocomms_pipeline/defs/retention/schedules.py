"""The nightly retention schedule: cron and time zone from the environment when the code loads."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline import settings
from ocomms_pipeline.defs.retention.jobs import prune_exports_job

RETENTION_SCHEDULE = "nightly_retention"


def build_retention_schedule() -> dg.ScheduleDefinition:
    """The nightly retention run; cron and time zone from the environment when the code loads."""
    cron, timezone = settings.retention_schedule()
    try:
        return dg.ScheduleDefinition(
            name=RETENTION_SCHEDULE,
            cron_schedule=cron,
            execution_timezone=timezone,
            job=prune_exports_job,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Prunes the export root every night with the OCOMMS_RETENTION_* policy.",
        )
    except (dg.DagsterInvalidDefinitionError, dg.DagsterInvariantViolationError) as error:
        raise ValueError(
            f"{settings.RETENTION_CRON}/{settings.RETENTION_TIMEZONE}: {error}"
        ) from None
