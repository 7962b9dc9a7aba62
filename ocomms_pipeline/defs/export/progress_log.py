"""The export's progress in the run's log: every table once, batched, and all of them once.

Every log line is an event stored in the instance (a few milliseconds each, on SQLite more),
so the run log hears far less than a terminal. A finished table's line (rows, MB, MB/s) waits
until ``TABLE_LINES_INTERVAL`` seconds of the export have passed since the last line, and then
goes out together with the others finished meanwhile, one line of the message each; the
summary carries whatever is still waiting. Inside a table that takes long, one line at most
every ``TABLE_READ_INTERVAL`` seconds. A small organization's export, done in well under a
second, therefore adds a single event (the summary, a line per table), where a line per table
would have added one event per exported table; a large one shows its tables as they finish.
"""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.export import progress

TABLE_READ_INTERVAL = 10.0  # seconds of the export between two in-table lines
TABLE_LINES_INTERVAL = 1.0  # seconds of the export between two batches of finished tables


class RunLogProgress:
    """A progress listener writing to a run's log (see ``progress.listening``)."""

    def __init__(self, log: dg.DagsterLogManager) -> None:
        self.log = log
        self.throttle = progress.Throttle(TABLE_READ_INTERVAL)
        self.throttle.next_at = TABLE_READ_INTERVAL  # nothing in-table before it has lasted
        self.batches = progress.Throttle(TABLE_LINES_INTERVAL)
        self.batches.next_at = TABLE_LINES_INTERVAL
        self.waiting: list[str] = []

    def __call__(self, event: progress.Event) -> None:
        if isinstance(event, progress.TableRead):
            if self.throttle.due(event.totals.seconds):
                self.log.info(str(event))
        elif isinstance(event, progress.TableDone):
            self.waiting.append(str(event))
            if self.batches.due(event.totals.seconds):
                self.log.info("\n".join(self.waiting))
                self.waiting.clear()
        elif isinstance(event, progress.TablesDone):
            self.log.info("\n".join([str(event), *self.waiting]))
            self.waiting.clear()
