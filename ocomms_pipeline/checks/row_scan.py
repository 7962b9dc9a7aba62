"""Check one table's rows as they pass, chunk by chunk: keys, types, secrets, references.

The same scan runs on the rows an export streams (so the checks cost no second read of a
large bundle) and on the files ``ocomms-pipeline verify`` reads back. Every step works on a
whole chunk in C: one regular expression proves each line is an object with exactly the
exported keys in order, Arrow's JSON reader types the values, Arrow's hash sets look for
secret values and collect ids for the reference check. Python touches single rows only to
describe a fault it has already found (and for the few tables with ``jsonb`` values).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property

import pyarrow as pa
import pyarrow.compute as pc

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import arrow_arrays, arrow_schema
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.checks.findings import Check, Problem, RowFaults
from ocomms_pipeline.checks.references import ReferenceSpill

MIN_SECRET_LENGTH = 8  # shorter values would match ordinary data by chance
_STRING = rb'"(?:[^"\\\n]++|\\.)*+"'
_SCALAR = rb"(?:" + _STRING + rb"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|null|true|false)"


@cache
def row_pattern(table_name: str) -> re.Pattern[bytes] | None:
    """A line holding exactly the exported keys, in order, with scalar values (no jsonb)."""
    table = catalog.table(table_name)
    if arrow_schema.json_columns(table):
        return None
    body = b",".join(
        b'"' + re.escape(c.name.encode()) + b'":' + _SCALAR for c in table.exported_columns
    )
    return re.compile(rb"^\{" + body + rb"\}$", re.MULTILINE)


@cache
def referenced_tables() -> frozenset[str]:
    """Exported tables whose primary key some exported column points at."""
    exported = {t.name: t for t in catalog.exported_tables()}
    return frozenset(
        c.references
        for t in exported.values()
        for c in t.exported_columns
        if c.references in exported and _key_exported(exported[c.references])
    )


def _key_exported(table: Table) -> bool:
    return len(table.primary_key) == 1 and table.primary_key[0] in {
        c.name for c in table.exported_columns
    }


@dataclass(frozen=True)
class SecretValues:
    """Values of secret columns tied to the organization, never to appear in a bundle."""

    values: pa.Array = field(default_factory=lambda: arrow_arrays.strings([]))
    origins: dict[str, str] = field(default_factory=dict)  # value -> "table.column"

    @cached_property
    def lengths(self) -> pa.Array:
        """The byte lengths secrets have: a value of any other length is not one."""
        return pc.unique(pc.binary_length(self.values))

    @classmethod
    def of(cls, found: Iterable[tuple[str, str]]) -> SecretValues:
        """From (origin, value) pairs; values too short to be tell-tale are left out."""
        origins = {v: o for o, v in found if v is not None and len(v) >= MIN_SECRET_LENGTH}
        return cls(arrow_arrays.strings(sorted(origins)), origins)


class TableScan:
    """Feeds on chunks of a table's rows (JSON objects, one per line) and remembers faults."""

    def __init__(
        self,
        table: Table,
        *,
        secrets: SecretValues | None,
        spill: ReferenceSpill | None,
        one_record_type: bool = False,
        strings_only: bool = False,
        collect_users: bool = False,
    ) -> None:
        """``one_record_type``: the rows come straight from ``row_to_json`` over one projection.

        Every row of such a stream has the same keys in the same order (the record type's),
        and string values are escaped, so proving the first line of each chunk proves them
        all; Arrow's typed decoding still reads every value. Rows read back from files, which
        anyone could have edited, are matched line by line.
        """
        self.table = table
        self.one_record_type = one_record_type
        self.strings_only = strings_only  # decode only what the checks read (no Parquet)
        self.columns = [c.name for c in table.exported_columns]
        self.rows = 0
        self.faults = RowFaults(table.name)
        self._excluded = {c.name: str(c.treatment) for c in table.excluded_columns}
        self._pattern = row_pattern(table.name)
        self._secrets = secrets
        self._spill = spill
        self._collect = collect_users
        self.user_ids: set[str] = set()  # with collect_users: every user the rows point at

    def feed(self, chunk: bytes | bytearray, lines: int | None = None) -> pa.Table | None:
        """Check one chunk of whole lines (``lines`` of them); return its rows decoded, or None
        if they do not decode."""
        if lines is None:
            lines = chunk.count(b"\n")
        if self._pattern is None:
            self._locate_key_faults(chunk)
        elif self.one_record_type:
            first = chunk[: chunk.find(b"\n")]
            if not self._pattern.fullmatch(first):
                self._locate_key_faults(first + b"\n")
        else:
            _, matched = self._pattern.subn(b"", chunk)
            if matched != lines:
                self._locate_key_faults(chunk)
        try:
            decoded = arrow_schema.decode(self.table, chunk, strings_only=self.strings_only)
        except (pa.ArrowInvalid, ValueError) as error:
            what = f"rows do not decode: {(str(error).splitlines() or ['?'])[0]}"
            self.faults.add(Check.EXPORTED_COLUMNS_ONLY, what, self.rows + 1)
            decoded = None
        if decoded is not None:
            self._scan_secrets(decoded)
            self._collect_users(decoded)
            self._spill_references(decoded)
        self.rows += lines
        return decoded

    def finish(self) -> list[Problem]:
        if self._spill is not None:
            self._spill.close()
        return self.faults.problems()

    def abandon(self) -> None:
        """The rows stopped mid-table (a failed export): release the spill, write nothing."""
        if self._spill is not None:
            self._spill.abandon()

    def _locate_key_faults(self, chunk: bytes | bytearray) -> None:
        for number, line in enumerate(bytes(chunk).splitlines(), start=self.rows + 1):
            if self._pattern is not None and self._pattern.fullmatch(line):
                continue
            fault = self._key_fault(line)
            if fault:
                self.faults.add(Check.EXPORTED_COLUMNS_ONLY, fault, number)

    def _key_fault(self, line: bytes) -> str | None:
        try:
            row = json.loads(line)
        except ValueError:
            return "a line is not a JSON object"
        if not isinstance(row, dict):
            return "a line is not a JSON object"
        keys = list(row)
        for key in keys:
            if key in self._excluded:
                return f"key {key!r} is an excluded column ({self._excluded[key]})"
        extra = [k for k in keys if k not in self.columns]
        if extra:
            return f"key {extra[0]!r} is not an exported column"
        missing = [c for c in self.columns if c not in row]
        if missing:
            return f"exported column {missing[0]!r} is missing"
        if keys != self.columns:
            return "keys are not in the catalog's column order"
        if self._pattern is not None:
            return "a value is not a JSON scalar"
        return None

    def _scan_secrets(self, rows: pa.Table) -> None:
        """One set lookup per chunk, over the string values as long as some secret.

        Arrow builds the hash set of the secret values anew on every ``is_in`` call; with one
        call per column per chunk, that rebuilding (and resolution's) was a measurable share
        of an export's client CPU (docs/performance.md).

        Values of other lengths cannot be a secret, so a message's text is measured, not
        copied into the lookup.
        """
        secrets = self._secrets
        if secrets is None or len(secrets.values) == 0:
            return
        names, candidates, positions = [], [], []
        for name in rows.column_names:
            if rows.schema.field(name).type != pa.string():
                continue
            column = rows.column(name).combine_chunks()
            fits = pc.is_in(pc.binary_length(column), value_set=secrets.lengths)
            where = pc.indices_nonzero(fits)
            if len(where):
                names.append(name)
                candidates.append(column.take(where))
                positions.append(where)
        if not candidates:
            return
        hits = pc.is_in(pa.concat_arrays(candidates), value_set=secrets.values)
        if not pc.any(hits).as_py():
            return
        start = 0
        for name, values, where in zip(names, candidates, positions, strict=True):
            found = pc.indices_nonzero(hits.slice(start, len(values))).to_pylist()
            start += len(values)
            if not found:
                continue
            origin = secrets.origins[values[found[0]].as_py()]
            self.faults.add(
                Check.EXPORTED_COLUMNS_ONLY,
                f"column {name!r} holds a value of secret column {origin}",
                *(self.rows + where[i].as_py() + 1 for i in found),
            )

    def _collect_users(self, rows: pa.Table) -> None:
        """The users a table of ``user_closure.streamed_tables`` points at, for the closure."""
        if not self._collect:
            return
        for column in self.table.exported_columns:
            if column.references == catalog.USERS_TABLE:
                users = pc.unique(pc.drop_null(rows.column(column.name).combine_chunks()))
                self.user_ids.update(users.to_pylist())

    def _spill_references(self, rows: pa.Table) -> None:
        if self._spill is None:
            return
        table = self.table
        if table.name in referenced_tables():
            key = table.primary_key[0]
            self._spill.add("key", table.name, f"{table.name}.{key}", rows.column(key))
        for column in table.exported_columns:
            if column.references in referenced_tables():
                source = f"{table.name}.{column.name}"
                self._spill.add("ref", column.references, source, rows.column(column.name))
