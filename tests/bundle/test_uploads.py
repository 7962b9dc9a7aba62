"""Opening a file named by a row: only a regular file under the directory, reached without links."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ocomms_pipeline.bundle import uploads
from ocomms_pipeline.catalog.uploads import UPLOAD_COLUMNS, relative_path

ATTACHMENTS, AVATARS, EMOJI = UPLOAD_COLUMNS


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("attachments/a\x00b", "NUL"),
        ("/etc/passwd", "absolute"),
        ("attachments/../../x", "'..'"),
        ("attachments//x", "empty component"),
        ("attachments/./x", "'.'"),
    ],
)
def test_unsafe_spellings_are_refused_before_opening(relative: str, reason: str, tmp_path):
    assert reason in (uploads.unsafe_reason(relative) or "")
    with pytest.raises(uploads.Unreadable, match="not opened"):
        uploads.open_regular_file(tmp_path, relative)


def test_a_symbolic_link_anywhere_on_the_way_is_not_followed(tmp_path: Path):
    root, outside = tmp_path / "uploads", tmp_path / "outside"
    (root / "attachments").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("secret")
    (root / "attachments" / "file").symlink_to(outside / "secret")
    (root / "avatars").symlink_to(outside)
    for relative in ("attachments/file", "avatars/secret"):
        with pytest.raises(uploads.Unreadable, match="symbolic link"):
            uploads.open_regular_file(root, relative)


def test_only_regular_files_are_copied_and_hashed_on_the_way(tmp_path: Path):
    (tmp_path / "emoji").mkdir()
    os.mkfifo(tmp_path / "emoji" / "pipe")
    with pytest.raises(uploads.Unreadable, match="not a regular file"):
        uploads.open_regular_file(tmp_path, "emoji/pipe")
    with pytest.raises(uploads.Unreadable, match="missing on disk"):
        uploads.open_regular_file(tmp_path, "emoji/none")
    data = os.urandom(3 << 20 | 5)
    (tmp_path / "emoji" / "big").write_bytes(data)
    fd, size = uploads.open_regular_file(tmp_path, "emoji/big")
    try:
        copied = uploads.copy_to(fd, tmp_path / "copy" / "big")
    finally:
        os.close(fd)
    assert size == copied.bytes == len(data)
    assert (tmp_path / "copy" / "big").read_bytes() == data
    assert copied.sha256 == hashlib.sha256(data).hexdigest()


def test_rows_spell_paths_as_ocomms_does():
    assert relative_path(ATTACHMENTS, "f0e1-report.pdf") == "attachments/f0e1-report.pdf"
    assert relative_path(AVATARS, "/uploads/avatars/u.webp") == "avatars/u.webp"
    assert relative_path(AVATARS, "avatars/u.webp") == "avatars/u.webp"
    assert relative_path(EMOJI, "/uploads/emoji/party.gif") == "emoji/party.gif"
    assert relative_path(AVATARS, "https://cdn.example.com/u.png") is None
    assert relative_path(AVATARS, "/uploads/emoji/party.gif") is None
