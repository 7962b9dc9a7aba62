"""Stream one table of one organization into its files, checking the rows as they pass.

PostgreSQL serialises each row to JSON once (``COPY ... row_to_json``); the chunks of lines
it sends are written to the JSON file, scanned for the bundle checks and, when asked,
decoded into Arrow for the Parquet file. Memory is a few chunks, whatever the table's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocomms_pipeline import bundle, scoping
from ocomms_pipeline.arrow_schema import table_schema
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.findings import Problem
from ocomms_pipeline.parquet_files import ParquetTableWriter, parquet_path
from ocomms_pipeline.references import ReferenceSpill
from ocomms_pipeline.source import Snapshot
from ocomms_pipeline.table_scan import SecretValues, TableScan


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


@dataclass(frozen=True)
class TableSettings:
    """What every table of one export shares."""

    staging: Path
    params: dict[str, Any]
    parquet: bool
    secrets: SecretValues
    spill_dir: Path


def excluded_columns(table: Table) -> dict[str, dict[str, str]]:
    return {
        c.name: {"treatment": str(c.treatment), "reason": c.reason or ""}
        for c in table.excluded_columns
    }


class _Files:
    """The files one table writes, opened together and closed or abandoned together."""

    def __init__(self, table: Table, settings: TableSettings) -> None:
        self.json = bundle.JsonArrayWriter(settings.staging / f"{table.name}.json")
        self.parquet = (
            ParquetTableWriter(parquet_path(settings.staging, table.name), table_schema(table.name))
            if settings.parquet
            else None
        )
        self.scan = TableScan(
            table,
            secrets=settings.secrets,
            spill=ReferenceSpill(settings.spill_dir, table.name),
            one_record_type=True,
            strings_only=not settings.parquet,
        )

    def write(self, chunk: bytearray) -> None:
        self.json.write_chunk(chunk)
        decoded = self.scan.feed(chunk)
        if self.parquet is not None and decoded is not None:
            self.parquet.write(decoded)

    def abort(self) -> None:
        self.json.abort()
        if self.parquet is not None:
            self.parquet.abort()
        self.scan.finish()


def export_table(
    snapshot: Snapshot, table: Table, unknown: list[str], settings: TableSettings
) -> tuple[TableResult, list[Problem]]:
    """Write the table's files in staging; return what the manifest says and what was found."""
    files = _Files(table, settings)
    try:
        query = scoping.json_rows_query(table, table.exported_columns)
        stream = snapshot.copy_chunks(query, settings.params)
        for chunk in stream:
            files.write(chunk)
    except BaseException:
        files.abort()
        raise
    digest = files.json.close()
    parquet = files.parquet.close() if files.parquet is not None else None
    problems = files.scan.finish()
    result = TableResult(
        table=table.name,
        file=digest.file,
        rows=digest.rows,
        bytes=digest.bytes,
        sha256=digest.sha256,
        exported_columns=[c.name for c in table.exported_columns],
        excluded_columns=excluded_columns(table),
        unknown_columns=unknown,
        snapshot_rows=-1 if stream.rows is None else stream.rows,
        parquet=None if parquet is None else vars(parquet),
    )
    return result, problems
