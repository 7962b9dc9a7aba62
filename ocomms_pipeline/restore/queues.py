"""The restored rows that had a delayed job in ocomms's Redis, found as the rows go in.

ocomms schedules reminders and scheduled messages as BullMQ jobs and keeps only the job's id
in the row (excluded from bundles as internal). A restored row in a waiting state therefore
has no job: ocomms's worker would never fire it. The restore cannot reach ocomms's Redis (and
should not: the jobs of the source install may still exist there), so it lists them with
the queue, job name, job id and data ocomms itself uses, for the operator to queue again.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ocomms_pipeline.catalog import Table
from ocomms_pipeline.catalog.restore import QueueJob, queue_job
from ocomms_pipeline.restore.report import QueuedRow


class QueueWatch:
    """Collects the waiting rows of one table with a queue job, chunk by chunk."""

    def __init__(self, job: QueueJob, key: str) -> None:
        self.job = job
        self.key = key
        self.found: list[QueuedRow] = []

    def __call__(self, rows: pa.Table) -> None:
        job = self.job
        status = rows.column(job.status_column)
        waiting = pc.is_in(status, value_set=pa.array(job.live_statuses))
        if job.recurring_column:
            repeating = pc.and_(
                pc.is_valid(rows.column(job.recurring_column)),
                pc.invert(pc.is_in(status, value_set=pa.array(job.final_statuses))),
            )
            waiting = pc.or_(waiting, repeating)
        for row in rows.filter(pc.fill_null(waiting, False)).to_pylist():
            self.found.append(self._queued(row))

    def _queued(self, row: dict) -> QueuedRow:
        job, key = self.job, str(row[self.key])
        due = next((row[c] for c in job.due_columns if row.get(c)), None)
        repeats = row.get(job.recurring_column) if job.recurring_column else None
        return QueuedRow(
            table=job.table,
            id=key,
            status=str(row[job.status_column]),
            queue=job.queue,
            job_name=job.job_name_for(str(row[job.status_column]), bool(repeats)),
            job_id=job.job_id.format(id=key),
            data={job.data_key: key},
            due=due,
            repeats=repeats,
        )


def watch_for(table: Table) -> QueueWatch | None:
    job = queue_job(table.name)
    return QueueWatch(job, table.primary_key[0]) if job else None
