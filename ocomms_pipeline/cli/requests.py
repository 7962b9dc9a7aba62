"""Command-line handlers for the request queue and the audit log (wired up in ``cli``).

``request`` does exactly what the ocomms app does when an owner clicks Export (one INSERT),
so an operator can queue a request by hand and watch it go through the same sensor, gate and
run. Every error is one line on stderr; exit status 0 ok, 1 failed or not found, 2 usage,
3 refused (a malformed id, as for ``export``).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import psycopg

from ocomms_pipeline import identifiers, settings
from ocomms_pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from ocomms_pipeline.errors import ExportRefused, describe
from ocomms_pipeline.postgres.snapshots import connect
from ocomms_pipeline.requests import audit
from ocomms_pipeline.requests import queue as request_queue

SECRET_ENV = settings.AUDIT_LOG_SECRET


def _error(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def init_db(database_url: str) -> int:
    try:
        request_queue.init_db(database_url)
    except psycopg.Error as error:
        return _error(f"error: {describe(error)}", EXIT_FAILED)
    print(f"{request_queue.TABLE} is ready")
    return EXIT_OK


def request(database_url: str, organization_id: str, requested_by: str) -> int:
    """Queue a request as the app would and print its id."""
    try:
        identifiers.organization_id(organization_id)
        if identifiers.principal(requested_by).is_operator:
            return _error("refused: requests name the ocomms user who asks", EXIT_REFUSED)
    except ExportRefused as refusal:
        return _error(f"refused: {refusal}", EXIT_REFUSED)
    try:
        with connect(database_url, autocommit=True) as conn:
            if not request_queue.queue_exists(conn):
                return _error(
                    f"error: no {request_queue.TABLE}: run `ocomms-pipeline init-db`", EXIT_FAILED
                )
            request_id = request_queue.enqueue(conn, organization_id, requested_by)
    except psycopg.Error as error:
        return _error(f"error: {describe(error)}", EXIT_FAILED)
    print(request_id)
    return EXIT_OK


def _show(value: object) -> str:
    return "" if value is None else str(value)


def status(database_url: str, request_id: str, as_json: bool) -> int:
    """Print a request row: ``key: value`` lines, or one JSON object."""
    try:
        uuid.UUID(request_id)
    except ValueError:
        return _error(f"error: {request_id!r} is not a request id (a uuid)", EXIT_USAGE)
    try:
        with connect(database_url, autocommit=True) as conn:
            exists = request_queue.queue_exists(conn)
            found = request_queue.get(conn, request_id) if exists else None
    except psycopg.Error as error:
        return _error(f"error: {describe(error)}", EXIT_FAILED)
    if found is None:
        return _error(f"error: no export request {request_id}", EXIT_FAILED)
    row = found.as_dict()
    if as_json:
        print(json.dumps(row, default=str, ensure_ascii=False))
    else:
        width = max(len(name) for name in row)
        for name, value in row.items():
            print(f"{name + ':':<{width + 1}} {_show(value)}".rstrip())
    return EXIT_OK


def audit_verify(directory: Path) -> int:
    """Verify every day file of an audit log directory; report the first broken line."""
    secret = settings.value(SECRET_ENV) or ""
    if not secret:
        return _error(f"error: set {SECRET_ENV} to the audit log's key", EXIT_USAGE)
    if not directory.is_dir():
        return _error(f"error: {directory} is not a directory", EXIT_USAGE)
    result = audit.verify(directory, secret)
    if result.problem is not None:
        return _error(f"broken: {result.problem}", EXIT_FAILED)
    print(f"ok: {verified_summary(result)}")
    return EXIT_OK


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def verified_summary(result: audit.Verification) -> str:
    """``1 entry in 1 file verifies``, and how many lines went unchecked for want of a hash:
    ocomms skips those too, but an operator should know they were not checked."""
    entries = _count(result.entries, "entry", "entries")
    verb = "verifies" if result.entries == 1 else "verify"
    summary = f"{entries} in {_count(result.files, 'file', 'files')} {verb}"
    if result.unhashed:
        lines = _count(result.unhashed, "line", "lines")
        summary += f"; {lines} without a hash not checked (ocomms skips them too)"
    return summary
