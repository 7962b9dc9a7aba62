"""Resources, configured from the environment so one code location serves every deployment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class OcommsDatabase(dg.ConfigurableResource):
    """The ocomms PostgreSQL database that organizations are exported from.

    Only ever read: exports run in read-only transactions. Point it at a replica if the
    primary is busy; a hot standby serves repeatable-read snapshots just as well.
    """

    url: str = Field(description="libpq URL of the ocomms database (OCOMMS_DATABASE_URL).")
    lock_timeout_seconds: float = Field(
        default=30.0,
        description="How long an export waits for a table lock (e.g. a migration) before failing.",
    )


class ExportStorage(dg.ConfigurableResource):
    """Where bundles are published: ``<root>/<organization id>/ocomms-export-<time>/``.

    Must be storage every run worker can reach when runs spread over several hosts.
    """

    root: str = Field(description="Directory that receives bundles (OCOMMS_EXPORT_ROOT).")

    @property
    def path(self) -> Path:
        return Path(self.root).expanduser().resolve()
