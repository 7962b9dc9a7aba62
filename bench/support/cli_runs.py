"""Commands of the end-to-end benchmarks, each timed as a person runs it: a fresh process.

``timed`` runs one to its end and takes its wall time and its own peak memory (``wait4``);
``generate`` makes an organization with ``bench.generators.generate`` in a process of its own,
so the benchmark's process stays small.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import children
from bench.support.machine_cpu import busy_seconds, spent

CLI = str(Path(sys.executable).with_name("ocomms-pipeline"))
MB = 1_000_000


@dataclass(frozen=True)
class Timed:
    """One command, process start to exit."""

    case: str
    seconds: float
    peak_rss_mb: float
    json_bytes: int = 0
    # Busy core-seconds of the whole machine meanwhile: the command and PostgreSQL's work.
    machine_cpu_seconds: float | None = None


@dataclass(frozen=True)
class Organization:
    url: str
    organization_id: str
    owner_id: str


def generate(admin_url: str, name: str, messages: int) -> Organization:
    """``bench.generators.generate`` in its own process, so this one stays small (peak RSS is
    inherited)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.generators.generate",
            str(messages),
            "--name",
            name,
            "--admin-url",
            admin_url,
        ],
        cwd=children.PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    _, organization_id, _, owner_id = lines[1].split()
    return Organization(lines[0], organization_id, owner_id)


def timed(case: str, command: list[str], env: dict[str, str], cwd: Path) -> Timed:
    """Run a command; its wall time and its own peak RSS (``wait4``). It must succeed."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        busy, started = busy_seconds(), time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=stdout, stderr=stderr
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds, cpu = time.perf_counter() - started, spent(busy)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = "\n".join(err.read_text(errors="replace").strip().splitlines()[-15:])
        raise children.ChildFailed(f"{case}: exited {process.returncode}:\n{tail}")
    bundle = bundle_of(out.read_text())
    size = json_bytes(bundle) if bundle else 0
    return Timed(case, seconds, usage.ru_maxrss / 1024, size, cpu)


def bundle_of(stdout: str) -> Path | None:
    for line in stdout.splitlines():
        if line.startswith("bundle: "):
            return Path(line.removeprefix("bundle: "))
    return None


def json_bytes(bundle: Path) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    return sum(int(entry["bytes"]) for entry in manifest["tables"].values())


def export(org: Organization, root: Path, *flags: str) -> list[str]:
    command = [CLI, "export", "--requested-by", org.owner_id, *flags]
    return [*command, "--", org.organization_id, str(root)]


def clear(root: Path) -> None:
    """Remove the bundles a case published: the next case starts on the same empty disk."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
