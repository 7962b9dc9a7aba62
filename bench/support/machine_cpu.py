"""Core-seconds the whole machine spent busy, PostgreSQL's server processes included.

A command's own ``rusage`` leaves out the database server, which does most of an export's
work. /proc/stat counts every process: the busy seconds between two readings (user, nice,
system, interrupts, steal; not idle or waiting on the disk) are what the command and the
server it drove cost the machine, as long as nothing else runs, as in the benchmarks. Where
/proc/stat is missing (not Linux) the figure is None and the reports leave it blank.
"""

from __future__ import annotations

import os

# Fields of the "cpu" line of /proc/stat after the label: user nice system idle iowait irq
# softirq steal (guest time is already inside user and nice).
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


def busy_seconds() -> float | None:
    """Core-seconds spent busy since boot, over all cores; None where it cannot be read."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    ticks = sum(int(fields[i]) for i in _BUSY_FIELDS if i < len(fields))
    return ticks / os.sysconf("SC_CLK_TCK")


def spent(since: float | None) -> float | None:
    """Busy core-seconds since an earlier ``busy_seconds()``."""
    now = busy_seconds()
    return None if since is None or now is None else now - since
