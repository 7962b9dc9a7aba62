"""``restore_bundle``: one organization from a bundle into a database, in one transaction.

In order: the manifest (before connecting), the target's schema against the bundle
(``plan``), the organization must not exist there, the bundle's own checks over every file,
the keys the target already has (``conflicts``), then every table through one COPY each,
parents first, then the uploaded files (``uploads``: planned, written just before the
commit). Any refusal or error rolls the transaction back, so the target is exactly as it
was; ``dry_run`` does all of it, every row included, and rolls back at the end, so it
proves the restore would succeed.
No superuser is needed: foreign keys and triggers stay on and are satisfied by the order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pyarrow as pa

from ocomms_pipeline import catalog, identifiers, settings
from ocomms_pipeline.catalog.restore import REPORTED_BY
from ocomms_pipeline.errors import ExportRefused, describe
from ocomms_pipeline.export import memory
from ocomms_pipeline.export.scoping import quote
from ocomms_pipeline.postgres.snapshots import connect
from ocomms_pipeline.restore import bundle_source, conflicts, rows, uploads
from ocomms_pipeline.restore.bundle_source import OpenBundle, open_bundle
from ocomms_pipeline.restore.errors import RestoreError, RestoreFailed, RestoreRefused
from ocomms_pipeline.restore.plan import TablePlan, Withheld, plan
from ocomms_pipeline.restore.queues import watch_for
from ocomms_pipeline.restore.report import RestoreReport, TableOutcome
from ocomms_pipeline.restore.target import inspect


def restore_bundle(
    source: Path,
    database_url: str,
    *,
    dry_run: bool = False,
    scratch: Path | None = None,
    lock_timeout_seconds: float = settings.LOCK_TIMEOUT_SECONDS,
    before_commit: Callable[[RestoreReport], None] | None = None,
    uploads_dir: Path | None = None,
) -> RestoreReport:
    """Restore the bundle at ``source`` (directory or zip); raises RestoreRefused/Failed.

    ``before_commit`` sees the finished report while the transaction is still open (not in
    a dry run): the audit entry is written there, so a restore whose audit cannot be written
    rolls back, and no restore goes unaudited. The bundle's files go into ``uploads_dir``
    (none without it), written just before the commit and removed if it does not happen.
    """
    started = time.monotonic()
    memory.keep_memory_flat()
    with open_bundle(Path(source), scratch) as opened:
        try:
            identifiers.organization_id(opened.organization_id)
        except ExportRefused as error:
            raise RestoreRefused(str(error)) from None
        report = RestoreReport(
            opened.organization_id, opened.organization_name, str(source), dry_run
        )
        try:
            _in_transaction(
                opened, database_url, report, lock_timeout_seconds, before_commit, uploads_dir
            )
        except RestoreError as error:
            error.organization_id = opened.organization_id
            raise
    report.seconds = time.monotonic() - started
    return report


def _in_transaction(
    opened: OpenBundle,
    url: str,
    report: RestoreReport,
    lock_timeout_seconds: float,
    before_commit: Callable[[RestoreReport], None] | None,
    uploads_dir: Path | None,
) -> None:
    plan = uploads.FilePlan(uploads_dir)
    try:
        with connect(url) as conn:
            try:
                conn.execute(f"SET lock_timeout = '{int(lock_timeout_seconds * 1000)}ms'")
                _restore(conn, opened, report)
                plan = uploads.plan_files(opened.path, opened.manifest, uploads_dir)
                report.files = plan.to_json()
                report.files_line = plan.line(report.dry_run)
                if report.dry_run:
                    conn.rollback()
                    return
                uploads.place_files(opened.path, plan)
                if before_commit is not None:
                    before_commit(report)
            except BaseException:
                uploads.remove_written(plan)
                _rollback_quietly(conn)
                raise
            try:
                _commit(conn, opened)
            except RestoreFailed:
                # The outcome of the COMMIT is unknown: keep the files, as the rows may be in.
                raise
            except BaseException:
                uploads.remove_written(plan)
                raise
    except psycopg.errors.IntegrityError as error:
        raise RestoreRefused(f"the target refused a row: {_pg_line(error)}") from None
    except (psycopg.Error, OSError) as error:
        raise RestoreFailed(f"nothing changed: {describe(error)}") from None


def _rollback_quietly(conn: psycopg.Connection) -> None:
    """Roll back if the connection still lives; a dead one has rolled back on the server."""
    with contextlib.suppress(psycopg.Error):
        conn.rollback()


def _commit(conn: psycopg.Connection, opened: OpenBundle) -> None:
    """Commit; a connection lost during COMMIT leaves its outcome unknown, and says so."""
    try:
        conn.commit()
    except psycopg.OperationalError as error:
        raise RestoreFailed(
            f"the connection broke during COMMIT ({describe(error)}): check whether "
            f"organization {opened.organization_id} exists in the target before trying again"
        ) from None


def _pg_line(error: psycopg.Error) -> str:
    diag = error.diag
    parts = [p for p in (diag.table_name, diag.message_primary, diag.message_detail) if p]
    return ": ".join(parts) if parts else describe(error)


def _restore(conn: psycopg.Connection, opened: OpenBundle, report: RestoreReport) -> None:
    target = inspect(conn, [t.name for t in catalog.TABLES])
    decided = plan(opened, target)
    _refuse_existing_organization(conn, opened)
    bundle_source.verify(opened)
    keys = conflicts.decide(conn, opened, decided.tables, target)
    for table_plan in decided.tables:
        report.tables.append(_copy(conn, opened, table_plan, keys, report))
        memory.give_back_freed_memory()
    report.tables += [_withheld(opened, w) for w in decided.withheld]
    _sort_as_catalog(report)


def _refuse_existing_organization(conn: psycopg.Connection, opened: OpenBundle) -> None:
    rule = catalog.OWNERSHIP
    found = conn.execute(
        f"SELECT {quote(rule.organization_name)} FROM {quote(rule.organizations)} "
        f"WHERE {quote(rule.organization_key)} = %s",
        [opened.organization_id],
    ).fetchone()
    if found is not None:
        raise RestoreRefused(
            f"organization {opened.organization_id} ({found[0]}) already exists in the target; "
            "delete it there first, or restore into another database"
        )


def _copy(
    conn: psycopg.Connection,
    opened: OpenBundle,
    table_plan: TablePlan,
    keys: conflicts.KeyDecisions,
    report: RestoreReport,
) -> TableOutcome:
    table = table_plan.table
    entry = opened.entry(table.name)
    assert entry is not None
    outcome = TableOutcome(table.name, table_plan.rows, defaulted=table_plan.defaulted)
    watch = watch_for(table)
    users = table.name == catalog.USERS_TABLE

    def seen(restored: pa.Table) -> None:
        if watch is not None:
            watch(restored)
        if users:
            report.users_created.extend(restored.column(table.primary_key[0]).to_pylist())

    source = rows.batches(opened.path / entry["file"], table, table_plan.columns, entry["sha256"])
    outcome.restored = rows.copy_table(
        conn, quote(table.name), table_plan.columns, source, keys.filter_for(table), seen
    )
    outcome.kept = table_plan.rows - outcome.restored
    outcome.replaced = keys.replaced.get(table.name, 0)
    if watch is not None:
        report.requeue.extend(watch.found)
    return outcome


def _withheld(opened: OpenBundle, withheld: Withheld) -> TableOutcome:
    outcome = TableOutcome(
        withheld.table, withheld.rows, not_restored=withheld.rows, reason=withheld.reason
    )
    column = REPORTED_BY.get(withheld.table)
    entry = opened.entry(withheld.table)
    if column and entry and withheld.rows:
        table = catalog.table(withheld.table)
        source = rows.batches(opened.path / entry["file"], table, (column,), entry["sha256"])
        for chunk in source:
            for value in chunk.column(column).to_pylist():
                outcome.by_value[str(value)] = outcome.by_value.get(str(value), 0) + 1
    return outcome


def _sort_as_catalog(report: RestoreReport) -> None:
    order = {t.name: n for n, t in enumerate(catalog.TABLES)}
    report.tables.sort(key=lambda t: order[t.table])
