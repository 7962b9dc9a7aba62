"""What every command shares: its exit statuses and where the ocomms database comes from."""

from __future__ import annotations

import argparse
import sys

from ocomms_pipeline import settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
# A restore refuses with its own status: a script that restores and exports tells them apart.
EXIT_RESTORE_REFUSED = 4

DATABASE_HELP = {
    "help": f"ocomms database (default: ${settings.DATABASE_URL})",
    "default": None,
}


def database_url(args: argparse.Namespace) -> str | None:
    """``--database-url``, else the environment; None (said on stderr) when neither is set."""
    url = getattr(args, "database_url", None) or settings.value(settings.DATABASE_URL)
    if not url:
        print(f"error: set {settings.DATABASE_URL} or pass --database-url", file=sys.stderr)
    return url
