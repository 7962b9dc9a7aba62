"""The restore benchmark at a tiny size: both sides insert the same rows; no timing asserted."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from bench import restore_benchmark


def test_tiny_restore_benchmark_measures_the_same_rows_on_both_sides(
    admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written to the current directory
    prefix = f"ocomms_restorebenchtest_{os.getpid()}"
    options = restore_benchmark.Options(sizes=[300], admin_url=admin_url, prefix=prefix)
    work = tmp_path / "work"
    work.mkdir()

    size = restore_benchmark.measure_size(options, 300, work)

    restore, floor = size["restore"], size["floor"]
    assert restore["table_rows"] == floor["table_rows"]
    assert restore["table_rows"]["messages"] >= 300
    assert restore["rows"] == floor["rows"] == sum(restore["table_rows"].values())
    assert restore["peak_rss_mb"] > 0 and floor["peak_rss_mb"] > 0
    markdown = restore_benchmark.render({"CPUs": "2"}, [size])
    assert f"| 300 | {restore['rows']:,} |" in markdown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert list(work.iterdir()) == []
    with psycopg.connect(admin_url) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    assert left == []
