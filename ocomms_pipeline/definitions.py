"""The code location: each domain's definitions, merged; every run executes in process."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.backups.definitions import backup_definitions
from ocomms_pipeline.defs.export.definitions import export_definitions
from ocomms_pipeline.defs.partitions.definitions import partition_definitions
from ocomms_pipeline.defs.requests.definitions import request_definitions
from ocomms_pipeline.defs.restore.definitions import restore_definitions
from ocomms_pipeline.defs.retention.definitions import retention_definitions

defs = dg.Definitions.merge(
    export_definitions(),
    request_definitions(),
    backup_definitions(),
    retention_definitions(),
    partition_definitions(),
    restore_definitions(),
    dg.Definitions(executor=dg.in_process_executor),
)
