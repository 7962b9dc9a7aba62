"""Benchmark: restoring a large organization's bundle against a plain COPY of the same rows.

For each size (messages of the organization: ``100k``, ``1M``...) it builds a database with
``bench.generators.generate``, exports the large organization through the real Dagster run,
then, each in a fresh process so peak RSS is that measurement's own:

- the restore (``bench.children.restore_run``): ``restore_bundle`` into a fresh database with
  ocomms's schema, all of it: the bundle's checks, the target's schema, one transaction of COPYs;
- the floor (``bench.children.copy_floor``): the rows the restore left in that database, dumped
  as CSV beforehand, loaded by plain ``COPY FROM`` into another fresh database of the same schema,
  in the same order, in one transaction.

Both count the same rows table by table (the benchmark stops if they do not). It prints
Markdown (and writes it to ``--output``); databases and scratch files are removed at the end.

    .venv/bin/python -m bench.restore_benchmark 100k 1M --output restore-bench.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import children
from bench.benchmark import machine_facts, parse_size
from bench.children.copy_floor import dump_rows
from bench.generators import generate
from ocomms_pipeline.sandbox import ddl, servers

MB = 1_000_000


@dataclass(frozen=True)
class Options:
    sizes: list[int]
    admin_url: str
    seed: int = 1
    prefix: str = "ocomms_restorebench"


def _fresh_database(admin_url: str, name: str) -> str:
    url = servers.create_database(admin_url, name)
    with psycopg.connect(url) as conn:
        ddl.create_schema(conn)
    return url


def _export(url: str, organization_id: str, root: Path) -> Path:
    from ocomms_pipeline.launch.in_process import run_export

    outcome = run_export(organization_id, "operator:bench", export_root=root, database_url=url)
    if not outcome.success or outcome.bundle_path is None:
        raise SystemExit(f"export {outcome.outcome}: {outcome.reason}")
    return outcome.bundle_path


def _load_order(url: str, bundle: Path) -> list[tuple[str, list[str]]]:
    """The restored tables with their bundle columns, in the order the restore inserts them."""
    from ocomms_pipeline.restore.plan import insertion_order
    from ocomms_pipeline.restore.target import inspect

    tables = json.loads((bundle / "manifest.json").read_text())["tables"]
    with psycopg.connect(url) as conn:
        target = inspect(conn, list(tables))
    names = [n for n in insertion_order(list(tables), target) if target[n].columns]
    return [(n, tables[n]["exported_columns"]) for n in names]


def measure_size(options: Options, messages: int, work: Path) -> dict[str, Any]:
    admin, base = options.admin_url, f"{options.prefix}_{messages}"
    names = [base, f"{base}_restore", f"{base}_floor"]
    try:
        generated = generate.build_database(admin, names[0], messages, options.seed)
        print(f"{messages:,} messages: database built in {generated.seconds:.1f} s", flush=True)
        bundle = _export(generated.url, generated.organization_id, work / "export")
        generate.drop_database(admin, names[0])
        restored_url = _fresh_database(admin, names[1])
        restore = children.run("bench.children.restore_run", [str(bundle)], restored_url, work)
        print(f"  restore {restore['seconds']:.2f} s", flush=True)
        (work / "csv").mkdir()
        dump_rows(restored_url, _load_order(restored_url, bundle), work / "csv")
        generate.drop_database(admin, names[1])
        floor_url = _fresh_database(admin, names[2])
        floor = children.run("bench.children.copy_floor", [str(work / "csv")], floor_url, work)
        print(f"  floor {floor['seconds']:.2f} s", flush=True)
        if floor["table_rows"] != restore["table_rows"]:
            raise SystemExit("the floor and the restore did not insert the same rows")
        manifest = json.loads((bundle / "manifest.json").read_text())
        json_bytes = sum(t["bytes"] for t in manifest["tables"].values())
    finally:
        for name in names:
            generate.drop_database(admin, name)
        shutil.rmtree(work / "export", ignore_errors=True)
        shutil.rmtree(work / "csv", ignore_errors=True)
    return {"messages": messages, "bundle_bytes": json_bytes, "restore": restore, "floor": floor}


def render(machine: dict[str, str], sizes: list[dict[str, Any]]) -> str:
    lines = ["# Restore benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += [
        "",
        "| messages | rows | bundle MB | COPY floor s | floor rows/s | restore s | "
        "restore rows/s | restore vs floor | restore peak RSS MB | floor peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        restore, floor = size["restore"], size["floor"]
        rows = restore["rows"]
        lines.append(
            f"| {size['messages']:,} | {rows:,} | {size['bundle_bytes'] / MB:,.0f} | "
            f"{floor['seconds']:.2f} | {rows / floor['seconds']:,.0f} | "
            f"{restore['seconds']:.2f} | {rows / restore['seconds']:,.0f} | "
            f"{floor['seconds'] / restore['seconds']:.2f} | {restore['peak_rss_mb']:.0f} | "
            f"{floor['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def run_benchmark(options: Options) -> str:
    machine = machine_facts(options.admin_url, options.seed)
    work = Path(tempfile.mkdtemp(prefix="ocomms-restore-benchmark-"))
    try:
        sizes = [measure_size(options, messages, work) for messages in options.sizes]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return render(machine, sizes)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=parse_size, help="messages: 100000, 100k, 1M")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--admin-url", help="server to create databases on (default: as tests)")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    admin_url = args.admin_url or servers.admin_server_url()
    markdown = run_benchmark(Options(args.sizes, admin_url, args.seed))
    print("\n" + markdown, end="")
    if args.output is not None:
        args.output.write_text(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
