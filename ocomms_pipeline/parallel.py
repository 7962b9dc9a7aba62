"""Read several tables at once, on connections that all see the export's one snapshot.

The export's transaction names its snapshot (``pg_export_snapshot()``) and every extra
connection adopts it (``SET TRANSACTION SNAPSHOT``) before reading anything, the technique
``pg_dump -j`` uses: the bundle stays one instant of the database, and the owner check made
in the first transaction covers every row read. Work is handed out largest table first so
the long tables start early and the short ones fill the gaps.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TypeVar

from ocomms_pipeline.source import Snapshot, open_shared_snapshot

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


def map_shared(
    main: Snapshot,
    url: str,
    tasks: Sequence[Task],
    *,
    connections: int,
    lock_timeout_seconds: float,
) -> list:
    """Run every task against the export's snapshot on up to ``connections`` connections.

    Results come back in the order of ``tasks``; the first error stops the rest and is raised.
    With one connection the tasks run in turn on ``main`` and no snapshot is exported.
    """
    workers = max(1, min(connections, len(tasks)))
    if workers == 1:
        return [task(main) for task in tasks]
    name = main.export_snapshot()
    with ExitStack() as stack:
        snapshots = [main] + [
            stack.enter_context(
                open_shared_snapshot(
                    url, name, main.info, lock_timeout_seconds=lock_timeout_seconds
                )
            )
            for _ in range(workers - 1)
        ]
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
