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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocomms_pipeline.bundle.preallocation import RESERVE_FROM, GrowingFile

FORMAT_NAME = "ocomms-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
STATE_FILE = ".export-state.json"
STAGING_PREFIX = ".staging-"
BUNDLE_PATTERN = re.compile(r"ocomms-export-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(-\d+)?")
_READ_CHUNK = 4 << 20
_MIN_READ = 4096
_SYNC_THREADS = 8


def organization_dir(root: Path, organization_id: str) -> Path:
    return Path(root) / organization_id


def staging_dir(root: Path, organization_id: str, run_id: str) -> Path:
    return organization_dir(root, organization_id) / f"{STAGING_PREFIX}{run_id}"


BUNDLE_PREFIX = "ocomms-export-"
_NAME_TIME = "%Y-%m-%dT%H-%M-%S"
_UTC_TEXT = "%Y-%m-%dT%H:%M:%S.%fZ"


def bundle_name(taken_at: datetime) -> str:
    return f"{BUNDLE_PREFIX}{taken_at.strftime(_NAME_TIME)}Z"


def parse_bundle_name(name: str) -> tuple[datetime, int] | None:
    """The snapshot time (UTC) and sequence a bundle's name encodes; None if not a bundle."""
    if not BUNDLE_PATTERN.fullmatch(name):
        return None
    stamp, _, sequence = name.removeprefix(BUNDLE_PREFIX).partition("Z")
    taken_at = datetime.strptime(stamp, _NAME_TIME).replace(tzinfo=UTC)
    return taken_at, int(sequence.lstrip("-") or 0)


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
    return moment.strftime(_UTC_TEXT)


def parse_utc_text(text: str) -> datetime:
    """A timestamp written by ``utc_text``, back as an aware UTC datetime."""
    return datetime.strptime(text, _UTC_TEXT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class FileDigest:
    file: str
    rows: int
    bytes: int
    sha256: str


class JsonArrayWriter:
    """Writes rows as a JSON array, one object per line, hashing as it goes.

    Rows arrive as JSON text one object per line (as COPY emits them), in chunks of whole
    lines. PostgreSQL escapes every newline inside a JSON value, so each newline of a chunk
    ends a row and the array's separators are added by one C-level replace per chunk, never
    per row in Python. A ``fragment`` is the rows of one part of a table without the array's
    brackets, appended to the table's file by ``extend`` once the parts before it are in.
    """

    def __init__(self, path: Path, *, fragment: bool = False) -> None:
        self.path = path
        self.fragment = fragment
        self._file = GrowingFile(path)
        self._hash = None if fragment else hashlib.sha256()
        self.rows = 0
        self.bytes = 0
        if not fragment:
            self._put(b"[")

    def _put(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)
        if self._hash is not None:
            self._hash.update(data)
        self.bytes += len(data)

    def _separate(self) -> None:
        """What goes before the next rows: the array's first newline, or a row separator."""
        if self.rows:
            self._put(b",\n")
        elif not self.fragment:
            self._put(b"\n")

    def write_chunk(self, lines: bytes | bytearray, rows: int | None = None) -> None:
        """Append rows given as JSON objects each ending in a newline (``rows`` of them)."""
        if not lines:
            return
        self._separate()
        self._put(memoryview(lines.replace(b"\n", b",\n"))[:-2])
        self.rows += lines.count(b"\n") if rows is None else rows

    def extend(self, fragment: FileDigest, directory: Path) -> None:
        """Append a closed fragment's rows (hashing them in order), then delete the fragment."""
        path = directory / fragment.file
        if fragment.rows:
            self._separate()
            for block in read_blocks(path):
                self._put(block)
            self.rows += fragment.rows
        path.unlink()

    def close(self) -> FileDigest:
        """Finish the file. A large one is made durable now, while other tables are still
        being read; small ones are made durable together by ``publish``."""
        if self.fragment:
            self._file.close()
            return FileDigest(self.path.name, self.rows, self.bytes, "")
        self._put(b"\n]\n")
        self._file.close(sync=self.bytes > RESERVE_FROM)
        assert self._hash is not None
        return FileDigest(self.path.name, self.rows, self.bytes, self._hash.hexdigest())

    def abort(self) -> None:
        self._file.abort()


class JsonArrayReader:
    """Reads a table file back as chunks of rows, one JSON object per line, as written.

    Iterating yields the rows; afterwards ``bytes``, ``sha256`` and ``rows`` describe the whole
    file and ``framing_error`` says why it is not an array of one object per line, if it is not.
    The last line read is held back until the next chunk so the closing bracket never reaches
    a caller as a row.
    """

    def __init__(self, path: Path, chunk_bytes: int = _READ_CHUNK) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.bytes = 0
        self.rows = 0
        self.sha256 = ""
        self.framing_error: str | None = None

    def measure(self) -> None:
        """Read the whole file for its size, sha256, rows and framing, unframing no rows.

        The checks before publication read every staged file this way: one reused buffer,
        and per block only C-level hashing and counting, no copy of the rows.
        """
        digest = hashlib.sha256()
        newlines = separators = 0
        head = tail = b""
        with open(self.path, "rb", buffering=0) as handle:
            buffer = _read_buffer(handle.fileno(), self.chunk_bytes)
            view = memoryview(buffer)
            while size := handle.readinto(buffer):
                digest.update(view[:size])
                newlines += buffer.count(b"\n", 0, size)
                separators += buffer.count(b",\n", 0, size)
                if tail.endswith(b",") and buffer[0] == 0x0A:  # a separator across blocks
                    separators += 1
                head = head or bytes(buffer[:2])
                tail = (tail + bytes(buffer[max(0, size - 4) : size]))[-4:]
                self.bytes += size
        self.sha256 = digest.hexdigest()
        self.rows = newlines - 2 if head == b"[\n" and newlines >= 2 else 0
        last_has_comma = tail == b",\n]\n"
        self.framing_error = _framing_error(head, tail[-2:], self.rows, separators, last_has_comma)

    def __iter__(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        separators, last_has_comma, carry = 0, False, b""
        with open(self.path, "rb") as handle:
            head = handle.read(2)
            digest.update(head)
            self.bytes = len(head)
            while block := handle.read(self.chunk_bytes):
                digest.update(block)
                self.bytes += len(block)
                if head != b"[\n":
                    continue
                data = carry + block
                cut = data.rfind(b"\n", 0, len(data) - 1) + 1
                lines, carry = data[:cut], data[cut:]
                if lines:
                    self.rows += lines.count(b"\n")
                    separators += lines.count(b",\n")
                    last_has_comma = lines.endswith(b",\n")
                    yield lines.replace(b",\n", b"\n")
        self.sha256 = digest.hexdigest()
        self.framing_error = _framing_error(head, carry, self.rows, separators, last_has_comma)


def _framing_error(
    head: bytes, tail: bytes, rows: int, separators: int, last_has_comma: bool
) -> str | None:
    if head != b"[\n" or tail != b"]\n":
        return "not a JSON array opened by '[' and closed by ']' on lines of their own"
    if rows and (rows - separators != 1 or last_has_comma):
        return "rows are not separated by exactly one comma at the end of each line but the last"
    return None


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


def _read_buffer(fd: int, limit: int) -> bytearray:
    """A buffer to read the open file ``fd`` through: ``limit`` bytes, or fewer for a file
    smaller than that (its size, at least 4 KiB).

    A new buffer is zeroed in full, so one of 4 MiB for a file of 300 bytes cost most of the
    time of checking a small organization's files. A file that grows after the size is taken
    is still read whole, in more reads.
    """
    return bytearray(min(limit, max(_MIN_READ, os.fstat(fd).st_size)))


def read_blocks(path: Path, block_bytes: int = _READ_CHUNK) -> Iterator[memoryview]:
    """The file's bytes in order, as views of one reused buffer (valid until the next)."""
    with open(path, "rb", buffering=0) as handle:
        buffer = _read_buffer(handle.fileno(), block_bytes)
        view = memoryview(buffer)
        while size := handle.readinto(buffer):
            yield view[:size]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    for block in read_blocks(path):
        digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(directory: Path) -> None:
    """Make every file under ``directory`` and the directories themselves durable.

    Several at once: the filesystem then commits them in a few journal transactions instead
    of one each, and a small organization's thirty-odd files sync in a fraction of the time
    they take one after another (docs/performance.md).
    """
    paths = []
    for parent, _, names in os.walk(directory):  # links are not followed, nor synced
        paths.append(parent)
        paths += [p for n in names if not os.path.islink(p := os.path.join(parent, n))]
    with ThreadPoolExecutor(max_workers=_SYNC_THREADS) as pool:
        list(pool.map(_fsync_file, paths))


def publish(staging: Path, manifest: dict[str, Any], destination: Path) -> Path:
    """Make staging durable, write the manifest into it and rename it to its final name,
    atomically: a bundle under its final name is complete on disk."""
    if destination.exists():
        raise FileExistsError(f"bundle {destination} already exists")
    sync_tree(staging)
    write_json(staging / MANIFEST, manifest)
    (staging / STATE_FILE).unlink(missing_ok=True)
    _fsync_dir(staging)
    os.rename(staging, destination)
    _fsync_dir(destination.parent)
    return destination


def discard(staging: Path) -> None:
    """Remove a staging directory after a failure; nothing of it may look like a bundle."""
    shutil.rmtree(staging, ignore_errors=True)
