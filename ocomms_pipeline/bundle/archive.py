"""The downloadable archive of a bundle: ``ocomms-export-<time>.zip`` beside the bundle.

The zip is what the ocomms app hands to an owner, so it must never be half written under its
final name: it is built under a hidden temporary name and renamed when complete, like the
bundle itself. Every file the manifest lists a checksum for is checked while it is packed, so
an archive cannot silently carry a bundle file that changed after the export. Entry times come
from the snapshot, so the same bundle always gives the same bytes. The zip itself is written by
``zipwriter``, which deflates big files in fixed chunks on every core.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.bundle.zipwriter import ZipWriter, default_workers
from ocomms_pipeline.errors import ExportError

SUFFIX = ".zip"
_PARTIAL_PREFIX = ".archive-"


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


class _Hashed:
    """A file read through ``read`` whose bytes are hashed on the way."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int, /) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data


def _stored(name: str) -> bool:
    """Parquet files are already compressed (zstd), and uploaded files mostly are (images,
    PDFs, archives): deflating them again costs time for nothing."""
    inner = name.split("/", 1)[-1]
    return name.endswith(".parquet") or inner.startswith(f"{uploads.FILES_DIR}/")


def _pack(zw: ZipWriter, source: Path, name: str, when: tuple, expected: str | None) -> None:
    with open(source, "rb") as handle:
        hashed = _Hashed(handle)
        zw.add(name, when, hashed, deflate=not _stored(name))
    if expected is not None and hashed.digest.hexdigest() != expected:
        raise ExportError(f"bundle file {name} does not match its manifest checksum")


def _write(partial: Path, bundle_path: Path, manifest: dict[str, Any], workers: int) -> None:
    when = _entry_time(manifest)
    checksums = expected_checksums(manifest)
    with open(partial, "wb") as out:
        with ZipWriter(out, workers=workers) as zw:
            for name in bundle_files(bundle_path):
                entry = f"{bundle_path.name}/{name}"
                _pack(zw, bundle_path / name, entry, when, checksums.get(name))
        out.flush()
        os.fsync(out.fileno())


def build(bundle_path: Path, run_id: str, workers: int | None = None) -> Archive:
    """Pack a published bundle into its zip beside it and return where and what it is.

    The temporary file is named for the run, so two runs never write the same partial file,
    and it is removed when anything goes wrong. ``workers`` threads deflate (default: one per
    core); the zip's bytes do not depend on how many.
    """
    bundle_path = Path(bundle_path)
    if not (bundle_path / bundle.MANIFEST).is_file():
        raise ExportError(f"{bundle_path.name} has no {bundle.MANIFEST}: not a published bundle")
    manifest = bundle.read_json(bundle_path / bundle.MANIFEST)
    final = archive_path(bundle_path)
    partial = bundle_path.with_name(f"{_PARTIAL_PREFIX}{run_id}{SUFFIX}")
    try:
        _write(partial, bundle_path, manifest, workers or default_workers())
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
