"""What one export staged, as recorded beside its files, and the manifest made from it.

The record is written into the staging directory by the export and read back by the checks
and by publication, which may run in another step or process; the manifest is the bundle's
self-description. Both are the bundle's format, so they live with it, below the code that
produces and checks them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle import uploads


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
    snapshot_rows: int = -1  # the organization's rows in the snapshot, as PostgreSQL sent them
    parquet: dict[str, Any] | None = None  # file, rows, bytes, sha256 of the Parquet copy


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
    parquet: bool = False
    problems: list[dict[str, str]] = field(default_factory=list)  # findings.Problem as JSON
    files: dict[str, Any] = field(default_factory=uploads.not_included)  # the uploaded files

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportState:
        tables = [TableResult(**t) for t in data.pop("tables")]
        return cls(tables=tables, **data)


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
                **({"parquet": t.parquet} if t.parquet else {}),
            }
            for t in state.tables
        },
        "not_exported_tables": state.not_exported_tables,
        "unknown_tables": state.unknown_tables,
        "files": state.files,
    }
