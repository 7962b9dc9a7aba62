"""The code location: each feature's definitions merged, with the resources they share."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline import settings
from ocomms_pipeline.defs.backup_schedule import backup_definitions
from ocomms_pipeline.defs.jobs import export_definitions
from ocomms_pipeline.defs.partition_sync import partition_definitions
from ocomms_pipeline.defs.request_resources import AuditLog, RequestQueue
from ocomms_pipeline.defs.request_sensors import request_definitions
from ocomms_pipeline.defs.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.defs.restore import restore_definitions
from ocomms_pipeline.defs.retention import retention_definitions


def _shared() -> dg.Definitions:
    """The resources every feature uses, each configured from the environment."""
    return dg.Definitions(
        resources={
            "database": OcommsDatabase(url=dg.EnvVar(settings.DATABASE_URL)),
            "storage": ExportStorage(root=dg.EnvVar(settings.EXPORT_ROOT)),
            "request_queue": RequestQueue(url=dg.EnvVar(settings.DATABASE_URL)),
            # OCOMMS_AUDIT_LOG_DIR and AUDIT_LOG_SECRET; a missing one fails the request sensors'
            # ticks with one line naming it (see defs/request_resources).
            "audit_log": AuditLog.from_env(),
        },
        executor=dg.in_process_executor,
    )


defs = dg.Definitions.merge(
    export_definitions(),
    request_definitions(),
    backup_definitions(),
    retention_definitions(),
    partition_definitions(),
    restore_definitions(),
    _shared(),
)
