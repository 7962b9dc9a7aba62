"""Read access to the ocomms database: connections, the export snapshot, streamed rows.

Every table of one export is read inside one ``REPEATABLE READ READ ONLY`` transaction, so
the bundle is one consistent instant of the database even while ocomms keeps writing. Rows
leave PostgreSQL already serialised as JSON through ``COPY ... TO STDOUT``: no row is ever
materialised in Python beyond the single line being written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import IsolationLevel, sql

from ocomms_pipeline.errors import ExportError

# CSV with delimiter and quote bytes that PostgreSQL's JSON output never contains raw
# (control characters are always \u-escaped), so each COPY line is the JSON text verbatim.
_COPY_OPTIONS = "(FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
APPLICATION_NAME = "ocomms-pipeline"
COPY_CHUNK = 4 << 20


def libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (``postgresql+psycopg://``) as well as libpq ones."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.startswith("postgresql+"):
        return "postgresql://" + rest
    return url


def connect(url: str, *, connect_timeout: int = 10, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(
        libpq_url(url),
        connect_timeout=connect_timeout,
        application_name=APPLICATION_NAME,
        **kwargs,
    )


@dataclass(frozen=True)
class SnapshotInfo:
    """What identifies the instant a bundle was read at."""

    snapshot_id: str  # pg_current_snapshot(): xmin:xmax:xip-list
    taken_at: datetime  # the transaction's start time, UTC
    server_version: str


class CopyStream:
    """One ``COPY (query) TO STDOUT`` read as chunks of whole lines; then its row count.

    The only per-row work in Python is appending the row to its chunk: everything else
    (separators, hashing, checks, decoding) runs once per chunk. ``rows`` is PostgreSQL's
    own count of the rows it sent (the COPY command tag), known once the stream is exhausted.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        query: str,
        params: Mapping[str, Any],
        chunk_bytes: int = COPY_CHUNK,
    ) -> None:
        self.conn = conn
        self.query = query
        self.params = params
        self.chunk_bytes = chunk_bytes
        self.rows: int | None = None

    def __iter__(self) -> Iterator[bytearray]:
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY ({self.query}) TO STDOUT {_COPY_OPTIONS}", self.params) as copy,
        ):
            chunk = bytearray()
            for row in copy:
                chunk += row
                if len(chunk) >= self.chunk_bytes:
                    yield chunk
                    chunk = bytearray()
            if chunk:
                yield chunk
            self.rows = cur.rowcount  # before the cursor closes: closing resets it


class Snapshot:
    """One read-only repeatable-read transaction; all reads of one export go through it."""

    def __init__(self, conn: psycopg.Connection, info: SnapshotInfo) -> None:
        self.conn = conn
        self.info = info

    def fetch_all(self, query: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def fetch_one(self, query: str, params: Mapping[str, Any] | None = None) -> tuple | None:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()

    def copy_lines(self, query: str, params: Mapping[str, Any]) -> Iterator[memoryview]:
        """Stream one result line (with its trailing newline) at a time from the server."""
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY ({query}) TO STDOUT {_COPY_OPTIONS}", params) as copy,
        ):
            yield from copy

    def copy_chunks(
        self, query: str, params: Mapping[str, Any], chunk_bytes: int = COPY_CHUNK
    ) -> CopyStream:
        """The query's result lines, in chunks of whole lines of about ``chunk_bytes``."""
        return CopyStream(self.conn, query, params, chunk_bytes)

    def export_snapshot(self) -> str:
        """Name this transaction's snapshot so other connections can read exactly it."""
        row = self.fetch_one("SELECT pg_export_snapshot()")
        assert row is not None
        return row[0]

    def relation_sizes(self, schema: str = "public") -> dict[str, int]:
        """On-disk size of each table: the cost estimate that orders parallel work."""
        rows = self.fetch_all(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')",
            {"schema": schema},
        )
        return {name: size for name, size in rows}

    def live_columns(self, schema: str = "public") -> dict[str, list[str]]:
        """The columns the database really has, table by table, in ordinal order.

        Read from pg_catalog, not information_schema, which hides tables the role may not read
        and would turn a missing privilege into a misleading "table is missing".
        """
        rows = self.fetch_all(
            "SELECT c.relname, a.attname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
            {"schema": schema},
        )
        tables: dict[str, list[str]] = {}
        for table_name, column_name in rows:
            tables.setdefault(table_name, []).append(column_name)
        return tables


# JIT compilation costs a large export's queries seconds each and saves nothing on COPYs
# that are bound by row_to_json; it is switched off for the export's transaction only.
# A sort of a million messages' columns fits in SORT_MEMORY and stays off disk (with the 4 MB
# default it spilled and took twice as long); it is per sort, per export connection.
SORT_MEMORY = "64MB"
_START = (
    "SELECT set_config('lock_timeout', %s, true), set_config('jit', 'off', true),"
    f" set_config('work_mem', '{SORT_MEMORY}', true),"
    " pg_current_snapshot()::text,"
    " now(), current_setting('server_version')"
)


def _start(conn: psycopg.Connection, lock_timeout_seconds: float) -> SnapshotInfo:
    with conn.cursor() as cur:
        cur.execute(_START, (f"{int(lock_timeout_seconds * 1000)}ms",))
        _, _, _, snapshot_id, taken_at, version = cur.fetchone()
    return SnapshotInfo(snapshot_id, taken_at.astimezone(UTC), version)


@contextmanager
def _read_only_transaction(url: str) -> Iterator[psycopg.Connection]:
    with connect(url) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.rollback()


@contextmanager
def open_snapshot(url: str, *, lock_timeout_seconds: float = 30.0) -> Iterator[Snapshot]:
    """Open the export's transaction; it is rolled back (never committed) when done.

    ``lock_timeout`` keeps an export from queueing forever behind a migration's exclusive lock.
    """
    with _read_only_transaction(url) as conn:
        yield Snapshot(conn, _start(conn, lock_timeout_seconds))


@contextmanager
def open_shared_snapshot(
    url: str, exported: str, expected: SnapshotInfo, *, lock_timeout_seconds: float = 30.0
) -> Iterator[Snapshot]:
    """Another connection reading the snapshot ``exported`` by a running export transaction.

    This is how ``pg_dump -j`` reads tables in parallel without losing consistency. The
    connection proves it sees the very snapshot the export authorised and started in.
    """
    with _read_only_transaction(url) as conn:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(exported))
        info = _start(conn, lock_timeout_seconds)
        if info.snapshot_id != expected.snapshot_id:
            raise ExportError(
                f"a parallel connection read snapshot {info.snapshot_id}, "
                f"not the export's {expected.snapshot_id}"
            )
        yield Snapshot(conn, expected)
