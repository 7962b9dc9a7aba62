"""Which columns point at uploaded files, and where those files live under ``UPLOAD_DIR``.

ocomms keeps uploads as plain files under its ``UPLOAD_DIR`` (default ``public/uploads``):
``attachments/<file_attachments.filename>``, and ``avatars/<file>`` and ``emoji/<file>``
named by ``profiles.avatar_path`` and ``custom_emojis.path`` as public URL paths
(``/uploads/avatars/<file>``). ``users.image`` may be an external URL and is never a file of
the install, so it is not listed. Like the tables, these names live in the catalog only.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC_PREFIX = "/uploads/"  # how ocomms serves UPLOAD_DIR, so how its rows spell paths


@dataclass(frozen=True)
class UploadColumn:
    """One column whose value names an uploaded file.

    ``folder`` is the file's folder under the uploads directory. When ``bare_name`` is true
    the value is the file's name inside that folder (``file_attachments.filename``);
    otherwise it is a public path, ``/uploads/<folder>/<name>`` (``<folder>/<name>`` is also
    taken: older rows and the demo's sample spell it so). ``size_column`` holds the size the
    row claims for the file, checked against the file on disk.
    """

    table: str
    column: str
    folder: str
    bare_name: bool = False
    size_column: str | None = None
    key: str = "id"


UPLOAD_COLUMNS: tuple[UploadColumn, ...] = (
    UploadColumn("file_attachments", "filename", "attachments", True, "size_bytes"),
    UploadColumn("profiles", "avatar_path", "avatars"),
    UploadColumn("custom_emojis", "path", "emoji"),
)
UPLOAD_TABLES: tuple[str, ...] = tuple(u.table for u in UPLOAD_COLUMNS)


def relative_path(upload: UploadColumn, value: str) -> str | None:
    """``<folder>/<name>`` under the uploads directory, or None when the value is not one.

    Only the spelling is decided here; whether the result is safe to open (no ``..``, no
    NUL, no symlink) is the copier's business, which never trusts a row.
    """
    if upload.bare_name:
        return f"{upload.folder}/{value}"
    text = value.removeprefix(PUBLIC_PREFIX)
    if not text.startswith(f"{upload.folder}/"):
        return None
    return text
