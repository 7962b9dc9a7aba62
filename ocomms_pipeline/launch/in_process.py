"""Run an organization export through Dagster in this process, and read what came of it.

The CLI and the demo go through the same job, gate and bundle step as runs launched from the
UI, so there is one export path to trust; this module only adds the plumbing to launch it
synchronously and to turn the run's events into a plain outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg

from ocomms_pipeline import identifiers, settings
from ocomms_pipeline.defs import common
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.defs.export.asset_keys import ARCHIVE_KEY, BUNDLE_KEY
from ocomms_pipeline.defs.export.jobs import EXPORT_JOB, export_run_config
from ocomms_pipeline.defs.export.run_results import first_failure, materialized
from ocomms_pipeline.errors import ExportError, ExportRefused
from ocomms_pipeline.export.owner_gate import authorize
from ocomms_pipeline.launch.instances import instance_for_cli
from ocomms_pipeline.postgres.snapshots import open_snapshot
from ocomms_pipeline.status import RequestStatus


@dataclass
class ExportOutcome:
    run_id: str | None  # None when the export was refused before any run was launched
    success: bool
    outcome: RequestStatus  # COMPLETED, REJECTED or FAILED
    reason: str | None = None
    bundle_path: Path | None = None
    table_rows: dict[str, int] = field(default_factory=dict)


def _outcome_of(result: dg.ExecuteInProcessResult) -> ExportOutcome:
    run_id = result.run_id
    if not result.success:
        failed = first_failure(result.all_events)
        if failed is None:
            return ExportOutcome(
                run_id, False, RequestStatus.FAILED, "the run failed before any step ran"
            )
        return ExportOutcome(run_id, False, failed.outcome, failed.reason)
    assets = materialized(result.all_events)
    path = assets.get(BUNDLE_KEY, {}).get("path")
    rows = {
        key.path[-1]: metadata["rows"]
        for key, metadata in assets.items()
        if key != BUNDLE_KEY and "rows" in metadata
    }
    return ExportOutcome(
        run_id,
        True,
        RequestStatus.COMPLETED,
        bundle_path=Path(path) if path else None,
        table_rows=rows,
    )


def _decide(
    url: str, organization_id: str, requested_by: str, lock_timeout_seconds: float | None
) -> ExportOutcome | None:
    """The gate's answer before any run: None to go on, else the refusal or the error."""
    try:
        timeout = (
            settings.LOCK_TIMEOUT_SECONDS if lock_timeout_seconds is None else lock_timeout_seconds
        )
        with open_snapshot(url, lock_timeout_seconds=timeout) as snapshot:
            authorize(snapshot, organization_id, requested_by)
    except ExportRefused as refusal:
        return ExportOutcome(None, False, RequestStatus.REJECTED, str(refusal))
    except (ExportError, psycopg.Error, OSError) as error:
        return ExportOutcome(None, False, RequestStatus.FAILED, common.failure_reason(error))
    return None


def run_export(
    organization_id: str,
    requested_by: str,
    *,
    export_root: Path | None = None,
    database_url: str | None = None,
    instance: dg.DagsterInstance | None = None,
    lock_timeout_seconds: float | None = None,
    tags: dict[str, str] | None = None,
    quiet: bool = True,
    parquet: bool | None = None,
    archive: bool = True,
    decide_first: bool = True,
    uploads_dir: Path | None = None,
    run_id: str | None = None,
) -> ExportOutcome:
    """Export one organization synchronously; refusals and errors come back as outcomes.

    With ``decide_first`` the owner gate's decision is read before a run is launched, and a
    refusal launches none (the run's own gate would mark the organization's assets failed in
    the UI); without it the run is launched as the launchpad would, and its gate refuses.
    ``run_id`` names the run, for a caller that follows its events as they happen.
    """
    from ocomms_pipeline.definitions import defs

    identifiers.organization_id(organization_id)
    url = database_url or settings.value(settings.DATABASE_URL)
    if decide_first and url:
        refused = _decide(url, organization_id, requested_by, lock_timeout_seconds)
        if refused is not None:
            return refused
    instance = instance or instance_for_cli()
    if not instance.has_dynamic_partition(organizations.name, organization_id):
        instance.add_dynamic_partitions(organizations.name, [organization_id])
    # Without the archive the run leaves ocomms/archive out of its selection rather than
    # configuring its op off, so the asset's history shows no attempt that was never made.
    run_config: dict[str, Any] = export_run_config(requested_by, parquet)
    job = defs.resolve_job_def(EXPORT_JOB)
    selection = (
        None if archive else [k for k in job.asset_layer.executable_asset_keys if k != ARCHIVE_KEY]
    )
    resources: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    if export_root is not None:
        storage["root"] = str(export_root)
    if uploads_dir is not None:
        storage["uploads_dir"] = str(uploads_dir)
    if storage:
        resources["storage"] = {"config": storage}
    database: dict[str, Any] = {}
    if database_url is not None:
        database["url"] = database_url
    if lock_timeout_seconds is not None:
        database["lock_timeout_seconds"] = lock_timeout_seconds
    if database:
        resources["database"] = {"config": database}
    if resources:
        run_config["resources"] = resources
    if quiet:
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    result = job.execute_in_process(
        run_config=run_config,
        asset_selection=selection,
        instance=instance,
        partition_key=organization_id,
        tags=tags,
        raise_on_error=False,
        run_id=run_id,
    )
    return _outcome_of(result)
