"""The export's status line on a terminal: tables done, rows, MB, MB/s, what it is doing.

Shown only when stderr is a terminal: one line rewritten in place after a carriage return,
cut to the terminal's width so it never wraps, and blanked when the command ends, so what
stays on the screen is what a pipe or a file gets. A pipe or a file gets nothing from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ocomms_pipeline.export import progress

DEFAULT_WIDTH = 80


def status_text(totals: progress.Totals | None, doing: str) -> str:
    """``12/34 tables, 412,000 rows, 253.1 MB, 64.3 MB/s: messages``."""
    if totals is None:
        return f"export: {doing}" if doing else "export"
    return f"{totals}: {doing}" if doing else str(totals)


def terminal_width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or DEFAULT_WIDTH
    except (OSError, ValueError):
        return DEFAULT_WIDTH


class StatusLine:
    """A progress listener (see ``progress.listening``) that rewrites one line of ``stream``."""

    def __init__(self, stream: TextIO, width: int | None = None) -> None:
        self.stream = stream
        self.width = width
        self.totals: progress.Totals | None = None
        self.doing = ""
        self.shown = 0  # characters of the line now on the screen

    def __call__(self, event: progress.Event) -> None:
        if isinstance(event, progress.Stage):
            self.doing = event.name
        elif isinstance(event, progress.TablesDone):
            self.totals, self.doing = event.totals, ""
        else:
            self.totals, self.doing = event.totals, event.table
        self.show(status_text(self.totals, self.doing))

    def show(self, text: str) -> None:
        width = self.width or terminal_width(self.stream)
        text = text[: max(width - 1, 0)]  # the last column would wrap on some terminals
        self.stream.write("\r" + text.ljust(self.shown))
        self.stream.flush()
        self.shown = len(text)

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


@contextmanager
def status_line(stream: TextIO, *, enabled: bool = True) -> Iterator[None]:
    """While inside, the status line of any export in this process, if ``stream`` is a tty."""
    if not (enabled and stream.isatty()):
        yield
        return
    line = StatusLine(stream)
    try:
        with progress.listening(line):
            yield
    finally:
        line.clear()
