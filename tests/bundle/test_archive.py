"""The zip archive beside each bundle: complete, verified against the manifest, atomic."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from ocomms_pipeline.bundle import archive, zipwriter
from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.errors import ExportError

from ..support.exports import export
from ..support.unzip_tools import TOOLS, check_with_tool


@pytest.fixture(scope="module")
def exported(seeded_db, tmp_path_factory) -> tuple[str, Path]:
    """One Acme export through the job (which archives its bundle): (org id, bundle path)."""
    root = tmp_path_factory.mktemp("archive")
    org = seeded_db.sample.orgs["Acme"]
    outcome = export(seeded_db.url, org, "operator:archivist", root)
    assert outcome.success, outcome.reason
    return org, outcome.bundle_path


def test_the_export_job_archives_its_bundle_beside_it(exported):
    _, bundle_path = exported
    zip_path = archive.archive_path(bundle_path)
    assert zip_path.parent == bundle_path.parent and zip_path.name == bundle_path.name + ".zip"
    files = archive.bundle_files(bundle_path)
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == [f"{bundle_path.name}/{name}" for name in files]
        assert files[0] == bundle.MANIFEST
        for name in files:
            assert zf.read(f"{bundle_path.name}/{name}") == (bundle_path / name).read_bytes()
    assert not [p for p in bundle_path.parent.iterdir() if p.name.startswith(".")]


def test_archives_are_deterministic(exported, tmp_path):
    _, bundle_path = exported
    copy = tmp_path / bundle_path.name
    shutil.copytree(bundle_path, copy)
    rebuilt = archive.build(copy, "another-run")
    assert rebuilt.sha256 == bundle.sha256_file(archive.archive_path(bundle_path))
    assert rebuilt.files == len(archive.bundle_files(bundle_path))


def test_the_archive_does_not_depend_on_the_number_of_threads(exported, tmp_path):
    _, bundle_path = exported
    built = []
    for workers in (1, 3):
        copy = tmp_path / str(workers) / bundle_path.name
        shutil.copytree(bundle_path, copy)
        built.append(archive.build(copy, f"run-{workers}", workers=workers).sha256)
    assert built == [bundle.sha256_file(archive.archive_path(bundle_path))] * 2


@pytest.mark.parametrize("tool", list(TOOLS))
def test_unzip_tools_read_the_archive(exported, tool, tmp_path):
    _, bundle_path = exported
    members = {
        f"{bundle_path.name}/{name}": (bundle_path / name).read_bytes()
        for name in archive.bundle_files(bundle_path)
    }
    check_with_tool(tool, archive.archive_path(bundle_path), members, tmp_path / "out")


def test_a_file_changed_after_export_stops_the_archive(exported, tmp_path):
    _, bundle_path = exported
    copy = tmp_path / bundle_path.name
    shutil.copytree(bundle_path, copy)
    with open(copy / "messages.json", "ab") as handle:
        handle.write(b" ")
    with pytest.raises(ExportError, match=r"messages\.json does not match its manifest checksum"):
        archive.build(copy, "run-x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [copy.name]


def test_a_directory_without_manifest_is_not_archived(tmp_path):
    staging = tmp_path / "ocomms-export-2026-01-18T10-45-40Z"
    staging.mkdir()
    (staging / "messages.json").write_text("[\n]\n")
    with pytest.raises(ExportError, match=r"no manifest\.json"):
        archive.build(staging, "run-y")
    assert sorted(p.name for p in tmp_path.iterdir()) == [staging.name]


def _hand_made_bundle(root: Path) -> Path:
    """A bundle written by hand: JSON of several deflate chunks, Parquet, an uploaded file."""
    path = root / "ocomms-export-2026-01-18T10-45-40Z"
    contents = {
        "messages.json": b"".join(
            b'{"id": %d, "content": "message %d \\u00e9"},\n' % (i, i * 7919 % 100_003)
            for i in range(80_000)
        ),
        "parquet/messages.parquet": bytes(range(256)) * 4096,
        "files/2026/01/photo.png": b"\x89PNG" + bytes(range(256)) * 40,
    }
    assert len(contents["messages.json"]) > 2 * zipwriter.CHUNK_BYTES
    for name, data in contents.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    tables = [
        {"file": name, "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in contents.items()
    ]
    manifest = {"snapshot": {"taken_at": "2026-01-18T10:45:40.123456Z"}, "tables": tables}
    bundle.write_json(path / bundle.MANIFEST, manifest)
    return path


def test_json_is_deflated_in_chunks_and_parquet_and_uploads_are_stored(tmp_path):
    bundle_path = _hand_made_bundle(tmp_path)
    packed = archive.build(bundle_path, "run-z", workers=2)
    with zipfile.ZipFile(packed.path) as zf:
        assert zf.testzip() is None
        kinds = {info.filename.split("/", 1)[1]: info.compress_type for info in zf.infolist()}
        for name in archive.bundle_files(bundle_path):
            assert zf.read(f"{bundle_path.name}/{name}") == (bundle_path / name).read_bytes()
    assert kinds == {
        "manifest.json": zipfile.ZIP_DEFLATED,
        "files/2026/01/photo.png": zipfile.ZIP_STORED,
        "messages.json": zipfile.ZIP_DEFLATED,
        "parquet/messages.parquet": zipfile.ZIP_STORED,
    }
    assert packed.sha256 == bundle.sha256_file(packed.path)
    assert packed.bytes == packed.path.stat().st_size and packed.files == 4
