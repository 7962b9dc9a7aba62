"""Export one organization inside one snapshot into a staging directory.

This is the whole data path, free of Dagster so it can be reasoned about and tested alone:
authorize again inside the snapshot, check the schema, resolve which users the organization's
rows mention, then stream every exported table to its file. The manifest and the rename that
publishes the bundle are the bundle step's job (see ``bundle.publish``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from ocomms_pipeline import catalog, settings
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.state import ExportState, TableResult
from ocomms_pipeline.catalog import Table
from ocomms_pipeline.checks import references
from ocomms_pipeline.checks.findings import Check, Problem
from ocomms_pipeline.checks.row_scan import SecretValues
from ocomms_pipeline.export import schema_drift as drift
from ocomms_pipeline.export import scoping, uploads, user_closure
from ocomms_pipeline.export.key_ranges import DEFAULT_PARTS, KeyRange, PartPolicy
from ocomms_pipeline.export.memory import keep_memory_flat
from ocomms_pipeline.export.owner_gate import Grant, authorize
from ocomms_pipeline.export.progress import ExportProgress
from ocomms_pipeline.export.shared_snapshots import SharedSnapshots
from ocomms_pipeline.export.table import (
    ExportContext,
    Part,
    export_part,
    finish_table,
)
from ocomms_pipeline.identifiers import Principal
from ocomms_pipeline.postgres.snapshots import Snapshot, open_snapshot


def _new_state(
    grant: Grant, snapshot: Snapshot, run_id: str, started: datetime, root: Path
) -> ExportState:
    taken_at = snapshot.info.taken_at
    return ExportState(
        organization_id=grant.organization_id,
        organization_name=grant.organization_name,
        requester=str(grant.principal),
        requester_kind=grant.principal.kind,
        capacity=grant.capacity,
        run_id=run_id,
        snapshot_id=snapshot.info.snapshot_id,
        taken_at=bundle.utc_text(taken_at),
        server_version=snapshot.info.server_version,
        started_at=bundle.utc_text(started),
        bundle_path=str(bundle.reserve_bundle_path(root, grant.organization_id, taken_at)),
        not_exported_tables={
            t.name: t.scope.reason
            for t in catalog.not_exported_tables()  # type: ignore[union-attr]
        },
    )


class _RangeJoiner:
    """Reads the key ranges of every table and joins a table's as soon as its last is read.

    The join runs on the worker that read the last range, so joining the largest table's
    files overlaps the reading of the smaller tables instead of following it.
    """

    def __init__(self, context: ExportContext, schema: drift.SchemaDrift) -> None:
        self.context = context
        self.schema = schema
        self.expected: dict[str, int] = {}
        self.read: dict[str, list[Part]] = {}
        self.finished: dict[str, tuple[TableResult, list[Problem]]] = {}
        self.user_ids: set[str] = set()  # the users the streamed tables read so far point at
        self.lock = threading.Lock()

    def tasks(
        self, tables: list[Table], sizes: dict[str, int], policy: PartPolicy, connections: int
    ) -> list[Callable[[Snapshot], None]]:
        """One task per key range of every table given, largest ranges first.

        Taking the largest work first lets the parallel connections finish together.
        """
        ranges = [
            (sizes.get(t.name, 0) / r.count, t, r)
            for t in tables
            for r in policy.ranges(t, sizes.get(t.name, 0), connections)
        ]
        for _, table, key_range in ranges:
            self.expected[table.name] = key_range.count
            self.read[table.name] = []
        ranges.sort(key=lambda p: -p[0])
        return [partial(self.read_range, table=t, key_range=r) for _, t, r in ranges]

    def read_range(self, snapshot: Snapshot, table: Table, key_range: KeyRange) -> None:
        part = export_part(snapshot, table, key_range, self.context)
        with self.lock:
            self.user_ids |= part.scan.user_ids
            parts = self.read[table.name]
            parts.append(part)
            complete = len(parts) == self.expected[table.name]
        if complete:
            in_order = sorted(parts, key=lambda p: p.key_range.index)
            unknown = self.schema.unknown_columns.get(table.name, [])
            result, problems = finish_table(in_order, unknown, self.context)
            self.finished[table.name] = result, problems
            self.context.progress.table_done(table.name, result.rows, result.bytes)


def _stream_all_tables(
    pool: SharedSnapshots,
    state: ExportState,
    context: ExportContext,
    schema: drift.SchemaDrift,
    policy: PartPolicy,
    sizes: dict[str, int],
    early: set[str],
) -> None:
    """Every table but those filtered by the users, then the users, then those tables.

    See ``user_closure``: the users are the early ones and whoever the rows read point at.
    """
    connections = len(pool.snapshots)
    exported = catalog.exported_tables()
    first = [t for t in exported if not scoping.uses_users(t)]
    tables = _RangeJoiner(context, schema)
    pool.map(tables.tasks(first, sizes, policy, connections))
    params = {**context.params, "users": user_closure.in_order(early | tables.user_ids)}
    secrets = SecretValues.of(pool.main.fetch_all(scoping.secret_values_query(), params))
    late = user_closure.new_secrets(context.secrets, secrets)
    written = [tables.finished[t.name][0] for t in first]
    late_problems = user_closure.rescan(context.staging, written, late)
    tables.context = replace(context, params=params, secrets=secrets)
    last = [t for t in exported if scoping.uses_users(t)]
    pool.map(tables.tasks(last, sizes, policy, connections))
    for table in exported:
        result, problems = tables.finished[table.name]
        state.tables.append(result)
        state.problems += [p.to_json() for p in problems]
    state.problems += [p.to_json() for p in late_problems]
    found = references.resolve(context.spill_dir, held=context.held, buckets=context.spill_buckets)
    for unresolved in found:
        table = unresolved.source.split(".")[0]
        problem = Problem(table, Check.REFERENCES_RESOLVE, unresolved.reason())
        state.problems.append(problem.to_json())
    references.discard(context.spill_dir)
    context.progress.tables_done()


def stage_organization(
    database_url: str,
    organization_id: str,
    principal: Principal,
    root: Path,
    run_id: str,
    *,
    lock_timeout_seconds: float = settings.LOCK_TIMEOUT_SECONDS,
    parquet: bool = False,
    connections: int = 1,
    parts: PartPolicy = DEFAULT_PARTS,
    uploads_dir: Path | None = None,
) -> ExportState:
    """Write every exported table of the organization into staging; return the state.

    With ``connections`` > 1 tables, and key ranges of the large ones (as ``parts`` decides),
    are read in parallel on connections sharing the snapshot. With ``uploads_dir`` the files
    the staged rows point at are copied in too, after the snapshot's connections are released.
    On any failure the staging directory is removed before the error propagates.
    """
    keep_memory_flat()
    started = datetime.now(UTC)
    staging = bundle.staging_dir(root, organization_id, run_id)
    with open_snapshot(database_url, lock_timeout_seconds=lock_timeout_seconds) as snapshot:
        grant = authorize(snapshot, organization_id, principal)
        schema = drift.compare(snapshot.live_columns())
        # The other connections open only once the owner check has passed.
        with SharedSnapshots(
            snapshot,
            database_url,
            connections=connections,
            lock_timeout_seconds=lock_timeout_seconds,
        ) as pool:
            sizes = snapshot.relation_sizes()
            probed = scoping.probed_tables(sizes)
            early = user_closure.early_users(pool, organization_id, probed)
            known = {"org": organization_id, "users": user_closure.in_order(early)}
            secrets = SecretValues.of(snapshot.fetch_all(scoping.secret_values_query(), known))
            state = _new_state(grant, snapshot, run_id, started, root)
            state.unknown_tables = schema.unknown_tables
            state.parquet = parquet
            context = ExportContext(
                staging,
                {"org": organization_id},  # the users are bound once they are all known
                parquet,
                secrets,
                staging / references.SPILL_DIR,
                probed=probed,
                spill_buckets=references.bucket_count(sum(sizes.values())),
                held=references.HeldIds(),
                streamed=user_closure.streamed_tables(),
                progress=ExportProgress.start(run_id, len(catalog.exported_tables())),
            )
            staging.mkdir(parents=True, exist_ok=False)
            try:
                _stream_all_tables(pool, state, context, schema, parts, sizes, early)
            except BaseException:
                bundle.discard(staging)
                raise
    try:
        state.files = uploads.stage_uploads(staging, state.tables, uploads_dir)
        bundle.write_json(staging / bundle.STATE_FILE, state.to_json())
    except BaseException:
        bundle.discard(staging)
        raise
    return state
