"""``ocomms-pipeline retention``: prune an export root from the command line.

Same policy, same decisions and same protection as the Dagster job (``prune_exports``). It
reads the request queue before deleting anything; without a database to read it refuses,
since it could not know which bundles pending requests still need.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ocomms_pipeline import settings
from ocomms_pipeline.bundle import retention
from ocomms_pipeline.cli import common
from ocomms_pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ocomms_pipeline.errors import describe
from ocomms_pipeline.requests import queue as request_queue


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "retention", help="delete old bundles: keep the newest N and all younger than D days"
    )
    parser.add_argument("root", type=Path, help="export root (OCOMMS_EXPORT_ROOT)")
    parser.add_argument(
        "--keep",
        type=int,
        help=f"newest bundles kept ({settings.named_default(settings.RETENTION_KEEP)})",
    )
    parser.add_argument(
        "--max-age-days",
        type=float,
        help=f"keep all younger ({settings.named_default(settings.RETENTION_MAX_AGE_DAYS)})",
    )
    parser.add_argument(
        "--staging-max-age-hours",
        type=float,
        help="remove older staging of runs not running "
        f"({settings.named_default(settings.RETENTION_STAGING_MAX_AGE_HOURS)})",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would go, delete none")
    parser.add_argument("--database-url", help="ocomms database (default: $OCOMMS_DATABASE_URL)")


def _active_run_ids() -> set[str]:
    """Runs in progress in the Dagster instance, when there is one to ask."""
    from ocomms_pipeline.launch.instances import runs_in_progress

    return runs_in_progress()


def run(args: argparse.Namespace) -> int:
    database_url = common.database_url(args)
    if not database_url:
        return EXIT_USAGE
    try:
        policy = retention.RetentionPolicy.from_env().with_overrides(
            keep=args.keep,
            max_age_days=args.max_age_days,
            staging_max_age_hours=args.staging_max_age_hours,
        )
        protected = request_queue.protected_bundles(database_url)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (psycopg.Error, OSError) as error:
        print(
            f"error: cannot read export requests, nothing deleted: {describe(error)}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    root = args.root.expanduser().resolve()
    plan = retention.plan_retention(root, datetime.now(UTC), policy, protected, _active_run_ids())
    try:
        _apply(plan, args.dry_run)
    except OSError as error:
        print(f"error: {describe(error)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"kept {plan.kept} bundle(s)")
    return EXIT_OK


def _apply(plan: retention.RetentionPlan, dry_run: bool) -> None:
    """Delete one path at a time and say so, so an error leaves an accurate record above it."""
    verb = "would delete" if dry_run else "deleted"
    for path in plan.bundles:
        if not dry_run:
            retention.delete_bundle(path)
        print(f"{verb} bundle {path}")
    for path in plan.staging + plan.leftovers:
        if not dry_run:
            shutil.rmtree(path)
        print(f"{verb} staging {path}")
