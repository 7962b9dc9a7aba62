"""The export's progress in the run's log: a line per table finished and one for them all.

Every line is an event stored in the instance, so the run log hears far less than a terminal:
each table once when its file is complete (rows, MB, MB/s), all the tables once, and, inside a
table that takes long, one line at most every ``TABLE_READ_INTERVAL`` seconds. A small
organization's run, done in well under that, carries one line per exported table and one
summary: 35 events of its about 275.
"""

from __future__ import annotations

import dagster as dg

from ocomms_pipeline.export import progress

TABLE_READ_INTERVAL = 10.0  # seconds of the export between two in-table lines


class RunLogProgress:
    """A progress listener writing to a run's log (see ``progress.listening``)."""

    def __init__(self, log: dg.DagsterLogManager) -> None:
        self.log = log
        self.throttle = progress.Throttle(TABLE_READ_INTERVAL)
        self.throttle.next_at = TABLE_READ_INTERVAL  # nothing in-table before it has lasted

    def __call__(self, event: progress.Event) -> None:
        if isinstance(event, progress.TableRead):
            if self.throttle.due(event.totals.seconds):
                self.log.info(str(event))
        elif isinstance(event, progress.TableDone | progress.TablesDone):
            self.log.info(str(event))
