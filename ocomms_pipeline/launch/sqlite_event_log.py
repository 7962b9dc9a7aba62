"""Dagster's SQLite event log, with each database file's connection kept open between events.

Dagster's own ``SqliteEventLogStorage`` builds a new SQLAlchemy engine, opens a new SQLite
connection and compiles every statement afresh for each event it stores, then throws all of
it away. An export run records a few hundred events, so on a SQLite instance that was most of
a small organization's export (docs/performance.md). This class
keeps one engine per database file for the life of the process, so connections are reused and
SQLAlchemy's statement cache works. It writes the same rows to the same files in the same
transactions as the stock class: the webserver, the daemon and any other process read them
with the stock class as before. Only connection handling differs, which is why it subclasses
rather than replaces.

Two more savings write the same rows. A batch of events (Dagster hands one over when
``DAGSTER_EVENT_BATCH_SIZE`` is set and a step reports several asset events at once, as the
nightly backup does per organization) is written in one transaction per database file
instead of two per event: each SQLite commit waits for the disk, and 35 materializations
were 70 commits. And whether the asset-key table has its index columns, which the stock class
asks SQLite before every asset event, is remembered once it is known that it has them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Events the stock class also writes to the index file, besides asset events.
_INDEXED = frozenset(ASSET_CHECK_EVENTS) | frozenset(EVENT_TYPE_TO_PIPELINE_RUN_STATUS)

# One engine per run's database file: a long process (a backup batch, a benchmark) sees many
# runs, and only the latest few and the index are written to again.
_KEPT_ENGINES = 8
# Dagster initialises a new database file through a second connection while the first is out.
_OVERFLOW = 4


def _no_sync_per_commit(connection: Any, _record: Any) -> None:
    """WAL (which Dagster sets on every event database) without an fsync at each commit.

    SQLite's own advice for WAL: the database stays consistent through any crash, and a
    power cut loses at most the last transactions; an fsync per event cost more than
    writing it.
    """
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses one engine and connection per database file."""

    # A batch may hold events of many assets: each is written as ``store_event`` writes it.
    # (dagster-postgres assumes one asset per batch and updates only the last event's asset
    # record, so the backup batches only where a storage says this; see ``defs.backups.jobs``.)
    stores_batches_of_many_assets = True

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables: set[str] = set()
        self._engines_lock = threading.Lock()
        self._asset_key_index_cols = False
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _has_asset_key_index_cols_on_connection(self, conn: Connection) -> bool:
        # Only "yes" is remembered: a migration by another process may add the columns.
        if not self._asset_key_index_cols:
            self._asset_key_index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._asset_key_index_cols

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """The rows ``store_event`` writes for each event, one transaction per database file.

        Batches of one run's plain and asset events only (what Dagster batches); anything
        else (several runs, check or run-status events, which also touch other tables) is
        stored event by event, as the stock class does.
        """
        if not _plain_batch(events):
            super().store_event_batch(events)
            return
        inserts = [(event, self.prepare_insert_event(event)) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            for _, insert in inserts:
                conn.execute(insert)
        assets = [(e, i) for e, i in inserts if e.dagster_event_type in ASSET_EVENTS]
        if not assets:
            return
        with self.index_transaction() as conn:
            for event, insert in assets:
                with db_result(conn, insert) as result:
                    event_id = result.inserted_primary_key[0]
                self._store_asset_event_tags(conn, [event], [event_id])
                self._store_asset_event(conn, event, event_id)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            return self._kept_engine(shard)

    def _kept_engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=_OVERFLOW,
            # Dagster serialises every use of a connection with its own lock; events may be
            # logged from the export's worker threads.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _no_sync_per_commit)
        self._engines[shard] = engine
        while len(self._engines) > _KEPT_ENGINES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # The stock method opens a new engine on the index to ask, and is asked before
        # nearly every asset event is stored; a table, once there, stays until a wipe.
        if table_name in self._tables:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables.add(table_name)
        return present

    def _close_engines(self) -> None:
        with self._db_lock, self._engines_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()
            self._tables.clear()

    def wipe(self) -> None:
        # The stock wipe unlinks the run files; a kept connection would go on writing to one.
        self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


def _plain_batch(events: Sequence[EventLogEntry]) -> bool:
    """One run's events, none of which the stock class writes beyond the run's file and the
    index's event and asset tables (check and run-status events are)."""
    return bool(events) and all(
        event.run_id == events[0].run_id and event.dagster_event_type not in _INDEXED
        for event in events
    )
