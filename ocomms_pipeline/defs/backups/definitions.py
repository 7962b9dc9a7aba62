"""The backups domain: the batch job and its nightly schedule."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.backups.jobs import backup_organizations_job
from ocomms_pipeline.defs.backups.schedules import BackupSettings, build_backup_schedule
from ocomms_pipeline.defs.export.resources import export_resources


def backup_definitions() -> dg.Definitions:
    """The schedule's settings are read from the environment when the code loads."""
    return dg.Definitions(
        jobs=[backup_organizations_job],
        schedules=[build_backup_schedule(BackupSettings.from_env())],
        resources=export_resources(),
    )
