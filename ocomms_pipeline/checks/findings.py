"""What the bundle checks can find: the four checks every table gets, and their problems.

Shared by the export (which scans rows as they stream), the Dagster asset checks (which
report them per table) and ``ocomms-pipeline verify`` (which scans a bundle on disk), so a
problem reads the same wherever it is found.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

EXAMPLE_ROWS = 3


class Check(StrEnum):
    ROW_COUNT = "row_count"
    EXPORTED_COLUMNS_ONLY = "exported_columns_only"
    REFERENCES_RESOLVE = "references_resolve"
    FILE_CHECKSUMS = "file_checksums"


DESCRIPTIONS: dict[Check, str] = {
    Check.ROW_COUNT: "The table's files hold as many rows as the manifest says, and the export "
    "snapshot holds for the organization; the JSON file is an array of one object per line.",
    Check.EXPORTED_COLUMNS_ONLY: "Every row has exactly the catalog's exported columns, in "
    "order: no excluded or unknown column, no value of a secret column, values of their type.",
    Check.REFERENCES_RESOLVE: "Every id the table's rows point at (users, channels, "
    "conversations, messages, ...) is a row of the bundle.",
    Check.FILE_CHECKSUMS: "The size and sha256 of the table's files match the manifest.",
}


@dataclass(frozen=True)
class Problem:
    """One failed check of one table, as a one-line reason."""

    table: str
    check: Check
    reason: str

    def line(self) -> str:
        return f"{self.table}: {self.check}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(data["table"], Check(data["check"]), data["reason"])


class RowFaults:
    """Row-level faults of one table, kept as a count and a few row numbers per kind."""

    def __init__(self, table: str) -> None:
        self.table = table
        self._rows: dict[tuple[Check, str], list[int]] = defaultdict(list)
        self._counts: dict[tuple[Check, str], int] = defaultdict(int)

    def add(self, check: Check, what: str, *rows: int) -> None:
        """Record that ``rows`` (1-based row numbers of the table) have the fault ``what``."""
        key = (check, what)
        self._counts[key] += len(rows)
        room = EXAMPLE_ROWS - len(self._rows[key])
        self._rows[key].extend(rows[: max(room, 0)])

    def extend(self, other: RowFaults, offset: int) -> None:
        """Take in the faults of a later part of the table, whose row 1 is row ``offset + 1``."""
        for key, count in other._counts.items():
            self._counts[key] += count - len(other._rows[key])
            self.add(key[0], key[1], *(offset + r for r in other._rows[key]))

    def problems(self) -> list[Problem]:
        found = []
        for (check, what), count in self._counts.items():
            rows = ", ".join(str(r) for r in self._rows[(check, what)])
            more = f" and {count - EXAMPLE_ROWS:,} more" if count > EXAMPLE_ROWS else ""
            found.append(Problem(self.table, check, f"{what} (row {rows}{more})"))
        return found
