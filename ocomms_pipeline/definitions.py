"""The code location: every asset, job and resource, assembled once."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline import settings
from ocomms_pipeline.defs.assets import organization_export
from ocomms_pipeline.defs.backup_schedule import BackupSettings, build_backup_schedule
from ocomms_pipeline.defs.backups import backup_organizations_job
from ocomms_pipeline.defs.jobs import export_organization_job
from ocomms_pipeline.defs.partition_sync import organization_partitions_sensor
from ocomms_pipeline.defs.request_resources import AuditLog, RequestQueue
from ocomms_pipeline.defs.request_sensors import build_request_sensors, interval_from_env
from ocomms_pipeline.defs.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.defs.retention import build_retention_schedule, prune_exports_job

defs = dg.Definitions(
    assets=[organization_export],
    jobs=[export_organization_job, backup_organizations_job, prune_exports_job],
    schedules=[build_backup_schedule(BackupSettings.from_env()), build_retention_schedule()],
    sensors=[organization_partitions_sensor, *build_request_sensors(interval_from_env())],
    resources={
        "database": OcommsDatabase(url=dg.EnvVar(settings.DATABASE_URL)),
        "storage": ExportStorage(root=dg.EnvVar(settings.EXPORT_ROOT)),
        "request_queue": RequestQueue(url=dg.EnvVar(settings.DATABASE_URL)),
        # OCOMMS_AUDIT_LOG_DIR and AUDIT_LOG_SECRET; a missing one fails the request sensors'
        # ticks with one line naming it (see request_resources).
        "audit_log": AuditLog.from_env(),
    },
    executor=dg.in_process_executor,
)
