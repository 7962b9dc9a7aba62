"""The bundle on disk: staging, table files, manifest, and the rename that publishes it.

A bundle is built in a hidden staging directory named for the Dagster run and becomes visible
under its final name only by one atomic rename after the manifest is written. Anything that
looks like ``ocomms-export-<timestamp>`` is therefore complete; a crash leaves only staging.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

FORMAT_NAME = "ocomms-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
STATE_FILE = ".export-state.json"
STAGING_PREFIX = ".staging-"
BUNDLE_PATTERN = re.compile(r"ocomms-export-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(-\d+)?")
_WRITE_BUFFER = 1 << 20


def organization_dir(root: Path, organization_id: str) -> Path:
    return Path(root) / organization_id


def staging_dir(root: Path, organization_id: str, run_id: str) -> Path:
    return organization_dir(root, organization_id) / f"{STAGING_PREFIX}{run_id}"


def bundle_name(taken_at: datetime) -> str:
    return f"ocomms-export-{taken_at:%Y-%m-%dT%H-%M-%S}Z"


def reserve_bundle_path(root: Path, organization_id: str, taken_at: datetime) -> Path:
    """The final path for a bundle taken at ``taken_at``, suffixed if that second is taken."""
    base = organization_dir(root, organization_id) / bundle_name(taken_at)
    candidate, n = base, 1
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def finished_bundles(root: Path, organization_id: str) -> list[Path]:
    """Published bundles of one organization, oldest first."""
    directory = organization_dir(root, organization_id)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_dir() and BUNDLE_PATTERN.fullmatch(p.name))


def utc_text(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, the one timestamp form used in bundles."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class FileDigest:
    file: str
    rows: int
    bytes: int
    sha256: str


class JsonArrayWriter:
    """Writes pre-serialised JSON objects as an array, one object per line, hashing as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = open(path, "wb", buffering=_WRITE_BUFFER)  # noqa: SIM115
        self._hash = hashlib.sha256()
        self.rows = 0
        self.bytes = 0
        self._put(b"[")

    def _put(self, data: bytes | memoryview) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.bytes += len(data)

    def write_lines(self, lines: Iterable[bytes | memoryview]) -> None:
        """Append rows given as JSON text each ending in a newline (as COPY emits them)."""
        for line in lines:
            self._put(b",\n" if self.rows else b"\n")
            self._put(memoryview(line)[:-1])
            self.rows += 1

    def close(self) -> FileDigest:
        self._put(b"\n]\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return FileDigest(self.path.name, self.rows, self.bytes, self._hash.hexdigest())

    def abort(self) -> None:
        self._file.close()


def write_json(path: Path, document: Any) -> None:
    """Write a small JSON document durably (manifest, state)."""
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_WRITE_BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(staging: Path, manifest: dict[str, Any], destination: Path) -> Path:
    """Write the manifest into staging and rename staging to its final name, atomically."""
    if destination.exists():
        raise FileExistsError(f"bundle {destination} already exists")
    write_json(staging / MANIFEST, manifest)
    (staging / STATE_FILE).unlink(missing_ok=True)
    _fsync_dir(staging)
    os.rename(staging, destination)
    _fsync_dir(destination.parent)
    return destination


def discard(staging: Path) -> None:
    """Remove a staging directory after a failure; nothing of it may look like a bundle."""
    shutil.rmtree(staging, ignore_errors=True)
