"""Entries in ocomms's own admin audit log, so owners see pipeline exports beside their events.

ocomms writes JSON Lines files named for the UTC day (``YYYY-MM-DD.jsonl``) into one directory.
Each line is an object with ``timestamp`` (JavaScript ``toISOString()``: milliseconds and
``Z``), ``eventType``, ``userId``, ``organizationId``, ``details``, ``previousHash`` (the
``hash`` of the file's previous line) and ``hash``. The rule is ocomms's ``computeEntryHash``
(``src/lib/audit-integrity.ts``): ``hash`` is the hex HMAC-SHA256, keyed with
``AUDIT_LOG_SECRET``, of ``JSON.stringify({timestamp, eventType, userId: userId || null,
organizationId: organizationId || null, previousHash})``, where ``previousHash`` is the
empty string when there is no previous hash. So the hashed text always holds all five keys,
with ``"previousHash":""`` on a file's first line, while the stored line leaves
``previousHash`` out there (ocomms writes ``previousHash || undefined``). ``details`` is not
covered by the hash, as in ocomms.

ocomms's logger starts a new chain (no ``previousHash``) whenever the file's last line has no
hash, and its viewer's ``verifyChain`` skips lines without a hash and checks each other line
alone, with ``entry.previousHash || ''``. ``verify`` here follows that and adds the link check
ocomms lacks: every ``previousHash`` must be the hash of the file's previous hashed line, and a
line may go without one only at the start of a file or right after a line without a hash.

Writers from several processes (sensor evaluations of two code servers, say) take an
exclusive ``flock`` on the day's file around read-last-hash-and-append, so the chain stays
linear. ``flock`` is advisory and local: every writer must be this module or take the same lock,
and the directory must not be on a filesystem without working ``flock`` (some NFS setups).
ocomms itself takes no lock, so an ocomms append racing a pipeline append can still fork the
chain; ``verify`` then reports the line that lost.
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
from typing import Any, Protocol

EXPORT_EVENT = "ADMIN_EXPORT_DATA"
AUTHZ_FAILURE = "AUTHZ_FAILURE"
FILE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}\.jsonl")
_TAIL_CHUNK = 1 << 16
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class AuditAppender(Protocol):
    """Whatever appends decisions to the audit log (the Dagster resource, a test's writer)."""

    def append(
        self,
        event_type: str,
        user_id: str | None,
        organization_id: str | None,
        details: dict[str, Any],
    ) -> dict[str, Any]: ...


SOURCE = "ocomms-pipeline"  # details.source of every entry this project writes


class DirectoryLog:
    """The audit log as a directory and the chain's key: what every writer here appends to."""

    def __init__(self, directory: Path, secret: str) -> None:
        self.directory = directory
        self.secret = secret

    def append(
        self,
        event_type: str,
        user_id: str | None,
        organization_id: str | None,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        return append(self.directory, self.secret, event_type, user_id, organization_id, details)


class AuditError(Exception):
    """The audit log cannot be appended to safely (damaged last line, unwritable directory)."""


def js_timestamp(moment: datetime) -> str:
    """``moment`` as JavaScript's ``Date.prototype.toISOString()`` writes it (ms, truncated)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def compact_json(value: Any) -> str:
    """``JSON.stringify(value)`` for the values audit lines hold (strings, null, objects).

    ``json.dumps`` already escapes what ``JSON.stringify`` escapes (quotes, backslashes,
    control characters as ``\\u00xx``) and leaves U+2028 and non-ASCII as they are; only lone
    surrogates differ: JavaScript writes them as ``\\udxxx`` escapes, where Python would write
    the code point itself and then fail to encode the text as UTF-8.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _js_truthy(value: Any) -> bool:
    """JavaScript's truthiness for a JSON value: ``[]`` and ``{}`` are true there, unlike here."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True


def _js_or(value: Any, fallback: Any) -> Any:
    """JavaScript's ``value || fallback``, which ocomms applies to ids and previousHash."""
    return value if _js_truthy(value) else fallback


def hashed_text(entry: dict[str, Any]) -> str:
    """The text ocomms's ``computeEntryHash`` hashes for ``entry``, as ``verifyChain`` calls it.

    ``previousHash`` is always there, ``""`` when the entry has none: ocomms hashes the value
    ``getLastEntryHash`` returned (``""`` for a new file) and ``verifyChain`` passes
    ``entry.previousHash || ''``. Absent or empty ids become ``null`` (``userId || null``).
    A missing ``timestamp`` or ``eventType`` is ``undefined`` in JavaScript and so left out.
    """
    subject = {key: entry[key] for key in ("timestamp", "eventType") if key in entry}
    subject["userId"] = _js_or(entry.get("userId"), None)
    subject["organizationId"] = _js_or(entry.get("organizationId"), None)
    subject["previousHash"] = _js_or(entry.get("previousHash"), "")
    return compact_json(subject)


def entry_hash(secret: str, entry: dict[str, Any]) -> str:
    """The ``hash`` ocomms computes for ``entry`` with ``AUDIT_LOG_SECRET`` = ``secret``."""
    return hmac.new(secret.encode(), hashed_text(entry).encode(), hashlib.sha256).hexdigest()


def day_file(directory: Path, moment: datetime) -> Path:
    """The file ocomms would write at ``moment``: it names files for the UTC day."""
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


def _reject_constant(name: str) -> Any:
    """``JSON.parse`` has no NaN or Infinity, so a line holding one is not JSON to ocomms."""
    raise ValueError(f"{name} is not JSON")


def _parse(line: str | bytes) -> Any:
    return json.loads(line, parse_constant=_reject_constant)


def _previous_hash(handle: Any, path: Path) -> str:
    """The hash to chain a new line to: ``""`` (a new chain) when ocomms would start one too.

    ocomms starts a new chain after a last line without a hash (written while its secret was
    unset), and we do the same. It also starts one after a line it cannot parse, silently;
    we refuse instead, so that damage is looked at before it is buried under new lines.
    """
    line = _last_line(handle)
    if line is None:
        return ""
    try:
        previous = _parse(line)
    except ValueError:
        raise _damaged(path, "not valid JSON") from None
    if not isinstance(previous, dict):
        raise _damaged(path, "not a JSON object")
    value = previous.get("hash")
    if not _js_truthy(value):
        return ""
    if not isinstance(value, str):
        raise _damaged(path, "its hash is not a string")
    return value


def _damaged(path: Path, why: str) -> AuditError:
    return AuditError(f"{path.name} ends with a damaged line ({why}); not appending after it")


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
    """Append one entry to today's file, chained to its last line; return the entry written.

    The line holds ``previousHash`` only when there is one, as ocomms's lines do, so that a
    file we start looks like a file ocomms starts; the hash covers ``""`` in its place.
    """
    if not secret:
        raise AuditError("AUDIT_LOG_SECRET is empty: audit entries could not be verified")
    moment = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    # 0o666 under the umask, as Node's appendFile creates files: ocomms appends to the
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
            if previous:
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
    """What ``verify`` saw: files read, hashed entries verified, lines without a hash skipped.

    On a problem the counts stop at the line before it.
    """

    files: int
    entries: int
    problem: Problem | None
    unhashed: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class _Chain:
    """Where a file's chain stands: the last hashed line's hash, and whether a line without a
    hash came right after it (ocomms then starts a new chain, so no previousHash is due)."""

    last_hash: str | None = None
    after_unhashed: bool = False
    entries: int = 0
    unhashed: int = 0


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _entry_problem(entry: dict[str, Any]) -> str | None:
    """Shapes ocomms never writes, refused so that hashing them needs no guess at JavaScript."""
    missing = [k for k in ("timestamp", "eventType") if not isinstance(entry.get(k), str)]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(entry["hash"], str):
        return "hash is not a string"
    odd = [
        k
        for k in ("userId", "organizationId", "previousHash")
        if entry.get(k) is not None and not isinstance(entry[k], str)
    ]
    if odd:
        return f"{', '.join(odd)} neither a string nor null"
    return None


def _link_problem(chain: _Chain, previous: str) -> str | None:
    """The stricter check ocomms's ``verifyChain`` lacks: each line names the line before."""
    if previous:
        if chain.last_hash is None:
            return "previousHash on the first hashed line: lines before it are missing"
        if previous != chain.last_hash:
            return "previousHash does not match the previous line's hash: chain broken"
    elif chain.last_hash is not None and not chain.after_unhashed:
        return "no previousHash after a hashed line: chain broken"
    return None


def _check_line(secret: str, raw: bytes, chain: _Chain) -> str | None:
    """Check one line against the chain so far and advance it; the problem, if any."""
    try:
        entry = _parse(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        return f"not UTF-8 ({error.reason})"
    except ValueError:
        return "not valid JSON"
    if not isinstance(entry, dict):
        return "not an audit entry (not a JSON object)"
    if not _js_truthy(entry.get("hash")):
        # ocomms's verifyChain skips these (written while its secret was unset), and its
        # logger starts a new chain after one.
        chain.unhashed += 1
        chain.after_unhashed = True
        return None
    problem = _entry_problem(entry) or _link_problem(chain, entry.get("previousHash") or "")
    if problem is not None:
        return problem
    expected = entry_hash(secret, entry)
    if not hmac.compare_digest(expected.encode(), entry["hash"].encode()):
        return "hash does not match the entry: modified, or another secret"
    chain.last_hash, chain.after_unhashed = entry["hash"], False
    chain.entries += 1
    return None


def verify_file(path: Path, secret: str) -> tuple[int, Problem | None, int]:
    """(hashed entries verified, first problem, lines without a hash) of one day file."""
    chain = _Chain()
    for number, raw in _lines(path):
        message = _check_line(secret, raw, chain)
        if message is not None:
            return chain.entries, Problem(path.name, number, message), chain.unhashed
    return chain.entries, None, chain.unhashed


def verify(directory: Path, secret: str) -> Verification:
    """Check every day file's chain; report the first line, in file order, that fails."""
    files = sorted(p for p in Path(directory).iterdir() if FILE_PATTERN.fullmatch(p.name))
    entries = unhashed = 0
    for index, path in enumerate(files):
        count, problem, skipped = verify_file(path, secret)
        entries += count
        unhashed += skipped
        if problem is not None:
            return Verification(index + 1, entries, problem, unhashed)
    return Verification(len(files), entries, None, unhashed)
