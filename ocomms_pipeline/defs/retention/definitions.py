"""The retention domain: pruning old bundles, the job and its nightly schedule."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.export.resources import export_resources
from ocomms_pipeline.defs.retention.jobs import prune_exports_job
from ocomms_pipeline.defs.retention.schedules import build_retention_schedule


def retention_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=[prune_exports_job],
        schedules=[build_retention_schedule()],
        resources=export_resources(),
    )
