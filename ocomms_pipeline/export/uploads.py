"""Copy the files an organization's rows point at into its staged bundle.

The rows are read back from the staged table files, not queried again: the bundle then holds
exactly the files of the rows it holds (the attachments of its messages, the avatars of the
users it carries, its emoji), and never a file of another organization. What cannot be
included (missing, a size that differs from the row's, an unsafe path) does not fail the
export: it is listed with the row's id and the reason, so an owner sees exactly what is not
there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle import uploads as files
from ocomms_pipeline.bundle.state import TableResult
from ocomms_pipeline.catalog.uploads import UPLOAD_COLUMNS, UploadColumn, relative_path


class _Stager:
    def __init__(self, staging: Path, uploads_dir: Path) -> None:
        self.staging = staging
        self.uploads_dir = uploads_dir
        self.copied: dict[str, dict[str, Any]] = {}  # bundle path -> manifest entry
        self.refused: dict[str, str] = {}  # relative path -> reason, for repeated references
        self.missing: list[dict[str, Any]] = []
        self.buffer = files.new_buffer()

    def take(self, upload: UploadColumn, row: dict[str, Any]) -> None:
        value = row.get(upload.column)
        if value is None:
            return
        referrer = {"table": upload.table, "column": upload.column, "id": row.get(upload.key)}
        relative = relative_path(upload, str(value))
        if relative is None:
            self._miss(referrer, value, f"not a path under /uploads/{upload.folder}/")
            return
        name = f"{files.FILES_DIR}/{relative}"
        if name in self.copied:
            self.copied[name]["referenced_by"].append(referrer)
            return
        if relative in self.refused:
            self._miss(referrer, value, self.refused[relative])
            return
        try:
            self._copy(upload, row, relative, name, referrer)
        except files.Unreadable as why:
            self.refused[relative] = str(why)
            self._miss(referrer, value, str(why))

    def _copy(
        self,
        upload: UploadColumn,
        row: dict[str, Any],
        relative: str,
        name: str,
        referrer: dict[str, Any],
    ) -> None:
        fd, size = files.open_regular_file(self.uploads_dir, relative)
        try:
            claimed = row.get(upload.size_column) if upload.size_column else None
            if claimed is not None and claimed != size:
                raise files.Unreadable(
                    f"{size:,} bytes on disk, {upload.table}.{upload.size_column} says "
                    f"{claimed:,}: not copied"
                )
            # Synced with the whole staged bundle before it is published (files.publish).
            copied = files.copy_to(fd, self.staging / name, self.buffer, sync=False)
        finally:
            os.close(fd)
        self.copied[name] = {
            "file": name,
            "bytes": copied.bytes,
            "sha256": copied.sha256,
            "referenced_by": [referrer],
        }

    def _miss(self, referrer: dict[str, Any], value: Any, reason: str) -> None:
        self.missing.append({**referrer, "path": value, "reason": reason})


def _rows(path: Path) -> Any:
    for chunk in bundle.JsonArrayReader(path):
        for line in chunk.splitlines():
            yield json.loads(line)


def stage_uploads(
    staging: Path, tables: list[TableResult], uploads_dir: Path | None
) -> dict[str, Any]:
    """Copy the referenced files into ``staging/files/``; return the manifest's ``files``."""
    if uploads_dir is None:
        return files.not_included()
    if not uploads_dir.is_dir():
        return files.not_included(f"the uploads directory {uploads_dir.name!r} does not exist")
    stager = _Stager(staging, uploads_dir)
    staged = {t.table: t.file for t in tables}
    for upload in UPLOAD_COLUMNS:
        if upload.table in staged:
            for row in _rows(staging / staged[upload.table]):
                stager.take(upload, row)
    listed = sorted(stager.copied.values(), key=lambda e: e["file"])
    return {
        "included": True,
        "directory": files.FILES_DIR,
        "count": len(listed),
        "bytes": sum(e["bytes"] for e in listed),
        "files": listed,
        "not_included": sorted(
            stager.missing, key=lambda m: (m["table"], str(m["id"]), m["column"])
        ),
    }
