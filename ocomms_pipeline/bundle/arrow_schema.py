"""The Arrow form of an exported table: its schema, derived from the catalog, and decoding.

Parquet files and ``load_bundle`` must agree with the JSON files value for value, so both are
typed from one place: the catalog's column types. Timestamps become ``timestamp[us, UTC]``
(the JSON text is UTC with microseconds, so nothing is lost), integers and booleans keep their
width, uuids and enums are strings, and ``jsonb`` becomes its JSON text (its shape is free, a
Parquet struct could not hold every value).

Rows are decoded from the JSON the export already streams (one object per line), in batches,
by Arrow's C++ JSON reader: PostgreSQL serialises each row once and nothing parses it in
Python, except ``jsonb`` values, which Arrow cannot keep as text.
"""

from __future__ import annotations

import json
from functools import cache

import pyarrow as pa
import pyarrow.json as pa_json

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import arrow_arrays
from ocomms_pipeline.catalog import Column, ColumnType, Table

TIMESTAMP = pa.timestamp("us", tz="UTC")
OCOMMS_TYPE = b"ocomms_type"  # field metadata: the catalog type, for readers of the file
JSONB_TEXT_SEPARATORS = (", ", ": ")  # PostgreSQL's own jsonb text layout

_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.TEXT: pa.string(),
    ColumnType.UUID: pa.string(),
    ColumnType.ENUM: pa.string(),
    ColumnType.TSVECTOR: pa.string(),
    ColumnType.JSONB: pa.string(),
    ColumnType.INTEGER: pa.int32(),
    ColumnType.BIGINT: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.TIMESTAMP: TIMESTAMP,
    ColumnType.TIMESTAMPTZ: TIMESTAMP,
}


def arrow_field(column: Column) -> pa.Field:
    return pa.field(
        column.name,
        _ARROW_TYPES[column.type],
        nullable=True,
        metadata={OCOMMS_TYPE: str(column.type).encode()},
    )


@cache
def table_schema(table_name: str) -> pa.Schema:
    """The schema of an exported table's Parquet file: its exported columns, in order."""
    table = catalog.table(table_name)
    return pa.schema(
        [arrow_field(c) for c in table.exported_columns],
        metadata={b"ocomms_table": table.name.encode()},
    )


def json_columns(table: Table) -> list[str]:
    return [c.name for c in table.exported_columns if c.type is ColumnType.JSONB]


@cache
def string_schema(table_name: str) -> pa.Schema:
    """The table's string columns only: all that the secret and reference checks look at."""
    return pa.schema([f for f in table_schema(table_name) if f.type == pa.string()])


@cache
def _parse_options(table_name: str, strings_only: bool) -> pa_json.ParseOptions:
    table = catalog.table(table_name)
    skipped = set(json_columns(table))
    schema = string_schema(table_name) if strings_only else table_schema(table_name)
    plain = pa.schema([f for f in schema if f.name not in skipped])
    return pa_json.ParseOptions(explicit_schema=plain, unexpected_field_behavior="ignore")


def _json_texts(lines: bytes | bytearray, column: str) -> pa.Array:
    """A ``jsonb`` column as JSON text, one value per line; Arrow would want a struct."""
    texts = []
    for line in bytes(lines).splitlines():
        value = json.loads(line).get(column)
        texts.append(
            None
            if value is None
            else json.dumps(value, ensure_ascii=False, separators=JSONB_TEXT_SEPARATORS)
        )
    return arrow_arrays.strings(texts)


def decode(table: Table, ndjson: bytes | bytearray, *, strings_only: bool = False) -> pa.Table:
    """Rows given as JSON objects, one per line, as an Arrow table of the table's schema.

    Raises ``pyarrow.ArrowInvalid`` when a line is not JSON or a value does not fit its type.
    Keys are not judged here (unknown ones are ignored): that is the table scan's job.
    ``strings_only`` leaves out the other columns, whose conversion (timestamps above all)
    is half the cost of decoding when no Parquet file needs them.
    """
    schema = string_schema(table.name) if strings_only else table_schema(table.name)
    if not ndjson:
        return schema.empty_table()
    parsed = pa_json.read_json(
        pa.BufferReader(pa.py_buffer(ndjson)),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=len(ndjson) + 1),
        parse_options=_parse_options(table.name, strings_only),
    )
    texts = {name: _json_texts(ndjson, name) for name in json_columns(table)}
    arrays = [texts[f.name] if f.name in texts else parsed.column(f.name) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
