"""Split a large table's export into primary-key ranges read side by side.

One connection reading a million messages sets an export's wall time while the other
connections sit idle, and one sort of all its rows outgrows ``work_mem``. A table whose
primary key is one uuid column is therefore cut into contiguous ranges of the key: each
range is one task on the shared snapshot (its own query, sort, scan and files), and the
ranges' files are joined in key order afterwards, so the table file is byte for byte what
one query would have written. Only tables whose organization filter is cheap to repeat are
split (see ``splittable``). Keys are random (``gen_random_uuid()``), so equal slices of
the key space hold about equal numbers of rows and no sampling query is needed; were they
not, the output would still be exact, only less parallel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ocomms_pipeline import catalog
from ocomms_pipeline.catalog import AnyOf, ColumnType, InOrganization, Table, ThroughParent

_KEY_SPACE = 1 << 128


@dataclass(frozen=True)
class KeyRange:
    """Part ``index`` of ``count``: keys in [lower, upper), None meaning unbounded."""

    index: int = 0
    count: int = 1
    lower: str | None = None
    upper: str | None = None

    @property
    def whole(self) -> bool:
        return self.count == 1


WHOLE = KeyRange()


@dataclass(frozen=True)
class PartPolicy:
    """When a table is split, and into how many ranges.

    Tables under ``min_bytes`` on disk are read whole: a second scan of a small table costs
    more than it saves. Above it, a table gets one range per connection, and more when a
    range would exceed ``part_bytes`` (so that each range's sort stays in memory).
    """

    min_bytes: int = 32 << 20
    part_bytes: int = 256 << 20
    max_parts: int = 8

    def ranges(self, table: Table, relation_bytes: int, connections: int) -> list[KeyRange]:
        if connections < 2 or not splittable(table) or relation_bytes < self.min_bytes:
            return [WHOLE]
        wanted = max(connections, -(-relation_bytes // self.part_bytes))
        return uuid_ranges(min(wanted, self.max_parts))


DEFAULT_PARTS = PartPolicy()


def splittable(table: Table) -> bool:
    """A one-column uuid key, and a scope that costs nothing to evaluate twice.

    Each range is its own query, so the table's organization filter runs once per range.
    That is free when the filter looks up the organization's channels or conversations, but
    reactions or thread participants are scoped through messages, and each range would
    scan the organization's million messages again.
    """
    key_is_uuid = (
        len(table.primary_key) == 1
        and table.columns_by_name[table.primary_key[0]].type is ColumnType.UUID
    )
    return key_is_uuid and scope_is_direct(table)


def scope_is_direct(table: Table) -> bool:
    """The table's rows are found from the organization's own rows or one table below them."""
    scope = table.scope
    paths = scope.paths if isinstance(scope, AnyOf) else (scope,)
    return all(
        isinstance(path, InOrganization)
        or (
            isinstance(path, ThroughParent)
            and isinstance(catalog.table(path.parent).scope, InOrganization)
        )
        for path in paths
    )


def uuid_ranges(count: int) -> list[KeyRange]:
    """``count`` ranges of equal width covering every uuid, in key order."""
    inner = [str(uuid.UUID(int=n * _KEY_SPACE // count)) for n in range(1, count)]
    bounds = [None, *inner, None]
    return [KeyRange(n, count, bounds[n], bounds[n + 1]) for n in range(count)]
