"""Where the demo keeps everything, so that ``ocomms-pipeline ui`` opens exactly what it made.

The demo writes under the state directory (``servers.state_dir()``, ``.state/`` in a checkout):
``exports/`` (OCOMMS_EXPORT_ROOT), ``dagster_home/`` (DAGSTER_HOME), ``audit-log/``
(OCOMMS_AUDIT_LOG_DIR) and ``demo.json``, which records the database it used. The UI reads
that record instead of looking for a server again: a local PostgreSQL that appeared since the
demo ran on the embedded one must not send the UI to another, empty server.

The record never holds a password. A database whose URL had one is reached again through
``OCOMMS_DATABASE_URL`` (or libpq's ``PGPASSWORD``/``.pgpass``), as when the demo ran.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from psycopg.conninfo import conninfo_to_dict

from ocomms_pipeline import settings
from ocomms_pipeline.postgres.snapshots import libpq_url
from ocomms_pipeline.sandbox import servers

RECORD = "demo.json"
# A fixed key, for the demo only: it signs the demo's own audit log under the state directory
# and is printed so that `audit verify` can check that log. ocomms's real key never comes here.
DEMO_AUDIT_SECRET = "ocomms-pipeline-demo-audit-key"
INSTANCE_YAML = """\
# The demo's Dagster instance (SQLite under this directory), written by `ocomms-pipeline demo`.
# Telemetry off: Dagster's telemetry notice and welcome text would land in the middle of the
# demo's output and of `ocomms-pipeline ui`. The event log keeps its SQLite connections open
# (ocomms_pipeline.launch.sqlite_event_log), for the UI's runs as for the CLI's, and the run
# queue is read every second.
"""


class DemoMissing(Exception):
    """There is no demo to open (never run, or its database is gone); ``str`` says what to do."""


def redacted_url(url: str) -> str:
    """The URL with its password shown as ``***``: safe to print."""
    params = conninfo_to_dict(libpq_url(url))
    password = params.pop("password", None)
    plain = servers.url_from_params(params)
    if not password:
        return plain
    user = params.get("user")
    if user and "@" in plain:
        scheme, rest = plain.split("://", 1)
        account, host = rest.split("@", 1)
        return f"{scheme}://{account}:***@{host}"
    return plain + ("&" if "?" in plain else "?") + "password=***"


def has_password(url: str) -> bool:
    return bool(conninfo_to_dict(libpq_url(url)).get("password"))


def without_password(url: str) -> str:
    """The URL as recorded: the same database, no password."""
    params = conninfo_to_dict(libpq_url(url))
    params.pop("password", None)
    return servers.url_from_params(params)


def is_embedded(url: str) -> bool:
    """Does the URL point at the embedded server (its socket lives in its data directory)?"""
    host = conninfo_to_dict(libpq_url(url)).get("host")
    return host is not None and Path(host) == servers.embedded_data_dir()


@dataclass(frozen=True)
class DemoPaths:
    """The demo's directories and record, all under one state directory."""

    state: Path

    @classmethod
    def current(cls) -> DemoPaths:
        return cls(servers.state_dir())

    @property
    def export_root(self) -> Path:
        return self.state / "exports"

    @property
    def dagster_home(self) -> Path:
        return self.state / "dagster_home"

    @property
    def audit_dir(self) -> Path:
        return self.state / "audit-log"

    @property
    def record(self) -> Path:
        return self.state / RECORD

    @property
    def ui_dir(self) -> Path:
        """The UI's logs and workspace file."""
        return self.state / "ui"

    def prepare_instance_home(self) -> Path:
        """DAGSTER_HOME with a ``dagster.yaml`` that turns telemetry off (never overwritten)."""
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        config = self.dagster_home / "dagster.yaml"
        if not config.exists():
            from ocomms_pipeline.launch.instances import sqlite_instance_config

            values = sqlite_instance_config(self.dagster_home)
            config.write_text(INSTANCE_YAML + yaml.safe_dump(values), encoding="utf-8")
        return self.dagster_home


@dataclass(frozen=True)
class DemoRecord:
    """What the demo used: its database (no password), and whether the demo seeded it."""

    database_url: str
    seeded: bool
    embedded: bool

    def save(self, paths: DemoPaths) -> None:
        paths.state.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"database_url": self.database_url, "seeded": self.seeded, "embedded": self.embedded},
            indent=2,
        )
        paths.record.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, paths: DemoPaths) -> DemoRecord:
        try:
            data: dict[str, Any] = json.loads(paths.record.read_text(encoding="utf-8"))
            return cls(str(data["database_url"]), bool(data["seeded"]), bool(data["embedded"]))
        except FileNotFoundError:
            raise DemoMissing(
                f"no demo in {paths.state} yet: run `./run demo` (ocomms-pipeline demo) first"
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise DemoMissing(f"{paths.record} is damaged ({error}): run the demo again") from None

    @classmethod
    def of(cls, url: str, seeded: bool) -> DemoRecord:
        return cls(without_password(url), seeded, is_embedded(url))

    def connect_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """The URL to connect with: ``OCOMMS_DATABASE_URL`` when it names this very database
        (it may carry the password the record lacks), else the recorded one."""
        given = settings.value(settings.DATABASE_URL, environ)
        if given and without_password(given) == self.database_url:
            return given
        return self.database_url


def environment(paths: DemoPaths, database_url: str) -> dict[str, str]:
    """Every variable the code location needs, set to the demo's values."""
    return {
        settings.DATABASE_URL: database_url,
        settings.EXPORT_ROOT: str(paths.export_root),
        "DAGSTER_HOME": str(paths.dagster_home),
        settings.AUDIT_LOG_DIR: str(paths.audit_dir),
        settings.AUDIT_LOG_SECRET: DEMO_AUDIT_SECRET,
    }


def ui_command(environ: Mapping[str, str] = os.environ) -> str:
    """The one command that opens the UI on this demo, as the user would type it here.

    ``./run ui`` from a checkout (with its path when run from elsewhere), else the installed
    script; a state directory chosen through the environment has to be chosen again.
    """
    root = Path(__file__).resolve().parents[2]
    script = root / "run"
    if script.is_file() and (root / "pyproject.toml").is_file():
        command = "./run ui" if Path.cwd().resolve() == root else f"{shlex.quote(str(script))} ui"
    else:
        command = "ocomms-pipeline ui"
    configured = settings.value(settings.STATE_DIR, environ)
    if configured:
        command = f"{servers.STATE_DIR_ENV}={shlex.quote(configured)} {command}"
    return command


def summary(paths: DemoPaths, database_url: str) -> list[str]:
    """The lines that tell where everything is, for the demo's end and the UI's start."""
    return [
        f"  OCOMMS_DATABASE_URL   {redacted_url(database_url)}",
        f"  OCOMMS_EXPORT_ROOT    {paths.export_root}",
        f"  DAGSTER_HOME          {paths.dagster_home}",
        f"  OCOMMS_AUDIT_LOG_DIR  {paths.audit_dir}",
        f"  AUDIT_LOG_SECRET      {DEMO_AUDIT_SECRET}  (the demo's own key)",
    ]
