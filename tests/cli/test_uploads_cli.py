"""Files through the command line as a user runs it: export, verify, restore, retention."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ocomms_pipeline.defs.requests.resources import AuditLog
from ocomms_pipeline.defs.restore.jobs import (
    RestoreDatabase,
    restore_organization_job,
    restore_run_config,
)

from ..support.cli import run_cli
from ..support.exports import read_manifest
from ..support.uploads import bundle_files, write_uploads


def _bundle(stdout: str) -> Path:
    (line,) = [line for line in stdout.splitlines() if line.startswith("bundle: ")]
    return Path(line.removeprefix("bundle: "))


def test_export_verify_restore_and_prune_with_files(make_database, tmp_path: Path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    root = tmp_path / "exports"

    exported = run_cli(
        "export",
        "--operator",
        "ops",
        "--database-url",
        source.url,
        "--uploads-dir",
        str(uploads),
        "--",
        organization,
        str(root),
        env={"OCOMMS_UPLOADS_DIR": str(tmp_path / "not-this-one")},
    )
    assert exported.returncode == 0, exported.stderr
    bundle_path = _bundle(exported.stdout)
    carried = bundle_files(bundle_path)
    assert carried and read_manifest(bundle_path)["files"]["count"] == len(carried)
    verified = run_cli("verify", str(bundle_path))
    assert verified.returncode == 0 and verified.stdout.startswith("ok: "), verified.stdout

    target = make_database(seed=False)
    target_uploads = tmp_path / "target-uploads"
    target_uploads.mkdir()
    zipped = f"{bundle_path}.zip"
    restored = run_cli(
        "restore", "--database-url", target.url, "--uploads-dir", str(target_uploads), "--", zipped
    )
    assert restored.returncode == 0, restored.stderr
    assert f"files: {len(carried):,} restored" in restored.stdout
    assert {
        str(p.relative_to(target_uploads)) for p in target_uploads.rglob("*") if p.is_file()
    } == set(carried)

    other = make_database(seed=False)
    clash = target_uploads / sorted(carried)[0]
    clash.write_bytes(b"another file")
    refused = run_cli(
        "restore", "--database-url", other.url, "--uploads-dir", str(target_uploads), "--", zipped
    )
    assert refused.returncode == 4
    assert "not overwritten" in refused.stderr

    pruned = run_cli(
        "retention", "--keep", "0", "--max-age-days", "0", "--database-url", source.url, str(root)
    )
    assert pruned.returncode == 0, pruned.stderr
    assert not bundle_path.exists() and not Path(zipped).exists()
    assert uploads.exists() and bundle_files(bundle_path) == {}


def test_the_restore_job_takes_an_uploads_directory(make_database, tmp_path: Path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    exported = run_cli(
        "export",
        "--operator",
        "ops",
        "--database-url",
        source.url,
        "--",
        organization,
        str(tmp_path / "exports"),
        env={"OCOMMS_UPLOADS_DIR": str(uploads)},
    )
    assert exported.returncode == 0, exported.stderr
    bundle_path = _bundle(exported.stdout)
    target = make_database(seed=False)
    target_uploads = tmp_path / "target-uploads"
    target_uploads.mkdir()

    result = restore_organization_job.execute_in_process(
        run_config=restore_run_config(bundle_path, "operator:alice", uploads_dir=target_uploads),
        resources={
            "restore_database": RestoreDatabase(url=target.url),
            "audit_log": AuditLog(directory=str(tmp_path / "audit"), secret="uploads-test"),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    carried = bundle_files(bundle_path)
    assert carried
    assert all((target_uploads / name).read_bytes() == data for name, data in carried.items())
