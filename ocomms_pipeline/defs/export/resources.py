"""Resources, configured from the environment so one code location serves every deployment."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg
from pydantic import Field

from ocomms_pipeline import settings
from ocomms_pipeline.errors import ExportError


class OcommsDatabase(dg.ConfigurableResource):
    """The ocomms PostgreSQL database that organizations are exported from.

    Only ever read: exports run in read-only transactions. Point it at a replica if the
    primary is busy; a hot standby serves repeatable-read snapshots just as well.
    """

    url: str = Field(description="libpq URL of the ocomms database (OCOMMS_DATABASE_URL).")
    lock_timeout_seconds: float = Field(
        default=settings.LOCK_TIMEOUT_SECONDS,
        description="How long an export waits for a table lock (e.g. a migration) before failing.",
    )
    export_connections: int = Field(
        default=2,
        ge=1,
        description="Connections an export reads tables on at once, all sharing its snapshot "
        "(1: one connection, no exported snapshot).",
    )


class ExportStorage(dg.ConfigurableResource):
    """Where bundles are published: ``<root>/<organization id>/ocomms-export-<time>/``.

    Must be storage every run worker can reach when runs spread over several hosts.
    """

    root: str = Field(description="Directory that receives bundles (OCOMMS_EXPORT_ROOT).")
    parquet: bool | None = Field(
        default=None,
        description="Write Parquet copies of the tables by default; unset: OCOMMS_EXPORT_PARQUET "
        "(true/false, default false). A run's own parquet setting wins.",
    )

    uploads_dir: str | None = Field(
        default=None,
        description="The directory ocomms's UPLOAD_DIR points to (attachments/, avatars/, "
        "emoji/); unset: OCOMMS_UPLOADS_DIR. Without either, bundles carry no files.",
    )

    def uploads_path(self) -> Path | None:
        """Where the uploaded files are read from, read when a run starts; None: no files."""
        text = self.uploads_dir or settings.value(settings.UPLOADS_DIR)
        return Path(text).expanduser().resolve() if text else None

    def parquet_by_default(self) -> bool:
        """This deployment's default, read when a run starts (not when the code loads)."""
        if self.parquet is not None:
            return self.parquet
        try:
            return settings.boolean(settings.EXPORT_PARQUET)
        except ValueError as error:
            raise ExportError(str(error)) from None

    @property
    def path(self) -> Path:
        return Path(self.root).expanduser().resolve()


@cache
def export_resources() -> dict[str, dg.ConfigurableResource]:
    """The ocomms database and the export storage, from the environment when a run starts.

    One object per key for the process: every domain that reads the database or writes
    bundles (the export, backups, retention, partitions) hands Dagster these same objects,
    which is what lets their definitions merge.
    """
    return {
        "database": OcommsDatabase(url=dg.EnvVar(settings.DATABASE_URL)),
        "storage": ExportStorage(root=dg.EnvVar(settings.EXPORT_ROOT)),
    }
