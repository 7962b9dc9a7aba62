"""What an export has done so far, for whoever watches it: tables, rows, bytes, rate.

The export publishes its progress on one stdlib logger, ``ocomms_pipeline.progress``, so the
data path stays free of Dagster and of terminals: the Dagster layer turns it into run-log
lines, the command line into a status line on a terminal. Each record's ``progress``
attribute is the event (a ``TableRead``, ``TableDone``, ``TablesDone`` or ``Stage``); its
message is the event's line.

Listeners attach with ``listening``. The logger does not propagate: nothing reaches the root
logger's handlers, so progress never clutters a log that did not ask for it. With no listener
attached when an export starts, its progress is not even counted (``ExportProgress.start``
returns ``QUIET``); a handler attached some other way (pytest attaches its own to every
logger that does not propagate) only sees what is published for a listener.

Counting is per chunk of rows (about 2 MB), never per row; a chunk costs two additions and a
clock read. Inside a table, progress is published at most once per ``INTERVAL``; a table done
and all tables done are published once each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

LOGGER = logging.getLogger("ocomms_pipeline.progress")
LOGGER.propagate = False
LOGGER.setLevel(logging.INFO)

INTERVAL = 0.5  # seconds between two in-table events of one export
MB = 1_000_000

Clock = Callable[[], float]


def megabytes(count: int) -> str:
    """A size for a person: kB below a megabyte, so a small table does not read as 0.0 MB."""
    return f"{count / MB:,.1f} MB" if count >= MB else f"{count / 1000:.1f} kB"


def rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def rate(count: int, seconds: float) -> str:
    """Bytes over seconds as MB/s; 0.0 before any time has passed."""
    return f"{count / MB / seconds if seconds > 0 else 0.0:,.1f} MB/s"


class Throttle:
    """Says yes at most once per ``interval`` seconds of the times it is asked about."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_at = float("-inf")

    def due(self, now: float) -> bool:
        if now < self.next_at:
            return False
        self.next_at = now + self.interval
        return True


@dataclass(frozen=True)
class Totals:
    """The whole export so far: tables finished, and rows and bytes read, finished or not."""

    tables_done: int
    tables: int
    rows: int
    bytes: int
    seconds: float  # since the first table began

    def __str__(self) -> str:
        return (
            f"{self.tables_done}/{self.tables} tables, {rows(self.rows)}, "
            f"{megabytes(self.bytes)}, {rate(self.bytes, self.seconds)}"
        )


@dataclass(frozen=True)
class TableProgress:
    """One table's rows and bytes at some moment; the two kinds differ in what they say."""

    run_id: str
    table: str
    rows: int
    bytes: int
    seconds: float
    totals: Totals


@dataclass(frozen=True)
class TableRead(TableProgress):
    """A table still being read: rows and bytes of it so far."""

    def __str__(self) -> str:
        return (
            f"{self.table}: {rows(self.rows)} so far, {megabytes(self.bytes)}, "
            f"{rate(self.bytes, self.seconds)}"
        )


@dataclass(frozen=True)
class TableDone(TableProgress):
    """A table's file is complete: its rows and bytes as the manifest will say."""

    def __str__(self) -> str:
        return (
            f"{self.table}: {rows(self.rows)}, {megabytes(self.bytes)} in "
            f"{self.seconds:.1f} s ({rate(self.bytes, self.seconds)})"
        )


@dataclass(frozen=True)
class TablesDone:
    """Every table is staged."""

    run_id: str
    totals: Totals

    def __str__(self) -> str:
        t = self.totals
        return (
            f"staged {t.tables_done} tables, {rows(t.rows)}, {megabytes(t.bytes)} in "
            f"{t.seconds:.1f} s ({rate(t.bytes, t.seconds)})"
        )


@dataclass(frozen=True)
class Stage:
    """What the run does after the tables (checking, archiving), for a status line."""

    run_id: str
    name: str

    def __str__(self) -> str:
        return self.name


Event = TableRead | TableDone | TablesDone | Stage


def listened() -> bool:
    """Whether any listener (see ``listening``) is attached now."""
    return any(isinstance(handler, _Listener) for handler in LOGGER.handlers)


def publish(event: Event) -> None:
    if listened():
        LOGGER.info("%s", event, extra={"progress": event})


def stage(run_id: str, name: str) -> None:
    publish(Stage(run_id, name))


class _Listener(logging.Handler):
    def __init__(self, listener: Callable[[Event], None], run_id: str | None) -> None:
        super().__init__()
        self.listener = listener
        self.run_id = run_id

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "progress", None)
        if event is not None and self.run_id in (None, event.run_id):
            self.listener(event)


@contextmanager
def listening(listener: Callable[[Event], None], run_id: str | None = None) -> Iterator[None]:
    """Call ``listener`` with every event (of ``run_id`` only, if given) while inside.

    Events come from the export's worker threads too; calls to one listener never overlap.
    """
    handler = _Listener(listener, run_id)
    LOGGER.addHandler(handler)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)


class Meter:
    """Rows and bytes one key range of a table has read; ``add`` is called once per chunk."""

    __slots__ = ("_export", "bytes", "rows", "table")

    def __init__(self, table: str, export: ExportProgress | None) -> None:
        self.table = table
        self.rows = 0
        self.bytes = 0
        self._export = export

    def add(self, rows: int, count: int) -> None:
        self.rows += rows
        self.bytes += count
        export = self._export
        if export is not None and export.clock() >= export.throttle.next_at:
            export.tick(self.table)


class ExportProgress:
    """The progress of one export's tables, published as they are read and finished."""

    def __init__(self, run_id: str, tables: int, *, clock: Clock = time.monotonic) -> None:
        self.run_id = run_id
        self.tables = tables
        self.clock = clock
        self.throttle = Throttle(INTERVAL)
        self.throttle.next_at = clock() + INTERVAL  # nothing to say before the first interval
        self.started = clock()
        self.table_started: dict[str, float] = {}
        self.reading: dict[str, list[Meter]] = {}
        self.done_tables = 0
        self.done_rows = 0
        self.done_bytes = 0
        self.lock = threading.Lock()

    @staticmethod
    def start(run_id: str, tables: int, *, clock: Clock = time.monotonic) -> ExportProgress:
        """Progress that is counted and published if anyone listens now; else ``QUIET``."""
        return ExportProgress(run_id, tables, clock=clock) if listened() else QUIET

    def meter(self, table: str) -> Meter:
        """A new meter for one key range of ``table``."""
        meter = Meter(table, self)
        with self.lock:
            self.table_started.setdefault(table, self.clock())
            self.reading.setdefault(table, []).append(meter)
        return meter

    def _totals(self, now: float) -> Totals:
        meters = [m for ms in self.reading.values() for m in ms]
        return Totals(
            self.done_tables,
            self.tables,
            self.done_rows + sum(m.rows for m in meters),
            self.done_bytes + sum(m.bytes for m in meters),
            now - self.started,
        )

    # Events are published under the lock, so listeners see them in the order they happened.

    def tick(self, table: str) -> None:
        """Publish the table's progress, unless another thread just did."""
        with self.lock:
            now = self.clock()
            if not self.throttle.due(now):
                return
            meters = self.reading.get(table, [])
            event = TableRead(
                self.run_id,
                table,
                sum(m.rows for m in meters),
                sum(m.bytes for m in meters),
                now - self.table_started.get(table, now),
                self._totals(now),
            )
            publish(event)

    def table_done(self, table: str, rows: int, count: int) -> None:
        """The table's file is complete, with these rows and bytes."""
        with self.lock:
            now = self.clock()
            self.reading.pop(table, None)
            self.done_tables += 1
            self.done_rows += rows
            self.done_bytes += count
            seconds = now - self.table_started.pop(table, now)
            event = TableDone(self.run_id, table, rows, count, seconds, self._totals(now))
            publish(event)

    def tables_done(self) -> None:
        with self.lock:
            publish(TablesDone(self.run_id, self._totals(self.clock())))


class _Quiet(ExportProgress):
    """Progress nobody listens to: meters count nothing they publish, and nothing is said."""

    def __init__(self) -> None:
        super().__init__("", 0)

    def meter(self, table: str) -> Meter:
        return Meter(table, None)

    def table_done(self, table: str, rows: int, count: int) -> None:
        pass

    def tables_done(self) -> None:
        pass


QUIET: ExportProgress = _Quiet()
