"""Which Dagster instance a command records its runs in, for callers outside the Dagster layer.

The CLI and the demo hand Dagster a directory or nothing; the instance object stays here, so
that only the Dagster layer imports ``dagster``.

A command records a few hundred events per export. Dagster's storages open a new database
connection for each of them (a new SQLite engine, or a new PostgreSQL session through
``NullPool``), which was most of a small organization's export. The instances made
here keep their connections for the life of the command instead: the SQLite event log through
``KeptOpenSqliteEventLogStorage`` when ``dagster.yaml`` leaves storage at Dagster's default,
and any storage through Dagster's own pooled mode (``optimize_for_webserver``, what its
webserver does for the same reason). The rows written, and where, are the same.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef

from ocomms_pipeline.defs.retention.jobs import active_run_ids
from ocomms_pipeline.launch.pooling import COMMAND_POOL
from ocomms_pipeline.launch.sqlite_event_log import KeptOpenSqliteEventLogStorage

_CONFIG_FILE = "dagster.yaml"
# Keys of dagster.yaml that choose a storage; with none of them Dagster uses SQLite files.
_STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")
DEQUEUE_INTERVAL_SECONDS = 1


def _default_storage(home: Path) -> bool:
    """Whether the instance in ``home`` keeps its state in Dagster's default SQLite files."""
    path = home / _CONFIG_FILE
    config = yaml.safe_load(path.read_text()) if path.is_file() else None
    return not any(key in (config or {}) for key in _STORAGE_KEYS)


def kept_open_event_log(home: Path) -> dict[str, Any]:
    """``dagster.yaml``'s ``event_log_storage`` for a SQLite instance in ``home``.

    The default SQLite event log, at its default place, through the kept-open class: a
    ``dagster.yaml`` that names it gives the webserver, the daemon and every run worker the
    speed the CLI gets, and what they write is what Dagster's own class reads.
    """
    return {
        "event_log_storage": {
            "module": KeptOpenSqliteEventLogStorage.__module__,
            "class": KeptOpenSqliteEventLogStorage.__name__,
            "config": {"base_dir": str(home / "history" / "runs")},
        }
    }


def sqlite_instance_config(home: Path) -> dict[str, Any]:
    """What ``dagster.yaml`` of a SQLite instance in ``home`` should say, telemetry off.

    The kept-open event log, and a run queue read every second rather than Dagster's five:
    an owner's request waits for the queue once, after the request sensor's tick.
    """
    return {
        "telemetry": {"enabled": False},
        "run_queue": {"dequeue_interval_seconds": DEQUEUE_INTERVAL_SECONDS},
        **kept_open_event_log(home),
    }


def instance_in(home: Path) -> dg.DagsterInstance:
    """The persistent instance configured in ``home``, with connections kept for the process."""
    if _default_storage(home):
        ref = InstanceRef.from_dir(str(home), overrides=kept_open_event_log(home))
        instance = dg.DagsterInstance.from_ref(ref)
    else:
        instance = dg.DagsterInstance.from_config(str(home))
    instance.optimize_for_webserver(**COMMAND_POOL.as_arguments())
    return instance


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (runs show in the UI), else ephemeral."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return dg.DagsterInstance.ephemeral()
    path = Path(home).expanduser()
    if not (path.is_absolute() and path.is_dir()):
        return dg.DagsterInstance.get()  # Dagster's own error says what DAGSTER_HOME must be
    return instance_in(path)


def instance_at(home: Path) -> dg.DagsterInstance:
    """The instance kept in ``home`` (its ``dagster.yaml`` applies), created if missing."""
    home.mkdir(parents=True, exist_ok=True)
    return instance_in(home)


def prepare_storage(home: Path) -> None:
    """Create the instance's storage in ``home`` once, before several processes open it."""
    dg.DagsterInstance.from_config(str(home)).dispose()


def runs_in_progress() -> set[str]:
    """Runs queued or in progress in the DAGSTER_HOME instance; none without one."""
    if not os.environ.get("DAGSTER_HOME"):
        return set()
    return active_run_ids(dg.DagsterInstance.get())
