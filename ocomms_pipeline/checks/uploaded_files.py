"""The uploaded files of a bundle checked against its manifest, like the table files.

Shared by the checks before publication and ``ocomms-pipeline verify``. A manifest entry is
itself untrusted when only the bundle is at hand, so a listed name outside ``files/`` or with
``..`` is a problem, never a path that is opened, and no link inside the bundle is followed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.checks.findings import Check, Problem

BUNDLE = "bundle"


def _table(entry: dict[str, Any]) -> str:
    referrers = entry.get("referenced_by") or [{}]
    table = referrers[0].get("table") if isinstance(referrers[0], dict) else None
    return table if isinstance(table, str) else BUNDLE


def listed_names(manifest: dict[str, Any]) -> set[str]:
    """The bundle paths of the files the manifest lists."""
    return {
        e["file"]
        for e in uploads.listed_files(manifest.get("files"))
        if isinstance(e.get("file"), str)
    }


def check_uploaded_files(
    directory: Path, manifest: dict[str, Any], *, reread: bool = True
) -> list[Problem]:
    """Every listed file present, a regular file, of the manifest's size and sha256.

    Without ``reread`` (the checks before publication, on copies the export hashed as it wrote
    and synced them) a file's size on disk is compared, and it is not read again.
    """
    problems = []
    for entry in uploads.listed_files(manifest.get("files")):
        name, table = entry.get("file"), _table(entry)
        prefix = f"{uploads.FILES_DIR}/"
        if not isinstance(name, str) or not name.startswith(prefix) or uploads.unsafe_reason(name):
            problems.append(Problem(table, Check.FILE_CHECKSUMS, f"unsafe file name {name!r}"))
            continue
        try:
            fd, size = uploads.open_regular_file(directory, name)
        except uploads.Unreadable as why:
            problems.append(Problem(table, Check.FILE_CHECKSUMS, f"{name}: {why}"))
            continue
        if not reread:
            os.close(fd)
            if size != entry.get("bytes"):
                problems.append(
                    Problem(
                        table,
                        Check.FILE_CHECKSUMS,
                        f"{name}: {size:,} bytes on disk, the export wrote {entry['bytes']:,}",
                    )
                )
            continue
        try:
            found = uploads.hash_open(fd)
        finally:
            os.close(fd)
        if found.bytes != entry.get("bytes") or found.sha256 != entry.get("sha256"):
            problems.append(
                Problem(
                    table, Check.FILE_CHECKSUMS, f"{name}: size or sha256 differs from the manifest"
                )
            )
    return problems
