"""The export-request queue: a table in the ocomms database that the ocomms app writes.

When an owner clicks Export, ocomms inserts one row (organization, requester) and reads the
row back to show progress and, at the end, the archive to download. The pipeline owns every
other column. Its own schema (``ocomms_export``) keeps it apart from ocomms's migrations.

Every change of status is one guarded ``UPDATE ... WHERE status = <expected>``: whichever
process (request sensor, run-status sensor, a second daemon) gets there first makes the
transition, the others change nothing and learn so from the row count. That, with one run per
request (``run_key`` = request id), is what makes each request run and finish exactly once.

Lifecycle: ``pending`` -> ``running`` -> ``completed`` | ``rejected`` | ``failed``, and
``pending`` -> ``rejected`` directly for a row that cannot name a valid request at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from ocomms_pipeline import identifiers
from ocomms_pipeline.bundle.retention import BundleId, protected_identity
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.postgres.snapshots import connect
from ocomms_pipeline.status import FINAL, OPEN, RequestStatus, sql_list

SCHEMA = "ocomms_export"
TABLE = f"{SCHEMA}.export_requests"
REASON_LIMIT = 500

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {TABLE} (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL,
    requested_by    text NOT NULL,
    status          text NOT NULL DEFAULT '{RequestStatus.PENDING}'
        CONSTRAINT export_requests_status_check
        CHECK (status IN {sql_list(tuple(RequestStatus))}),
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    authorized_at   timestamptz,
    finished_at     timestamptz,
    dagster_run_id  text,
    bundle_path     text,
    archive_path    text,
    archive_sha256  text,
    reason          text,
    CONSTRAINT export_requests_completed_check
        CHECK (status <> '{RequestStatus.COMPLETED}'
               OR (archive_path IS NOT NULL AND archive_sha256 IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS export_requests_open_idx
    ON {TABLE} (created_at, id) WHERE status IN {sql_list(OPEN)};
COMMENT ON TABLE {TABLE} IS
    'GDPR export requests: ocomms inserts organization_id and requested_by, '
    'ocomms-pipeline runs them and writes the rest.';
"""

# The one statement the ocomms app runs when an owner clicks Export (see the README).
INSERT = f"INSERT INTO {TABLE} (organization_id, requested_by) VALUES (%s, %s) RETURNING id"


@dataclass(frozen=True)
class ExportRequest:
    id: uuid.UUID
    organization_id: str
    requested_by: str
    status: str  # a RequestStatus value, as the database holds it
    created_at: datetime
    started_at: datetime | None
    authorized_at: datetime | None
    finished_at: datetime | None
    dagster_run_id: str | None
    bundle_path: str | None
    archive_path: str | None
    archive_sha256: str | None
    reason: str | None

    @property
    def key(self) -> str:
        """The request id as text: the run key and the request tag of its run."""
        return str(self.id)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = ", ".join(f.name for f in fields(ExportRequest))


def init_db(url: str) -> None:
    """Create the schema, table and index if missing; safe to run concurrently and repeatedly."""
    with connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
        conn.execute(DDL)


def queue_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()
    return bool(row and row[0])


def enqueue(conn: psycopg.Connection, organization_id: str, requested_by: str) -> uuid.UUID:
    """What the ocomms app does: one INSERT, returning the request id."""
    row = conn.execute(INSERT, (organization_id, requested_by)).fetchone()
    assert row is not None
    return row[0]


def _select(conn: psycopg.Connection, where: str, params: tuple) -> list[ExportRequest]:
    with conn.cursor(row_factory=class_row(ExportRequest)) as cur:
        cur.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE {where}", params)
        return cur.fetchall()


def get(conn: psycopg.Connection, request_id: str | uuid.UUID) -> ExportRequest | None:
    found = _select(conn, "id = %s", (str(request_id),))
    return found[0] if found else None


def pending(conn: psycopg.Connection, limit: int) -> list[ExportRequest]:
    """The oldest pending requests first: a backlog is served in arrival order."""
    return _select(
        conn, "status = %s ORDER BY created_at, id LIMIT %s", (RequestStatus.PENDING, limit)
    )


def running(conn: psycopg.Connection) -> list[ExportRequest]:
    return _select(conn, "status = %s ORDER BY created_at, id", (RequestStatus.RUNNING,))


def one_line(reason: str) -> str:
    """A reason as stored for the app: first line only, bounded, never a stack trace."""
    first = (reason.strip().splitlines() or ["no reason given"])[0].strip()
    return first if len(first) <= REASON_LIMIT else first[: REASON_LIMIT - 1] + "…"


def invalid_reason(request: ExportRequest) -> str | None:
    """Why a row cannot be a request at all, or None. Checked before any run is requested."""
    try:
        identifiers.organization_id(request.organization_id)
        principal = identifiers.principal(request.requested_by)
    except ExportRefused as refusal:
        return str(refusal)
    if principal.is_operator:
        return (
            f"requested_by {request.requested_by!r} is an operator principal; requests must name"
            " the ocomms user who asked (operators export from Dagster directly)"
        )
    return None


def mark_running(
    conn: psycopg.Connection, request_id: uuid.UUID, run_id: str, started_at: datetime | None
) -> bool:
    cur = conn.execute(
        f"UPDATE {TABLE} SET status = %s, dagster_run_id = %s,"
        " started_at = coalesce(%s, now()) WHERE id = %s AND status = %s",
        (RequestStatus.RUNNING, run_id, started_at, request_id, RequestStatus.PENDING),
    )
    return cur.rowcount == 1


def mark_authorized(conn: psycopg.Connection, request_id: uuid.UUID, at: datetime) -> bool:
    cur = conn.execute(
        f"UPDATE {TABLE} SET authorized_at = %s"
        " WHERE id = %s AND status = %s AND authorized_at IS NULL",
        (at, request_id, RequestStatus.RUNNING),
    )
    return cur.rowcount == 1


@dataclass(frozen=True)
class Finish:
    """A final state and what goes with it."""

    status: RequestStatus
    finished_at: datetime | None = None
    reason: str | None = None
    bundle_path: str | None = None
    archive_path: str | None = None
    archive_sha256: str | None = None


def finish(
    conn: psycopg.Connection, request_id: uuid.UUID, end: Finish, *, from_: RequestStatus
) -> bool:
    """Move a request from ``from_`` to its final state; False if someone else already did."""
    assert end.status in FINAL and from_ in OPEN
    cur = conn.execute(
        f"UPDATE {TABLE} SET status = %s, finished_at = coalesce(%s, now()), reason = %s,"
        " bundle_path = %s, archive_path = %s, archive_sha256 = %s"
        " WHERE id = %s AND status = %s",
        (
            end.status,
            end.finished_at,
            one_line(end.reason) if end.reason else None,
            end.bundle_path,
            end.archive_path,
            end.archive_sha256,
            request_id,
            from_,
        ),
    )
    return cur.rowcount == 1


def protected_bundles(database_url: str) -> set[BundleId]:
    """Bundles that open (pending or running) requests point at; none before the queue exists.

    What retention must keep. Raises ``psycopg.Error`` when the database cannot be read:
    retention must then delete nothing rather than guess.
    """
    with connect(database_url) as conn:
        conn.read_only = True
        if not queue_exists(conn):
            return set()
        rows = conn.execute(
            f"SELECT bundle_path FROM {TABLE} WHERE status = ANY(%s) AND bundle_path IS NOT NULL",
            (list(OPEN),),
        ).fetchall()
    return {protected_identity(row[0]) for row in rows}
