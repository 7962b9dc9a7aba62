"""Jobs, and the run config that launches them from code, sensors and GraphQL alike."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ocomms_pipeline.archive_asset import organization_archive
from ocomms_pipeline.assets import organization_bundle, organization_tables
from ocomms_pipeline.partitions import organizations

EXPORT_JOB = "export_organization"

# In-process: the export op holds one snapshot for all tables, so separate step processes would
# cost seconds per run and buy no parallelism.
export_organization_job = dg.define_asset_job(
    EXPORT_JOB,
    selection=dg.AssetSelection.assets(
        organization_tables, organization_bundle, organization_archive
    ),
    partitions_def=organizations,
    executor_def=dg.in_process_executor,
    description="Export one organization (the partition) to a verified bundle.",
)


ARCHIVE_OP = "ocomms__archive"


def export_run_config(
    requested_by: str, parquet: bool | None = None, archive: bool = True
) -> dict[str, Any]:
    """Run config for ``export_organization``: the requester goes to the owner gate.

    ``parquet`` None leaves Parquet copies to the deployment's default; ``archive`` False
    publishes the bundle without its zip.
    """
    ops: dict[str, Any] = {"authorize_requester": {"config": {"requested_by": requested_by}}}
    if parquet is not None:
        ops["export_tables"] = {"config": {"parquet": parquet}}
    config: dict[str, Any] = {"organization_tables": {"ops": ops}}
    if not archive:
        config[ARCHIVE_OP] = {"config": {"enabled": False}}
    return {"ops": config}
