"""One restore of a bundle into the database in ``OCOMMS_DATABASE_URL``, in a fresh process.

OCOMMS_DATABASE_URL=... python -m bench.children.restore_run --result r.json --spawned 0 -- <bundle>
"""

from __future__ import annotations

import argparse
import time

from bench import children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--result", required=True, help="JSON file to write the figures to")
    parser.add_argument("--spawned", type=float, required=True, help="time.time() at spawn")
    args = parser.parse_args()

    from ocomms_pipeline.restore import restore_bundle

    start_seconds = time.time() - args.spawned
    ready_rss = children.peak_rss_mb()
    started = time.perf_counter()
    report = restore_bundle(args.bundle, children.database_url())
    seconds = time.perf_counter() - started
    figures = {
        "seconds": seconds,
        "start_seconds": start_seconds,
        "ready_rss_mb": ready_rss,
        "rows": report.restored_rows,
        "table_rows": {t.table: t.restored for t in report.tables if t.restored},
    }
    children.write_result(args.result, figures)


if __name__ == "__main__":
    main()
