"""Bad input: a clear one-line error, and the target exactly as it was."""

from __future__ import annotations

import json
import shutil
import threading
import time
import zipfile
from pathlib import Path

import psycopg
import pytest

from ocomms_pipeline import catalog
from ocomms_pipeline.restore import RestoreFailed, RestoreRefused, restore_bundle
from ocomms_pipeline.restore.rows import batches

from .support import fingerprint


@pytest.fixture
def target(make_database) -> str:
    return make_database(seed=False).url


@pytest.fixture
def bundle_copy(main_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(main_bundle, tmp_path / main_bundle.name))


def _refused(bundle: Path, url: str) -> str:
    before = fingerprint(url)
    with pytest.raises(RestoreRefused) as refusal:
        restore_bundle(bundle, url)
    assert fingerprint(url) == before
    assert "\n" not in str(refusal.value)
    return str(refusal.value)


def test_a_modified_file_fails_its_checksum(bundle_copy: Path, target: str):
    path = bundle_copy / "messages.json"
    data = bytearray(path.read_bytes())
    at = data.index(b'"content":"') + len(b'"content":"')
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    reason = _refused(bundle_copy, target)
    assert reason.startswith("the bundle fails its checks: messages: file_checksums")


def test_a_truncated_file_is_refused(bundle_copy: Path, target: str):
    path = bundle_copy / "reactions.json"
    path.write_bytes(path.read_bytes()[:-40])
    assert _refused(bundle_copy, target).startswith("the bundle fails its checks: reactions:")


def test_a_truncated_zip_is_refused(main_bundle: Path, tmp_path: Path, target: str):
    archive = main_bundle.with_name(main_bundle.name + ".zip")
    cut = tmp_path / archive.name
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert "is not a readable zip archive" in _refused(cut, target)


def test_a_zip_of_something_else_is_refused(main_bundle: Path, tmp_path: Path, target: str):
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:  # the bundle two directories down
        for path in main_bundle.rglob("*"):
            zf.write(path, f"backups/{main_bundle.parent.name}/{path.relative_to(main_bundle)}")
    assert _refused(nested, target) == "nested.zip holds no manifest.json: not a bundle archive"
    text = tmp_path / "notes.zip"
    text.write_text("not a zip at all\n")
    assert "is not a readable zip archive" in _refused(text, target)


def test_a_zip_entry_outside_the_bundle_is_refused(main_bundle: Path, tmp_path: Path, target):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("manifest.json", (main_bundle / "manifest.json").read_text())
        zf.writestr("../escaped.json", "[]")
    assert "points outside the bundle" in _refused(evil, target)
    assert not (tmp_path.parent / "escaped.json").exists()


def test_a_directory_that_is_not_a_bundle_is_refused(tmp_path: Path, target: str):
    (tmp_path / "messages.json").write_text("[]\n")
    assert _refused(tmp_path, target) == f"{tmp_path} is not a bundle: manifest.json is missing"


def test_another_format_version_is_refused(bundle_copy: Path, target: str):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = 2
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    assert _refused(bundle_copy, target) == (
        "the bundle has format version 2; this restore reads version 1 only"
    )


def test_a_file_changed_after_its_checks_fails(main_bundle: Path):
    table = catalog.table("messages")
    columns = tuple(c.name for c in table.exported_columns)
    with pytest.raises(RestoreFailed, match="changed after the bundle was checked"):
        list(batches(main_bundle / "messages.json", table, columns, "0" * 64))


def _terminate_when_waiting(admin: str, database: str, done: threading.Event) -> None:
    """Kill the restore's backend once it waits for the lock on messages (mid-restore)."""
    with psycopg.connect(admin, autocommit=True) as conn:
        for _ in range(300):
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND wait_event_type = 'Lock' AND query LIKE 'COPY \"messages\"%%'",
                [database],
            ).fetchall()
            if killed:
                done.set()
                return
            time.sleep(0.05)


def test_a_database_that_goes_away_mid_restore_changes_nothing(
    main_bundle: Path, make_database, admin_url: str
):
    target = make_database(seed=False)
    before = fingerprint(target.url)
    killed = threading.Event()
    with psycopg.connect(target.url) as blocker:
        blocker.execute("LOCK TABLE messages IN EXCLUSIVE MODE")  # reads pass, COPY waits
        killer = threading.Thread(
            target=_terminate_when_waiting, args=(admin_url, target.name, killed)
        )
        killer.start()
        with pytest.raises(RestoreFailed) as failure:
            restore_bundle(main_bundle, target.url)
        killer.join()
    assert killed.is_set()
    assert str(failure.value).startswith("nothing changed: ")
    assert "\n" not in str(failure.value)
    assert fingerprint(target.url) == before


def test_a_manifest_naming_a_file_outside_the_bundle_is_refused(bundle_copy: Path, target):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["tables"]["messages"]["file"] = "../messages.json"
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    reason = _refused(bundle_copy, target)
    assert reason == "manifest.json: messages's file '../messages.json' is not in the bundle"
    manifest["tables"]["messages"] = {"file": "messages.json"}
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    assert _refused(bundle_copy, target) == "manifest.json: the entry of 'messages' is malformed"
