"""Restore puts the bundle's files back, never over another file; the round trip is exact."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from ocomms_pipeline.restore import RestoreRefused, restore_bundle

from ..support.exports import export, read_manifest
from ..support.uploads import bundle_files, write_uploads
from .support import OPERATOR, assert_only_withheld_rows_missing, fingerprint

WITHHELD = {"invitations", "guest_invites"}


def _export(url: str, organization: str, root: Path, uploads: Path) -> Path:
    outcome = export(url, organization, OPERATOR, root, uploads_dir=uploads)
    assert outcome.success, outcome.reason
    return outcome.bundle_path


def test_export_restore_export_gives_the_same_tables_and_files(make_database, tmp_path: Path):
    source = make_database()
    source_uploads = tmp_path / "source-uploads"
    write_uploads(source.url, source_uploads)
    organization = source.sample.orgs[source.sample.main_org]
    first = _export(source.url, organization, tmp_path / "first", source_uploads)
    target = make_database(seed=False)
    target_uploads = tmp_path / "target-uploads"
    target_uploads.mkdir()

    report = restore_bundle(
        first.with_name(first.name + ".zip"),
        target.url,
        scratch=tmp_path,
        uploads_dir=target_uploads,
    )

    carried = bundle_files(first)
    assert report.files["restored"] == len(carried) > 0
    assert {
        str(p.relative_to(target_uploads)) for p in target_uploads.rglob("*") if p.is_file()
    } == set(carried)
    assert any(line.startswith("files: ") for line in report.lines())
    second = _export(target.url, organization, tmp_path / "second", target_uploads)
    assert_only_withheld_rows_missing(first, second, WITHHELD)
    assert bundle_files(second) == carried
    assert read_manifest(second)["files"]["files"] == read_manifest(first)["files"]["files"]
    assert all(
        filecmp.cmp(first / "files" / name, second / "files" / name, shallow=False)
        for name in carried
    )


def test_a_different_file_of_the_same_name_refuses_and_changes_nothing(make_database, tmp_path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    bundle_path = _export(source.url, organization, tmp_path / "out", uploads)
    names = sorted(bundle_files(bundle_path))
    target = make_database(seed=False)
    target_uploads = tmp_path / "target-uploads"
    (target_uploads / names[0]).parent.mkdir(parents=True)
    (target_uploads / names[0]).write_bytes(b"someone else's file")
    before = fingerprint(target.url)

    with pytest.raises(RestoreRefused, match="exists with other content; not overwritten"):
        restore_bundle(bundle_path, target.url, uploads_dir=target_uploads)

    assert fingerprint(target.url) == before
    assert [p for p in target_uploads.rglob("*") if p.is_file()] == [target_uploads / names[0]]
    assert (target_uploads / names[0]).read_bytes() == b"someone else's file"


def test_identical_files_are_kept_and_a_dry_run_writes_none(make_database, tmp_path: Path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    bundle_path = _export(source.url, organization, tmp_path / "out", uploads)
    carried = bundle_files(bundle_path)
    target = make_database(seed=False)
    empty = tmp_path / "empty"
    empty.mkdir()

    dry = restore_bundle(bundle_path, target.url, dry_run=True, uploads_dir=empty)
    assert dry.files["restored"] == len(carried) and list(empty.iterdir()) == []

    report = restore_bundle(bundle_path, target.url, uploads_dir=uploads)
    assert report.files == {
        "restored": 0,
        "already_present": len(carried),
        "not_restored": 0,
        "reason": None,
    }


def test_without_an_uploads_directory_the_report_says_what_stayed_behind(make_database, tmp_path):
    source = make_database()
    uploads = tmp_path / "uploads"
    write_uploads(source.url, uploads)
    organization = source.sample.orgs[source.sample.main_org]
    bundle_path = _export(source.url, organization, tmp_path / "out", uploads)
    target = make_database(seed=False)

    report = restore_bundle(bundle_path, target.url)

    assert report.files["not_restored"] == len(bundle_files(bundle_path))
    assert any("NOT restored: no uploads directory given" in line for line in report.lines())
