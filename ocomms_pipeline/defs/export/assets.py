"""The export as Dagster assets: one graph whose steps gate, stage, check and publish.

Every table asset, ``ocomms/bundle`` and ``ocomms/archive`` come out of one graph-backed
asset definition, because they are one fact: a bundle is published whole or not at all. The
graph's first op is the owner gate, so a refusal stops the run before any table is read; the
export op holds the one snapshot all tables come from; the publish op checks the staged files
and renames them into place, and only then reports the tables as materialized, so every path
in their metadata exists. The archive op packs what was published.

Whatever a person selects (one table, every table, the bundle or the archive alone, with or
without checks), the run performs the whole export: the selected assets are reported as the
op's outputs and the others it produced as materialization events, so no selection can end
green with nothing published, and none can publish a bundle that misses a table.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
from pydantic import Field

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle.publish import Published, publish_staged
from ocomms_pipeline.bundle.state import ExportState, TableResult
from ocomms_pipeline.checks.staged import check_staged
from ocomms_pipeline.defs.common import organizations, step_failure
from ocomms_pipeline.defs.export.archive import archive_bundle
from ocomms_pipeline.defs.export.asset_keys import (
    ARCHIVE_KEY,
    ARCHIVE_OUTPUT,
    BUNDLE_KEY,
    BUNDLE_OUTPUT,
    GROUP,
    table_key,
)
from ocomms_pipeline.defs.export.checks import check_outputs, check_results, check_specs
from ocomms_pipeline.defs.export.progress_log import RunLogProgress
from ocomms_pipeline.defs.export.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.errors import ExportError
from ocomms_pipeline.export import progress
from ocomms_pipeline.export.organization import stage_organization
from ocomms_pipeline.export.owner_gate import Grant, authorize
from ocomms_pipeline.postgres.snapshots import open_snapshot

PUBLISHED_OUTPUT = "published"
_TABLES = [t.name for t in catalog.exported_tables()]


class ExportConfig(dg.Config):
    """Run config of an export: who is asking. The gate checks the claim in the database."""

    requested_by: str = Field(
        description="ocomms user id of an owner of the organization, or operator:<name>."
    )


class TablesConfig(dg.Config):
    """Run config of the export op: optional outputs beside the JSON files."""

    parquet: bool | None = Field(
        default=None,
        description="Also write parquet/<table>.parquet; null: the deployment's default "
        "(OCOMMS_EXPORT_PARQUET).",
    )


@dg.op(
    out=dg.Out(Grant, io_manager_key="io_manager"),
    description="Owner gate: refuses the run unless the requester owns the organization.",
    tags={"kind": "authorization"},
)
def authorize_requester(
    context: dg.OpExecutionContext, config: ExportConfig, database: OcommsDatabase
) -> Grant:
    try:
        with open_snapshot(
            database.url, lock_timeout_seconds=database.lock_timeout_seconds
        ) as snapshot:
            grant = authorize(snapshot, context.partition_key, config.requested_by)
    except (ExportError, psycopg.Error, OSError) as error:
        # The failure's description is the refusal's one line; nothing else is logged.
        raise step_failure(error) from None
    context.log.info(
        f"{grant.principal} may export organization {grant.organization_id} as {grant.capacity}"
    )
    return grant


@dg.op(
    out={"staged": dg.Out(dg.Nothing, description="The run's staging directory is complete.")},
    description="Streams every exported table of the organization from one snapshot into "
    "the run's staging directory.",
)
def export_tables(
    context: dg.OpExecutionContext,
    config: TablesConfig,
    grant: Grant,
    database: OcommsDatabase,
    storage: ExportStorage,
) -> None:
    try:
        parquet = storage.parquet_by_default() if config.parquet is None else config.parquet
        with progress.listening(RunLogProgress(context.log), run_id=context.run_id):
            stage_organization(
                database.url,
                grant.organization_id,
                grant.principal,
                storage.path,
                context.run_id,
                lock_timeout_seconds=database.lock_timeout_seconds,
                parquet=parquet,
                connections=database.export_connections,
                uploads_dir=storage.uploads_path(),
            )
    except (ExportError, psycopg.Error, OSError) as error:
        raise step_failure(error) from None


def table_metadata(bundle_path: Path, result: TableResult) -> dict[str, Any]:
    return {
        "rows": dg.MetadataValue.int(result.rows),
        "bytes": dg.MetadataValue.int(result.bytes),
        "sha256": result.sha256,
        "path": dg.MetadataValue.path(str(bundle_path / result.file)),
        "unknown_columns": dg.MetadataValue.json(result.unknown_columns),
        **(
            {"parquet": dg.MetadataValue.path(str(bundle_path / result.parquet["file"]))}
            if result.parquet
            else {}
        ),
    }


def bundle_metadata(path: Path, state: ExportState) -> dict[str, Any]:
    """What the bundle asset shows for one published bundle."""
    return {
        "path": dg.MetadataValue.path(str(path)),
        "requested_by": state.requester,
        "capacity": state.capacity,
        "snapshot": state.snapshot_id,
        "taken_at": state.taken_at,
        "tables": dg.MetadataValue.int(len(state.tables)),
        "rows": dg.MetadataValue.int(sum(t.rows for t in state.tables)),
        "bytes": dg.MetadataValue.int(sum(t.bytes for t in state.tables)),
    }


def asset_events(published: Published) -> Iterator[tuple[str, dg.AssetKey, dict[str, Any]]]:
    """(output name, asset key, metadata) of every asset a published bundle materializes."""
    for result in published.state.tables:
        yield result.table, table_key(result.table), table_metadata(published.path, result)
    yield BUNDLE_OUTPUT, BUNDLE_KEY, bundle_metadata(published.path, published.state)


def _reported(
    context: dg.OpExecutionContext, published: Published
) -> Iterator[dg.Output | dg.AssetMaterialization]:
    """Selected assets as outputs; the others this run produced too, as materializations."""
    selected = context.selected_output_names
    for output, key, metadata in asset_events(published):
        if output in selected:
            yield dg.Output(None, output, metadata=metadata)
        else:
            yield dg.AssetMaterialization(
                asset_key=key, partition=context.partition_key, metadata=metadata
            )


@dg.op(
    ins={"staged": dg.In(dg.Nothing)},
    out={
        **{
            t.name: dg.Out(dg.Nothing, description=t.description, is_required=False)
            for t in catalog.exported_tables()
        },
        BUNDLE_OUTPUT: dg.Out(dg.Nothing, is_required=False),
        **check_outputs(),
        PUBLISHED_OUTPUT: dg.Out(str, is_required=False, description="The bundle's path."),
    },
    description="Checks the staged files (blocking) and publishes them as the bundle.",
)
def publish_bundle(
    context: dg.OpExecutionContext, storage: ExportStorage
) -> Iterator[dg.Output | dg.AssetMaterialization | dg.AssetCheckResult]:
    selected = context.selected_output_names
    progress.stage(context.run_id, "checking")
    try:
        checked = check_staged(storage.path, context.partition_key, context.run_id)
    except (ExportError, OSError, ValueError) as error:
        raise step_failure(error) from None
    if checked.problem:
        yield from check_results(checked.state, checked.outcomes, selected)
        raise step_failure(ExportError(checked.problem))
    try:
        published = publish_staged(storage.path, context.partition_key, context.run_id)
    except (ExportError, OSError) as error:
        raise step_failure(error) from None
    context.log.info(f"published {published.path}")
    yield from _reported(context, published)
    yield from check_results(checked.state, checked.outcomes, selected)
    if PUBLISHED_OUTPUT in selected:
        yield dg.Output(str(published.path), PUBLISHED_OUTPUT)


def _graph_outputs() -> dict[str, dg.GraphOut]:
    names = [*_TABLES, BUNDLE_OUTPUT, ARCHIVE_OUTPUT, *check_outputs()]
    return {name: dg.GraphOut() for name in names}


@dg.graph(out=_graph_outputs())
def organization_tables() -> dict[str, Any]:
    published = publish_bundle(export_tables(authorize_requester()))
    outputs = dict(zip(publish_bundle.output_dict, published, strict=True))
    return {
        **{name: outputs[name] for name in [*_TABLES, BUNDLE_OUTPUT, *check_outputs()]},
        ARCHIVE_OUTPUT: archive_bundle(outputs[PUBLISHED_OUTPUT]),
    }


def _descriptions() -> dict[str, str]:
    return {
        **{t.name: t.description for t in catalog.exported_tables()},
        BUNDLE_OUTPUT: "The published bundle: tables checked, manifest written, staging "
        "renamed to its final name.",
        ARCHIVE_OUTPUT: "The bundle packed as ocomms-export-<time>.zip beside it: what an "
        "owner downloads.",
    }


organization_export = dg.AssetsDefinition.from_graph(
    organization_tables,
    keys_by_output_name={
        **{name: table_key(name) for name in _TABLES},
        BUNDLE_OUTPUT: BUNDLE_KEY,
        ARCHIVE_OUTPUT: ARCHIVE_KEY,
    },
    internal_asset_deps={
        **{name: set() for name in _TABLES},
        BUNDLE_OUTPUT: {table_key(name) for name in _TABLES},
        ARCHIVE_OUTPUT: {BUNDLE_KEY},
    },
    partitions_def=organizations,
    group_name=GROUP,
    can_subset=True,
    check_specs=check_specs(),
    descriptions_by_output_name=_descriptions(),
)
