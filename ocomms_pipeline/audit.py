"""Entries in ocomms's own admin audit log, so owners see pipeline exports beside their events.

ocomms writes JSON Lines files named for the UTC day (``YYYY-MM-DD.jsonl``) into one directory.
Each line is an object with ``timestamp`` (JavaScript ``toISOString()``: milliseconds and
``Z``), ``eventType``, ``userId``, ``organizationId``, ``details``, ``previousHash`` (the
``hash`` of the file's previous line, absent on a file's first line) and ``hash``: the hex
HMAC-SHA256, keyed with ``AUDIT_LOG_SECRET``, of the compact JSON text of
``{"timestamp","eventType","userId","organizationId","previousHash"}`` in exactly that order.

That text is what ``JSON.stringify`` produces in ocomms: no spaces, non-ASCII left as it is,
``null`` kept for ``userId``/``organizationId``, and ``previousHash`` *omitted* on a first line
(the value is ``undefined`` there, and ``JSON.stringify`` drops undefined keys), so it is
omitted from the hashed text too. ``details`` is not covered by the hash, as in ocomms.

Writers from several processes (sensor evaluations of two code servers, say) take an
exclusive ``flock`` on the day's file around read-last-hash-and-append, so the chain stays
linear. ``flock`` is advisory and local: every writer must be this module or take the same lock,
and the directory must not be on a filesystem without working ``flock`` (some NFS setups).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXPORT_EVENT = "ADMIN_EXPORT_DATA"
AUTHZ_FAILURE = "AUTHZ_FAILURE"
FILE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}\.jsonl")
_HASHED_KEYS = ("timestamp", "eventType", "userId", "organizationId", "previousHash")
_TAIL_CHUNK = 1 << 16


class AuditError(Exception):
    """The audit log cannot be appended to safely (damaged last line, unwritable directory)."""


def js_timestamp(moment: datetime) -> str:
    """``moment`` as JavaScript's ``Date.prototype.toISOString()`` writes it (ms, truncated)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def compact_json(value: Any) -> str:
    """``JSON.stringify(value)`` for the values audit lines hold (strings, null, objects)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def hashed_text(entry: dict[str, Any]) -> str:
    """The text ocomms hashes: the five keys in this order, each one only if the entry has it.

    A key the entry lacks was ``undefined`` in ocomms, which ``JSON.stringify`` leaves out of
    both the line and the hashed text; ``null`` is kept in both.
    """
    return compact_json({key: entry[key] for key in _HASHED_KEYS if key in entry})


def entry_hash(secret: str, entry: dict[str, Any]) -> str:
    return hmac.new(secret.encode(), hashed_text(entry).encode(), hashlib.sha256).hexdigest()


def day_file(directory: Path, moment: datetime) -> Path:
    return directory / f"{moment.astimezone(UTC):%Y-%m-%d}.jsonl"


def _last_line(handle: Any) -> bytes | None:
    """The last non-blank line of an open binary file, read backwards from its end."""
    end = handle.seek(0, os.SEEK_END)
    tail = b""
    position = end
    while position > 0:
        step = min(_TAIL_CHUNK, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
        stripped = tail.rstrip(b"\r\n \t")
        if b"\n" in stripped or (position == 0 and stripped):
            return stripped.rsplit(b"\n", 1)[-1]
    return None


def _previous_hash(handle: Any, path: Path) -> str | None:
    line = _last_line(handle)
    if line is None:
        return None
    try:
        previous = json.loads(line)
        return str(previous["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"{path.name} ends with a damaged line; not appending to it") from None


def _ends_with_newline(handle: Any) -> bool:
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return True
    handle.seek(end - 1)
    return handle.read(1) == b"\n"


def append(
    directory: Path,
    secret: str,
    event_type: str,
    user_id: str | None,
    organization_id: str | None,
    details: dict[str, Any],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Append one entry to today's file, chained to its last line; return the entry written."""
    if not secret:
        raise AuditError("AUDIT_LOG_SECRET is empty: audit entries could not be verified")
    moment = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    # 0o666 under the umask, as Node's appendFileSync creates files: ocomms appends to the
    # day's file after us and must be able to.
    path = day_file(directory, moment)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            entry: dict[str, Any] = {
                "timestamp": js_timestamp(moment),
                "eventType": event_type,
                "userId": user_id,
                "organizationId": organization_id,
                "details": details,
            }
            previous = _previous_hash(handle, path)
            if previous is not None:
                entry["previousHash"] = previous
            entry["hash"] = entry_hash(secret, entry)
            prefix = b"" if _ends_with_newline(handle) else b"\n"
            handle.write(prefix + (compact_json(entry) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return entry


@dataclass(frozen=True)
class Problem:
    """The first line that does not verify: where, and what is wrong with it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Verification:
    files: int
    entries: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8", errors="strict", newline="\n") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _check_line(secret: str, text: str, previous: str | None) -> tuple[str | None, str | None]:
    """(hash of the line, problem) for one line given the previous line's hash."""
    try:
        entry = json.loads(text)
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
        return None, "not an audit entry (no hash)"
    missing = [k for k in ("timestamp", "eventType") if not isinstance(entry.get(k), str)]
    if missing:
        return None, f"missing {', '.join(missing)}"
    if entry.get("previousHash") != previous:
        if previous is None:
            return None, "previousHash on the first line: lines before it are missing"
        return None, "previousHash does not match the previous line's hash: chain broken"
    if not hmac.compare_digest(entry_hash(secret, entry), entry["hash"]):
        return None, "hash does not match the entry: modified, or another secret"
    return entry["hash"], None


def verify_file(path: Path, secret: str) -> tuple[int, Problem | None]:
    previous: str | None = None
    count = 0
    try:
        for number, text in _lines(path):
            previous, message = _check_line(secret, text, previous)
            if message is not None:
                return count, Problem(path.name, number, message)
            count += 1
    except UnicodeDecodeError as error:
        return count, Problem(path.name, count + 1, f"not UTF-8 ({error.reason})")
    return count, None


def verify(directory: Path, secret: str) -> Verification:
    """Check every day file's chain; report the first line, in file order, that fails."""
    files = sorted(p for p in Path(directory).iterdir() if FILE_PATTERN.fullmatch(p.name))
    entries = 0
    for index, path in enumerate(files):
        count, problem = verify_file(path, secret)
        entries += count
        if problem is not None:
            return Verification(index + 1, entries, problem)
    return Verification(len(files), entries, None)
