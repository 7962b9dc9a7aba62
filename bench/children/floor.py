"""The floor: how fast PostgreSQL alone turns one organization's rows into JSON.

Same snapshot kind as an export (one REPEATABLE READ READ ONLY transaction on one
connection), same rows (the catalog's exported columns under ``scoping.row_predicate``),
but nothing else: plain ``row_to_json`` with no timestamp formatting and no ORDER BY, the
bytes read with ``copy.read()`` into 4 MB blocks, counted, and thrown away. No export can be
faster on one connection, so the pipeline's rate divided by this one says how much of the
server's raw rate the pipeline keeps.

    OCOMMS_DATABASE_URL=... python -m bench.children.floor <org-id> --result floor.json --spawned 0
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from typing import Any

from bench import children
from bench.support.machine_cpu import busy_seconds, spent
from ocomms_pipeline import catalog
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.export import scoping
from ocomms_pipeline.postgres.quoting import quote
from ocomms_pipeline.postgres.snapshots import Snapshot, open_snapshot

BLOCK_BYTES = 4 << 20


def floor_query(table: Table) -> str:
    """COPY of the table's organization rows as raw row_to_json, nothing more."""
    columns = ", ".join(quote(c.name) for c in table.exported_columns)
    return (
        f"COPY (SELECT row_to_json(t) FROM (SELECT {columns} FROM {quote(table.name)} "
        f"WHERE {scoping.row_predicate(table)}) t) TO STDOUT"
    )


def drain(snapshot: Snapshot, query: str, params: dict[str, Any]) -> tuple[int, int]:
    """Read a COPY to the end; (rows, bytes). Rows are lines: row_to_json escapes newlines."""
    rows = size = 0
    block = bytearray()
    with snapshot.conn.cursor() as cur, cur.copy(query, params) as copy:
        while data := copy.read():
            block += data
            if len(block) >= BLOCK_BYTES:
                rows, size = rows + block.count(b"\n"), size + len(block)
                block.clear()
    return rows + block.count(b"\n"), size + len(block)


def measure(url: str, organization_id: str) -> dict[str, Any]:
    """Every exported table through the floor query, timed; the user closure is not timed."""
    tables: dict[str, dict[str, float]] = {}
    with open_snapshot(url) as snapshot:
        started = time.perf_counter()
        users = [
            r[0]
            for r in snapshot.fetch_all(scoping.referenced_users_query(), {"org": organization_id})
        ]
        users_seconds = time.perf_counter() - started
        params = {"org": organization_id, "users": users}
        for table in catalog.exported_tables():
            busy, started = busy_seconds(), time.perf_counter()
            rows, size = drain(snapshot, floor_query(table), params)
            tables[table.name] = {
                "rows": rows,
                "bytes": size,
                "seconds": time.perf_counter() - started,
                "machine_cpu_seconds": spent(busy),
            }
    return {
        "rows": sum(t["rows"] for t in tables.values()),
        "bytes": sum(t["bytes"] for t in tables.values()),
        "seconds": sum(t["seconds"] for t in tables.values()),
        "machine_cpu_seconds": _total(t["machine_cpu_seconds"] for t in tables.values()),
        "users_seconds": users_seconds,
        "tables": tables,
    }


def _total(values: Iterable[float | None]) -> float | None:
    found = list(values)
    return None if None in found else sum(v for v in found if v is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("organization_id")
    parser.add_argument("--result", required=True, help="JSON file to write the figures to")
    parser.add_argument("--spawned", type=float, default=0.0, help="unused; the runner's clock")
    args = parser.parse_args()
    children.write_result(args.result, measure(children.database_url(), args.organization_id))


if __name__ == "__main__":
    main()
