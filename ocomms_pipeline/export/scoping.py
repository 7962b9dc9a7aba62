"""Compile catalog scopes into SQL.

The queries are generated, never hand-written per table, so a table's organization filter is
exactly what the catalog declares and the same predicate serves the export and the
referenced-user closure. Two parameters are bound:
``%(org)s`` (the organization id) and ``%(users)s`` (the ids of users the export references).
"""

from __future__ import annotations

from ocomms_pipeline import catalog
from ocomms_pipeline.catalog import (
    AnyOf,
    Column,
    ColumnType,
    InOrganization,
    NotExported,
    ReferencedBy,
    ReferencedUsers,
    Table,
    ThroughParent,
    Treatment,
)
from ocomms_pipeline.export.key_ranges import WHOLE, KeyRange
from ocomms_pipeline.postgres.quoting import literal, quote

TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def qualified(table: Table, column: str) -> str:
    return f"{quote(table.name)}.{quote(column)}"


def _path_predicate(
    table: Table, path: InOrganization | ThroughParent, *, alone: bool, probe: bool
) -> str:
    if isinstance(path, InOrganization):
        return f"{qualified(table, path.column)} = %(org)s"
    nulls = "".join(f" AND {qualified(table, c)} IS NULL" for c in path.only_when_null)
    parent = catalog.table(path.parent)
    if isinstance(parent.scope, InOrganization) or (alone and not probe):
        # Alone, IN becomes a semi-join; under an OR, a hashed subplan, which is right for a
        # parent as small as the organization's channels or conversations.
        return f"({qualified(table, path.column)} IN ({scoped_keys(parent)}){nulls})"
    if parent.name == table.name:
        raise ValueError(f"{table.name} cannot be scoped through itself")
    (key,) = parent.primary_key
    # Under an OR, IN on a large parent (a million messages) hashes every key of the parent
    # for a few thousand bookmarks, and past work_mem rescans the parent for every row.
    # EXISTS costs one primary-key probe per row instead, whatever the parent's size; its
    # OFFSET 0 keeps PostgreSQL from turning the probe back into a hash of the parent, and
    # the parent's own path to the organization is probed the same way.
    return (
        f"(EXISTS (SELECT 1 FROM {quote(parent.name)} WHERE {qualified(parent, key)} = "
        f"{qualified(table, path.column)} AND {row_predicate(parent, probe=True)} OFFSET 0)"
        f"{nulls})"
    )


def row_predicate(table: Table, *, probe: bool = False) -> str:
    """The WHERE clause that keeps exactly the table's rows of one organization.

    ``probe``: the clause is evaluated for one row at a time (inside an EXISTS), so paths
    through a large parent are primary-key probes rather than a scan of the parent.
    """
    scope = table.scope
    if isinstance(scope, InOrganization | ThroughParent):
        return _path_predicate(table, scope, alone=True, probe=probe)
    if isinstance(scope, AnyOf):
        paths = [_path_predicate(table, p, alone=False, probe=probe) for p in scope.paths]
        return "(" + " OR ".join(paths) + ")"
    if isinstance(scope, ReferencedUsers):
        return f"{qualified(table, scope.column)} = ANY(%(users)s::text[])"
    if isinstance(scope, ReferencedBy):
        source = catalog.table(scope.table)
        (key,) = table.primary_key
        return (
            f"{qualified(table, key)} IN (SELECT {qualified(source, scope.column)} "
            f"FROM {quote(source.name)} WHERE {row_predicate(source)})"
        )
    if isinstance(scope, NotExported):
        raise ValueError(f"{table.name} is never exported: {scope.reason}")
    raise TypeError(f"unknown scope {scope!r}")


def uses_users(table: Table) -> bool:
    """Whether the table's organization filter needs the referenced users (``%(users)s``)."""
    scope = table.scope
    if isinstance(scope, ReferencedUsers):
        return True
    if isinstance(scope, ReferencedBy):
        return uses_users(catalog.table(scope.table))
    paths = scope.paths if isinstance(scope, AnyOf) else (scope,)
    return any(isinstance(p, ThroughParent) and uses_users(catalog.table(p.parent)) for p in paths)


def scoped_keys(table: Table) -> str:
    (key,) = table.primary_key
    return f"SELECT {qualified(table, key)} FROM {quote(table.name)} WHERE {row_predicate(table)}"


PROBE_RATIO = 16


def probed_tables(relation_bytes: dict[str, int]) -> frozenset[str]:
    """Tables to scope by primary-key probes into their parent rather than by a semi-join.

    A semi-join scans and hashes the parent's organization rows, which is right for a million
    reactions of a million messages and wasteful for ten thousand link previews: below a
    sixteenth of the parent's size on disk, a probe per row costs less (at a third, as
    reactions are, probes took longer than the semi-join).
    """
    probed = set()
    for table in catalog.exported_tables():
        scope = table.scope
        if not isinstance(scope, ThroughParent):
            continue
        parent = catalog.table(scope.parent)
        if isinstance(parent.scope, InOrganization):
            continue
        own, parents = relation_bytes.get(table.name, 0), relation_bytes.get(parent.name, 0)
        if own * PROBE_RATIO < parents:
            probed.add(table.name)
    return frozenset(probed)


def _user_ids_select(table: Table, columns: list[str], probe: bool) -> str:
    if len(columns) == 1:
        selected, source = qualified(table, columns[0]), quote(table.name)
    else:
        values = ", ".join(f"({qualified(table, c)})" for c in columns)
        selected = "u.user_id"
        source = f"{quote(table.name)} CROSS JOIN LATERAL (VALUES {values}) u(user_id)"
    where = row_predicate(table, probe=probe)
    return f"SELECT DISTINCT {selected} AS user_id FROM {source} WHERE {where}"


def referenced_users_parts(
    probed: frozenset[str] = frozenset(), skipped: frozenset[str] = frozenset()
) -> list[str]:
    """One query per table that points at users: the distinct ids its org rows hold.

    Users are global, so the organization's users are not a filter on ``users``: they are
    whoever its members, messages, reactions, invitations... mention. The parts are
    independent, so an export runs them side by side on its shared-snapshot connections.
    A table with several such columns (a notification's recipient and actor) is read once
    for all of them. DISTINCT per part: a million messages name a few hundred authors.
    ``skipped`` tables get no part (their users are taken from their rows as they stream).
    """
    parts = []
    for table in catalog.exported_tables():
        if isinstance(table.scope, ReferencedUsers) or table.name in skipped:
            continue
        columns = [c.name for c in table.exported_columns if c.references == catalog.USERS_TABLE]
        if columns:
            parts.append(_user_ids_select(table, columns, table.name in probed))
    return parts


def referenced_users_query() -> str:
    """Every user id an exported row of the organization points at, in a stable order."""
    union = " UNION ".join(referenced_users_parts())
    return f'SELECT user_id FROM ({union}) u WHERE user_id IS NOT NULL ORDER BY user_id COLLATE "C"'


def _json_expression(table: Table, column: Column) -> str:
    value = qualified(table, column.name)
    if column.type is ColumnType.TIMESTAMP:
        value = f"to_char({value}, '{TIMESTAMP_FORMAT}')"
    elif column.type is ColumnType.TIMESTAMPTZ:
        value = f"to_char({value} AT TIME ZONE 'UTC', '{TIMESTAMP_FORMAT}')"
    return f"{value} AS {quote(column.name)}"


def order_by(table: Table) -> str:
    keys = []
    for name in table.primary_key:
        column = table.columns_by_name[name]
        collate = ' COLLATE "C"' if column.type is ColumnType.TEXT else ""
        keys.append(qualified(table, name) + collate)
    return ", ".join(keys)


def key_range_predicate(table: Table, key_range: KeyRange) -> str:
    """`` AND`` the range's bounds on the table's one-column uuid key; empty when whole."""
    if key_range.whole:
        return ""
    (key,) = table.primary_key
    bounds = []
    if key_range.lower is not None:
        bounds.append(f" AND {qualified(table, key)} >= {literal(key_range.lower)}::uuid")
    if key_range.upper is not None:
        bounds.append(f" AND {qualified(table, key)} < {literal(key_range.upper)}::uuid")
    return "".join(bounds)


def json_rows_query(
    table: Table, columns: tuple[Column, ...], key_range: KeyRange = WHOLE, *, probe: bool = False
) -> str:
    """One compact JSON object per row, keys in column order, rows in primary-key order.

    The rows are sorted in a subquery that carries only the columns the projection reads
    (and the key), and ``row_to_json`` runs above the sort: sorting the plain columns rather
    than their JSON text keeps the sort in memory for a million messages, where sorting the
    text spilled to disk. The outer ORDER BY states the order the
    subquery already delivers, so PostgreSQL adds no second sort, and the order stays part of
    the query rather than a side effect of the plan. The key is sorted even when it is not
    exported (a pending invitation's id is its secret token). A ``key_range`` keeps the rows
    of one part of the key (see ``key_ranges``); ``probe`` scopes the rows by primary-key
    probes (see ``probed_tables``).
    """
    projection = ", ".join(_json_expression(table, c) for c in columns)
    needed = [c.name for c in columns]
    needed += [k for k in table.primary_key if k not in needed]
    inner = ", ".join(qualified(table, name) for name in needed)
    order = order_by(table)
    return (
        f"SELECT row_to_json(r) FROM (SELECT {inner} FROM {quote(table.name)} "
        f"WHERE {row_predicate(table, probe=probe)}{key_range_predicate(table, key_range)} "
        f"ORDER BY {order} OFFSET 0) {quote(table.name)} "
        f"CROSS JOIN LATERAL (SELECT {projection}) r ORDER BY {order}"
    )


def _secret_value_selects(table: Table) -> list[str]:
    secrets = [c for c in table.columns if c.treatment is Treatment.SECRET]
    if not secrets:
        return []
    if table.exported:
        where = row_predicate(table)
    else:
        owners = [c for c in table.columns if c.references == catalog.USERS_TABLE]
        if not owners:
            return []
        where = f"{qualified(table, owners[0].name)} = ANY(%(users)s::text[])"
    return [
        f"SELECT {literal(f'{table.name}.{c.name}')} AS origin, "
        f"{qualified(table, c.name)}::text AS value FROM {quote(table.name)} WHERE {where}"
        for c in secrets
    ]


def secret_values_query() -> str:
    """(origin, value) of every secret tied to the organization, for the no-secret check.

    Secrets of exported tables are taken from the organization's rows; secrets of tables
    never exported (sessions, OAuth tokens, ...) from the rows of the users the export
    carries. Tables of neither kind (``verifications``, keyed by an address) are not read.
    """
    selects = [s for t in catalog.TABLES for s in _secret_value_selects(t)]
    return " UNION ALL ".join(selects)
