"""Jobs, and the run config that launches them from code, sensors and GraphQL alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.archive import archive_bundle
from ocomms_pipeline.defs.export.assets import (
    authorize_requester,
    export_tables,
    organization_export,
    organization_tables,
)

EXPORT_JOB = "export_organization"

# In-process: the export op holds one snapshot for all tables, so separate step processes would
# cost seconds per run and buy no parallelism.
export_organization_job = dg.define_asset_job(
    EXPORT_JOB,
    selection=dg.AssetSelection.assets(organization_export),
    partitions_def=organizations,
    executor_def=dg.in_process_executor,
    description="Export one organization (the partition) to a verified bundle.",
)


def _op_config(op: dg.OpDefinition, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` placed at the op's path inside the export graph."""
    return {"ops": {organization_tables.name: {"ops": {op.name: {"config": config}}}}}


def _merge(into: dict[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in more.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def export_run_config(
    requested_by: str, parquet: bool | None = None, archive: bool = True
) -> dict[str, Any]:
    """Run config for ``export_organization``: the requester goes to the owner gate.

    ``parquet`` None leaves Parquet copies to the deployment's default; ``archive`` False
    publishes the bundle without its zip.
    """
    config = _op_config(authorize_requester, {"requested_by": requested_by})
    if parquet is not None:
        _merge(config, _op_config(export_tables, {"parquet": parquet}))
    if not archive:
        _merge(config, _op_config(archive_bundle, {"enabled": False}))
    return config


def requested_by_of(run_config: Mapping[str, Any]) -> object:
    """The requester a run's config hands the owner gate, or None when it names none."""
    graph = run_config.get("ops", {}).get(organization_tables.name, {})
    gate = graph.get("ops", {}).get(authorize_requester.name, {})
    return gate.get("config", {}).get("requested_by")
