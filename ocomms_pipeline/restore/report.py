"""What a restore did, per table, and what the operator must still do by hand.

The same report is printed by the CLI, attached to the Dagster run as metadata and, on
request, written as JSON: restored rows, rows the target already had (shared users, link
previews), rows that could not come back and why, the users created without credentials,
and the queue jobs that lived in ocomms's Redis and must be queued again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASSWORD_RESET = (
    "they get back in through ocomms's password reset: 'Forgot password?' on the login page "
    "emails a link (ocomms needs SMTP_HOST for it), and better-auth's POST "
    "/api/auth/reset-password with the link's token and a new password creates their login "
    "(see docs/restore.md)"
)


@dataclass
class TableOutcome:
    table: str
    bundle_rows: int
    restored: int = 0
    kept: int = 0  # the target already had them (shared rows): left as they were
    replaced: int = 0  # left behind by the organization's deletion, replaced by the bundle's
    not_restored: int = 0
    reason: str | None = None
    by_value: dict[str, int] = field(default_factory=dict)  # not restored, per REPORTED_BY
    defaulted: tuple[str, ...] = ()  # target columns the bundle does not fill


@dataclass(frozen=True)
class QueuedRow:
    """A delayed job ocomms had in Redis for a restored row: queue it again to make it fire."""

    table: str
    id: str
    status: str
    queue: str
    job_name: str
    job_id: str
    data: dict[str, str]
    due: str | None
    repeats: str | None = None


@dataclass
class RestoreReport:
    organization_id: str
    organization_name: str
    bundle: str
    dry_run: bool
    tables: list[TableOutcome] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    requeue: list[QueuedRow] = field(default_factory=list)
    seconds: float = 0.0
    files: dict[str, Any] = field(default_factory=dict)  # restore.uploads.FilePlan.to_json
    files_line: str | None = None

    @property
    def restored_rows(self) -> int:
        return sum(t.restored for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "restored_rows": self.restored_rows}

    def lines(self) -> list[str]:
        verb = "would restore" if self.dry_run else "restored"
        head = f"{verb} organization {self.organization_id} ({self.organization_name})"
        out = [f"{head}: {self.restored_rows:,} rows in {self.seconds:.1f} s"]
        width = max((len(t.table) for t in self.tables), default=5)
        out += [f"  {t.table:<{width}}  {_table_line(t)}" for t in self.tables]
        if self.files_line:
            out.append(self.files_line)
        if self.users_created:
            out.append(
                f"{len(self.users_created)} user(s) created without credentials (no password, "
                f"session or 2FA left the source): {PASSWORD_RESET}"
            )
        if self.requeue:
            tables = ", ".join(sorted({job.table for job in self.requeue}))
            out.append(
                f"{len(self.requeue)} row(s) of {tables} had delayed jobs in ocomms's Redis "
                "and will not fire until queued again:"
            )
            out += [f"  {_job_line(job)}" for job in self.requeue]
        if self.dry_run:
            out.append(
                "dry run: every check passed and every row went in; rolled back, nothing changed"
            )
        return out


def _table_line(t: TableOutcome) -> str:
    parts = [f"{t.restored:>10,} restored"]
    if t.kept:
        parts.append(f"{t.kept:,} already in the target, kept as they are")
    if t.replaced:
        parts.append(f"{t.replaced:,} left behind by the deletion, replaced")
    if t.not_restored:
        counts = ", ".join(f"{n:,} {value}" for value, n in sorted(t.by_value.items()))
        parts.append(
            f"{t.not_restored:,} NOT restored{f' ({counts})' if counts else ''}: {t.reason}"
        )
    if t.defaulted:
        parts.append(f"default/NULL: {', '.join(t.defaulted)}")
    return "; ".join(parts)


def _job_line(job: QueuedRow) -> str:
    repeat = f", repeating {job.repeats}" if job.repeats else ""
    return (
        f"{job.table} {job.id} ({job.status}): queue {job.queue!r}, job {job.job_name!r} "
        f"id {job.job_id!r}, due {job.due}{repeat}"
    )
