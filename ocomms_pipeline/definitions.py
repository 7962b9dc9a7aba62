"""The code location: every asset, job and resource, assembled once."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.assets import organization_bundle, organization_tables
from ocomms_pipeline.backup_schedule import BackupSettings, build_backup_schedule
from ocomms_pipeline.backups import backup_organizations_job
from ocomms_pipeline.jobs import export_organization_job
from ocomms_pipeline.partition_sync import organization_partitions_sensor
from ocomms_pipeline.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.retention_job import build_retention_schedule, prune_exports_job

defs = dg.Definitions(
    assets=[organization_tables, organization_bundle],
    jobs=[export_organization_job, backup_organizations_job, prune_exports_job],
    schedules=[build_backup_schedule(BackupSettings.from_env()), build_retention_schedule()],
    sensors=[organization_partitions_sensor],
    resources={
        "database": OcommsDatabase(url=dg.EnvVar("OCOMMS_DATABASE_URL")),
        "storage": ExportStorage(root=dg.EnvVar("OCOMMS_EXPORT_ROOT")),
    },
    executor=dg.in_process_executor,
)
