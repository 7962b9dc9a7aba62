"""Which users an export carries: some found before the tables stream, the rest from them.

Users are global, so an organization's users are whoever its rows mention (members, authors,
reactions, notifications...). The tables whose filter needs them (users, profiles, statuses)
are read last, once every other table is in; the secret check needs their secrets while the
other tables stream. Most users are found up front by cheap queries (members, authors,
channel members). The users of tables scoped through a large parent (reactions, thread
followers, notifications: each query scans and hashes the organization's million messages
again) are taken from those tables' rows as they stream (``TableScan.user_ids``) instead:
at a million messages those queries held back every table (docs/performance.md).

A user found only from the streamed rows may have secrets the check did not know while the
files were written: the files written by then are read back for those secrets, which costs
a read of the bundle only when there are such secrets.
"""

from __future__ import annotations

from functools import cache, partial
from pathlib import Path
from typing import Any

from ocomms_pipeline import catalog
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.state import TableResult
from ocomms_pipeline.checks.findings import Problem
from ocomms_pipeline.checks.row_scan import SecretValues, TableScan
from ocomms_pipeline.export import scoping
from ocomms_pipeline.export.key_ranges import scope_is_direct
from ocomms_pipeline.export.shared_snapshots import SharedSnapshots
from ocomms_pipeline.postgres.snapshots import Snapshot


@cache
def streamed_tables() -> frozenset[str]:
    """Tables whose users come from their streamed rows, not from a query of their own."""
    return frozenset(
        t.name
        for t in catalog.exported_tables()
        if not scope_is_direct(t)
        and not scoping.uses_users(t)
        and any(c.references == catalog.USERS_TABLE for c in t.exported_columns)
    )


def _distinct_ids(snapshot: Snapshot, query: str, params: dict[str, Any]) -> set[str]:
    return {row[0] for row in snapshot.fetch_all(query, params) if row[0] is not None}


def early_users(
    pool: SharedSnapshots, organization_id: str, probed: frozenset[str] = frozenset()
) -> set[str]:
    """The users that the organization's rows outside ``streamed_tables`` mention.

    With several connections the per-table queries run side by side; with one, they go as
    one query, one round trip instead of twenty (a small organization's are each little
    work, so the round trips would dominate).
    """
    params = {"org": organization_id}
    parts = scoping.referenced_users_parts(probed, skipped=streamed_tables())
    if len(pool.snapshots) == 1:
        return _distinct_ids(pool.main, " UNION ALL ".join(f"({q})" for q in parts), params)
    tasks = [partial(_distinct_ids, query=q, params=params) for q in parts]
    return set().union(*pool.map(tasks))


def in_order(users: set[str]) -> list[str]:
    """Sorted bytewise (COLLATE "C" order): Python orders str by code point, as UTF-8 does."""
    return sorted(users)


def new_secrets(known: SecretValues, found: SecretValues) -> SecretValues:
    """The secrets of ``found`` that ``known`` did not hold."""
    pairs = [(o, v) for v, o in found.origins.items() if v not in known.origins]
    return SecretValues.of(pairs)


def rescan(staging: Path, results: list[TableResult], secrets: SecretValues) -> list[Problem]:
    """Look for ``secrets`` in the JSON files already written, as the export's scan would.

    The files are the export's own, so their framing and keys were checked as they were
    written; only the values are read again.
    """
    problems: list[Problem] = []
    if len(secrets.values) == 0:
        return problems
    for result in results:
        table = catalog.table(result.table)
        scan = TableScan(table, secrets=secrets, spill=None, strings_only=True)
        for lines in bundle.JsonArrayReader(staging / result.file):
            scan.feed(lines)
        problems += scan.finish()
    return problems
