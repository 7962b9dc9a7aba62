"""The export as Dagster assets: a gate, one asset per exported table, and the bundle.

The tables are one graph-backed multi-asset whose first op is the owner gate: when the gate
refuses, the export op never starts and no table is read. The export op holds the one snapshot
all tables come from, which is why the tables cannot be separate steps. The bundle asset
publishes what the export op staged, so the run's last step is the one that makes a bundle
visible.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
from pydantic import Field

from ocomms_pipeline import catalog, identifiers
from ocomms_pipeline.authorization import Grant, authorize
from ocomms_pipeline.errors import ExportError, ExportRefused, describe
from ocomms_pipeline.export import ExportState, TableResult, export_organization
from ocomms_pipeline.partitions import organizations
from ocomms_pipeline.publishing import publish_staged
from ocomms_pipeline.resources import ExportStorage, OcommsDatabase
from ocomms_pipeline.source import open_snapshot

GROUP = "ocomms"
KEY_PREFIX = "ocomms"
BUNDLE_KEY = dg.AssetKey([KEY_PREFIX, "bundle"])


def table_key(table_name: str) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, table_name])


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


def failure(error: BaseException) -> dg.Failure:
    """A run failure whose description is the one-line reason, and whether it was a refusal."""
    if isinstance(error, ExportError):
        outcome, reason = error.outcome, str(error)
    else:
        outcome, reason = "failed", describe(error)
    metadata = {"outcome": outcome, "reason": reason}
    if isinstance(error, ExportRefused):
        metadata["code"] = error.code
    return dg.Failure(description=reason, metadata=metadata, allow_retries=False)


@dg.op(
    out=dg.Out(Grant, io_manager_key="io_manager"),
    description="Owner gate: refuses the run unless the requester owns the organization.",
    tags={"kind": "authorization"},
)
def authorize_requester(
    context: dg.OpExecutionContext, config: ExportConfig, database: OcommsDatabase
) -> Grant:
    try:
        organization_id = identifiers.organization_id(context.partition_key)
        principal = identifiers.principal(config.requested_by)
        with open_snapshot(database.url, lock_timeout_seconds=database.lock_timeout_seconds) as s:
            grant = authorize(s, organization_id, principal)
    except ExportRefused as error:
        context.log.warning(f"export refused: {error}")
        raise failure(error) from None
    except (ExportError, psycopg.Error, OSError) as error:
        raise failure(error) from error
    context.log.info(
        f"{grant.principal} may export organization {grant.organization_id} as {grant.capacity}"
    )
    return grant


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


@dg.op(
    out={
        t.name: dg.Out(dg.Nothing, description=t.description, is_required=True)
        for t in catalog.exported_tables()
    },
    description="Streams every exported table of the organization from one snapshot.",
)
def export_tables(
    context: dg.OpExecutionContext,
    config: TablesConfig,
    grant: Grant,
    database: OcommsDatabase,
    storage: ExportStorage,
) -> Iterator[dg.Output]:
    try:
        parquet = storage.parquet_by_default() if config.parquet is None else config.parquet
        state = export_organization(
            database.url,
            grant.organization_id,
            grant.principal,
            storage.path,
            context.run_id,
            lock_timeout_seconds=database.lock_timeout_seconds,
            parquet=parquet,
            connections=database.export_connections,
        )
    except ExportRefused as error:
        raise failure(error) from None
    except (ExportError, psycopg.Error, OSError) as error:
        raise failure(error) from error
    bundle_path = Path(state.bundle_path)
    for result in state.tables:
        yield dg.Output(None, result.table, metadata=table_metadata(bundle_path, result))


@dg.graph_multi_asset(
    outs={
        t.name: dg.AssetOut(
            key=table_key(t.name), description=t.description, dagster_type=dg.Nothing
        )
        for t in catalog.exported_tables()
    },
    partitions_def=organizations,
    group_name=GROUP,
)
def organization_tables():
    return export_tables(authorize_requester())


@dg.asset(
    key=BUNDLE_KEY,
    deps=[table_key(t.name) for t in catalog.exported_tables()],
    partitions_def=organizations,
    group_name=GROUP,
    description="The published bundle: manifest written, staging renamed to its final name.",
)
def organization_bundle(
    context: dg.AssetExecutionContext, storage: ExportStorage
) -> dg.MaterializeResult:
    try:
        published = publish_staged(storage.path, context.partition_key, context.run_id)
    except (ExportError, OSError) as error:
        raise failure(error) from error
    context.log.info(f"published {published.path}")
    return dg.MaterializeResult(metadata=bundle_metadata(published.path, published.state))


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
