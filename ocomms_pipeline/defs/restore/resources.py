"""The restore's own resource: the database it writes into, apart from the export's reader."""

from __future__ import annotations

from functools import cache

import dagster as dg
from pydantic import Field

from ocomms_pipeline import settings

DATABASE_ENV = settings.RESTORE_DATABASE_URL


class RestoreDatabase(dg.ConfigurableResource):
    """The ocomms database restores write into: a role that may INSERT into ocomms's tables."""

    url: str = Field(description=f"libpq URL of the target database ({DATABASE_ENV}).")
    lock_timeout_seconds: float = Field(
        default=settings.LOCK_TIMEOUT_SECONDS,
        description="How long a restore waits for a table lock before failing.",
    )


@cache
def restore_resources() -> dict[str, dg.ConfigurableResource]:
    """The database restores write into (``OCOMMS_RESTORE_DATABASE_URL``)."""
    return {"restore_database": RestoreDatabase(url=dg.EnvVar(DATABASE_ENV))}
