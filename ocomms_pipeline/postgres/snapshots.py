"""Read access to the ocomms database: connections, the export snapshot, streamed rows.

Every table of one export is read inside one ``REPEATABLE READ READ ONLY`` transaction, so
the bundle is one consistent instant of the database even while ocomms keeps writing. Rows
leave PostgreSQL already serialised as JSON through ``COPY ... TO STDOUT``: no row is ever
materialised in Python beyond the single line being written.
"""

from __future__ import annotations

import select
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import IsolationLevel, pq, sql
from psycopg.pq import ExecStatus

from ocomms_pipeline import settings
from ocomms_pipeline.errors import ExportError

# CSV with delimiter and quote bytes that PostgreSQL's JSON output never contains raw
# (control characters are always \u-escaped), so each COPY line is the JSON text verbatim.
_COPY_OPTIONS = "(FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
APPLICATION_NAME = "ocomms-pipeline"
COPY_CHUNK = 2 << 20


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

    The rows are taken straight from libpq (``PQgetCopyData`` through ``psycopg.pq``): the
    only per-row work in Python is appending the row to its chunk, and everything else
    (separators, hashing, checks, decoding) runs once per chunk. Going through psycopg's
    ``Copy.read()`` cost a generator round trip per row, a large share of the client's time
    on a million messages. Parameters are bound by psycopg's own client-side
    binding (``ClientCursor.mogrify``). ``rows`` is PostgreSQL's count of the rows it sent
    (the COPY command tag), known once the stream is exhausted.
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
        pgconn = self.conn.pgconn
        command = f"COPY ({self.query}) TO STDOUT {_COPY_OPTIONS}"
        pgconn.send_query(psycopg.ClientCursor(self.conn).mogrify(command, self.params).encode())
        _flush(pgconn)
        self._expect(_next_result(pgconn), ExecStatus.COPY_OUT)
        rows_read = False
        try:
            chunk = bytearray()
            for row in _copy_rows(pgconn):
                chunk += row
                if len(chunk) >= self.chunk_bytes:
                    yield chunk
                    chunk = bytearray()
            rows_read = True
            done = self._expect(_next_result(pgconn), ExecStatus.COMMAND_OK)
            self.rows = done.command_tuples
            _drain(pgconn)
            if chunk:
                yield chunk
        finally:
            if not rows_read:
                _abandon(self.conn)

    def _expect(self, result: pq.abc.PGresult | None, status: ExecStatus) -> pq.abc.PGresult:
        """The result if it has ``status``; otherwise the connection is cleared and it raises."""
        if result is not None and result.status == status:
            return result
        if result is not None and result.status == ExecStatus.FATAL_ERROR:
            error = psycopg.errors.error_from_result(result, encoding=self.conn.info.encoding)
        else:
            message = self.conn.pgconn.get_error_message() or "unexpected reply to COPY"
            error = psycopg.OperationalError(message)
        _drain(self.conn.pgconn)
        raise error


def _wait(pgconn: pq.abc.PGconn, events: int) -> None:
    poller = select.poll()
    poller.register(pgconn.socket, events | select.POLLERR | select.POLLHUP)
    while not poller.poll(1000):
        pass


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush() == 1:
        _wait(pgconn, select.POLLOUT)


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    pgconn.consume_input()
    while pgconn.is_busy():
        _wait(pgconn, select.POLLIN)
        pgconn.consume_input()
    return pgconn.get_result()


def _drain(pgconn: pq.abc.PGconn) -> None:
    """Read what is left of the command's results, so the connection takes the next one."""
    try:
        while pgconn.status == pq.ConnStatus.OK and _next_result(pgconn) is not None:
            pass
    except psycopg.Error:
        pass  # the connection is gone; closing it is all that is left


def _copy_rows(pgconn: pq.abc.PGconn) -> Iterator[memoryview]:
    """Every data row of the COPY in progress, waiting on the socket only when none is buffered."""
    get = pgconn.get_copy_data
    while True:
        size, data = get(1)
        if size > 0:
            yield data
        elif size == 0:
            _wait(pgconn, select.POLLIN)
            pgconn.consume_input()
        elif size == -1:
            return
        else:
            raise psycopg.OperationalError(pgconn.get_error_message() or "COPY failed")


def _abandon(conn: psycopg.Connection) -> None:
    """A COPY stopped early (an error downstream): cancel it and read it to its end.

    The connection is then free again for the transaction's rollback.
    """
    pgconn = conn.pgconn
    if pgconn.status != pq.ConnStatus.OK:
        return
    conn.cancel_safe()
    try:
        for _ in _copy_rows(pgconn):
            pass
    except psycopg.Error:
        pass  # the copy is over either way
    _drain(pgconn)


class Reader:
    """Queries on a connection the caller already holds, whatever its transaction."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def fetch_all(self, query: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def fetch_one(self, query: str, params: Mapping[str, Any] | None = None) -> tuple | None:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()


class Snapshot(Reader):
    """One read-only repeatable-read transaction; all reads of one export go through it."""

    def __init__(self, conn: psycopg.Connection, info: SnapshotInfo) -> None:
        super().__init__(conn)
        self.info = info

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
        """Each table's size on disk as the catalog last recorded it: what plans the reads.

        ``pg_class.relpages`` (kept by VACUUM, ANALYZE and CREATE INDEX) needs no lock on the
        table, where ``pg_relation_size`` would take one and queue behind a migration before a
        single row is read. A table never vacuumed counts as empty: it is read whole.
        """
        rows = self.fetch_all(
            "SELECT c.relname, greatest(c.relpages, 0)::bigint"
            " * current_setting('block_size')::bigint FROM pg_class c "
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


# JIT compilation costs a large export's queries compile time and saves nothing on COPYs
# that are bound by row_to_json; it is switched off for the export's transaction only.
# A sort of a million messages' columns fits in SORT_MEMORY and stays off disk (with the 4 MB
# default it spilled and took far longer); it is per sort, per export connection.
# Plain index scans are off too: to skip that sort the planner would walk a table's primary key
# and fetch its rows in key order, which for random uuid keys is a random read of the whole
# heap, slower than a sequential scan and a sort (docs/performance.md). Bitmap
# index scans remain, and serve the primary-key probes (``scoping.probed_tables``) as fast.
SORT_MEMORY = "64MB"
_START = (
    "SELECT set_config('lock_timeout', %s, true), set_config('jit', 'off', true),"
    f" set_config('work_mem', '{SORT_MEMORY}', true),"
    " set_config('max_parallel_workers_per_gather', '0', true),"
    " set_config('enable_indexscan', 'off', true),"
    " pg_current_snapshot()::text,"
    " now(), current_setting('server_version')"
)


def _start(conn: psycopg.Connection, lock_timeout_seconds: float) -> SnapshotInfo:
    with conn.cursor() as cur:
        cur.execute(_START, (f"{int(lock_timeout_seconds * 1000)}ms",))
        *_, snapshot_id, taken_at, version = cur.fetchone()
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
def open_snapshot(
    url: str, *, lock_timeout_seconds: float = settings.LOCK_TIMEOUT_SECONDS
) -> Iterator[Snapshot]:
    """Open the export's transaction; it is rolled back (never committed) when done.

    ``lock_timeout`` keeps an export from queueing forever behind a migration's exclusive lock.
    """
    with _read_only_transaction(url) as conn:
        yield Snapshot(conn, _start(conn, lock_timeout_seconds))


@contextmanager
def open_shared_snapshot(
    url: str,
    exported: str,
    expected: SnapshotInfo,
    *,
    lock_timeout_seconds: float = settings.LOCK_TIMEOUT_SECONDS,
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
