"""The export benchmark at a tiny size: its structure and its honesty, never its timings.

A benchmark's figures are only worth reading when both sides measured the same thing: the
floor and the pipeline must count the same rows of the same organization, table by table,
and the report must show what was measured. Timings vary with the machine and are not
asserted. Runs the real machinery: generated database, child processes, Dagster runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from bench import benchmark
from bench.support import report


@pytest.mark.parametrize(
    ("text", "size"), [("300", 300), ("100k", 100_000), ("1M", 1_000_000), ("1.5m", 1_500_000)]
)
def test_sizes_accept_suffixes(text: str, size: int) -> None:
    assert benchmark.parse_size(text) == size


def _leftover_databases(admin_url: str, prefix: str) -> list[str]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return [r[0] for r in rows]


def test_tiny_benchmark_counts_the_same_rows_on_both_sides(
    admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written to the current directory
    prefix = f"ocomms_benchtest_{os.getpid()}"
    options = benchmark.Options(
        sizes=[300], admin_url=admin_url, fixed_messages=100, fixed_runs=2, prefix=prefix
    )
    results = benchmark.run_benchmark(options)

    (size,) = results.sizes
    floor_rows = {table: t["rows"] for table, t in size.floor["tables"].items()}
    assert floor_rows["messages"] > 0
    for figures, steps in (
        (size.json, report.BUNDLE_STEPS),
        (size.parquet, report.BUNDLE_STEPS),
        (size.archive, report.STEPS),  # without the zip its step is not in the run at all
    ):
        (run,) = figures["runs"]
        assert run["table_rows"] == floor_rows
        assert run["rows"] == size.floor["rows"] == sum(floor_rows.values())
        assert run["messages"] == floor_rows["messages"]
        assert run["bytes"] > 0
        assert set(run["steps"]) == set(steps)
    assert size.json["runs"][0]["parquet_bytes"] == 0 < size.parquet["runs"][0]["parquet_bytes"]
    assert size.json["runs"][0]["archive_bytes"] == 0 < size.archive["runs"][0]["archive_bytes"]
    assert results.fixed is not None and len(results.fixed["runs"]) == 2

    markdown = report.render(results)
    labels = (report.FLOOR_LABEL, report.JSON_LABEL, report.PARQUET_LABEL, report.ARCHIVE_LABEL)
    for label in labels:
        assert f"| {label} |" in markdown
    for heading in ("## 300 messages", "**Memory**", "## Fixed cost"):
        assert heading in markdown
    assert list(tmp_path.iterdir()) == []
    assert _leftover_databases(admin_url, prefix) == []
