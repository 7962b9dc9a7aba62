"""The nightly backup schedule: every organization partition, in batches of runs.

Which runs a night needs is a pure function of the partition keys, the date and the batch
size, tested directly; the schedule only reads the partitions and returns the requests. The
run key holds the scheduled date and the batch index, so a daemon that restarts and
re-evaluates the same tick launches nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from ocomms_pipeline import identifiers, settings
from ocomms_pipeline.defs.backups.jobs import (
    BACKUP_JOB,
    backup_organizations_job,
    backup_run_config,
)
from ocomms_pipeline.defs.common import (
    BACKUP_BATCH_TAG,
    BACKUP_DATE_TAG,
    KIND_BACKUP,
    KIND_TAG,
    organizations,
)

SCHEDULE_NAME = "nightly_backup"
BACKUP_CRON_ENV = settings.BACKUP_CRON
TIMEZONE_ENV = settings.BACKUP_TIMEZONE
BATCH_SIZE_ENV = settings.BACKUP_BATCH_SIZE
PRINCIPAL_ENV = settings.BACKUP_PRINCIPAL


@dataclass(frozen=True)
class BackupSettings:
    """When the nightly backup runs, how many organizations each run covers, and as whom."""

    cron: str = settings.BACKUP_CRON_DEFAULT
    timezone: str = settings.BACKUP_TIMEZONE_DEFAULT
    batch_size: int = settings.BACKUP_BATCH_SIZE_DEFAULT
    requested_by: str = settings.BACKUP_PRINCIPAL_DEFAULT

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{TIMEZONE_ENV}: unknown time zone {self.timezone!r}") from None
        if self.batch_size < 1:
            raise ValueError(f"{BATCH_SIZE_ENV} must be a positive integer")
        name = self.requested_by.removeprefix(identifiers.OPERATOR_PREFIX)
        if name == self.requested_by or not identifiers.OPERATOR_PATTERN.fullmatch(name):
            raise ValueError(f"{PRINCIPAL_ENV} must be operator:<name>, not {self.requested_by!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BackupSettings:
        return cls(**settings.backup(environ))


def batches(organization_ids: Sequence[str], size: int) -> list[list[str]]:
    """Consecutive batches of at most ``size`` ids."""
    return [list(organization_ids[i : i + size]) for i in range(0, len(organization_ids), size)]


def backup_run_requests(
    partition_keys: Sequence[str], day: date, settings: BackupSettings
) -> list[dg.RunRequest]:
    """One run per batch of valid organization ids, sorted so batches are stable for a day."""
    ids = sorted(k for k in partition_keys if identifiers.ID_PATTERN.fullmatch(k))
    groups = batches(ids, settings.batch_size)
    return [
        dg.RunRequest(
            run_key=f"{SCHEDULE_NAME}-{day.isoformat()}-{index}",
            job_name=BACKUP_JOB,
            run_config=backup_run_config(group, settings.requested_by),
            tags={
                KIND_TAG: KIND_BACKUP,
                BACKUP_DATE_TAG: day.isoformat(),
                BACKUP_BATCH_TAG: f"{index + 1}/{len(groups)}",
            },
        )
        for index, group in enumerate(groups)
    ]


def scheduled_day(context: dg.ScheduleEvaluationContext, timezone: str) -> date:
    """The calendar day of the tick in the schedule's own time zone."""
    return context.scheduled_execution_time.astimezone(ZoneInfo(timezone)).date()


def build_backup_schedule(settings: BackupSettings) -> dg.ScheduleDefinition:
    """The schedule for these settings (cron and time zone are fixed when the code loads)."""
    try:
        return _schedule(settings)
    except dg.DagsterInvalidDefinitionError as error:
        raise ValueError(f"{BACKUP_CRON_ENV}: {error}") from None


def _schedule(settings: BackupSettings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=SCHEDULE_NAME,
        cron_schedule=settings.cron,
        execution_timezone=settings.timezone,
        job=backup_organizations_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Backs up every organization partition, {settings.batch_size} per run.",
    )
    def nightly_backup(context: dg.ScheduleEvaluationContext):
        keys = context.instance.get_dynamic_partitions(organizations.name)
        requests = backup_run_requests(keys, scheduled_day(context, settings.timezone), settings)
        if not requests:
            return dg.SkipReason(
                "no organization partitions to back up: the organization_partitions sensor "
                "adds them from the ocomms database"
            )
        return requests

    return nightly_backup
