"""A table file into the target: JSON chunks decoded by Arrow, written as CSV into one COPY.

Each chunk of the file (4 MB of whole lines, ``bundle.JsonArrayReader``) is decoded by Arrow's
C++ JSON reader and written back by its CSV writer, so no row passes through Python. Values
keep their bundle text: timestamps stay strings (PostgreSQL reads the RFC 3339 form into
both timestamp kinds), and every non-null value is quoted, so an empty string stays empty
and only a missing value becomes NULL. ``jsonb`` values, which Arrow would want as structs,
are re-serialised from Python for the one table that has them.

One table is one COPY statement however many chunks it takes, so foreign keys between its
own rows (replies to messages) are checked at the statement's end, whatever the file order.
The next chunk is decoded on a worker thread while the current one is sent (Arrow and the
socket both release the GIL), and the file's sha256 is compared with the manifest at the end:
a file changed after its checks fails the restore before anything commits.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.catalog import ColumnType, Table
from ocomms_pipeline.export.scoping import quote
from ocomms_pipeline.restore.errors import RestoreFailed

_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.INTEGER: pa.int32(),
    ColumnType.BIGINT: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
}
_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
_JSONB_SEPARATORS = (", ", ": ")

RowFilter = Callable[[pa.Table], pa.Table]


def parse_schema(table: Table, columns: tuple[str, ...]) -> pa.Schema:
    """Every column as text but integers and booleans: values travel as the bundle wrote them."""
    return pa.schema(
        pa.field(c, _TYPES.get(table.columns_by_name[c].type, pa.string()))
        for c in columns
        if table.columns_by_name[c].type is not ColumnType.JSONB
    )


def _jsonb_columns(table: Table, columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if table.columns_by_name[c].type is ColumnType.JSONB]


def decode(table: Table, columns: tuple[str, ...], lines: bytes) -> pa.Table:
    """Rows given as JSON objects, one per line, as Arrow columns in ``columns`` order."""
    parsed = pa_json.read_json(
        pa.BufferReader(pa.py_buffer(lines)),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=len(lines) + 1),
        parse_options=pa_json.ParseOptions(
            explicit_schema=parse_schema(table, columns), unexpected_field_behavior="ignore"
        ),
    )
    jsonb = _jsonb_columns(table, columns)
    if not jsonb:
        return parsed.select(list(columns))
    objects = [json.loads(line) for line in lines.splitlines()]
    texts = {c: pa.array([_jsonb_text(o.get(c)) for o in objects], pa.string()) for c in jsonb}
    return pa.Table.from_arrays(
        [texts[c] if c in texts else parsed.column(c) for c in columns], names=list(columns)
    )


def _jsonb_text(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=_JSONB_SEPARATORS)


def batches(path: Path, table: Table, columns: tuple[str, ...], sha256: str) -> Iterator[pa.Table]:
    """The file's rows in chunks; raises RestoreFailed if the file is not what was checked."""
    reader = bundle.JsonArrayReader(path)
    for lines in reader:
        yield decode(table, columns, lines)
    if reader.framing_error or reader.sha256 != sha256:
        raise RestoreFailed(f"{path.name} changed after the bundle was checked")


def _csv(rows: pa.Table) -> bytes:
    sink = io.BytesIO()
    if rows.num_rows:
        pa_csv.write_csv(rows, sink, _CSV)
    return sink.getvalue()


def _converted(
    source: Iterator[pa.Table], keep: RowFilter | None
) -> Iterator[tuple[pa.Table, bytes]]:
    """(kept rows, their CSV) per chunk, the next chunk prepared while the caller sends one."""

    def step() -> tuple[pa.Table, bytes] | None:
        rows = next(source, None)
        if rows is None:
            return None
        rows = keep(rows) if keep else rows
        return rows, _csv(rows)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore-decode") as pool:
        ahead = pool.submit(step)
        while (done := ahead.result()) is not None:
            ahead = pool.submit(step)
            yield done


def copy_table(
    conn: psycopg.Connection,
    into: str,
    columns: tuple[str, ...],
    source: Iterator[pa.Table],
    keep: RowFilter | None = None,
    watch: Callable[[pa.Table], None] | None = None,
) -> int:
    """Stream ``source`` into the table ``into`` (quoted) through one COPY; rows written."""
    names = ", ".join(quote(c) for c in columns)
    statement = f"COPY {into} ({names}) FROM STDIN (FORMAT csv)"
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for rows, data in _converted(source, keep):
                if watch is not None:
                    watch(rows)
                if data:
                    copy.write(data)
        return max(cur.rowcount, 0)


def excluding(column: str, values: set[str]) -> RowFilter | None:
    """A filter that drops rows whose ``column`` is one of ``values`` (rows the target keeps)."""
    if not values:
        return None
    value_set = pa.array(sorted(values), pa.string())

    def keep(rows: pa.Table) -> pa.Table:
        found = pc.fill_null(pc.is_in(rows.column(column), value_set=value_set), False)
        return rows.filter(pc.invert(found))

    return keep
