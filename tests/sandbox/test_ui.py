"""``ocomms-pipeline ui`` after ``ocomms-pipeline demo``, as a user runs them.

The demo seeds the test's database and exports through Dagster into a temporary state
directory, with a fresh HOME (as on a machine where Dagster never ran, so its telemetry notice
would show). The UI command then runs on a free port with 1-second sensor intervals; GraphQL
shows what the UI shows. A request queued with the CLI goes through the UI's daemon. The UI is
stopped by its process group, as a terminal's Ctrl-C or a supervisor would stop it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocomms_pipeline.requests import audit
from ocomms_pipeline.sandbox import servers
from ocomms_pipeline.sandbox.environment import DEMO_AUDIT_SECRET

CLI = str(Path(sys.executable).with_name("ocomms-pipeline"))
HOST = "127.0.0.1"
START_TIMEOUT = 240
REQUEST_SENSORS = {
    "export_requests",
    "export_request_started",
    "export_request_succeeded",
    "export_request_failed",
}
BANNERS = ("Telemetry:", "Welcome to Dagster")


@dataclass(frozen=True)
class Demo:
    url: str
    state: Path
    env: dict[str, str]
    output: str


@dataclass(frozen=True)
class Ui:
    port: int
    process: subprocess.Popen
    output: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def demo(admin_url, tmp_path_factory) -> Iterator[Demo]:
    base = tmp_path_factory.mktemp("ui")
    name = f"ocomms_ui_{os.getpid()}_{secrets.token_hex(3)}"
    url = servers.create_database(admin_url, name)
    (base / "home").mkdir()
    env = {
        **os.environ,
        "HOME": str(base / "home"),
        "OCOMMS_DATABASE_URL": url,
        "OCOMMS_PIPELINE_STATE_DIR": str(base / "state"),
        "OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS": "1",
    }
    for variable in ("DAGSTER_HOME", "OCOMMS_EXPORT_ROOT", "OCOMMS_AUDIT_LOG_DIR"):
        env.pop(variable, None)
    try:
        result = subprocess.run(
            [CLI, "demo"], env=env, cwd=base, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        yield Demo(url, base / "state", env, result.stdout + result.stderr)
    finally:
        servers.drop_database(admin_url, name)


def _stop_group(process: subprocess.Popen) -> float:
    """SIGTERM to the whole process group, SIGKILL after 60 s; returns the seconds it took."""
    started = time.monotonic()
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return time.monotonic() - started


def _live_members(pgid: int) -> list[str]:
    """The processes of a process group that still run (zombies left to init do not), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(name.split("(", 1)[1])
    return found


@pytest.fixture(scope="module")
def ui(demo) -> Iterator[Ui]:
    port = _free_port()
    output = demo.state.parent / "ui.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [CLI, "ui", "--port", str(port)],
            env=demo.env,
            cwd=demo.state.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Dagster UI: http://" not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.5)
        yield Ui(port, process, output)
    finally:
        seconds = _stop_group(process)
        assert _live_members(process.pid) == [], "processes of the UI outlived it"
        assert seconds < 45, f"the UI took {seconds:.0f} s to stop"


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/graphql",
        json.dumps({"query": query}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = json.load(answer)
    assert "errors" not in body, body
    return body["data"]


SELECTOR = '{repositoryLocationName: "ocomms_pipeline", repositoryName: "__repository__"}'
SENSORS = f"""{{ sensorsOrError(repositorySelector: {SELECTOR}) {{ __typename
    ... on Sensors {{ results {{ name sensorState {{ status
        ticks(limit: 50) {{ status error {{ message }} }} }} }} }} }} }}"""
SCHEDULES = f"""{{ schedulesOrError(repositorySelector: {SELECTOR}) {{ __typename
    ... on Schedules {{ results {{ name scheduleState {{ status
        ticks(limit: 50) {{ status error {{ message }} }} }} }} }} }} }}"""
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename } } } } }"""
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"


def _sensors(port: int) -> dict[str, dict]:
    data = _graphql(port, SENSORS)["sensorsOrError"]
    assert data["__typename"] == "Sensors", data
    return {sensor["name"]: sensor["sensorState"] for sensor in data["results"]}


def _failures(states: dict[str, dict]) -> dict[str, list[str]]:
    return {
        name: [tick["error"]["message"] for tick in state["ticks"] if tick["status"] == "FAILURE"]
        for name, state in states.items()
        if any(tick["status"] == "FAILURE" for tick in state["ticks"])
    }


def test_the_demo_prints_its_environment_and_the_ui_command(demo):
    for banner in BANNERS:
        assert banner not in demo.output
    lines = demo.output.splitlines()
    printed = dict(line.split(None, 1) for line in lines if line.startswith("  "))
    assert printed["OCOMMS_DATABASE_URL"].strip() == demo.url
    assert printed["OCOMMS_EXPORT_ROOT"].strip() == str(demo.state / "exports")
    assert printed["DAGSTER_HOME"].strip() == str(demo.state / "dagster_home")
    assert printed["OCOMMS_AUDIT_LOG_DIR"].strip() == str(demo.state / "audit-log")
    assert printed["AUDIT_LOG_SECRET"].startswith(DEMO_AUDIT_SECRET)
    [command] = [x for x in lines if x.startswith("open the Dagster UI on it: ")]
    assert command.endswith(" ui")
    assert f"OCOMMS_PIPELINE_STATE_DIR={demo.state}" in command
    config = (demo.state / "dagster_home" / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in config


def test_the_ui_loads_the_code_location_with_the_demo_runs(ui, demo):
    for banner in BANNERS:
        assert banner not in ui.output.read_text()
        for log in (demo.state / "ui").glob("*.log"):
            assert banner not in log.read_text(), log
    [entry] = _graphql(ui.port, LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert (entry["name"], entry["loadStatus"]) == ("ocomms_pipeline", "LOADED")
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    demo_run = re.search(r"^run:\s+(\S+)$", demo.output, re.MULTILINE).group(1)
    runs = _graphql(ui.port, RUNS)["runsOrError"]["results"]
    statuses = {run["runId"]: run["status"] for run in runs}
    assert statuses[demo_run] == "SUCCESS"


def test_every_sensor_runs_and_no_tick_fails(ui):
    deadline = time.monotonic() + 120
    while True:
        states = _sensors(ui.port)
        ticked = {name for name, state in states.items() if len(state["ticks"]) >= 3}
        if ticked >= REQUEST_SENSORS or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert REQUEST_SENSORS | {"organization_partitions"} <= set(states)
    assert {name: state["status"] for name, state in states.items()} == dict.fromkeys(
        states, "RUNNING"
    )
    assert ticked >= REQUEST_SENSORS, {name: len(s["ticks"]) for name, s in states.items()}
    assert _failures(states) == {}
    schedules = _graphql(ui.port, SCHEDULES)["schedulesOrError"]
    assert {s["name"] for s in schedules["results"]} == {"nightly_backup", "nightly_retention"}
    assert _failures({s["name"]: s["scheduleState"] for s in schedules["results"]}) == {}


def test_a_request_queued_with_the_cli_is_run_by_the_ui(ui, demo):
    org = re.search(r"^org:\s+Acme \((\S+)\)$", demo.output, re.MULTILINE).group(1)
    owner = re.search(r"^by:\s+(\S+) as owner$", demo.output, re.MULTILINE).group(1)
    assert org.startswith("-"), "the demo's organization is the sample's dashed one"
    queued = subprocess.run(
        [CLI, "request", org, "--requested-by", owner],
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert queued.returncode == 0, queued.stderr
    request_id = queued.stdout.strip()
    deadline = time.monotonic() + 300
    while True:
        shown = subprocess.run(
            [CLI, "status", request_id, "--json"],
            env=demo.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        row = json.loads(shown.stdout)
        if row["status"] not in ("pending", "running") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (row["status"], row["reason"]) == ("completed", None), row
    assert Path(row["archive_path"]).is_relative_to(demo.state / "exports")
    log = audit.verify(demo.state / "audit-log", DEMO_AUDIT_SECRET)
    assert log.ok and log.entries >= 2
    assert _failures(_sensors(ui.port)) == {}


def test_ui_without_a_demo_says_so_in_one_line(tmp_path):
    env = {**os.environ, "OCOMMS_PIPELINE_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run(
        [CLI, "ui", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "run `./run demo`" in result.stderr, result.stderr
    assert result.stdout == ""
