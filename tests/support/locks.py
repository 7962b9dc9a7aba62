"""Pausing an export at a known point: hold a table lock that its snapshot will wait on.

``link_previews`` is late in the catalog's order and untouched by the referenced-user query, so
an export blocked on it has already written most of its files: the moment a fault is injected.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import psycopg

APPLICATION_NAME = "ocomms-pipeline"
LATE_TABLE = "link_previews"


@contextlib.contextmanager
def table_locked(url: str, table: str = LATE_TABLE) -> Iterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on ``table`` from another connection until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(url) as conn:
            conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(120)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(10), "could not take the lock"
    try:
        yield
    finally:
        release.set()
        holder.join(30)


def wait_for_export_to_block(url: str, timeout: float = 30) -> None:
    """Until an export's backend waits on a lock (the one ``table_locked`` holds)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock'",
                (APPLICATION_NAME,),
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the export never reached the locked table")
