"""The nightly-backup benchmark at a tiny size: it runs as documented, with nothing set.

Timings are not asserted. What is: the documented command works in an environment holding
no ocomms or Dagster variable (only which PostgreSQL server tests use), it backs up every
organization through the real sensor, schedule and `dagster job execute` runs, it checks
that every partition shows as materialized, and it leaves nothing behind. And the check
itself fails when a partition is short.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from bench import backup_many
from ocomms_pipeline.defs.common import organizations
from ocomms_pipeline.sandbox.servers import ADMIN_URL_ENV

PROJECT = Path(__file__).resolve().parents[2]


def _databases(admin_url: str, prefix: str) -> list[str]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return [r[0] for r in rows]


def test_the_documented_command_backs_up_every_organization_with_nothing_set(
    admin_url: str, tmp_path: Path
):
    scratch = tmp_path / "tmp"  # where its temporary DAGSTER_HOME and exports go
    scratch.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TMPDIR": str(scratch),
        ADMIN_URL_ENV: admin_url,
    }
    with subprocess.Popen(
        [sys.executable, "-m", "bench.backup_many", "--organizations", "3", "--batch-size", "3"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as bench:
        out, _ = bench.communicate(timeout=300)
    assert bench.returncode == 0, out
    assert "organizations backed up: 3 of 3 (0 failed)" in out
    assert "runs: 1 (1 succeeded)" in out
    assert "bundles on disk: 3" in out
    assert "MATERIALIZED: all 3 partitions of all 35 assets" in out
    name = f"ocomms_bench_backup_{bench.pid}"
    assert not set(_databases(admin_url, name)) & {name, f"{name}_dagster"}
    assert list(scratch.iterdir()) == []


@pytest.fixture
def bench_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The benchmark's instance, as it makes it, in a DAGSTER_HOME of the test's."""
    home = tmp_path / "dagster"
    home.mkdir()
    backup_many.write_sqlite_instance(home, kept_open=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    backup_many.instance.cache_clear()
    try:
        yield backup_many.instance()
    finally:
        backup_many.instance().dispose()
        backup_many.instance.cache_clear()


def test_the_check_names_a_partition_that_is_not_materialized(bench_instance, capsys):
    orgs = ["org_a", "org_b"]
    bench_instance.add_dynamic_partitions(organizations.name, orgs)
    assets = backup_many.recorded_assets()
    for key in assets:
        bench_instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="org_a"))
    for key in assets[:-1]:  # org_b's bundle is missing
        bench_instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="org_b"))
    assert backup_many.check_partitions(orgs) is False
    out = capsys.readouterr().out
    assert "NOT MATERIALIZED: 1 of 35 assets are short" in out
    assert "ocomms/bundle: 1 partition(s), e.g. org_b" in out
    bench_instance.report_runless_asset_event(
        dg.AssetMaterialization(assets[-1], partition="org_b")
    )
    assert backup_many.check_partitions(orgs) is True
    assert "MATERIALIZED: all 2 partitions of all 35 assets" in capsys.readouterr().out
