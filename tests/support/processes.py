"""Dagster's own processes for tests: started in their own process group, stopped by it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import yaml

from ocomms_pipeline.launch.instances import sqlite_instance_config

from .requests_world import SECRET

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
START_TIMEOUT = 240


def log_tails(logs: Path, lines: int = 30) -> str:
    """The end of the webserver's and daemon's logs, for a failing assertion to show."""
    parts = []
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name}\n" + "\n".join(tail))
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_process(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(process: subprocess.Popen) -> None:
    """Stop a process group: politely first, then for good."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def location_state(port: int) -> str | None:
    """LOADED once the webserver has loaded the code location; None while it cannot answer."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}/graphql",
        json.dumps({"query": LOCATIONS}).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            workspace = json.load(answer)["data"]["workspaceOrError"]
    except (OSError, ValueError, KeyError):
        return None
    [entry] = workspace["locationEntries"]
    loaded = entry["locationOrLoadError"] or {}
    assert loaded.get("__typename") != "PythonError", loaded.get("message")
    return entry["loadStatus"] if loaded.get("__typename") == "RepositoryLocation" else None


def wait_until_serving(port: int, processes: list[subprocess.Popen], logs: Path) -> None:
    """Until the webserver answers GraphQL with the project's code location loaded."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        dead = [p.args[0] for p in processes if p.poll() is not None]
        assert not dead, f"{dead} exited\n{log_tails(logs)}"
        if location_state(port) == "LOADED":
            return
        time.sleep(1)
    raise AssertionError(f"no code location after {START_TIMEOUT} s\n{log_tails(logs)}")


def deployment_environment(url: str, base: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir()
    # The instance a SQLite deployment is advised to use (docs/operations.md): kept-open event log.
    config = sqlite_instance_config(home)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    # Create the SQLite storages once, here: the webserver and the daemon (and their code
    # servers) starting together on an empty home race to stamp the same schema versions.
    dg.DagsterInstance.from_config(str(home)).dispose()
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "OCOMMS_DATABASE_URL": url,
        "OCOMMS_EXPORT_ROOT": str(base / "exports"),
        "OCOMMS_AUDIT_LOG_DIR": str(base / "audit"),
        "AUDIT_LOG_SECRET": SECRET,
        "OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": "1",
    }
