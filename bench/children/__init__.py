"""Measurements in fresh processes: how the benchmark starts them and gets their figures back.

A process's peak RSS only ever grows, so a measurement sharing a process with the database
generator or another export would report their peak, not its own. Each measurement
therefore runs in its own interpreter, started from a scratch directory (nothing lands in
the caller's working directory), and hands its figures back as a JSON file rather than on
stdout, where a library's stray print would corrupt them.

Every other module of this package is such a process, started as
``python -m bench.children.<module>`` by an entry point at the top of ``bench/``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
DATABASE_URL_ENV = "OCOMMS_DATABASE_URL"


class ChildFailed(RuntimeError):
    """A measurement process exited non-zero: its figures would be meaningless."""


def peak_rss_mb() -> float:
    """This process's own peak resident set size, in MiB.

    Not ``getrusage``'s ``ru_maxrss`` alone: Linux carries the spawning process's peak across
    fork and exec into it, so a child of a parent that once held 500 MB reports at least
    500 MB. ``VmHWM`` in /proc/self/status is the high-water mark of this very address space;
    ``ru_maxrss`` is the fallback where /proc is missing (bytes on macOS, KiB elsewhere).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run(
    module: str,
    positionals: list[str],
    database_url: str,
    work: Path,
    options: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run ``python -m <module> <options> --result F --spawned T -- <positionals>``; its figures.

    ocomms ids may begin with ``-``, hence the ``--`` before the positional arguments.

    The database URL travels in the environment, as the pipeline's own resource reads it,
    so it never shows in a process listing. ``--spawned`` lets the child measure its own
    start-up (interpreter plus imports) against the parent's clock.
    """
    result = work / f"{module.rsplit('.', 1)[-1]}-{time.monotonic_ns()}.json"
    env = {**os.environ, DATABASE_URL_ENV: database_url}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    env.pop("DAGSTER_HOME", None)  # children use ephemeral instances, never the user's
    command = [sys.executable, "-m", module, *options, "--result", str(result)]
    command += ["--spawned", repr(time.time()), "--", *positionals]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise ChildFailed(f"{module} {' '.join(options)} exited {done.returncode}:\n{tail}")
    figures = json.loads(result.read_text())
    result.unlink()
    return figures


def write_result(path: str, figures: dict[str, Any]) -> None:
    """The child's last act: its figures, with its peak RSS, for the parent to read."""
    Path(path).write_text(json.dumps({**figures, "peak_rss_mb": peak_rss_mb()}))


def database_url() -> str:
    """The database a child measures, as ``run`` passed it."""
    try:
        return os.environ[DATABASE_URL_ENV]
    except KeyError:
        raise SystemExit(f"{DATABASE_URL_ENV} is not set") from None
