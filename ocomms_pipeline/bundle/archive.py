"""The downloadable archive of a bundle: ``ocomms-export-<time>.zip`` beside the bundle.

The zip is what the ocomms app hands to an owner, so it must never be half written under its
final name: it is built under a hidden temporary name and renamed when complete, like the
bundle itself. Every file the manifest lists a checksum for is checked while it is packed, so
an archive cannot silently carry a bundle file that changed after the export. Entry times come
from the snapshot, so the same bundle always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.errors import ExportError

SUFFIX = ".zip"
_PARTIAL_PREFIX = ".archive-"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    path: Path
    sha256: str
    bytes: int
    files: int


def archive_path(bundle_path: Path) -> Path:
    """``<org dir>/ocomms-export-<time>.zip`` for ``<org dir>/ocomms-export-<time>/``."""
    return bundle_path.with_name(bundle_path.name + SUFFIX)


def expected_checksums(manifest: Any) -> dict[str, str]:
    """Every ``{"file": ..., "sha256": ...}`` the manifest holds, wherever it nests them."""
    found: dict[str, str] = {}
    if isinstance(manifest, dict):
        if isinstance(manifest.get("file"), str) and isinstance(manifest.get("sha256"), str):
            found[manifest["file"]] = manifest["sha256"]
        for value in manifest.values():
            found.update(expected_checksums(value))
    elif isinstance(manifest, list):
        for value in manifest:
            found.update(expected_checksums(value))
    return found


def bundle_files(bundle_path: Path) -> list[str]:
    """Relative paths of the bundle's files, manifest first, then in sorted order."""
    files = sorted(str(p.relative_to(bundle_path)) for p in bundle_path.rglob("*") if p.is_file())
    if bundle.MANIFEST not in files:
        raise ExportError(f"{bundle_path.name} has no {bundle.MANIFEST}: not a published bundle")
    files.remove(bundle.MANIFEST)
    return [bundle.MANIFEST, *files]


def _entry_time(manifest: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    taken = bundle.parse_utc_text(manifest["snapshot"]["taken_at"])
    return (taken.year, taken.month, taken.day, taken.hour, taken.minute, taken.second)


def _pack(zf: zipfile.ZipFile, source: Path, name: str, when: tuple, expected: str | None) -> None:
    info = zipfile.ZipInfo(name, date_time=when)
    # Parquet files are already compressed (zstd), and uploaded files mostly are (images,
    # PDFs, archives): deflating them again costs time for nothing.
    inner = name.split("/", 1)[-1]
    stored = name.endswith(".parquet") or inner.startswith(f"{uploads.FILES_DIR}/")
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    digest = hashlib.sha256()
    with zf.open(info, "w", force_zip64=True) as target:
        for chunk in bundle.read_blocks(source, _CHUNK):
            digest.update(chunk)
            target.write(chunk)
    if expected is not None and digest.hexdigest() != expected:
        raise ExportError(f"bundle file {name} does not match its manifest checksum")


def _write(partial: Path, bundle_path: Path, manifest: dict[str, Any]) -> None:
    when = _entry_time(manifest)
    checksums = expected_checksums(manifest)
    # Level 1 deflates JSON about three times faster than the default 6 for an archive a
    # few percent larger: the archive is a transport copy, the bundle is what is kept.
    with zipfile.ZipFile(partial, "w", compresslevel=1, allowZip64=True) as zf:
        for name in bundle_files(bundle_path):
            entry = f"{bundle_path.name}/{name}"
            _pack(zf, bundle_path / name, entry, when, checksums.get(name))
    with open(partial, "rb+") as handle:
        os.fsync(handle.fileno())


def build(bundle_path: Path, run_id: str) -> Archive:
    """Pack a published bundle into its zip beside it and return where and what it is.

    The temporary file is named for the run, so two runs never write the same partial file,
    and it is removed when anything goes wrong.
    """
    bundle_path = Path(bundle_path)
    if not (bundle_path / bundle.MANIFEST).is_file():
        raise ExportError(f"{bundle_path.name} has no {bundle.MANIFEST}: not a published bundle")
    manifest = bundle.read_json(bundle_path / bundle.MANIFEST)
    final = archive_path(bundle_path)
    partial = bundle_path.with_name(f"{_PARTIAL_PREFIX}{run_id}{SUFFIX}")
    try:
        _write(partial, bundle_path, manifest)
        sha256 = bundle.sha256_file(partial)
        size = partial.stat().st_size
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return Archive(final, sha256, size, len(bundle_files(bundle_path)))
