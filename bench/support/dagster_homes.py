"""The Dagster instances the end-to-end benchmarks run commands on, made as a user makes them.

Each helper writes a ``DAGSTER_HOME`` and returns the environment that points a command at
it; ``create_instance`` then creates its storage once, so that every timed command meets an
instance that already exists, as on a machine that ran Dagster before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import yaml

from bench import children
from ocomms_pipeline.sandbox import servers

DEPLOY_CONFIG = children.PROJECT / "deploy" / "dagster.yaml"
# Every database the end-to-end benchmarks create begins with this, and is dropped at the end.
PREFIX = "ocomms_cli_bench"


def dagster_database(prefix: str = PREFIX) -> str:
    """The database ``postgres_home`` keeps the instance in."""
    return f"{prefix}_dagster"


def new_user_sqlite_home(path: Path) -> dict[str, str]:
    """A DAGSTER_HOME as a new user has it: telemetry off, storage left at Dagster's default."""
    path.mkdir(parents=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return {"DAGSTER_HOME": str(path)}


def tuned_sqlite_home(path: Path) -> dict[str, str]:
    """A DAGSTER_HOME whose ``dagster.yaml`` says what docs/operations.md advises for SQLite: the
    kept-open event log and the run queue read every second (the daemon reads it too)."""
    # Imported here: it loads Dagster, and a benchmark's peak memory figures can read no lower
    # than its own process's (a child's peak includes what it was forked from).
    from ocomms_pipeline.launch.instances import sqlite_instance_config

    path.mkdir(parents=True)
    config = sqlite_instance_config(path)
    (path / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return {"DAGSTER_HOME": str(path)}


def postgres_home(path: Path, admin_url: str, prefix: str = PREFIX) -> dict[str, str]:
    """A DAGSTER_HOME holding deploy/dagster.yaml, on a fresh database ``dagster_database``."""
    path.mkdir(parents=True)
    text = DEPLOY_CONFIG.read_text(encoding="utf-8") + "\ntelemetry:\n  enabled: false\n"
    (path / "dagster.yaml").write_text(text, encoding="utf-8")
    url = servers.create_database(admin_url, dagster_database(prefix))
    params = psycopg.conninfo.conninfo_to_dict(url)
    return {
        "DAGSTER_HOME": str(path),
        "DAGSTER_PG_HOST": str(params.get("host", "127.0.0.1")),
        "DAGSTER_PG_PORT": str(params.get("port", 5432)),
        "DAGSTER_PG_USER": str(params.get("user", "")),
        "DAGSTER_PG_PASSWORD": str(params.get("password", "")),
        "DAGSTER_PG_DB": str(params["dbname"]),
        "DAGSTER_MAX_CONCURRENT_RUNS": "4",
    }


def create_instance(env: dict[str, str]) -> None:
    """The instance's storage, created once, as it is on a machine that ran Dagster before."""
    script = "import dagster as dg; dg.DagsterInstance.get().dispose()"
    subprocess.run([sys.executable, "-c", script], env={**os.environ, **env}, check=True)
