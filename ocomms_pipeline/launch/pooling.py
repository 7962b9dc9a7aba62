"""How a long-lived process pools its connections to Dagster's storages.

Dagster's PostgreSQL storages open a session per statement unless pooled, and a run stores a
few hundred events. One set of pool settings serves the CLI's instance and the pooled event
log that ``deploy/dagster.yaml`` names, so that a command opening an instance whose event
log is already pooled finds nothing to change. Kept apart from both so that neither imports
the other (the SQLite CLI never imports ``dagster_postgres``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PoolSettings:
    """The three values Dagster's ``optimize_for_webserver`` takes."""

    statement_timeout: int  # milliseconds; 0 is none
    pool_recycle: int  # seconds a connection is kept before it is renewed
    max_overflow: int  # connections beyond the pool's one while several are out at once

    def as_arguments(self) -> dict[str, Any]:
        return asdict(self)


# A command's and a run's queries are their own: no statement timeout; renewed hourly.
COMMAND_POOL = PoolSettings(statement_timeout=0, pool_recycle=3600, max_overflow=4)
