"""Stream one table of one organization into its files, checking the rows as they pass.

PostgreSQL serialises each row to JSON once (``COPY ... row_to_json``); the chunks of lines
it sends are written to the JSON file, scanned for the bundle checks and, when asked,
decoded into Arrow for the Parquet file. Memory is a few chunks, whatever the table's size.
A large table may be read as several key ranges at once (``export/key_ranges.py``); the
ranges' files are joined in key order, so the table's files do not depend on how it was split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.arrow_schema import table_schema
from ocomms_pipeline.bundle.parquet import ParquetTableWriter, parquet_path
from ocomms_pipeline.bundle.state import TableResult
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.checks import references
from ocomms_pipeline.checks.findings import Problem
from ocomms_pipeline.checks.references import ReferenceSpill
from ocomms_pipeline.checks.row_scan import SecretValues, TableScan
from ocomms_pipeline.export import scoping
from ocomms_pipeline.export.key_ranges import KeyRange
from ocomms_pipeline.export.memory import give_back_freed_memory
from ocomms_pipeline.export.progress import QUIET, ExportProgress
from ocomms_pipeline.postgres.snapshots import Snapshot


@dataclass(frozen=True)
class ExportContext:
    """What every table of one export shares: where it stages, what it binds, what it hides."""

    staging: Path
    params: dict[str, Any]
    parquet: bool
    secrets: SecretValues
    spill_dir: Path
    probed: frozenset[str] = frozenset()  # tables scoped by key probes (scoping.probed_tables)
    streamed: frozenset[str] = frozenset()  # tables whose users the scan collects (user_closure)
    spill_buckets: int = references.BUCKETS  # see references.bucket_count
    progress: ExportProgress = QUIET  # who hears of rows read and tables finished
    held: references.HeldIds | None = None  # small tables' ids, kept in memory for the export


def excluded_columns(table: Table) -> dict[str, dict[str, str]]:
    return {
        c.name: {"treatment": str(c.treatment), "reason": c.reason or ""}
        for c in table.excluded_columns
    }


class Part:
    """The files one key range of a table writes, and the scan of its rows.

    Part 0 writes the table's own files and leaves them open; later parts write fragments
    (JSON rows without brackets, decoded rows as an Arrow stream) for ``finish_table``.
    """

    def __init__(self, table: Table, key_range: KeyRange, context: ExportContext) -> None:
        self.table = table
        self.key_range = key_range
        self.rows_sent: int | None = None
        self.fragment: bundle.FileDigest | None = None
        first = key_range.index == 0
        suffix = "" if first else f".part{key_range.index}"
        self.json = bundle.JsonArrayWriter(
            context.staging / (f"{table.name}.json" if first else f".{table.name}{suffix}.json"),
            fragment=not first,
        )
        self.parquet: ParquetTableWriter | pa.ipc.RecordBatchStreamWriter | None = None
        if context.parquet:
            path = parquet_path(context.staging, table.name)
            path.parent.mkdir(exist_ok=True)  # whichever range of the table starts first
            schema = table_schema(table.name)
            self.parquet = (
                ParquetTableWriter(path, schema)
                if first
                else pa.ipc.new_stream(str(self.arrow_fragment(context)), schema)
            )
        self.scan = TableScan(
            table,
            secrets=context.secrets,
            spill=ReferenceSpill(
                context.spill_dir, table.name + suffix, context.spill_buckets, context.held
            ),
            one_record_type=True,
            strings_only=not context.parquet,
            collect_users=table.name in context.streamed,
        )
        self.meter = context.progress.meter(table.name)

    def arrow_fragment(self, context: ExportContext) -> Path:
        name = f".{self.table.name}.part{self.key_range.index}.arrows"
        return parquet_path(context.staging, self.table.name).with_name(name)

    def write(self, chunk: bytearray) -> None:
        rows = chunk.count(b"\n")
        self.json.write_chunk(chunk, rows)
        decoded = self.scan.feed(chunk, rows)
        if self.parquet is not None and decoded is not None:
            self.parquet.write(decoded)
        self.meter.add(rows, len(chunk))

    def close_fragments(self) -> None:
        """A later part is done: its fragments are complete files, its spill is on disk."""
        self.fragment = self.json.close()
        if self.parquet is not None:
            self.parquet.close()
        self.scan.finish()

    def abort(self) -> None:
        self.json.abort()
        if isinstance(self.parquet, ParquetTableWriter):
            self.parquet.abort()
        elif self.parquet is not None:
            self.parquet.close()
        self.scan.abandon()


def export_part(
    snapshot: Snapshot, table: Table, key_range: KeyRange, context: ExportContext
) -> Part:
    """Stream one key range of the table into staging; ``finish_table`` joins the parts."""
    part = Part(table, key_range, context)
    probe = table.name in context.probed
    query = scoping.json_rows_query(table, table.exported_columns, key_range, probe=probe)
    stream = snapshot.copy_chunks(query, context.params)
    chunks = iter(stream)
    try:
        for chunk in chunks:
            part.write(chunk)
    except BaseException:
        chunks.close()  # ends the COPY now, so the transaction can roll back
        part.abort()
        raise
    part.rows_sent = stream.rows
    if key_range.index:
        part.close_fragments()
    give_back_freed_memory()
    return part


def _append_arrow(writer: ParquetTableWriter, path: Path) -> None:
    """Feed a later range's decoded rows to the table's Parquet writer, batch by batch.

    Read through a plain file, not a memory map: mapped pages of a large fragment would all
    count as the process's resident memory.
    """
    with pa.OSFile(str(path)) as source, pa.ipc.open_stream(source) as reader:
        for batch in reader:
            writer.write(pa.Table.from_batches([batch]))
    path.unlink()


def finish_table(
    parts: list[Part], unknown: list[str], context: ExportContext
) -> tuple[TableResult, list[Problem]]:
    """Join the parts of a table in key order, close its files; what the manifest says."""
    first, table = parts[0], parts[0].table
    faults = first.scan.faults
    for part in parts[1:]:
        faults.extend(part.scan.faults, first.json.rows)
        assert part.fragment is not None
        first.json.extend(part.fragment, context.staging)
        if isinstance(first.parquet, ParquetTableWriter):
            _append_arrow(first.parquet, part.arrow_fragment(context))
    digest = first.json.close()
    parquet = first.parquet.close() if isinstance(first.parquet, ParquetTableWriter) else None
    first.scan.finish()
    sent = [p.rows_sent for p in parts]
    result = TableResult(
        table=table.name,
        file=digest.file,
        rows=digest.rows,
        bytes=digest.bytes,
        sha256=digest.sha256,
        exported_columns=[c.name for c in table.exported_columns],
        excluded_columns=excluded_columns(table),
        unknown_columns=unknown,
        snapshot_rows=-1 if None in sent else sum(r for r in sent if r is not None),
        parquet=None if parquet is None else vars(parquet),
    )
    return result, faults.problems()
