"""The organization's uploaded files travel with its bundle, and only its own.

Real PostgreSQL, the real Dagster job, a real uploads directory holding every organization's
files; the faults an uploads directory can hold (a missing file, a truncated one, a path with
``..``, a symbolic link out of it) are put there for real.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import dagster as dg
import psycopg

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.archive import archive_path
from ocomms_pipeline.catalog.uploads import UPLOAD_COLUMNS, relative_path
from ocomms_pipeline.checks.verification import verify_bundle
from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.backups.jobs import BACKUP_JOB, backup_run_config
from ocomms_pipeline.defs.export.checks import CHECK_NAME, FILES_INCLUDED

from ..support.exports import export, read_manifest, read_table
from ..support.uploads import bundle_files, write_uploads

OPERATOR = "operator:uploads-test"


def _referenced(bundle_path: Path) -> set[str]:
    """What the bundle's own rows point at, under the uploads directory."""
    found = set()
    for upload in UPLOAD_COLUMNS:
        for row in read_table(bundle_path, upload.table):
            if row[upload.column] is not None:
                found.add(relative_path(upload, row[upload.column]))
    return found


def _files_checks(instance: dg.DagsterInstance, run_id: str) -> dict[str, object]:
    evaluations = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    return {
        ev.asset_key.path[-1]: ev
        for ev in evaluations
        if ev.check_name == CHECK_NAME and FILES_INCLUDED in ev.metadata
    }


def test_the_bundle_carries_exactly_its_rows_files(make_database, tmp_path: Path):
    source = make_database()
    uploads = tmp_path / "uploads"
    on_disk = write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    instance = dg.DagsterInstance.ephemeral()

    outcome = export(
        source.url, organization, OPERATOR, tmp_path / "out", uploads_dir=uploads, instance=instance
    )

    assert outcome.success, outcome.reason
    bundle_path = outcome.bundle_path
    carried = bundle_files(bundle_path)
    assert set(carried) == _referenced(bundle_path)
    assert {"attachments", "avatars", "emoji"} == {name.split("/")[0] for name in carried}
    assert all(carried[name] == on_disk[name] for name in carried)
    assert set(on_disk) - set(carried), "the other organizations' files stay out"
    section = read_manifest(bundle_path)["files"]
    assert section["included"] and section["not_included"] == []
    assert section["count"] == len(carried)
    attachments = {r["id"] for r in read_table(bundle_path, "file_attachments")}
    for entry in section["files"]:
        assert entry["bytes"] == len(carried[entry["file"].removeprefix("files/")])
        for referrer in entry["referenced_by"]:
            if referrer["table"] == "file_attachments":
                assert referrer["id"] in attachments
    assert verify_bundle(bundle_path) == []
    with zipfile.ZipFile(archive_path(bundle_path)) as archive:
        packed = {n.removeprefix(f"{bundle_path.name}/") for n in archive.namelist()}
    assert {e["file"] for e in section["files"]} <= packed
    checks = _files_checks(instance, outcome.run_id)
    assert set(checks) == {"file_attachments", "profiles", "custom_emojis"}
    assert all(ev.passed for ev in checks.values())


def test_faults_are_listed_not_fatal_and_nothing_outside_is_opened(make_database, tmp_path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    secret = tmp_path / "outside.txt"
    secret.write_bytes(b"a file outside the uploads directory, never to be exported")
    organization = source.sample.orgs[source.sample.main_org]
    with psycopg.connect(source.url) as conn:
        rows = conn.execute(
            "SELECT f.id, f.filename FROM file_attachments f JOIN messages m ON m.id = f.message_id"
            " LEFT JOIN channels c ON c.id = m.channel_id"
            " LEFT JOIN conversations v ON v.id = m.conversation_id"
            " WHERE coalesce(c.organization_id, v.organization_id) = %s ORDER BY f.id",
            [organization],
        ).fetchall()
        (missing_id, missing), (short_id, short) = rows[0], rows[1]
        (uploads / "attachments" / missing).unlink()
        (uploads / "attachments" / short).write_bytes(b"truncated")
        emoji = conn.execute(
            "SELECT id, path FROM custom_emojis WHERE workspace_id = %s", [organization]
        ).fetchone()
        emoji_file = uploads / relative_path(UPLOAD_COLUMNS[2], emoji[1])
        emoji_file.unlink()
        emoji_file.symlink_to(secret)
        climbing = conn.execute(
            "UPDATE profiles SET avatar_path = '/uploads/avatars/../../outside.txt' "
            "WHERE user_id = (SELECT user_id FROM members WHERE organization_id = %s "
            "ORDER BY user_id LIMIT 1) RETURNING id",
            [organization],
        ).fetchone()[0]
    instance = dg.DagsterInstance.ephemeral()

    outcome = export(
        source.url, organization, OPERATOR, tmp_path / "out", uploads_dir=uploads, instance=instance
    )

    assert outcome.success, outcome.reason
    section = read_manifest(outcome.bundle_path)["files"]
    reasons = {(m["table"], m["id"]): m["reason"] for m in section["not_included"]}
    assert reasons[("file_attachments", str(missing_id))] == "missing on disk"
    assert "9 bytes on disk" in reasons[("file_attachments", str(short_id))]
    assert "symbolic link" in reasons[("custom_emojis", str(emoji[0]))]
    assert "'..'" in reasons[("profiles", str(climbing))]
    assert len(reasons) == 4
    for path in outcome.bundle_path.rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            assert secret.read_bytes() not in path.read_bytes()
    assert verify_bundle(outcome.bundle_path) == []
    checks = _files_checks(instance, outcome.run_id)
    assert not checks["file_attachments"].passed
    assert checks["file_attachments"].severity == dg.AssetCheckSeverity.WARN
    assert checks["file_attachments"].metadata["not_included"].value == 2
    assert "2 referenced file(s) not included" in checks["file_attachments"].description
    assert not checks["custom_emojis"].passed and not checks["profiles"].passed


def test_without_an_uploads_directory_the_manifest_says_so(seeded_db, tmp_path: Path):
    organization = seeded_db.sample.orgs[seeded_db.sample.main_org]
    instance = dg.DagsterInstance.ephemeral()
    outcome = export(seeded_db.url, organization, OPERATOR, tmp_path / "out", instance=instance)

    assert outcome.success, outcome.reason
    section = read_manifest(outcome.bundle_path)["files"]
    assert section["included"] is False and "OCOMMS_UPLOADS_DIR" in section["reason"]
    assert not (outcome.bundle_path / "files").exists()
    assert all(ev.passed for ev in _files_checks(instance, outcome.run_id).values())


def test_a_configured_directory_that_is_not_there_warns(seeded_db, tmp_path: Path):
    organization = seeded_db.sample.orgs[seeded_db.sample.main_org]
    instance = dg.DagsterInstance.ephemeral()
    outcome = export(
        seeded_db.url,
        organization,
        OPERATOR,
        tmp_path / "out",
        uploads_dir=tmp_path / "not-mounted",
        instance=instance,
    )

    assert outcome.success, outcome.reason
    section = read_manifest(outcome.bundle_path)["files"]
    assert section == {
        "included": False,
        "reason": "the uploads directory 'not-mounted' does not exist",
    }
    checks = _files_checks(instance, outcome.run_id)
    assert checks and not any(ev.passed for ev in checks.values())


def test_verify_finds_a_changed_or_extra_file(make_database, tmp_path: Path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    outcome = export(source.url, organization, OPERATOR, tmp_path / "out", uploads_dir=uploads)
    bundle_path = outcome.bundle_path
    entry = read_manifest(bundle_path)["files"]["files"][0]
    changed = bundle_path / entry["file"]
    os.chmod(changed, 0o644)
    changed.write_bytes(b"changed")
    (bundle_path / "files" / "stray.bin").write_bytes(b"?")

    lines = [p.line() for p in verify_bundle(bundle_path)]

    table = entry["referenced_by"][0]["table"]
    assert f"{table}: file_checksums: {entry['file']}: size or sha256 differs" in " ".join(lines)
    assert "bundle: file_checksums: unexpected file files/stray.bin" in lines
    assert json.dumps(lines)


def test_the_nightly_backup_reads_the_uploads_directory_from_the_environment(
    make_database, tmp_path: Path, monkeypatch
):
    source = make_database()
    uploads = tmp_path / "uploads"
    on_disk = write_uploads(source.url, uploads)
    root = tmp_path / "exports"
    monkeypatch.setenv("OCOMMS_DATABASE_URL", source.url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(root))
    monkeypatch.setenv("OCOMMS_UPLOADS_DIR", str(uploads))
    orgs = sorted(source.sample.orgs.values())

    result = defs.resolve_job_def(BACKUP_JOB).execute_in_process(
        run_config=backup_run_config(orgs, "operator:nightly-backup"),
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    for org in orgs:
        (published,) = bundle.finished_bundles(root, org)
        files = bundle_files(published)
        assert files and set(files) == _referenced(published)
        assert all(on_disk[name] == data for name, data in files.items())
