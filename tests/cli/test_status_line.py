"""The export's status line, rendered into a string: what a terminal would be sent."""

from __future__ import annotations

import io

from ocomms_pipeline.cli.progress import StatusLine, status_line, status_text
from ocomms_pipeline.export import progress
from ocomms_pipeline.export.progress import Totals

TOTALS = Totals(tables_done=3, tables=34, rows=412_000, bytes=253_100_000, seconds=4.0)


def test_the_text_says_tables_rows_size_rate_and_what_is_being_done():
    assert status_text(TOTALS, "messages") == (
        "3/34 tables, 412,000 rows, 253.1 MB, 63.3 MB/s: messages"
    )
    assert status_text(TOTALS, "") == "3/34 tables, 412,000 rows, 253.1 MB, 63.3 MB/s"
    assert status_text(None, "checking") == "export: checking"


def test_one_line_is_rewritten_in_place_cut_to_the_width_and_blanked_at_the_end():
    stream = io.StringIO()
    line = StatusLine(stream, width=50)
    line(progress.TableRead("r", "messages", 412_000, 253_100_000, 4.0, TOTALS))
    line(progress.TablesDone("r", Totals(34, 34, 9, 900, 1.0)))
    line(progress.Stage("r", "checking"))
    line.clear()
    frames = stream.getvalue().split("\r")
    assert frames[0] == ""
    assert frames[1] == "3/34 tables, 412,000 rows, 253.1 MB, 63.3 MB/s: m"  # 49 columns
    assert frames[2] == "34/34 tables, 9 rows, 0.9 kB, 0.0 MB/s".ljust(49)  # covers the last
    assert frames[3] == "34/34 tables, 9 rows, 0.9 kB, 0.0 MB/s: checking"
    assert frames[4:] == [" " * 48, ""]
    line.clear()  # nothing shown: nothing written
    assert stream.getvalue().count("\r") == 5


def test_nothing_is_written_where_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    with status_line(stream):
        assert not progress.listened()  # nobody listens, so the export counts nothing
        progress.stage("r", "checking")
    assert stream.getvalue() == ""
