"""Every environment variable of the code location, read here and nowhere else.

One place names each variable with its default and meaning, parses it once, and says what
is wrong with a bad value in one line. The README's configuration table is checked against
``VARIABLES`` by the tests, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DATABASE_URL = "OCOMMS_DATABASE_URL"
EXPORT_ROOT = "OCOMMS_EXPORT_ROOT"
RESTORE_DATABASE_URL = "OCOMMS_RESTORE_DATABASE_URL"
EXPORT_PARQUET = "OCOMMS_EXPORT_PARQUET"
AUDIT_LOG_DIR = "OCOMMS_AUDIT_LOG_DIR"
AUDIT_LOG_SECRET = "AUDIT_LOG_SECRET"
REQUEST_SENSOR_INTERVAL = "OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS"
REQUEST_STATUS_INTERVAL = "OCOMMS_REQUEST_STATUS_INTERVAL_SECONDS"
BACKUP_CRON = "OCOMMS_BACKUP_CRON"
BACKUP_TIMEZONE = "OCOMMS_BACKUP_TIMEZONE"
BACKUP_BATCH_SIZE = "OCOMMS_BACKUP_BATCH_SIZE"
BACKUP_PRINCIPAL = "OCOMMS_BACKUP_PRINCIPAL"
RETENTION_KEEP = "OCOMMS_RETENTION_KEEP"
RETENTION_MAX_AGE_DAYS = "OCOMMS_RETENTION_MAX_AGE_DAYS"
RETENTION_STAGING_MAX_AGE_HOURS = "OCOMMS_RETENTION_STAGING_MAX_AGE_HOURS"
RETENTION_CRON = "OCOMMS_RETENTION_CRON"
RETENTION_TIMEZONE = "OCOMMS_RETENTION_TIMEZONE"
UPLOADS_DIR = "OCOMMS_UPLOADS_DIR"
STATE_DIR = "OCOMMS_PIPELINE_STATE_DIR"
ADMIN_DATABASE_URL = "OCOMMS_ADMIN_DATABASE_URL"

# Defaults, each written once: the variables' table below and the typed settings of the
# backups, retention and CLI take them from here.
LOCK_TIMEOUT_SECONDS = 30.0  # how long an export, a gate or a restore waits for a table lock
BACKUP_CRON_DEFAULT = "0 2 * * *"
BACKUP_TIMEZONE_DEFAULT = "UTC"
BACKUP_BATCH_SIZE_DEFAULT = 100
BACKUP_PRINCIPAL_DEFAULT = "operator:nightly-backup"
RETENTION_KEEP_DEFAULT = 7
RETENTION_MAX_AGE_DAYS_DEFAULT = 30.0
RETENTION_STAGING_MAX_AGE_HOURS_DEFAULT = 24.0
RETENTION_CRON_DEFAULT = "30 3 * * *"
RETENTION_TIMEZONE_DEFAULT = "UTC"


@dataclass(frozen=True)
class Variable:
    """One variable: its name, its default (None: none), and what it means."""

    name: str
    default: str | None
    meaning: str


VARIABLES: tuple[Variable, ...] = (
    Variable(DATABASE_URL, None, "the ocomms database the exports read"),
    Variable(EXPORT_ROOT, None, "the directory that receives bundles"),
    Variable(
        RESTORE_DATABASE_URL, None, "the database restores write into (a role that may write)"
    ),
    Variable(EXPORT_PARQUET, "false", "write Parquet copies by default"),
    Variable(UPLOADS_DIR, None, "the directory ocomms's UPLOAD_DIR points to (uploaded files)"),
    Variable(AUDIT_LOG_DIR, None, "ocomms's audit log directory"),
    Variable(AUDIT_LOG_SECRET, None, "the HMAC key of ocomms's audit chain"),
    Variable(REQUEST_SENSOR_INTERVAL, "30", "minimum seconds between request-sensor ticks"),
    Variable(REQUEST_STATUS_INTERVAL, "2", "minimum seconds between the run-status sensors' ticks"),
    Variable(BACKUP_CRON, BACKUP_CRON_DEFAULT, "when the nightly backup runs"),
    Variable(BACKUP_TIMEZONE, BACKUP_TIMEZONE_DEFAULT, "the backup cron's time zone"),
    Variable(BACKUP_BATCH_SIZE, f"{BACKUP_BATCH_SIZE_DEFAULT}", "organizations per backup run"),
    Variable(BACKUP_PRINCIPAL, BACKUP_PRINCIPAL_DEFAULT, "the requester backups record"),
    Variable(RETENTION_KEEP, f"{RETENTION_KEEP_DEFAULT}", "newest bundles kept per organization"),
    Variable(
        RETENTION_MAX_AGE_DAYS,
        f"{RETENTION_MAX_AGE_DAYS_DEFAULT:g}",
        "bundles younger than this are all kept",
    ),
    Variable(
        RETENTION_STAGING_MAX_AGE_HOURS,
        f"{RETENTION_STAGING_MAX_AGE_HOURS_DEFAULT:g}",
        "age after which stale staging goes",
    ),
    Variable(RETENTION_CRON, RETENTION_CRON_DEFAULT, "when the nightly retention runs"),
    Variable(RETENTION_TIMEZONE, RETENTION_TIMEZONE_DEFAULT, "the retention cron's time zone"),
    Variable(STATE_DIR, ".state/", "where the demo and an embedded PostgreSQL keep files"),
    Variable(ADMIN_DATABASE_URL, None, "a server the demo and tests may create databases on"),
)
_DEFAULTS = {v.name: v.default for v in VARIABLES}


def value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable's text, or None when it is unset or blank."""
    text = (os.environ if environ is None else environ).get(name, "").strip()
    return text or None


def _text(name: str, environ: Mapping[str, str] | None) -> str:
    found = value(name, environ)
    return found if found is not None else str(_DEFAULTS[name])


def named_default(name: str) -> str:
    """``$NAME, default``: how a command's help names the variable behind an option."""
    return f"${name}, {_DEFAULTS[name]}"


def boolean(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """A yes/no variable; anything else is an error, not a silent default."""
    text = _text(name, environ).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {text!r}")


def whole_number(name: str, environ: Mapping[str, str] | None = None, *, least: int = 1) -> int:
    text = _text(name, environ)
    if not text.isdigit() or int(text) < least:
        raise ValueError(f"{name} must be a whole number >= {least}, not {text!r}")
    return int(text)


def number(name: str, environ: Mapping[str, str] | None = None) -> float:
    text = _text(name, environ)
    try:
        parsed = float(text)
    except ValueError:
        parsed = -1.0
    if parsed < 0:
        raise ValueError(f"{name} must be a number >= 0, not {text!r}")
    return parsed


def request_sensor_interval(environ: Mapping[str, str] | None = None) -> int:
    """Seconds between the request sensor's ticks, read when the code location loads."""
    return whole_number(REQUEST_SENSOR_INTERVAL, environ)


def request_status_interval(environ: Mapping[str, str] | None = None) -> int:
    """Seconds between the run-status sensors' ticks, read when the code location loads."""
    return whole_number(REQUEST_STATUS_INTERVAL, environ)


def backup(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The nightly backup's schedule, batch size and principal (validated by its settings)."""
    return {
        "cron": _text(BACKUP_CRON, environ),
        "timezone": _text(BACKUP_TIMEZONE, environ),
        "batch_size": whole_number(BACKUP_BATCH_SIZE, environ),
        "requested_by": _text(BACKUP_PRINCIPAL, environ),
    }


def retention(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The retention policy: bundles kept, ages after which bundles and staging go."""
    return {
        "keep": whole_number(RETENTION_KEEP, environ, least=0),
        "max_age_days": number(RETENTION_MAX_AGE_DAYS, environ),
        "staging_max_age_hours": number(RETENTION_STAGING_MAX_AGE_HOURS, environ),
    }


def retention_schedule(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(cron, time zone) of the nightly retention run."""
    return _text(RETENTION_CRON, environ), _text(RETENTION_TIMEZONE, environ)
