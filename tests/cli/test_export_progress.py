"""``export`` on a terminal: a status line on stderr, rewritten in place and blanked at the end.

Its stderr is a pseudo-terminal (``pty``), as in a person's shell; its stdout a pipe, as in
``export ... > out.txt``. Without a terminal nothing is shown (``test_cli`` runs it so).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios

from ocomms_pipeline import catalog

from ..support.cli import CLI

COLUMNS = 60
FRAME = re.compile(r"^(\d+)/(\d+) tables, [\d,]+ rows?, [\d,.]+ [kM]B, [\d,.]+ MB/s(: [\w ]+)?$")


def _on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Exit status, what the terminal received on stderr, and stdout."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    process = subprocess.Popen(
        [CLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
    )
    os.close(terminal)
    received = bytearray()
    try:
        while data := os.read(controller, 65536):
            received += data
    except OSError:  # EIO: the command has closed the terminal
        pass
    finally:
        os.close(controller)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    return process.wait(timeout=300), received.decode(), stdout


def test_a_terminal_gets_a_status_line_that_is_gone_at_the_end(seeded_db, tmp_path):
    sample = seeded_db.sample
    status, shown, stdout = _on_a_terminal(
        "export",
        "--requested-by",
        sample.owners["Acme"][0],
        "--database-url",
        seeded_db.url,
        "--",
        sample.orgs["Acme"],
        str(tmp_path / "out"),
    )
    assert status == 0, shown
    assert stdout.startswith("bundle: ")  # stdout is what a pipe always got
    assert "\n" not in shown
    *frames, blank, end = shown.split("\r")
    assert frames[0] == "" and end == ""
    frames = [frame.rstrip() for frame in frames[1:]]
    assert all(len(frame) < COLUMNS for frame in frames)
    tables = len(catalog.exported_tables())
    done = []
    for frame in frames:
        match = FRAME.match(frame)
        assert match or len(frame) == COLUMNS - 1, frame  # a long table name is cut
        if match:
            assert int(match.group(2)) == tables
            done.append(int(match.group(1)))
    assert done == sorted(done) and done[-1] == tables
    assert [f for f in frames if f.endswith(("checking", "archiving"))] != []
    # Each frame covers the one before; the blank covers the last, so nothing is left.
    assert blank == " " * len(frames[-1])
