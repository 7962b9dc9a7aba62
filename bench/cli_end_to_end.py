"""Benchmark: what a user waits for, ``ocomms-pipeline export`` from process start to exit.

Builds two databases with ``bench.generators.generate`` (a large organization, ``--messages``, and a
small one, ``--small-messages``), then times the commands a person runs, each a fresh
process on a Dagster instance that already exists (its storage created beforehand):

- the floor, in the same run: PostgreSQL's ``COPY (SELECT row_to_json ...)`` of the large
  organization's messages, drained and discarded (``bench.children.floor``), best of two;
- ``export --no-archive`` (the JSON bundle), ``export`` (with the zip a request gets) and
  ``export --parquet --no-archive`` of the large organization, on a SQLite instance;
- ``restore`` of that zip into a fresh database with ocomms's schema;
- ``export --no-archive`` of the small organization, ``--small-runs`` times, on a SQLite
  instance and on ``deploy/dagster.yaml`` (PostgreSQL, a database of its own), each run
  paired with two yardsticks: a run of the export's shape that does no work, on the same
  instance (``bench.children.dagster_shape``), and Python importing Dagster;
- with ``--sizes``, the JSON and the Parquet export of organizations of those sizes, for
  how their peak memory grows (or does not) with the data;
- an export that carries ``--files`` uploaded files, beside ``cp -r`` of them
  (``bench.support.cli_files``).

MB/s is the bundle's JSON bytes over the command's wall time; "vs floor" divides it by the
floor's MB/s for messages. Peak RSS is the command's own (``wait4``); it cannot read below
this process's own (a child inherits its parent's peak), which is why this process loads
neither Dagster nor the export. Everything it creates (databases, instances, bundles) is
removed at the end.

    .venv/bin/python -m bench.cli_end_to_end                       # 1M messages
    .venv/bin/python -m bench.cli_end_to_end --messages 100k --output report.md
    .venv/bin/python -m bench.cli_end_to_end --no-restore --sizes 100k,3M
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import children
from bench.generators.generate import parse_size
from bench.support.cli_files import FilesCase, measure_files, render_files
from bench.support.cli_runs import (
    CLI,
    MB,
    Organization,
    Timed,
    clear,
    export,
    generate,
    timed,
)
from bench.support.dagster_homes import (
    PREFIX,
    create_instance,
    dagster_database,
    new_user_sqlite_home,
    postgres_home,
)
from ocomms_pipeline.sandbox import ddl, servers


def _floor(org: Organization, work: Path) -> dict[str, float]:
    """The best of two floor runs, for messages and for every table."""
    runs = [
        children.run("bench.children.floor", [org.organization_id], org.url, work) for _ in range(2)
    ]
    best = min(runs, key=lambda r: r["tables"]["messages"]["seconds"])
    messages = best["tables"]["messages"]
    return {
        "messages_bytes": messages["bytes"],
        "messages_seconds": messages["seconds"],
        "messages_cpu": messages.get("machine_cpu_seconds"),
        "all_bytes": best["bytes"],
        "all_seconds": best["seconds"],
        "all_cpu": best.get("machine_cpu_seconds"),
    }


def measure_large(
    org: Organization, admin_url: str, work: Path, restore: bool = True, prefix: str = PREFIX
) -> list[Timed]:
    """The large organization: JSON, with zip, with Parquet, and the zip restored."""
    env = new_user_sqlite_home(work / "sqlite_home")
    create_instance(env)
    root = work / "exports"
    root.mkdir()
    env["OCOMMS_DATABASE_URL"] = org.url
    results = [timed("JSON bundle, --no-archive", export(org, root, "--no-archive"), env, work)]
    clear(root)
    with_zip = timed("JSON bundle with its zip (the default)", export(org, root), env, work)
    results.append(with_zip)
    if restore:
        (archive,) = root.rglob("*.zip")
        target = servers.create_database(admin_url, f"{prefix}_restored")
        with psycopg.connect(target, autocommit=True) as conn:
            ddl.create_schema(conn)
        command = [CLI, "restore", "--database-url", target, "--", str(archive)]
        case = "restore of that zip into an empty ocomms schema"
        results.append(timed(case, command, env, work))
    clear(root)
    parquet = export(org, root, "--parquet", "--no-archive")
    results.append(timed("JSON and Parquet, --no-archive", parquet, env, work))
    clear(root)
    return results


SHAPE_RUN = "a run of the same shape doing nothing"
SHAPE = f"{SHAPE_RUN} (`bench.children.dagster_shape`)"
SQLITE = "SQLite instance"
IMPORT = "Python with `import dagster`, nothing else"


def measure_small(
    org: Organization, admin_url: str, work: Path, runs: int, prefix: str = PREFIX
) -> dict[str, list[Timed]]:
    """The small organization's export, ``runs`` times on each kind of instance, each run
    paired with the yardsticks: a run of the same shape that does no work, on the same
    instance, and (on the first instance) Python importing Dagster."""
    homes = {
        SQLITE: new_user_sqlite_home(work / "small_sqlite_home"),
        "PostgreSQL instance (deploy/dagster.yaml)": postgres_home(
            work / "small_pg_home", admin_url, prefix
        ),
    }
    shape = [sys.executable, "-m", "bench.children.dagster_shape"]
    imports = [sys.executable, "-c", "import dagster"]
    found: dict[str, list[Timed]] = {IMPORT: []}
    for label, env in homes.items():
        create_instance(env)
        env["OCOMMS_DATABASE_URL"] = org.url
        root = work / "small_exports"
        root.mkdir(exist_ok=True)
        command = export(org, root, "--no-archive")
        yardstick = f"{label}: {SHAPE}"
        found[label], found[yardstick] = [], []
        for _ in range(runs):
            found[label].append(timed(label, command, env, work))
            on_path = {**env, "PYTHONPATH": str(children.PROJECT)}  # `-m bench...` from `work`
            found[yardstick].append(timed(yardstick, shape, on_path, work))
            if len(found[IMPORT]) < runs:
                found[IMPORT].append(timed(IMPORT, imports, {}, work))
        clear(root)
    found[IMPORT] = found.pop(IMPORT)  # listed last
    return found


def measure_sizes(
    admin_url: str, work: Path, sizes: list[int], prefix: str = PREFIX
) -> list[tuple[int, Timed]]:
    """Peak memory of the JSON and the Parquet export at other sizes (its flatness)."""
    found = []
    env = new_user_sqlite_home(work / "sizes_home")
    create_instance(env)
    root = work / "size_exports"
    root.mkdir()
    for size in sizes:
        name = f"{prefix}_size"
        try:
            org = generate(admin_url, name, size)
            env["OCOMMS_DATABASE_URL"] = org.url
            for flags in (["--no-archive"], ["--parquet", "--no-archive"]):
                case = "JSON and Parquet" if "--parquet" in flags else "JSON bundle"
                found.append((size, timed(case, export(org, root, *flags), env, work)))
                clear(root)
        finally:
            servers.drop_database(admin_url, name)
    return found


def _cpu(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f}"


def _bound(floor: dict[str, float], small: dict[str, list[Timed]]) -> tuple[str, float] | None:
    """The best wall an export could reach here: every table's floor, then a Dagster run of
    the export's shape that does nothing (its median, on the SQLite instance). An export
    reads every table and records its run; it can overlap the two only with cores that
    the floor leaves idle (the machine CPU column says how many)."""
    shape = small.get(f"{SQLITE}: {SHAPE}")
    if not shape:
        return None
    median = statistics.median(t.seconds for t in shape)
    label = f"bound: every table's floor, then {SHAPE_RUN} ({median:.2f} s)"
    return label, floor["all_seconds"] + median


def _spread(values: list[float]) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.2f} s (min {low:.2f}, max {high:.2f})"


def render(
    large: list[Timed],
    floor: dict[str, float],
    small: dict[str, list[Timed]],
    facts: str,
    sizes: list[tuple[int, Timed]] | None = None,
    files: FilesCase | None = None,
) -> str:
    floor_rate = floor["messages_bytes"] / MB / floor["messages_seconds"]
    all_rate = floor["all_bytes"] / MB / floor["all_seconds"]
    lines = [
        f"CLI end to end ({facts})",
        "",
        "| case | wall s | MB/s | vs floor | machine CPU s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
        f"| floor: COPY of the messages as NDJSON ({floor['messages_bytes'] / MB:,.0f} MB) "
        f"| {floor['messages_seconds']:.2f} | {floor_rate:.1f} | 1.00 "
        f"| {_cpu(floor.get('messages_cpu'))} | |",
        f"| floor, every table ({floor['all_bytes'] / MB:,.0f} MB) "
        f"| {floor['all_seconds']:.2f} | {all_rate:.1f} | {all_rate / floor_rate:.2f} "
        f"| {_cpu(floor.get('all_cpu'))} | |",
    ]
    bundle_bytes = next((t.json_bytes for t in large if t.json_bytes), 0)
    bound = _bound(floor, small)
    if bound is not None and bundle_bytes:
        label, seconds = bound
        rate = bundle_bytes / MB / seconds
        lines.append(f"| {label} | {seconds:.2f} | {rate:.1f} | {rate / floor_rate:.2f} | | |")
    for case in large:
        rate = bundle_bytes / MB / case.seconds
        # A restore writes: the export's floor is not its measure (bench.restore_benchmark).
        ratio = f"{rate / floor_rate:.2f}" if case.json_bytes else ""
        lines.append(
            f"| {case.case} | {case.seconds:.2f} | {rate:.1f} | {ratio} "
            f"| {_cpu(case.machine_cpu_seconds)} | {case.peak_rss_mb:.0f} |"
        )
    lines += ["", f"The bundle's JSON: {bundle_bytes / MB:,.0f} MB. MB/s: that over the wall."]
    lines += [
        f"Machine CPU: busy core-seconds of the whole machine, PostgreSQL included, of "
        f"{os.cpu_count()} cores."
    ]
    lines += ["", "| small organization, `export --no-archive` | wall | peak RSS MB |"]
    lines += ["|---|---|---:|"]
    for label, runs in small.items():
        peak = max(t.peak_rss_mb for t in runs)
        lines.append(
            f"| {label}, {len(runs)} runs | {_spread([t.seconds for t in runs])} | {peak:.0f} |"
        )
    if sizes:
        lines += ["", "| messages | case | wall s | MB/s | peak RSS MB |"]
        lines += ["|---:|---|---:|---:|---:|"]
        for size, case in sizes:
            rate = case.json_bytes / MB / case.seconds
            lines.append(
                f"| {size:,} | {case.case} | {case.seconds:.2f} | {rate:.1f} "
                f"| {case.peak_rss_mb:.0f} |"
            )
    if files is not None:
        lines += render_files(files)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=parse_size, default=1_000_000)
    parser.add_argument("--small-messages", type=parse_size, default=1_400)
    parser.add_argument("--small-runs", type=int, default=5)
    parser.add_argument("--no-restore", action="store_true", help="leave the restore out")
    parser.add_argument(
        "--sizes",
        type=lambda text: [parse_size(t) for t in text.split(",") if t],
        default=[],
        help="also the peak memory of exports of these sizes, e.g. 100k,3M (its flatness)",
    )
    parser.add_argument(
        "--files", type=parse_size, default=5000, help="attachments of the files case (0: none)"
    )
    parser.add_argument("--mean-kb", type=int, default=64, help="their mean size")
    parser.add_argument("--admin-url", help="server for the databases (default: as the tests)")
    parser.add_argument("--prefix", default=PREFIX, help="of the databases it creates and drops")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin_url = args.admin_url or servers.admin_server_url()
    work = Path(tempfile.mkdtemp(prefix="ocomms-cli-bench-"))
    prefix = args.prefix
    names = [f"{prefix}_{n}" for n in ("large", "small", "restored", "size", "files")]
    names.append(dagster_database(prefix))
    try:
        large_org = generate(admin_url, names[0], args.messages)
        small_org = generate(admin_url, names[1], args.small_messages)
        floor = _floor(large_org, work)
        large = measure_large(large_org, admin_url, work, not args.no_restore, prefix)
        small = measure_small(small_org, admin_url, work, args.small_runs, prefix)
        sizes = measure_sizes(admin_url, work, args.sizes, prefix)
        files = None
        if args.files:
            files = measure_files(admin_url, work, args.files, args.mean_kb, prefix)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for name in names:
            servers.drop_database(admin_url, name)
    facts = (
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {args.messages:,} messages, small organization {args.small_messages:,} messages"
    )
    markdown = render(large, floor, small, facts, sizes, files)
    print(markdown, end="")
    if args.output is not None:
        args.output.write_text(markdown, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
