"""The command line, run as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ocomms_pipeline.sandbox import servers

from ..support.cli import CLI, run_cli
from ..support.exports import read_manifest, tree


def test_export_prints_the_bundle_and_counts(seeded_db, tmp_path):
    sample = seeded_db.sample
    org = sample.orgs["Acme"]
    result = run_cli(
        "export",
        "--requested-by",
        sample.owners["Acme"][0],
        "--",
        org,
        str(tmp_path / "out"),
        env={"OCOMMS_DATABASE_URL": seeded_db.url},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no status line where stderr is not a terminal
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bundle: ")
    bundle_path = Path(lines[0].removeprefix("bundle: "))
    assert bundle_path.parent == tmp_path / "out" / org
    rows = read_manifest(bundle_path)["tables"]["messages"]["rows"]
    assert ["messages", f"{rows:,}"] in [line.split() for line in lines]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_reader_that_goes_away_gets_one_line_not_a_traceback(seeded_db, tmp_path):
    """``export ... | head -1``: the bundle is published; the lost output is one plain line."""
    sample = seeded_db.sample
    owner, org = sample.owners["Acme"][0], sample.orgs["Acme"]
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command prints anything
    try:
        result = subprocess.run(
            [CLI, "export", "--requested-by", owner, "--", org, str(tmp_path / "out")],
            env={**os.environ, "OCOMMS_DATABASE_URL": seeded_db.url},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write)
    assert result.returncode == 1
    assert result.stderr == "error: standard output was closed before everything was written\n"
    (bundle,) = (tmp_path / "out" / org).glob("ocomms-export-*[0-9]Z")
    assert read_manifest(bundle)["tables"]["messages"]["rows"] > 0


def test_org_ids_starting_with_a_dash_work(seeded_db, tmp_path):
    dashed = [o for o in seeded_db.sample.orgs.values() if o.startswith("-")]
    assert dashed
    result = run_cli(
        "export",
        "--operator",
        "ops",
        "--database-url",
        seeded_db.url,
        "--",
        dashed[0],
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert read_manifest(Path(result.stdout.splitlines()[0][8:]))["requester"]["kind"] == "operator"


def test_refusal_is_one_line_and_exit_3(seeded_db, tmp_path):
    result = run_cli(
        "export",
        "--requested-by",
        seeded_db.sample.guest,
        "--database-url",
        seeded_db.url,
        "--",
        seeded_db.sample.orgs["Acme"],
        str(tmp_path),
    )
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("refused: ")
    assert "guest" in result.stderr
    assert tree(tmp_path) == []


def test_malformed_id_and_missing_database_are_clear(tmp_path):
    result = run_cli("export", "--operator", "ops", "--database-url", "postgresql://x", "a/b", "o")
    assert (result.returncode, result.stderr.startswith("refused: malformed organization id")) == (
        3,
        True,
    )
    env = {k: v for k, v in os.environ.items() if k != "OCOMMS_DATABASE_URL"}
    result = subprocess.run(
        [CLI, "export", "--operator", "ops", "org", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "OCOMMS_DATABASE_URL" in result.stderr


def test_an_unreachable_database_is_an_error_not_a_traceback(tmp_path):
    result = run_cli(
        "export",
        "--operator",
        "ops",
        "--database-url",
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
        "orgA",
        str(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert tree(tmp_path) == []


def test_demo_seeds_exports_and_shows_the_gate(admin_url, tmp_path):
    database = f"ocomms_demo_test_{os.getpid()}"
    url = servers.create_database(admin_url, database)
    try:
        result = run_cli(
            "demo",
            env={"OCOMMS_DATABASE_URL": url, "OCOMMS_PIPELINE_STATE_DIR": str(tmp_path / "state")},
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "bundle:" in result.stdout and "rejected" in result.stdout
        bundle_line = next(x for x in result.stdout.splitlines() if x.startswith("bundle:"))
        bundle_path = Path(bundle_line.split(maxsplit=1)[1])
        assert bundle_path.is_relative_to(tmp_path / "state")
        assert read_manifest(bundle_path)["organization"]["name"] == "Acme"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
    finally:
        servers.drop_database(admin_url, database)
