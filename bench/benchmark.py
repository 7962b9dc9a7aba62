"""Benchmark: one large organization's export against PostgreSQL's own JSON rate, per size.

For each size (messages of the organization; ``100k``, ``1M`` and ``3M`` are accepted) it
builds a database with ``bench.generators.generate``, then measures, each in a fresh process so peak
RSS is that measurement's own:

- the floor (``bench.children.floor``): the same rows as raw ``row_to_json`` over one COPY
  per table;
- the pipeline (``bench.children.pipeline_run``): ``launch.in_process.run_export``, the whole
  Dagster run, with JSON only, again with Parquet copies, and again with the zip archive a
  request gets; rows and bytes from the published manifest.

Then the fixed cost of a small organization's export, broken down by Dagster step. It prints
Markdown (and writes it to ``--output``); databases and scratch directories are removed at
the end unless ``--keep``. There is no ``--export-connections``: ``run_export`` does not
expose the ``database`` resource's ``export_connections`` and the resource reads no
environment variable for it, so the runs use its default, which the report states.

    .venv/bin/python -m bench.benchmark 100k 1M 3M
    .venv/bin/python -m bench.benchmark 10000 --fixed-runs 3 --output bench-report.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

from bench import children
from bench.generators import generate
from bench.support.report import Results, SizeResult, render
from ocomms_pipeline.sandbox import servers

_SUFFIXES = {"k": 1_000, "m": 1_000_000}


@dataclass(frozen=True)
class Options:
    sizes: list[int]
    admin_url: str
    seed: int = 1
    keep: bool = False
    fixed_messages: int = 200
    fixed_runs: int = 5
    # Database names <prefix>_<size>, <prefix>_fixed_<size>: not generate.py's own default
    # (ocomms_bench_<size>), so a benchmark never replaces a database someone built by hand.
    prefix: str = "ocomms_benchmark"


def parse_size(text: str) -> int:
    """``300``, ``100k``, ``1M``, ``1.5M``, ``10_000``: a message count."""
    value = text.strip().lower().replace("_", "").replace(",", "")
    factor = _SUFFIXES.get(value[-1:], 1)
    number = value[:-1] if factor != 1 else value
    try:
        size = round(float(number) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive: {text!r}")
    return size


def machine_facts(admin_url: str, seed: int) -> dict[str, str]:
    """What the figures depend on besides the code: cores and how busy, server, interpreter."""
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPUs": str(os.cpu_count()),
        "load average at start": f"{os.getloadavg()[0]:.2f}",
        "PostgreSQL": row[0] if row else "unknown",
        "Python": platform.python_version(),
        "Dagster": metadata.version("dagster"),
        "seed": str(seed),
    }


def measure_pipeline(generated: generate.Generated, work: Path, *extra: str) -> dict[str, Any]:
    args = [generated.organization_id, generated.owner_id]
    return children.run("bench.children.pipeline_run", args, generated.url, work, extra)


def _drop_unless_kept(options: Options, name: str) -> None:
    if options.keep:
        print(f"  kept database {name}", flush=True)
    else:
        generate.drop_database(options.admin_url, name)


def measure_size(options: Options, messages: int, work: Path) -> SizeResult:
    """Build one size's database, measure floor, JSON and JSON+Parquet, drop it."""
    name = f"{options.prefix}_{messages}"
    try:
        generated = generate.build_database(options.admin_url, name, messages, options.seed)
        print(f"{messages:,} messages: database built in {generated.seconds:.1f} s", flush=True)
        floor = children.run(
            "bench.children.floor", [generated.organization_id], generated.url, work
        )
        print(f"  floor {floor['seconds']:.2f} s", flush=True)
        json_figures = measure_pipeline(generated, work)
        print(f"  pipeline JSON {json_figures['runs'][0]['seconds']:.2f} s", flush=True)
        parquet_figures = measure_pipeline(generated, work, "--parquet")
        print(f"  pipeline JSON+Parquet {parquet_figures['runs'][0]['seconds']:.2f} s", flush=True)
        archive_figures = measure_pipeline(generated, work, "--archive")
        print(f"  pipeline JSON+zip {archive_figures['runs'][0]['seconds']:.2f} s", flush=True)
    finally:
        _drop_unless_kept(options, name)
    return SizeResult(
        messages,
        generated.seconds,
        sum(generated.rows.values()),
        floor,
        json_figures,
        parquet_figures,
        archive_figures,
    )


def measure_fixed(options: Options, work: Path) -> dict[str, Any]:
    """Several exports of a tiny organization in one process: what every export pays."""
    name = f"{options.prefix}_fixed_{options.fixed_messages}"
    try:
        generated = generate.build_database(
            options.admin_url, name, options.fixed_messages, options.seed
        )
        runs = str(options.fixed_runs)
        figures = measure_pipeline(generated, work, "--archive", "--runs", runs)
    finally:
        _drop_unless_kept(options, name)
    print(f"fixed cost: {options.fixed_runs} exports measured", flush=True)
    return figures


def run_benchmark(options: Options) -> Results:
    """Every size, then the fixed cost, in a scratch directory removed at the end."""
    machine = machine_facts(options.admin_url, options.seed)
    work = Path(tempfile.mkdtemp(prefix="ocomms-benchmark-"))
    try:
        sizes = [measure_size(options, messages, work) for messages in options.sizes]
        fixed = measure_fixed(options, work) if options.fixed_runs > 0 else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Results(machine, sizes, fixed)


def parse_args(argv: list[str] | None) -> tuple[Options, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=parse_size, help="messages: 100000, 100k, 1M")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    parser.add_argument(
        "--admin-url",
        help="server to create databases on (default: OCOMMS_ADMIN_DATABASE_URL, else a local "
        "server on 127.0.0.1:5432, else the embedded one, as the tests do)",
    )
    parser.add_argument("--fixed-messages", type=parse_size, default=200)
    parser.add_argument("--fixed-runs", type=int, default=5, help="0 skips the fixed cost")
    parser.add_argument("--output", type=Path, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    options = Options(
        sizes=args.sizes,
        admin_url=args.admin_url or servers.admin_server_url(),
        seed=args.seed,
        keep=args.keep,
        fixed_messages=args.fixed_messages,
        fixed_runs=args.fixed_runs,
    )
    return options, args.output


def main(argv: list[str] | None = None) -> int:
    # Stopped with SIGTERM, still drop the databases and directories (the finally clauses).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options, output = parse_args(argv)
    markdown = render(run_benchmark(options))
    print("\n" + markdown, end="")
    if output is not None:
        output.write_text(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
