"""Which of the bundle's rows the target already has, decided before any row is written.

Only tables whose target already holds rows need looking at (a fresh install needs none of
this). For those, the bundle's keys (primary key and the columns of every unique key) are
copied into a temporary table and joined with the target, so a conflict is found by
PostgreSQL, in one query per key, whatever the size. Then, per table:

- shared rows (users, and their profiles and statuses; link previews) that the target has
  are kept as the target has them and left out of the copy;
- a row of the organization whose primary key the target holds is a refusal, except a row
  the organization's deletion left behind in no organization (a notification whose message
  went with the organization and whose other links are NULL): it is the same row, and the
  bundle's whole copy replaces it;
- a row that would break another unique key (a new user's email taken by another account,
  a link preview's url) is a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from ocomms_pipeline import catalog
from ocomms_pipeline.catalog import AnyOf, InOrganization, Table, ThroughParent
from ocomms_pipeline.catalog.restore import kept_with_user, shared
from ocomms_pipeline.export.scoping import quote
from ocomms_pipeline.restore import rows
from ocomms_pipeline.restore.bundle_source import OpenBundle
from ocomms_pipeline.restore.errors import RestoreRefused
from ocomms_pipeline.restore.plan import TablePlan
from ocomms_pipeline.restore.target import TargetTable


@dataclass
class KeyDecisions:
    kept_users: set[str] = field(default_factory=set)
    kept: dict[str, set[str]] = field(default_factory=dict)  # table -> kept primary keys
    replaced: dict[str, int] = field(default_factory=dict)  # table -> leftovers replaced

    def filter_for(self, table: Table) -> rows.RowFilter | None:
        column = kept_with_user(table)
        if column is not None:
            return rows.excluding(column, self.kept_users)
        return rows.excluding(table.primary_key[0], self.kept.get(table.name, set()))


def decide(
    conn: psycopg.Connection,
    opened: OpenBundle,
    plans: tuple[TablePlan, ...],
    target: dict[str, TargetTable],
) -> KeyDecisions:
    decisions = KeyDecisions()
    for number, plan in enumerate(plans):
        table = plan.table
        if not plan.rows or not _has_rows(conn, table.name):
            continue
        keys = _key_columns(plan, target[table.name])
        temp = _load_keys(conn, opened, plan, keys, number)
        pk = target[table.name].primary_key or table.primary_key
        _decide_kept(conn, decisions, table, temp, pk)
        _decide_primary_keys(conn, decisions, table, temp, pk)
        for unique in target[table.name].unique_keys:
            if set(unique) <= set(keys):
                _refuse_unique(conn, table, temp, pk, unique)
    return decisions


def _has_rows(conn: psycopg.Connection, name: str) -> bool:
    return bool(conn.execute(f"SELECT EXISTS (SELECT FROM {quote(name)})").fetchone()[0])


def _key_columns(plan: TablePlan, target: TargetTable) -> tuple[str, ...]:
    wanted = set(target.primary_key or plan.table.primary_key)
    wanted.update(c for unique in target.unique_keys for c in unique)
    user = kept_with_user(plan.table)
    if user is not None:
        wanted.add(user)
    return tuple(c for c in plan.columns if c in wanted)


def _load_keys(
    conn: psycopg.Connection, opened: OpenBundle, plan: TablePlan, keys: tuple[str, ...], n: int
) -> str:
    temp = quote(f"restore_keys_{n}")
    names = ", ".join(quote(c) for c in keys)
    conn.execute(
        f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "
        f"SELECT {names} FROM {quote(plan.table.name)} WITH NO DATA"
    )
    entry = opened.entry(plan.table.name)
    assert entry is not None
    source = rows.batches(opened.path / entry["file"], plan.table, keys, entry["sha256"])
    rows.copy_table(conn, temp, keys, source)
    conn.execute(f"ALTER TABLE {temp} ADD COLUMN kept boolean NOT NULL DEFAULT false")
    conn.execute(f"ANALYZE {temp}")
    return temp


def _join(left: str, right: str, columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{left}.{quote(c)} = {right}.{quote(c)}" for c in columns)


def _decide_kept(
    conn: psycopg.Connection, decisions: KeyDecisions, table: Table, temp: str, pk: tuple[str, ...]
) -> None:
    if not shared(table):
        return
    user = kept_with_user(table)
    if user is not None and table.name != catalog.USERS_TABLE:
        conn.execute(
            f"UPDATE {temp} SET kept = {quote(user)} = ANY(%s)", [list(decisions.kept_users)]
        )
        return
    found = conn.execute(
        f"UPDATE {temp} k SET kept = true FROM {quote(table.name)} t "
        f"WHERE {_join('k', 't', pk)} RETURNING k.{quote(pk[0])}::text"
    ).fetchall()
    kept = {row[0] for row in found}
    if table.name == catalog.USERS_TABLE:
        decisions.kept_users = kept
    decisions.kept[table.name] = kept


def _orphaned(table: Table) -> str | None:
    """A predicate on the target's row ``t``: in no organization's scope at all."""
    scope = table.scope
    paths = scope.paths if isinstance(scope, AnyOf) else (scope,)
    if not all(isinstance(p, ThroughParent | InOrganization) for p in paths):
        return None
    return " AND ".join(f"t.{quote(p.column)} IS NULL" for p in paths)


def _decide_primary_keys(
    conn: psycopg.Connection, decisions: KeyDecisions, table: Table, temp: str, pk: tuple[str, ...]
) -> None:
    clash = f"FROM {temp} k JOIN {quote(table.name)} t ON {_join('k', 't', pk)} WHERE NOT k.kept"
    orphan = _orphaned(table)
    real = clash if orphan is None else f"{clash} AND NOT ({orphan})"
    first = conn.execute(f"SELECT k.{quote(pk[0])}::text {real} LIMIT 1").fetchone()
    if first is not None:
        raise RestoreRefused(
            f"{table.name}: a row with {pk[0]} {first[0]} already exists in the target"
        )
    if orphan is None:
        return
    # Counted first: only a table that really has leftovers is written to (and needs DELETE).
    leftovers = conn.execute(f"SELECT count(*) {clash} AND {orphan}").fetchone()[0]
    if leftovers:
        conn.execute(
            f"DELETE FROM {quote(table.name)} t USING {temp} k "
            f"WHERE {_join('k', 't', pk)} AND NOT k.kept AND {orphan}"
        )
        decisions.replaced[table.name] = leftovers


def _refuse_unique(
    conn: psycopg.Connection,
    table: Table,
    temp: str,
    pk: tuple[str, ...],
    unique: tuple[str, ...],
) -> None:
    shown = ", ".join(f"k.{quote(c)}::text" for c in unique)
    first = conn.execute(
        f"SELECT {shown} FROM {temp} k JOIN {quote(table.name)} t ON {_join('k', 't', unique)} "
        f"WHERE NOT k.kept AND NOT ({_join('k', 't', pk)}) LIMIT 1"
    ).fetchone()
    if first is not None:
        values = ", ".join(str(v) for v in first)
        raise RestoreRefused(
            f"{table.name}: ({', '.join(unique)}) = ({values}) already belongs to another row "
            "in the target"
        )
