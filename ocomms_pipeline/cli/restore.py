"""``ocomms-pipeline restore``: a bundle (directory or zip) back into an ocomms database.

Writes through its own URL (``--database-url`` or ``OCOMMS_RESTORE_DATABASE_URL``), never the
export's read-only one. Prints per table what it restored and what it could not, then what
the operator still has to do (users' way back in, queue jobs to re-create). Exit status:
0 restored (or the dry run passed), 1 failed, 2 usage, 4 refused; after 1 or 4 the target is
unchanged. With ``OCOMMS_AUDIT_LOG_DIR`` and ``AUDIT_LOG_SECRET`` set, the outcome is
appended to ocomms's audit log as the Dagster job does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ocomms_pipeline import identifiers, settings
from ocomms_pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ocomms_pipeline.cli.common import EXIT_RESTORE_REFUSED as EXIT_REFUSED
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.requests import audit
from ocomms_pipeline.restore import audit_entry

DATABASE_ENV = settings.RESTORE_DATABASE_URL
AUDIT_DIR_ENV, AUDIT_SECRET_ENV = settings.AUDIT_LOG_DIR, settings.AUDIT_LOG_SECRET


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "restore", help="restore one organization from a bundle into an ocomms database"
    )
    parser.add_argument("bundle", type=Path, help="a bundle directory or its .zip archive")
    parser.add_argument(
        "--database-url", help=f"the target, a role that may write (default: ${DATABASE_ENV})"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and insert everything, then roll back"
    )
    parser.add_argument("--report", type=Path, help="also write the report as JSON here")
    parser.add_argument(
        "--operator", default="cli", help="recorded in the audit log as operator:<NAME>"
    )
    parser.add_argument(
        "--uploads-dir",
        type=Path,
        help="the target's uploads directory (its UPLOAD_DIR): the bundle's files go there",
    )
    parser.add_argument("--scratch-dir", type=Path, help="where a zip is unpacked (default: tmp)")


def run(args: argparse.Namespace) -> int:
    url = args.database_url or settings.value(DATABASE_ENV)
    if not url:
        print(f"error: set {DATABASE_ENV} or pass --database-url", file=sys.stderr)
        return EXIT_USAGE
    if not args.bundle.exists():
        print(f"error: {args.bundle} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:
        requester = str(identifiers.operator(args.operator))
    except ExportRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return _restore(args, url, requester)


def _restore(args: argparse.Namespace, url: str, requester: str) -> int:
    # Imported here: Arrow and the bundle checks are not needed by the other commands.
    from ocomms_pipeline.restore import RestoreFailed, RestoreRefused, restore_bundle

    log = _audit_log()
    bundle = str(args.bundle)

    try:
        report = restore_bundle(
            args.bundle,
            url,
            dry_run=args.dry_run,
            scratch=args.scratch_dir,
            before_commit=None if log is None else audit_entry.before_commit(log, requester),
            uploads_dir=args.uploads_dir.expanduser() if args.uploads_dir else None,
        )
    except (RestoreRefused, RestoreFailed) as error:
        refused = isinstance(error, RestoreRefused)
        print(f"{'refused' if refused else 'error'}: {error}", file=sys.stderr)
        decision = audit_entry.REFUSED if refused else audit_entry.FAILED
        if not isinstance(error, audit_entry.AuditUnwritable):
            _audit(
                log, error.organization_id, requester, decision, reason=str(error), bundle=bundle
            )
        return EXIT_REFUSED if refused else EXIT_FAILED
    for line in report.lines():
        print(line)
    if report.dry_run:
        _audit(log, report.organization_id, requester, audit_entry.DRY_RUN, bundle=bundle)
    if args.report:
        args.report.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _audit_log() -> audit.DirectoryLog | None:
    directory, secret = settings.value(AUDIT_DIR_ENV), settings.value(AUDIT_SECRET_ENV)
    if not directory or not secret:
        return None
    return audit.DirectoryLog(Path(directory).expanduser(), secret)


def _audit(
    log: audit.DirectoryLog | None,
    organization: str | None,
    requester: str,
    decision: str,
    **extra: object,
) -> None:
    if log is None:
        return
    try:
        audit_entry.record(log, organization, requester, decision, **extra)
    except (OSError, audit.AuditError) as error:
        print(f"warning: the audit log was not written: {error}", file=sys.stderr)
