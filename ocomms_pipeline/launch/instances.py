"""Which Dagster instance a command records its runs in, for callers outside the Dagster layer.

The CLI and the demo hand Dagster a directory or nothing; the instance object stays here, so
that only the Dagster layer imports ``dagster``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ocomms_pipeline.defs.retention import active_run_ids


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance when DAGSTER_HOME is set (runs show in the UI), else ephemeral."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def instance_at(home: Path) -> dg.DagsterInstance:
    """The instance kept in ``home`` (its ``dagster.yaml`` applies), created if missing."""
    return dg.DagsterInstance.local_temp(tempdir=str(home))


def prepare_storage(home: Path) -> None:
    """Create the instance's storage in ``home`` once, before several processes open it."""
    dg.DagsterInstance.from_config(str(home)).dispose()


def runs_in_progress() -> set[str]:
    """Runs queued or in progress in the DAGSTER_HOME instance; none without one."""
    if not os.environ.get("DAGSTER_HOME"):
        return set()
    return active_run_ids(dg.DagsterInstance.get())
