"""The rows of the sample dataset as they are built, before one insertion in key order.

Kept apart from ``data`` (which seeds a database) so that the modules building each part of
the dataset need only this, and ``data`` imports them without a cycle.
"""

from __future__ import annotations

import hashlib
import string
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

NANOID_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "_-"
NANOID_LENGTH = 24
CANARY = "CANARY"
INTERNAL_MARK = "INTERNALJOB"
# Every timestamp carries microseconds so that truncation to milliseconds (JavaScript Dates,
# some JSON encoders) shows up as a changed value.
BASE_TIME = datetime(2026, 1, 18, 10, 45, 40, 123456)
_CLOCK_STEP = timedelta(seconds=97, microseconds=1_111)
_UUID_NAMESPACE = uuid.UUID("6f1c3a52-8a9e-4a43-9d39-0c0c0a11e5ed")


def nanoid(seed: str, prefix: str = "") -> str:
    """A 24-character nanoid derived from `seed`; 64 symbols map bytes without bias."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    body = "".join(NANOID_ALPHABET[byte % len(NANOID_ALPHABET)] for byte in digest)
    return (prefix + body)[:NANOID_LENGTH]


def stable_uuid(key: str) -> uuid.UUID:
    """A uuid derived from `key`, standing in for ocomms's gen_random_uuid()."""
    return uuid.uuid5(_UUID_NAMESPACE, key)


class Rows:
    """Rows per table in creation order, plus the bookkeeping SampleData reports.

    Building everything in memory first lets replies bump their parent's reply_count and
    keeps insertion a separate concern, done once in foreign-key order.
    """

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.columns = {
            t["name"]: {c["name"]: c["type"] for c in t["columns"].values()}
            for t in snapshot["tables"].values()
        }
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.org_counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.canaries: dict[str, list[str]] = defaultdict(list)
        self.internal: dict[str, list[str]] = defaultdict(list)
        self._ticks = 0

    nanoid = staticmethod(nanoid)
    stable_uuid = staticmethod(stable_uuid)

    def now(self) -> datetime:
        """The next instant of a fixed clock: rows get increasing, distinct timestamps."""
        self._ticks += 1
        return BASE_TIME + self._ticks * _CLOCK_STEP

    def add(self, table: str, org: str | None = None, **values: Any) -> dict[str, Any]:
        """Record a row; uuid ids are derived from the table and position when not given."""
        unknown = set(values) - set(self.columns[table])
        if unknown:
            raise KeyError(f"{table} has no columns {sorted(unknown)}")
        if "id" not in values and self.columns[table].get("id") == "uuid":
            values = {"id": stable_uuid(f"{table}/{len(self.tables[table])}"), **values}
        self.tables[table].append(values)
        if org is not None:
            self.org_counts[org][table] += 1
        return values

    def secret(self, column: str, key: str) -> str:
        """A unique canary for a secret column ("table.column"), recorded for leak checks."""
        value = f"{CANARY}-{column.replace('.', '-')}-{key}"
        self.canaries[column].append(value)
        return value

    def job_id(self, column: str, key: str) -> str:
        """A queue job id: internal plumbing that must not be exported."""
        value = f"{INTERNAL_MARK}-{column.replace('.', '-')}-{key}"
        self.internal[column].append(value)
        return value
