"""Read several tables at once, on connections that all see the export's one snapshot.

The export's transaction names its snapshot (``pg_export_snapshot()``) and every extra
connection adopts it (``SET TRANSACTION SNAPSHOT``) before reading anything, the technique
``pg_dump -j`` uses: the bundle stays one instant of the database, and the owner check made
in the first transaction covers every row read. The connections are opened once per export
and serve every batch of work it hands out (the user closure, then the tables); work is
taken in the order given, so callers put the longest tasks first and the short ones fill
the gaps.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any, TypeVar

from ocomms_pipeline.postgres.snapshots import Snapshot, open_shared_snapshot

T = TypeVar("T")
Task = Callable[[Snapshot], T]


class _Work:
    """The queue of tasks, their results, and the first failure, shared by the workers."""

    def __init__(self, tasks: Sequence[Task], snapshots: list[Snapshot]) -> None:
        self.tasks = tasks
        self.snapshots = snapshots
        self.pending = deque(range(len(tasks)))
        self.results: list = [None] * len(tasks)
        self.failures: list[BaseException] = []
        self.lock = threading.Lock()

    def next_task(self) -> int | None:
        with self.lock:
            if self.failures or not self.pending:
                return None
            return self.pending.popleft()

    def fail(self, error: BaseException, snapshot: Snapshot) -> None:
        """Keep the first error and interrupt the other connections' queries."""
        with self.lock:
            first = not self.failures
            self.failures.append(error)
        if first:
            for other in self.snapshots:
                if other is not snapshot:
                    other.conn.cancel_safe()

    def run(self, snapshot: Snapshot) -> None:
        while (index := self.next_task()) is not None:
            try:
                self.results[index] = self.tasks[index](snapshot)
            except BaseException as error:
                self.fail(error, snapshot)
                return


class SharedSnapshots:
    """The export's connection and up to ``connections - 1`` more adopting its snapshot.

    Use as a context manager; ``map`` may be called any number of times inside it. With one
    connection no snapshot is exported and tasks run in turn on the export's own.
    """

    def __init__(
        self, main: Snapshot, url: str, *, connections: int, lock_timeout_seconds: float
    ) -> None:
        self.main = main
        self.url = url
        self.wanted = max(1, connections)
        self.lock_timeout_seconds = lock_timeout_seconds
        self.snapshots: list[Snapshot] = [main]
        self._stack = ExitStack()

    def __enter__(self) -> SharedSnapshots:
        if self.wanted > 1:
            name = self.main.export_snapshot()
            for _ in range(self.wanted - 1):
                shared = open_shared_snapshot(
                    self.url, name, self.main.info, lock_timeout_seconds=self.lock_timeout_seconds
                )
                self.snapshots.append(self._stack.enter_context(shared))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def map(self, tasks: Sequence[Task]) -> list:
        """Every task's result, in the order of ``tasks``; the first error stops the rest."""
        snapshots = self.snapshots[: max(1, min(len(self.snapshots), len(tasks)))]
        if len(snapshots) == 1:
            return [task(self.main) for task in tasks]
        work = _Work(tasks, snapshots)
        threads = [
            threading.Thread(target=work.run, args=(s,), name=f"export-{n}")
            for n, s in enumerate(snapshots)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if work.failures:
            raise work.failures[0]
        return work.results
