"""Faults mid-export: the run fails with a clear reason, nothing looks finished, a retry works.

The faults are real: a backend killed by PostgreSQL, a file size limit enforced by the kernel,
a run process killed with SIGKILL. A held table lock pauses the export at a known point so
each fault strikes after some files were already written.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from ocomms_pipeline.bundle.files import STAGING_PREFIX, finished_bundles

from ..support.exports import export, read_manifest
from ..support.locks import table_locked, wait_for_export_to_block

CLI = str(Path(sys.executable).with_name("ocomms-pipeline"))


def staging_dirs(root: Path, org: str) -> list[Path]:
    directory = root / org
    return (
        [p for p in directory.iterdir() if p.name.startswith(STAGING_PREFIX)]
        if (directory.is_dir())
        else []
    )


def assert_retry_succeeds(url: str, org: str, requester: str, root: Path) -> None:
    retry = export(url, org, requester, root)
    assert retry.success, retry.reason
    assert finished_bundles(root, org) == [retry.bundle_path]
    assert read_manifest(retry.bundle_path)["tables"]["messages"]["rows"] > 0


def test_backend_terminated_mid_export(make_database, tmp_path):
    db = make_database()
    org, owner = db.sample.orgs["Acme"], db.sample.owners["Acme"][0]
    result: dict = {}
    with table_locked(db.url):
        worker = threading.Thread(
            target=lambda: result.update(outcome=export(db.url, org, owner, tmp_path)),
            daemon=True,
        )
        worker.start()
        wait_for_export_to_block(db.url)
        assert staging_dirs(tmp_path, org), "files were being written when the fault struck"
        with psycopg.connect(db.url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'ocomms-pipeline' AND wait_event_type = 'Lock'"
            ).fetchall()
        assert killed == [(True,)]
        worker.join(60)
    outcome = result["outcome"]
    assert outcome.outcome == "failed"
    assert "terminat" in outcome.reason.lower() or "connection" in outcome.reason.lower()
    assert "\n" not in outcome.reason
    assert finished_bundles(tmp_path, org) == [] and staging_dirs(tmp_path, org) == []
    assert_retry_succeeds(db.url, org, owner, tmp_path)


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_output_full_mid_write(make_database, tmp_path):
    """The kernel refuses to grow a file past 64 KiB: messages.json (>100 KB) cannot be written."""
    db = make_database()
    org, owner = db.sample.orgs["Acme"], db.sample.owners["Acme"][0]
    result = subprocess.run(
        [
            CLI,
            "export",
            "--requested-by",
            owner,
            "--database-url",
            db.url,
            "--",
            org,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "File too large" in result.stderr
    assert finished_bundles(tmp_path, org) == [] and staging_dirs(tmp_path, org) == []
    assert_retry_succeeds(db.url, org, owner, tmp_path)


def test_run_process_killed_mid_export(make_database, tmp_path):
    """SIGKILL leaves only staging behind: nothing that looks finished, and a retry works."""
    db = make_database()
    org, owner = db.sample.orgs["Acme"], db.sample.owners["Acme"][0]
    with table_locked(db.url):
        process = subprocess.Popen(
            [
                CLI,
                "export",
                "--requested-by",
                owner,
                "--database-url",
                db.url,
                "--",
                org,
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_export_to_block(db.url, timeout=120)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(30)
    assert process.returncode == -signal.SIGKILL
    assert finished_bundles(tmp_path, org) == []
    assert len(staging_dirs(tmp_path, org)) == 1
    deadline = time.monotonic() + 10  # PostgreSQL notices the dead client and ends its backend
    with psycopg.connect(db.url, autocommit=True) as conn:
        while (
            time.monotonic() < deadline
            and conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ocomms-pipeline'"
            ).fetchone()[0]
        ):
            time.sleep(0.1)
    assert_retry_succeeds(db.url, org, owner, tmp_path)


def test_database_unreachable_at_start(tmp_path):
    outcome = export(
        "postgresql://nobody@127.0.0.1:1/ocomms?connect_timeout=2", "orgA", "operator:ops", tmp_path
    )
    assert outcome.outcome == "failed"
    assert "connection" in outcome.reason.lower() and "\n" not in outcome.reason
    assert not tmp_path.joinpath("orgA").exists()
