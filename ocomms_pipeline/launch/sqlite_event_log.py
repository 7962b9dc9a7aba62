"""Dagster's SQLite event log, with each database file's connection kept open between events.

Dagster's own ``SqliteEventLogStorage`` builds a new SQLAlchemy engine, opens a new SQLite
connection and compiles every statement afresh for each event it stores, then throws all of
it away. An export run records a few hundred events, so on a SQLite instance that was most of
a small organization's export (about 18 ms an event here, 11 of its 15 seconds). This class
keeps one engine per database file for the life of the process, so connections are reused and
SQLAlchemy's statement cache works. It writes the same rows to the same files in the same
transactions as the stock class: the webserver, the daemon and any other process read them
with the stock class as before. Only connection handling differs, which is why it subclasses
rather than replaces.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

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

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables: set[str] = set()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

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
