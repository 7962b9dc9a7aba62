"""The ``ocomms-pipeline`` command line.

``export`` keeps the shape of ocomms's own ``tsx scripts/export-data.ts <org-id> <output-dir>``
so operators can swap one for the other, but runs the Dagster job with its owner gate.
Exit status: 0 exported, 3 refused by the owner gate, 1 any other failure, 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ocomms_pipeline import restore_cli, retention_cli
from ocomms_pipeline.errors import ExportRefused

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocomms-pipeline",
        description="Export ocomms organizations to verified JSON bundles with Dagster.",
        epilog="Organization ids may begin with '-': put '--' before the positional arguments.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="export one organization to a directory")
    export.add_argument("organization_id", help="ocomms organization id")
    export.add_argument("output_dir", type=Path, help="export root; the bundle goes below it")
    who = export.add_mutually_exclusive_group(required=True)
    who.add_argument("--requested-by", metavar="USER_ID", help="an owner of the organization")
    who.add_argument("--operator", metavar="NAME", help="export as operator:<NAME>")
    export.add_argument(
        "--database-url", help="ocomms database (default: $OCOMMS_DATABASE_URL)", default=None
    )
    export.add_argument("--verbose", action="store_true", help="show Dagster's run log")
    export.add_argument(
        "--parquet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also write parquet/<table>.parquet (default: $OCOMMS_EXPORT_PARQUET)",
    )
    export.add_argument(
        "--archive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also pack the bundle into ocomms-export-<time>.zip beside it (default: yes)",
    )

    verify = commands.add_parser("verify", help="check a bundle's files against its manifest")
    verify.add_argument("bundle_dir", type=Path, help="a published bundle directory")

    commands.add_parser("demo", help="seed a demo ocomms database and export one organization")
    _add_request_commands(commands)
    retention_cli.add_parser(commands)
    restore_cli.add_parser(commands)
    return parser


def _add_request_commands(commands: argparse._SubParsersAction) -> None:
    """Subcommands of the export-request queue and the audit log (see request_cli)."""
    database = {"help": "ocomms database (default: $OCOMMS_DATABASE_URL)", "default": None}
    init_db = commands.add_parser("init-db", help="create the export-request queue if missing")
    init_db.add_argument("--database-url", **database)
    request = commands.add_parser("request", help="queue an export request, print its id")
    request.add_argument("organization_id", help="ocomms organization id")
    request.add_argument("--requested-by", metavar="USER_ID", required=True, help="the owner")
    request.add_argument("--database-url", **database)
    status = commands.add_parser("status", help="show an export request")
    status.add_argument("request_id", help="the id `request` printed")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.add_argument("--database-url", **database)
    audit = commands.add_parser("audit", help="the ocomms audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser("verify", help="check the hash chain of every day file")
    verify.add_argument("directory", type=Path, help="OCOMMS_AUDIT_LOG_DIR")


def _request_command(args: argparse.Namespace) -> int:
    from ocomms_pipeline import request_cli

    if args.command == "audit":
        return request_cli.audit_verify(args.directory)
    database_url = args.database_url or os.environ.get("OCOMMS_DATABASE_URL")
    if not database_url:
        print("error: set OCOMMS_DATABASE_URL or pass --database-url", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "init-db":
        return request_cli.init_db(database_url)
    if args.command == "request":
        return request_cli.request(database_url, args.organization_id, args.requested_by)
    return request_cli.status(database_url, args.request_id, args.json)


def _print_outcome_table(rows: dict[str, int]) -> None:
    width = max((len(name) for name in rows), default=5)
    for name, count in rows.items():
        print(f"  {name:<{width}}  {count:>10,}")


def _export(args: argparse.Namespace) -> int:
    from ocomms_pipeline.runner import run_export

    database_url = args.database_url or os.environ.get("OCOMMS_DATABASE_URL")
    if not database_url:
        print("error: set OCOMMS_DATABASE_URL or pass --database-url", file=sys.stderr)
        return EXIT_USAGE
    requested_by = args.requested_by if args.requested_by else f"operator:{args.operator}"
    try:
        outcome = run_export(
            args.organization_id,
            requested_by,
            export_root=args.output_dir.expanduser().resolve(),
            database_url=database_url,
            quiet=not args.verbose,
            parquet=args.parquet,
            archive=args.archive,
        )
    except ExportRefused as refusal:
        print(f"refused: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    if not outcome.success:
        label = "refused" if outcome.outcome == "rejected" else "error"
        print(f"{label}: {outcome.reason}", file=sys.stderr)
        return EXIT_REFUSED if outcome.outcome == "rejected" else EXIT_FAILED
    print(f"bundle: {outcome.bundle_path}")
    print(f"run: {outcome.run_id}")
    _print_outcome_table(outcome.table_rows)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from ocomms_pipeline.verification import verify_bundle

    if not args.bundle_dir.is_dir():
        print(f"error: {args.bundle_dir} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    problems = verify_bundle(args.bundle_dir)
    for problem in problems:
        print(problem.line())
    if problems:
        return EXIT_FAILED
    print(f"ok: {args.bundle_dir}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "export":
        return _export(args)
    if args.command == "verify":
        return _verify(args)
    if args.command == "demo":
        from ocomms_pipeline.demo import run_demo

        return run_demo()
    if args.command in ("init-db", "request", "status", "audit"):
        return _request_command(args)
    if args.command == "retention":
        return retention_cli.run(args)
    if args.command == "restore":
        return restore_cli.run(args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
