"""Uploaded files in a bundle: opening them safely under a directory, copying them with a hash.

The paths come from database rows, so they are untrusted: a path with ``..``, an absolute
path, a NUL or an empty component is refused before anything is opened, and every component
is opened relative to the one before with ``O_NOFOLLOW``, so a symbolic link anywhere under
the uploads directory (one pointing outside it, or a swapped-in one) is never followed.
Copies stream in fixed chunks and hash on the way: a 10 GB file costs the memory of a 10 KB one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILES_DIR = "files"  # the bundle's folder of uploaded files, mirroring the uploads directory
_CHUNK = 1 << 20
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


NOT_CONFIGURED = "no uploads directory was configured (OCOMMS_UPLOADS_DIR or --uploads-dir)"


def not_included(reason: str = NOT_CONFIGURED) -> dict[str, Any]:
    """The manifest's ``files`` section of a bundle that carries no files, and why."""
    return {"included": False, "reason": reason}


def listed_files(section: Any) -> list[dict[str, Any]]:
    """The file entries of a manifest's ``files`` section (none for older bundles)."""
    if not isinstance(section, dict) or not isinstance(section.get("files"), list):
        return []
    return [e for e in section["files"] if isinstance(e, dict)]


class Unreadable(Exception):
    """A referenced file that is not copied; the message is the reason an owner reads."""


@dataclass(frozen=True)
class Copied:
    bytes: int
    sha256: str


def unsafe_reason(relative: str) -> str | None:
    """Why a path from a row must not be opened at all, or None when its spelling is safe."""
    if "\x00" in relative:
        return "the path holds a NUL character: not opened"
    if relative.startswith("/"):
        return "the path is absolute: not opened"
    parts = relative.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "the path has '..', '.' or an empty component: not opened"
    return None


def open_regular_file(root: Path, relative: str) -> tuple[int, int]:
    """An open descriptor and the size of ``root/relative``, a regular file reached without links.

    Raises ``Unreadable`` with the reason otherwise. The caller closes the descriptor.
    """
    reason = unsafe_reason(relative)
    if reason:
        raise Unreadable(reason)
    *folders, name = relative.split("/")
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for folder in folders:
            inner = _open_at(folder, _DIRECTORY_FLAGS, directory)
            os.close(directory)
            directory = inner
        fd = _open_at(name, _FILE_FLAGS, directory)
    finally:
        os.close(directory)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise Unreadable("not a regular file: not copied")
    return fd, info.st_size


def _open_at(name: str, flags: int, directory: int) -> int:
    try:
        return os.open(name, flags, dir_fd=directory)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR) and _is_link(name, directory):
            raise Unreadable("a symbolic link on the way: not followed") from None
        if error.errno == errno.ENOENT:
            raise Unreadable("missing on disk") from None
        if error.errno == errno.ENOTDIR:
            raise Unreadable("missing on disk (a component is not a directory)") from None
        raise Unreadable(f"unreadable: {os.strerror(error.errno or 0)}") from None


def _is_link(name: str, directory: int) -> bool:
    """Whether ``name`` is a link (O_DIRECTORY with O_NOFOLLOW says ENOTDIR, not ELOOP)."""
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode)
    except OSError:
        return False


def new_buffer() -> bytearray:
    """One copy buffer, reused for every file: a fresh megabyte per small file costs more
    than the file."""
    return bytearray(_CHUNK)


def copy_to(fd: int, target: Path, buffer: bytearray | None = None, *, sync: bool = True) -> Copied:
    """Stream the open file into ``target`` (which must not exist), hashing on the way.

    With ``sync`` the copy is made durable before it counts. A caller that syncs a whole tree
    of copies before relying on them passes False: an export's files are synced with the
    rest of the staged bundle before the rename that publishes it (``files.publish``), many
    at once, and an fsync of each as it was copied had taken most of the file step
    (measured against ``cp -r``: docs/performance.md).
    """
    digest = hashlib.sha256()
    buffer = new_buffer() if buffer is None else buffer
    view = memoryview(buffer)
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    out = os.open(target, flags, 0o644)
    try:
        while read := os.readv(fd, [buffer]):
            digest.update(view[:read])
            _write_all(out, view[:read])
            size += read
        if sync:
            os.fsync(out)
    finally:
        view.release()
        os.close(out)
    return Copied(size, digest.hexdigest())


def _write_all(fd: int, data: memoryview) -> None:
    """A raw write may take part of the data; loop until all of it is written."""
    while data:
        data = data[os.write(fd, data) :]


def hash_open(fd: int) -> Copied:
    """Size and sha256 of an open file, read in chunks from where it stands."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    while read := os.readv(fd, [buffer]):
        digest.update(view[:read])
        size += read
    return Copied(size, digest.hexdigest())
