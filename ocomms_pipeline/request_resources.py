"""Resources of the request sensors: the queue's database and ocomms's audit log.

Kept apart from ``request_queue`` and ``audit`` so that those stay plain Python, usable (and
fast to import) from the command line without Dagster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
from pydantic import Field

from ocomms_pipeline import audit
from ocomms_pipeline.source import connect


class RequestQueue(dg.ConfigurableResource):
    """Where requests are read and their outcomes written: the ocomms database.

    Needs SELECT and UPDATE on ``ocomms_export.export_requests`` (and SELECT on ocomms's
    tables for the export itself); the app needs INSERT and SELECT.
    """

    url: str = Field(description="libpq URL of the ocomms database (OCOMMS_DATABASE_URL).")
    max_runs_per_tick: int = Field(
        default=25,
        description="Most runs one sensor tick requests; a backlog drains over several ticks.",
    )

    def connect(self) -> psycopg.Connection:
        """Autocommit, so that each ``conn.transaction()`` is one real transaction."""
        return connect(self.url, autocommit=True)


class AuditLog(dg.ConfigurableResource):
    """ocomms's admin audit log: the directory its viewer reads and the key of its chain."""

    directory: str = Field(
        description="Directory of YYYY-MM-DD.jsonl files (OCOMMS_AUDIT_LOG_DIR)."
    )
    secret: str = Field(description="HMAC key of the hash chain (AUDIT_LOG_SECRET).")

    def append(
        self,
        event_type: str,
        user_id: str | None,
        organization_id: str | None,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        return audit.append(
            Path(self.directory).expanduser(),
            self.secret,
            event_type,
            user_id,
            organization_id,
            details,
        )
