"""The export domain: the organization's assets with their checks, and the job that runs them."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.defs.export.assets import organization_export
from ocomms_pipeline.defs.export.jobs import export_organization_job
from ocomms_pipeline.defs.export.resources import export_resources


def export_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[organization_export], jobs=[export_organization_job], resources=export_resources()
    )
