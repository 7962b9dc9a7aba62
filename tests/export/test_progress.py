"""The export's progress channel: throttling, totals and lines, on a clock the test moves."""

from __future__ import annotations

import logging

from ocomms_pipeline.export import progress
from ocomms_pipeline.export.progress import ExportProgress, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_throttle_says_yes_at_most_once_per_interval():
    throttle = Throttle(0.5)
    answers = [throttle.due(t) for t in (0.0, 0.1, 0.49, 0.5, 0.7, 1.2)]
    assert answers == [True, False, False, True, False, True]


def test_sizes_rates_and_rows_read_as_a_person_writes_them():
    assert progress.megabytes(616_000_000) == "616.0 MB"
    assert progress.megabytes(1_234_567_890) == "1,234.6 MB"
    assert progress.megabytes(165_600) == "165.6 kB"
    assert progress.rate(130_000_000, 2.0) == "65.0 MB/s"
    assert progress.rate(1_000, 0.0) == "0.0 MB/s"
    assert (progress.rows(1), progress.rows(0), progress.rows(1_000_000)) == (
        "1 row",
        "0 rows",
        "1,000,000 rows",
    )


def test_nobody_listening_means_nothing_is_counted():
    assert ExportProgress.start("run", 34) is progress.QUIET
    meter = progress.QUIET.meter("messages")
    meter.add(10, 1000)  # counts for the part itself, publishes nothing
    assert meter.rows == 10
    with progress.listening(lambda event: None):
        assert ExportProgress.start("run", 34) is not progress.QUIET
    assert ExportProgress.start("run", 34) is progress.QUIET


def test_in_table_progress_is_throttled_and_tables_are_each_said_once():
    clock = Clock()
    events: list[progress.Event] = []
    with progress.listening(events.append):
        export = ExportProgress("run", 2, clock=clock)
        first, second = export.meter("messages"), export.meter("messages")  # two key ranges
        for _ in range(10):  # ten chunks in the first interval: nothing said
            clock.now += 0.04
            first.add(1000, 500_000)
        clock.now += 0.2
        second.add(1000, 500_000)  # 0.6 s in: one event for the table, both ranges summed
        second.add(1000, 500_000)  # same instant: throttled
        clock.now += 0.4
        export.table_done("messages", 12_000, 6_000_100)
        users = export.meter("users")
        users.add(3, 300)  # 1.0 s in: still within the interval
        clock.now += 0.5
        export.table_done("users", 3, 310)
        export.tables_done()
    read, done, users_done, all_done = events
    assert isinstance(read, progress.TableRead)
    assert (read.table, read.rows, read.bytes) == ("messages", 11_000, 5_500_000)
    assert read.seconds == read.totals.seconds
    assert str(read) == "messages: 11,000 rows so far, 5.5 MB, 9.2 MB/s"
    assert isinstance(done, progress.TableDone)
    assert str(done) == "messages: 12,000 rows, 6.0 MB in 1.0 s (6.0 MB/s)"
    assert (done.totals.tables_done, done.totals.rows) == (1, 12_000)
    assert str(users_done) == "users: 3 rows, 0.3 kB in 0.5 s (0.0 MB/s)"
    assert isinstance(all_done, progress.TablesDone)
    assert str(all_done) == "staged 2 tables, 12,003 rows, 6.0 MB in 1.5 s (4.0 MB/s)"
    assert str(all_done.totals) == "2/2 tables, 12,003 rows, 6.0 MB, 4.0 MB/s"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_listener_hears_its_own_run_only_and_nothing_reaches_the_root_logger():
    mine: list[progress.Event] = []
    everything: list[progress.Event] = []
    root, level = logging.getLogger(), logging.getLogger().level
    collect = Collect()
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    try:
        with progress.listening(mine.append, run_id="a"), progress.listening(everything.append):
            progress.stage("a", "checking")
            progress.stage("b", "archiving")
        progress.stage("a", "after")  # nobody listens any more
    finally:
        root.removeHandler(collect)
        root.setLevel(level)
    assert [str(e) for e in mine] == ["checking"]
    assert [str(e) for e in everything] == ["checking", "archiving"]
    assert collect.records == []
    assert not progress.listened()
