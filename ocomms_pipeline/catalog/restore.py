"""What a restore must know about ocomms's tables beyond the export's declarations.

Two facts live only in ocomms's application code, so they are declared here, beside the
tables they concern, rather than guessed by the restore:

- which rows had a job in ocomms's Redis queues (BullMQ). The queue ids were excluded as
  internal, so restored rows have none and nothing would fire them: the restore reports
  them for the operator to queue again. Names are ocomms's own (``src/lib/actions/
  reminder.ts`` and ``scheduled-message.ts``, ``src/server/queue/*.queue.ts``).
- which tables are shared between organizations and so may already hold a bundle's rows:
  those derive from the scopes (users and their per-user rows, link previews).
"""

from __future__ import annotations

from dataclasses import dataclass

from ocomms_pipeline.catalog.model import ReferencedBy, ReferencedUsers, Table


@dataclass(frozen=True)
class QueueJob:
    """A row that ocomms scheduled as a delayed BullMQ job, and when it was due."""

    table: str
    queue: str
    job_name: str
    job_id: str  # a template: ``{id}`` is the row's id
    data_key: str  # the job data's key holding the row id
    status_column: str
    live_statuses: tuple[str, ...]  # rows in these states still waited for their job
    due_columns: tuple[str, ...]  # the first non-null of these is when the job was due
    recurring_column: str | None = None  # non-null: a repeating job scheduler
    recurring_job_name: str | None = None
    final_statuses: tuple[str, ...] = ()  # a recurring row in these states repeats no more
    job_names_by_status: tuple[tuple[str, str], ...] = ()  # statuses with a job of their own

    def job_name_for(self, status: str, repeats: bool) -> str:
        if repeats and self.recurring_job_name:
            return self.recurring_job_name
        return dict(self.job_names_by_status).get(status, self.job_name)


QUEUE_JOBS: tuple[QueueJob, ...] = (
    QueueJob(
        table="reminders",
        queue="reminders",
        job_name="one-time-reminder",
        job_id="reminder-{id}",
        data_key="reminderId",
        status_column="status",
        live_statuses=("pending", "snoozed"),
        due_columns=("snoozed_until", "remind_at"),
        recurring_column="recurring_pattern",
        recurring_job_name="recurring-reminder",
        final_statuses=("completed", "cancelled"),
        job_names_by_status=(("snoozed", "snoozed-reminder"),),
    ),
    QueueJob(
        table="scheduled_messages",
        queue="scheduled-messages",
        job_name="send",
        job_id="scheduled-{id}",
        data_key="scheduledMessageId",
        status_column="status",
        live_statuses=("pending", "processing"),
        due_columns=("scheduled_for",),
    ),
)


def queue_job(table_name: str) -> QueueJob | None:
    return next((job for job in QUEUE_JOBS if job.table == table_name), None)


def shared(table: Table) -> bool:
    """Rows other organizations may hold too: kept as the target has them, never replaced."""
    return isinstance(table.scope, ReferencedUsers | ReferencedBy)


def kept_with_user(table: Table) -> str | None:
    """The column naming the user whose existing row in the target keeps this row out."""
    return table.scope.column if isinstance(table.scope, ReferencedUsers) else None


# Rows of a table the restore cannot bring back are counted by this column in its report, so
# the operator sees, say, how many invitations were still pending and must be sent again.
REPORTED_BY: dict[str, str] = {"invitations": "status"}
