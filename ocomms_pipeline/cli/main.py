"""The ``ocomms-pipeline`` command line.

``export`` keeps the shape of ocomms's own ``tsx scripts/export-data.ts <org-id> <output-dir>``
so operators can swap one for the other, but runs the Dagster job with its owner gate.
Exit status: 0 exported, 3 refused by the owner gate, 1 any other failure, 2 usage.

ocomms ids are nanoids over ``A-Za-z0-9_-``, so an organization or user id may begin with
``-``. argparse takes any such word for an option, so ``main`` first sorts the words itself
(``plain_arguments``): a word that is exactly one of the command's options is that option and
the word after it is its value, whatever it begins with; every other word is a positional
argument. ``--`` before the positional arguments keeps working, and is needed only for an id
that is exactly one of the command's option names. Options must therefore be spelled in full
(no abbreviations), or an abbreviation would be taken for an id.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ocomms_pipeline.cli import common
from ocomms_pipeline.cli import restore as restore_cli
from ocomms_pipeline.cli import retention as retention_cli
from ocomms_pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from ocomms_pipeline.cli.progress import status_line
from ocomms_pipeline.errors import ExportRefused
from ocomms_pipeline.status import RequestStatus


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocomms-pipeline",
        description="Export ocomms organizations to verified JSON bundles with Dagster.",
        epilog="Ids may begin with '-' (request -Xy3... --requested-by -Ab9...); options are "
        "spelled in full. '--' before the positional arguments also works.",
        allow_abbrev=False,
    )
    # No abbreviated options anywhere: plain_arguments takes an unknown word for an id.
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        parser_class=functools.partial(argparse.ArgumentParser, allow_abbrev=False),
    )

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
        "--uploads-dir",
        type=Path,
        default=None,
        help="ocomms's UPLOAD_DIR, whose files the bundle carries (default: $OCOMMS_UPLOADS_DIR)",
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
    ui = commands.add_parser(
        "ui", help="open the Dagster UI (webserver and daemon) on the demo's environment"
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (%(default)s)")
    ui.add_argument("--port", type=int, default=3000, help="port to serve on (%(default)s)")
    _add_request_commands(commands)
    retention_cli.add_parser(commands)
    restore_cli.add_parser(commands)
    return parser


def _add_request_commands(commands: argparse._SubParsersAction) -> None:
    """Subcommands of the export-request queue and the audit log (run by ``cli/requests.py``)."""
    database = common.DATABASE_HELP
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
    from ocomms_pipeline.cli import requests as request_cli

    if args.command == "audit":
        return request_cli.audit_verify(args.directory)
    database_url = common.database_url(args)
    if not database_url:
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
    from ocomms_pipeline.launch.in_process import run_export

    database_url = common.database_url(args)
    if not database_url:
        return EXIT_USAGE
    requested_by = args.requested_by if args.requested_by else f"operator:{args.operator}"
    try:
        # With --verbose Dagster's run log, on stderr too, says the same per table.
        with status_line(sys.stderr, enabled=not args.verbose):
            outcome = run_export(
                args.organization_id,
                requested_by,
                export_root=args.output_dir.expanduser().resolve(),
                database_url=database_url,
                quiet=not args.verbose,
                parquet=args.parquet,
                archive=args.archive,
                uploads_dir=args.uploads_dir.expanduser().resolve() if args.uploads_dir else None,
            )
    except ExportRefused as refusal:
        print(f"refused: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    if not outcome.success:
        label = "refused" if outcome.outcome == RequestStatus.REJECTED else "error"
        print(f"{label}: {outcome.reason}", file=sys.stderr)
        return EXIT_REFUSED if outcome.outcome == RequestStatus.REJECTED else EXIT_FAILED
    print(f"bundle: {outcome.bundle_path}")
    print(f"run: {outcome.run_id}")
    _print_outcome_table(outcome.table_rows)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from ocomms_pipeline.checks.verification import verify_bundle

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


def _command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def plain_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``argv`` rewritten so that argparse reads words beginning with ``-`` as ids where due.

    Within a command's words: an exact option name stays an option, and if it takes a value
    the next word becomes ``--option=value`` (argparse takes a value after ``=`` as it is);
    ``--option=value`` and the help options stay as they are; every other word is a
    positional argument, and all of them go, in their order, after one ``--``. A command with
    subcommands of its own (``audit``) is left as it is: its arguments are paths.
    """
    words = list(argv)
    commands = _command_parsers(parser)
    if not words or words[0] not in commands or _command_parsers(commands[words[0]]):
        return words
    options = commands[words[0]]._option_string_actions
    named: list[str] = [words[0]]
    positional: list[str] = []
    rest = iter(words[1:])
    for word in rest:
        if word == "--":
            positional.extend(rest)
            break
        action = options.get(word.split("=", 1)[0] if word.startswith("--") else word)
        if action is None:
            (named if word.startswith("-") and "=" in word else positional).append(word)
        elif "=" in word or action.nargs == 0:
            named.append(word)
        else:
            value = next(rest, None)
            named.append(word if value is None else f"{word}={value}")
    return named + (["--", *positional] if positional else [])


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(plain_arguments(parser, sys.argv[1:] if argv is None else argv))
    try:
        return _dispatch(args)
    except BrokenPipeError:
        # Whoever read stdout went away (`| head`): say so in one line, not a traceback, and
        # point stdout at nothing so that Python's flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: standard output was closed before everything was written", file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "export":
        return _export(args)
    if args.command == "verify":
        return _verify(args)
    if args.command == "demo":
        from ocomms_pipeline.sandbox.demo import run_demo

        return run_demo()
    if args.command == "ui":
        from ocomms_pipeline.sandbox.ui import run_ui

        return run_ui(args.host, args.port)
    if args.command in ("init-db", "request", "status", "audit"):
        return _request_command(args)
    if args.command == "retention":
        return retention_cli.run(args)
    if args.command == "restore":
        return restore_cli.run(args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
