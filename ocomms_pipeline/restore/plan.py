"""What can go where: the bundle's tables matched against the target's schema, decided purely.

A table is restored when the target has every column the bundle carries and every column the
target requires is one the bundle fills. A required column that the export withheld on
purpose (an invitation's id is its accept-link token, a guest invite's token) cannot be
filled without inventing a value, so that table's rows are reported, not restored. A
required column the bundle has never heard of (a newer ocomms) is a refusal: the operator
must pick a matching install. Tables go in parents first, by the target's foreign keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocomms_pipeline import catalog
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.restore.bundle_source import OpenBundle
from ocomms_pipeline.restore.errors import RestoreRefused
from ocomms_pipeline.restore.target import TargetTable


@dataclass(frozen=True)
class TablePlan:
    table: Table
    columns: tuple[str, ...]  # the bundle's columns, in file order
    defaulted: tuple[str, ...]  # target columns the bundle does not fill: NULL or default
    rows: int


@dataclass(frozen=True)
class Withheld:
    table: str
    rows: int
    reason: str


@dataclass(frozen=True)
class RestorePlan:
    tables: tuple[TablePlan, ...]  # in insertion order
    withheld: tuple[Withheld, ...]


def plan(opened: OpenBundle, target: dict[str, TargetTable]) -> RestorePlan:
    organizations = catalog.OWNERSHIP.organizations
    if organizations not in target:
        raise RestoreRefused(f"the target is not an ocomms database: it has no {organizations}")
    tables, withheld = [], []
    for table in catalog.exported_tables():
        entry = opened.entry(table.name)
        if entry is None:
            continue
        decided = _table_plan(table, entry, target.get(table.name))
        (tables if isinstance(decided, TablePlan) else withheld).append(decided)
    return RestorePlan(_in_order(tables, target), tuple(withheld))


def _table_plan(table: Table, entry: dict, target: TargetTable | None) -> TablePlan | Withheld:
    if target is None:
        raise RestoreRefused(f"the target has no table {table.name}: not this ocomms schema")
    columns = tuple(entry["exported_columns"])
    missing = [c for c in columns if c not in target.columns]
    if missing:
        raise RestoreRefused(f"the target's {table.name} lacks column(s) {', '.join(missing)}")
    generated = [c for c in columns if c in target.generated]
    if generated:
        raise RestoreRefused(
            f"the target computes {table.name}.{', '.join(generated)} itself; cannot restore"
        )
    unfilled = sorted(target.required - set(columns))
    withheld = [c for c in unfilled if c in table.columns_by_name]
    unknown = [c for c in unfilled if c not in table.columns_by_name]
    if unknown:
        raise RestoreRefused(
            f"the target's {table.name} requires column(s) {', '.join(unknown)} that the "
            "bundle cannot fill (a different ocomms version?)"
        )
    if withheld:
        reasons = "; ".join(
            f"{c} was withheld ({table.columns_by_name[c].reason})" for c in withheld
        )
        return Withheld(table.name, int(entry["rows"]), reasons)
    defaulted = tuple(c for c in target.columns if c not in columns and c not in target.generated)
    return TablePlan(table, columns, defaulted, int(entry["rows"]))


def _in_order(tables: list[TablePlan], target: dict[str, TargetTable]) -> tuple[TablePlan, ...]:
    by_name = {p.table.name: p for p in tables}
    return tuple(by_name[name] for name in insertion_order(list(by_name), target))


def insertion_order(names: list[str], target: dict[str, TargetTable]) -> list[str]:
    """Parents before children; self-references need nothing (one COPY checks at its end)."""
    pending = list(names)
    ordered: list[str] = []
    while pending:
        ready = [n for n in pending if not (target[n].references & set(pending)) - {n}]
        if not ready:
            raise RestoreRefused(
                "the target's foreign keys form a cycle between "
                f"{', '.join(sorted(pending))}: no order satisfies them"
            )
        ordered += ready
        pending = [n for n in pending if n not in ready]
    return ordered
