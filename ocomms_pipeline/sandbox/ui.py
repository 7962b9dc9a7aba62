"""``ocomms-pipeline ui``: the Dagster UI on the demo's environment, in one command.

It runs what a deployment runs, ``dagster-webserver`` and ``dagster-daemon`` (the daemon
evaluates the sensors and starts queued runs), as children of this process, with every
variable the code location needs set to the demo's values (``demo_environment``): the demo's
database, export root, Dagster instance (so the demo's runs show), audit log directory and
key. The embedded PostgreSQL, when the demo used it, is started first.

Why not ``dagster dev``: it runs the same two processes plus a supervisor of its own, but
started from a non-interactive shell it ignores SIGINT and SIGTERM, so neither a test nor a
script could stop it short of SIGKILL. Here SIGINT (Ctrl-C) and SIGTERM stop both children,
each given a grace period, and a child that dies stops the other and shows its log's end.
Their logs go to files under the state directory, so that the terminal keeps the few lines
that matter: where everything is, the URL once the code location has loaded, and errors.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import psycopg

from ocomms_pipeline.errors import describe
from ocomms_pipeline.postgres.snapshots import connect
from ocomms_pipeline.requests import queue as request_queue
from ocomms_pipeline.sandbox import servers
from ocomms_pipeline.sandbox.environment import (
    DemoMissing,
    DemoPaths,
    DemoRecord,
    environment,
    redacted_url,
    summary,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
LOCATION = "ocomms_pipeline"
READY_TIMEOUT_SECONDS = 300
STOP_GRACE_SECONDS = 20
WORKSPACE = """\
# Written by `ocomms-pipeline ui`: the project's one code location.
load_from:
  - python_module:
      module_name: ocomms_pipeline.definitions
      location_name: {location}
"""
_LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


class UiError(Exception):
    """The UI cannot start or went down; ``str`` is one line for the terminal."""


class _Stop(Exception):
    """SIGINT or SIGTERM arrived: stop the children and exit 0."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def demo_database(paths: DemoPaths, environ: Mapping[str, str] = os.environ) -> str:
    """The demo's database URL to connect with, its server started if it is the embedded one.

    Refuses a database the demo did not seed: the sensors would work that database's export
    request queue with the demo's export root and audit key.
    """
    record = DemoRecord.load(paths)
    if not record.seeded:
        raise DemoMissing(
            "the demo read an existing ocomms database; `ui` opens only a database the demo "
            "seeded (its sensors would run that database's export requests with the demo's "
            "settings): run Dagster as the README's 'Run it against your ocomms database' shows"
        )
    if record.embedded:
        servers.embedded_server_url()
    url = record.connect_url(environ)
    try:
        with connect(url, connect_timeout=5, autocommit=True) as conn:
            ready = request_queue.queue_exists(conn)
    except psycopg.Error as error:
        raise DemoMissing(
            f"cannot reach the demo's database {redacted_url(url)} ({describe(error)}): "
            "run `./run demo` again"
        ) from None
    if not ready:
        raise DemoMissing(f"{redacted_url(url)} has no export request queue: run the demo again")
    return url


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = error.strerror or str(error)
            raise UiError(f"cannot serve on {host}:{port} ({reason}): pass --port") from None


def _location_loaded(host: str, port: int) -> bool:
    """Has the webserver loaded the code location? A load error ends the wait at once."""
    request = urllib.request.Request(
        f"http://{host}:{port}/graphql",
        json.dumps({"query": _LOCATIONS}).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            entries = json.load(answer)["data"]["workspaceOrError"]["locationEntries"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for entry in entries:
        loaded = entry.get("locationOrLoadError") or {}
        if loaded.get("__typename") == "PythonError":
            first = (loaded.get("message") or "").strip().splitlines()[:1]
            raise UiError(f"the code location failed to load: {' '.join(first)}")
        if entry.get("name") == LOCATION and loaded.get("__typename") == "RepositoryLocation":
            return True
    return False


def _tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


class Services:
    """The webserver and the daemon, started together and stopped together."""

    def __init__(self, paths: DemoPaths, env: Mapping[str, str], host: str, port: int) -> None:
        self.host, self.port = host, port
        self.env = dict(env)
        paths.ui_dir.mkdir(parents=True, exist_ok=True)
        self.workspace = paths.ui_dir / "workspace.yaml"
        self.workspace.write_text(WORKSPACE.format(location=LOCATION), encoding="utf-8")
        self.logs = {
            "dagster-webserver": paths.ui_dir / "webserver.log",
            "dagster-daemon": paths.ui_dir / "daemon.log",
        }
        self.cwd = paths.ui_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def commands(self) -> dict[str, list[str]]:
        """Through this interpreter, so the venv's Dagster runs whatever PATH holds."""
        workspace = ["-w", str(self.workspace)]
        return {
            "dagster-webserver": [
                sys.executable,
                "-m",
                "dagster_webserver",
                *workspace,
                "-h",
                self.host,
                "-p",
                str(self.port),
            ],
            "dagster-daemon": [sys.executable, "-m", "dagster._daemon", "run", *workspace],
        }

    def start(self) -> None:
        for name, command in self.commands().items():
            with open(self.logs[name], "wb") as log:
                self.processes[name] = subprocess.Popen(
                    command,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise UiError(
                    f"{name} exited with status {process.returncode}; the end of "
                    f"{self.logs[name]}:\n{_tail(self.logs[name])}"
                )

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.check_alive()
            if _location_loaded(self.host, self.port):
                return time.monotonic() - started
            time.sleep(0.5)
        raise UiError(f"the code location did not load in {timeout:.0f} s; see {self.cwd}")

    def stop(self) -> None:
        """SIGTERM to each child still running, then SIGKILL after the grace period.

        The children's own children (their code servers, runs in progress) are waited for
        too, so that nothing of the UI is left running when this returns: the webserver and
        the daemon ask their code servers to stop but do not wait for them.
        """
        descendants = [
            pid for process in self.processes.values() for pid in _descendants(process.pid)
        ]
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        while descendants and time.monotonic() < deadline:
            descendants = [pid for pid in descendants if _ours(pid)]
            time.sleep(0.1)
        for pid in descendants:
            if _ours(pid):
                os.kill(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from Linux's /proc (nothing where there is none)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(child) for child in task.read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _ours(pid: int) -> bool:
    """Is ``pid`` still a live process of this process group (not a reused pid)?"""
    try:
        return os.getpgid(pid) == os.getpgrp() and not _zombie(pid)
    except ProcessLookupError:
        return False


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@contextmanager
def _stopping_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise _Stop here, even where the shell started us ignoring them."""
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _create_instance_storage(home: Path) -> None:
    """Create the instance's SQLite storage here, once, when the demo's is gone.

    The webserver and the daemon starting together on an empty DAGSTER_HOME race to stamp
    the same schema versions, and one of them fails.
    """
    if (home / "history" / "runs.db").is_file() and (home / "schedules" / "schedules.db").is_file():
        return
    from ocomms_pipeline.launch.instances import prepare_storage

    prepare_storage(home)


def run_ui(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Start the UI on the demo's environment and keep it up until SIGINT or SIGTERM."""
    paths = DemoPaths.current()
    try:
        url = demo_database(paths)
        _check_port_free(host, port)
    except (DemoMissing, UiError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _create_instance_storage(paths.prepare_instance_home())
    paths.audit_dir.mkdir(parents=True, exist_ok=True)
    services = Services(paths, {**os.environ, **environment(paths, url)}, host, port)
    print("the demo's environment:")
    print("\n".join(summary(paths, url)))
    print(
        f"logs: {services.logs['dagster-webserver']}, {services.logs['dagster-daemon']}",
        flush=True,
    )
    with _stopping_on_signals():
        try:
            services.start()
            seconds = services.wait_until_ready()
            print(
                f"\nDagster UI: http://{host}:{port}  (ready in {seconds:.1f} s; Ctrl-C stops it)",
                flush=True,
            )
            while True:
                services.check_alive()
                time.sleep(1)
        except _Stop:
            print("\nstopping the Dagster UI ...", flush=True)
            return 0
        except UiError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            services.stop()
