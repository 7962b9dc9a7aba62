"""The unzip tools people open a bundle's zip with, run over an archive by the tests."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

# tool -> the Debian package that has it
TOOLS = {"unzip": "unzip", "bsdtar": "libarchive-tools", "7z": "p7zip-full"}


def _tool_checks(path: Path, out: Path) -> dict[str, list[list[str]]]:
    return {
        "unzip": [["unzip", "-tq", str(path)]],
        "bsdtar": [["bsdtar", "-tf", str(path)], ["bsdtar", "-xf", str(path), "-C", str(out)]],
        "7z": [["7z", "t", str(path)]],
    }


def check_with_tool(tool: str, path: Path, members: dict[str, bytes], scratch: Path) -> None:
    """Run one unzip tool over ``path``; skip (saying how to get it) when it is not installed."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian package {TOOLS[tool]})")
    scratch.mkdir()
    for command in _tool_checks(path, scratch)[tool]:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    if tool == "bsdtar":
        for name, data in members.items():
            digest = hashlib.sha256((scratch / name).read_bytes()).hexdigest()
            assert digest == hashlib.sha256(data).hexdigest(), name
