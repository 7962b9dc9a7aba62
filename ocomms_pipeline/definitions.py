"""The code location: every asset, job and resource, assembled once."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.assets import organization_export
from ocomms_pipeline.backup_schedule import BackupSettings, build_backup_schedule
from ocomms_pipeline.backups import backup_organizations_job
from ocomms_pipeline.jobs import export_organization_job
from ocomms_pipeline.partition_sync import organization_partitions_sensor
from ocomms_pipeline.request_resources import AuditLog, RequestQueue
from ocomms_pipeline.request_sensors import build_request_sensors, interval_from_env
from ocomms_pipeline.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.restore_job import RestoreDatabase, restore_organization_job
from ocomms_pipeline.retention_job import build_retention_schedule, prune_exports_job

defs = dg.Definitions(
    assets=[organization_export],
    jobs=[
        export_organization_job,
        backup_organizations_job,
        prune_exports_job,
        restore_organization_job,
    ],
    schedules=[build_backup_schedule(BackupSettings.from_env()), build_retention_schedule()],
    sensors=[organization_partitions_sensor, *build_request_sensors(interval_from_env())],
    resources={
        "database": OcommsDatabase(url=dg.EnvVar("OCOMMS_DATABASE_URL")),
        "storage": ExportStorage(root=dg.EnvVar("OCOMMS_EXPORT_ROOT")),
        "restore_database": RestoreDatabase(url=dg.EnvVar("OCOMMS_RESTORE_DATABASE_URL")),
        "request_queue": RequestQueue(url=dg.EnvVar("OCOMMS_DATABASE_URL")),
        "audit_log": AuditLog(
            directory=dg.EnvVar("OCOMMS_AUDIT_LOG_DIR"), secret=dg.EnvVar("AUDIT_LOG_SECRET")
        ),
    },
    executor=dg.in_process_executor,
)
