"""Export one organization inside one snapshot into a staging directory.

This is the whole data path, free of Dagster so it can be reasoned about and tested alone:
authorize again inside the snapshot, check the schema, resolve which users the organization's
rows mention, then stream every exported table to its file. The manifest and the rename that
publishes the bundle are the bundle step's job (see ``bundle.publish``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocomms_pipeline import bundle, catalog, drift, scoping
from ocomms_pipeline.authorization import Grant, authorize
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.identifiers import Principal
from ocomms_pipeline.source import Snapshot, open_snapshot


@dataclass(frozen=True)
class TableResult:
    table: str
    file: str
    rows: int
    bytes: int
    sha256: str
    exported_columns: list[str]
    excluded_columns: dict[str, dict[str, str]]
    unknown_columns: list[str]


@dataclass
class ExportState:
    """Everything the bundle step needs to write the manifest, persisted in staging."""

    organization_id: str
    organization_name: str
    requester: str
    requester_kind: str
    capacity: str
    run_id: str
    snapshot_id: str
    taken_at: str
    server_version: str
    started_at: str
    bundle_path: str
    tables: list[TableResult] = field(default_factory=list)
    not_exported_tables: dict[str, str] = field(default_factory=dict)
    unknown_tables: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportState:
        tables = [TableResult(**t) for t in data.pop("tables")]
        return cls(tables=tables, **data)


def excluded_columns(table: Table) -> dict[str, dict[str, str]]:
    return {
        c.name: {"treatment": str(c.treatment), "reason": c.reason or ""}
        for c in table.excluded_columns
    }


def export_table(
    snapshot: Snapshot, table: Table, params: dict[str, Any], staging: Path, unknown: list[str]
) -> TableResult:
    writer = bundle.JsonArrayWriter(staging / f"{table.name}.json")
    try:
        query = scoping.json_rows_query(table, table.exported_columns)
        writer.write_lines(snapshot.copy_lines(query, params))
    except BaseException:
        writer.abort()
        raise
    digest = writer.close()
    return TableResult(
        table=table.name,
        file=digest.file,
        rows=digest.rows,
        bytes=digest.bytes,
        sha256=digest.sha256,
        exported_columns=[c.name for c in table.exported_columns],
        excluded_columns=excluded_columns(table),
        unknown_columns=unknown,
    )


def _new_state(
    grant: Grant, snapshot: Snapshot, run_id: str, started: datetime, root: Path
) -> ExportState:
    taken_at = snapshot.info.taken_at
    return ExportState(
        organization_id=grant.organization_id,
        organization_name=grant.organization_name,
        requester=str(grant.principal),
        requester_kind=grant.principal.kind,
        capacity=grant.capacity,
        run_id=run_id,
        snapshot_id=snapshot.info.snapshot_id,
        taken_at=bundle.utc_text(taken_at),
        server_version=snapshot.info.server_version,
        started_at=bundle.utc_text(started),
        bundle_path=str(bundle.reserve_bundle_path(root, grant.organization_id, taken_at)),
        not_exported_tables={
            t.name: t.scope.reason
            for t in catalog.not_exported_tables()  # type: ignore[union-attr]
        },
    )


def export_organization(
    database_url: str,
    organization_id: str,
    principal: Principal,
    root: Path,
    run_id: str,
    *,
    lock_timeout_seconds: float = 30.0,
) -> ExportState:
    """Write every exported table of the organization into staging; return the state.

    On any failure the staging directory is removed before the error propagates.
    """
    started = datetime.now(UTC)
    staging = bundle.staging_dir(root, organization_id, run_id)
    with open_snapshot(database_url, lock_timeout_seconds=lock_timeout_seconds) as snapshot:
        grant = authorize(snapshot, organization_id, principal)
        schema = drift.compare(snapshot.live_columns())
        users = [
            row[0]
            for row in snapshot.fetch_all(
                scoping.referenced_users_query(), {"org": organization_id}
            )
        ]
        params = {"org": organization_id, "users": users}
        state = _new_state(grant, snapshot, run_id, started, root)
        state.unknown_tables = schema.unknown_tables
        staging.mkdir(parents=True, exist_ok=False)
        try:
            for table in catalog.exported_tables():
                unknown = schema.unknown_columns.get(table.name, [])
                state.tables.append(export_table(snapshot, table, params, staging, unknown))
            bundle.write_json(staging / bundle.STATE_FILE, state.to_json())
        except BaseException:
            bundle.discard(staging)
            raise
    return state


def load_state(staging: Path) -> ExportState:
    return ExportState.from_json(bundle.read_json(staging / bundle.STATE_FILE))


def manifest(state: ExportState, finished: datetime) -> dict[str, Any]:
    """The bundle's self-description: who, what, when, and how to verify every file."""
    return {
        "format": bundle.FORMAT_NAME,
        "format_version": bundle.FORMAT_VERSION,
        "organization": {"id": state.organization_id, "name": state.organization_name},
        "requester": {
            "principal": state.requester,
            "kind": state.requester_kind,
            "capacity": state.capacity,
        },
        "dagster_run_id": state.run_id,
        "snapshot": {
            "id": state.snapshot_id,
            "taken_at": state.taken_at,
            "isolation": "repeatable read, read only",
            "server_version": state.server_version,
        },
        "started_at": state.started_at,
        "finished_at": bundle.utc_text(finished),
        "tables": {
            t.table: {
                "file": t.file,
                "rows": t.rows,
                "bytes": t.bytes,
                "sha256": t.sha256,
                "exported_columns": t.exported_columns,
                "excluded_columns": t.excluded_columns,
                "unknown_columns": t.unknown_columns,
            }
            for t in state.tables
        },
        "not_exported_tables": state.not_exported_tables,
        "unknown_tables": state.unknown_tables,
    }
