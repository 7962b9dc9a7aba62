"""The code location: every asset, job and resource, assembled once."""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.asset_checks import check_organization_tables
from ocomms_pipeline.assets import organization_bundle, organization_tables
from ocomms_pipeline.jobs import export_organization_job
from ocomms_pipeline.resources import ExportStorage, OcommsDatabase

defs = dg.Definitions(
    assets=[organization_tables, organization_bundle],
    asset_checks=[check_organization_tables],
    jobs=[export_organization_job],
    resources={
        "database": OcommsDatabase(url=dg.EnvVar("OCOMMS_DATABASE_URL")),
        "storage": ExportStorage(root=dg.EnvVar("OCOMMS_EXPORT_ROOT")),
    },
    executor=dg.in_process_executor,
)
