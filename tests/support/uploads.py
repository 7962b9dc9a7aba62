"""An uploads directory as ocomms keeps it, with a file for every upload row of the database.

Every organization's files are written, so a test can see that a bundle takes only its own.
Each file's bytes are derived from its path, and an attachment is as long as its row says.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
from psycopg import sql

from ocomms_pipeline.catalog.uploads import UPLOAD_COLUMNS, relative_path


def content(relative: str, size: int) -> bytes:
    seed = hashlib.sha256(relative.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def write_uploads(url: str, directory: Path) -> dict[str, bytes]:
    """Write the files every upload row names; return them by path under ``directory``."""
    written: dict[str, bytes] = {}
    with psycopg.connect(url) as conn:
        for upload in UPLOAD_COLUMNS:
            size = sql.Identifier(upload.size_column) if upload.size_column else sql.SQL("1000")
            query = sql.SQL("SELECT {}, {} FROM {} WHERE {} IS NOT NULL").format(
                sql.Identifier(upload.column),
                size,
                sql.Identifier(upload.table),
                sql.Identifier(upload.column),
            )
            for value, length in conn.execute(query).fetchall():
                relative = relative_path(upload, value)
                assert relative is not None
                written[relative] = content(relative, length)
    for relative, data in written.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_bytes(data)
    return written


def bundle_files(bundle_path: Path) -> dict[str, bytes]:
    """The bundle's uploaded files by their path under the uploads directory."""
    root = bundle_path / "files"
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
