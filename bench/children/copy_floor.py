"""The restore's floor: the same rows, already in COPY's CSV form, into the same schema.

One transaction, one ``COPY <table> (<columns>) FROM STDIN (FORMAT csv)`` per table in
foreign-key order, each file sent in 4 MB blocks with nothing decoded, checked or converted:
what PostgreSQL alone takes to insert the rows, with the target's indexes, foreign keys and
generated columns. The files are what the restored database holds (``dump_rows``).

    OCOMMS_DATABASE_URL=... python -m bench.children.copy_floor --result f.json --spawned 0 -- <dir>
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import psycopg

from bench import children
from ocomms_pipeline.export.scoping import quote

BLOCK_BYTES = 4 << 20
ORDER_FILE = "order.json"  # [[table, [columns...]], ...] in insertion order


def dump_rows(url: str, order: list[tuple[str, list[str]]], directory: Path) -> None:
    """Every row of the listed tables of ``url`` as CSV files, and the order to load them in."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, columns in order:
            names = ", ".join(quote(c) for c in columns)
            query = f"COPY {quote(table)} ({names}) TO STDOUT (FORMAT csv)"
            with open(directory / f"{table}.csv", "wb") as out, cur.copy(query) as copy:
                for block in copy:
                    out.write(block)
    (directory / ORDER_FILE).write_text(json.dumps(order))


def load(conn: psycopg.Connection, directory: Path) -> dict[str, int]:
    rows: dict[str, int] = {}
    with conn.cursor() as cur:
        for table, columns in json.loads((directory / ORDER_FILE).read_text()):
            names = ", ".join(quote(c) for c in columns)
            statement = f"COPY {quote(table)} ({names}) FROM STDIN (FORMAT csv)"
            with open(directory / f"{table}.csv", "rb") as source, cur.copy(statement) as copy:
                while block := source.read(BLOCK_BYTES):
                    copy.write(block)
            rows[table] = cur.rowcount
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--result", required=True, help="JSON file to write the figures to")
    parser.add_argument("--spawned", type=float, required=True, help="time.time() at spawn")
    args = parser.parse_args()
    started = time.perf_counter()
    with psycopg.connect(children.database_url()) as conn:
        rows = load(conn, args.directory)
        conn.commit()
    seconds = time.perf_counter() - started
    table_rows = {t: n for t, n in rows.items() if n}
    children.write_result(
        args.result, {"seconds": seconds, "rows": sum(rows.values()), "table_rows": table_rows}
    )


if __name__ == "__main__":
    main()
