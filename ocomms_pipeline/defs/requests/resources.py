"""Resources of the request sensors: the queue's database and ocomms's audit log.

Kept apart from ``request_queue`` and ``audit`` so that those stay plain Python, usable (and
fast to import) from the command line without Dagster.

A deployment that lacks the audit log's variables must say so in one line. With plain
``dg.EnvVar`` fields, Dagster fails every request sensor tick while building the resources,
before any of this code runs, with a ``DagsterInvalidConfigError`` and two stack traces. So the
fields default to empty, ``AuditLog.from_env`` only names the variables that are set, and the
resource refuses to start with ``MissingConfiguration`` naming the ones that are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
from dagster._core.errors import DagsterUserCodeProcessError
from dagster_shared.error import SerializableErrorInfo
from pydantic import Field

from ocomms_pipeline import settings
from ocomms_pipeline.postgres.snapshots import connect
from ocomms_pipeline.requests import audit

AUDIT_DIR_ENV = settings.AUDIT_LOG_DIR
AUDIT_SECRET_ENV = settings.AUDIT_LOG_SECRET
_AUDIT_FIELDS = {"directory": AUDIT_DIR_ENV, "secret": AUDIT_SECRET_ENV}


class MissingConfiguration(DagsterUserCodeProcessError):
    """A variable the request sensors need is not set; ``str(error)`` is one line naming it.

    Dagster records a sensor tick's error with the stack of wherever it was raised (Dagster's
    resource set-up, a dozen frames), except for an error that already carries the serialized
    error of a user code process: that one is recorded as it is. This error carries itself,
    with no stack, so the tick log and the UI show the one line and nothing else.
    """

    def __init__(self, message: str) -> None:
        info = SerializableErrorInfo(message=message, stack=[], cls_name=type(self).__name__)
        super().__init__(message, user_code_process_error_infos=[info])


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
    """ocomms's admin audit log: the directory its viewer reads and the key of its chain.

    Both fields are required in practice; they default to empty only so that a missing one is
    reported by ``setup_for_execution`` in one line instead of by Dagster's config checks.
    """

    directory: str = Field(
        default="", description="Directory of YYYY-MM-DD.jsonl files (OCOMMS_AUDIT_LOG_DIR)."
    )
    secret: str = Field(default="", description="HMAC key of the hash chain (AUDIT_LOG_SECRET).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditLog:
        """The deployment's audit log: an ``EnvVar`` for each variable set when the code loads.

        ``EnvVar`` keeps the secret out of the code location's snapshot (the UI shows the
        variable's name, not its value) and is read again whenever the resource is built. A
        variable that is not set gets no ``EnvVar``, whose failure would bury its name in a
        stack trace; the empty default makes ``setup_for_execution`` name it instead.
        """
        return cls(
            **{
                field: dg.EnvVar(var)
                for field, var in _AUDIT_FIELDS.items()
                if settings.value(var, environ)
            }
        )

    def missing(self) -> list[str]:
        """The variables behind empty fields, in a stable order."""
        return [var for field, var in _AUDIT_FIELDS.items() if not getattr(self, field).strip()]

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Refuse to start without a directory or a key: every decision must be audited.

        Dagster builds the resource at the start of every tick of every sensor that uses it,
        so all four request sensors fail at once, every tick, until the deployment is fixed.
        """
        missing = self.missing()
        if missing:
            names = " and ".join(missing)
            verb = "is" if len(missing) == 1 else "are"
            raise MissingConfiguration(
                f"{names} {verb} not set: the request sensors append every decision on an "
                "export request to ocomms's audit log, and cannot run without "
                + ("it" if len(missing) == 1 else "them")
            )

    def append(
        self,
        event_type: str,
        user_id: str | None,
        organization_id: str | None,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        log = audit.DirectoryLog(Path(self.directory).expanduser(), self.secret)
        return log.append(event_type, user_id, organization_id, details)


@cache
def request_resources() -> dict[str, dg.ConfigurableResource]:
    """The request queue and ocomms's audit log, as the request sensors and the restore use them.

    One object per key for the process, so that the domains using them merge; a missing audit
    variable fails the sensors' ticks with one line naming it (``AuditLog.setup_for_execution``).
    """
    return {
        "request_queue": RequestQueue(url=dg.EnvVar(settings.DATABASE_URL)),
        "audit_log": AuditLog.from_env(),
    }
