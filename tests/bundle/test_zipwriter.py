"""The zip writer: zipfile's layout, deflate in fixed chunks, read by every common unzip tool."""

from __future__ import annotations

import io
import random
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

from ocomms_pipeline.bundle import zipwriter
from ocomms_pipeline.bundle.zipwriter import ZipWriter

from ..support.unzip_tools import TOOLS, check_with_tool

WHEN = (2026, 1, 18, 10, 45, 40)  # even: zip times are to two seconds
CHUNK = 4096


def _json_like(size: int, seed: int) -> bytes:
    """Text that deflates like the bundle's JSON: repeated keys, random ids and words."""
    rng = random.Random(seed)
    words = ["deploy", "review", "café", "привет", "日本語", "🚀", '\\"quoted\\"', "the", "a"]
    lines = []
    total = 0
    while total < size:
        line = (
            f'{{"id":"{rng.getrandbits(128):032x}","content":"'
            + " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
            + f'","sequence":{len(lines)}}},\n'
        ).encode()
        lines.append(line)
        total += len(line)
    return b"".join(lines)[:size]


# name -> bytes; deflated unless under parquet/. Sizes around the chunk: several chunks, an
# exact multiple, one byte past it, smaller than one, empty; and a name that is not ASCII.
MEMBERS = {
    "bundle/manifest.json": b'{"format": "ocomms-export"}\n',
    "bundle/messages.json": _json_like(10 * CHUNK + 123, seed=1),
    "bundle/exact.json": _json_like(3 * CHUNK, seed=2),
    "bundle/one-past.json": _json_like(CHUNK + 1, seed=3),
    "bundle/empty.json": b"",
    "bundle/parquet/messages.parquet": random.Random(4).randbytes(3 * CHUNK + 7),
    "bundle/files/résumé.pdf": random.Random(5).randbytes(2 * CHUNK),
}


def _stored(name: str) -> bool:
    return "/parquet/" in name or "/files/" in name


def _write(path: Path, members: dict[str, bytes], **options) -> Path:
    options.setdefault("chunk_bytes", CHUNK)
    with open(path, "wb") as out, ZipWriter(out, **options) as zw:
        for name, data in members.items():
            zw.add(name, WHEN, io.BytesIO(data), deflate=not _stored(name))
    return path


def _zipfile_stored(path: Path, members: dict[str, bytes]) -> Path:
    """What zipfile writes for the same members, all stored, ZIP64 local headers forced."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=WHEN)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as target:
                target.write(data)
    return path


def _reads_back(path: Path, members: dict[str, bytes], stored: bool = False) -> None:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == list(members)
        for info in zf.infolist():
            assert info.date_time == WHEN
            assert info.external_attr == 0o644 << 16
            deflated = not (stored or _stored(info.filename))
            assert info.compress_type == (zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED)
            assert zf.read(info) == members[info.filename]


def test_stored_members_are_byte_for_byte_what_zipfile_writes(tmp_path):
    stored = {name: data for name, data in MEMBERS.items()}
    with open(tmp_path / "ours.zip", "wb") as out, ZipWriter(out, chunk_bytes=CHUNK) as zw:
        for name, data in stored.items():
            zw.add(name, WHEN, io.BytesIO(data), deflate=False)
    theirs = _zipfile_stored(tmp_path / "theirs.zip", stored)
    assert (tmp_path / "ours.zip").read_bytes() == theirs.read_bytes()


def test_past_the_zip64_limits_the_records_are_still_zipfiles(tmp_path, monkeypatch):
    """Sizes, offsets and the member count past lowered limits: ZIP64 fields and end records."""
    monkeypatch.setattr(zipwriter, "ZIP64_LIMIT", 5000)
    monkeypatch.setattr(zipwriter, "COUNT_LIMIT", 3)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 5000)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 3)
    with open(tmp_path / "ours.zip", "wb") as out, ZipWriter(out, chunk_bytes=CHUNK) as zw:
        for name, data in MEMBERS.items():
            zw.add(name, WHEN, io.BytesIO(data), deflate=False)
    theirs = _zipfile_stored(tmp_path / "theirs.zip", MEMBERS)
    ours = (tmp_path / "ours.zip").read_bytes()
    assert ours == theirs.read_bytes()
    assert ours[-98:-42].startswith(b"PK\x06\x06") and ours[-42:-22].startswith(b"PK\x06\x07")
    _reads_back(tmp_path / "ours.zip", MEMBERS, stored=True)


def test_a_member_of_many_chunks_round_trips_exactly(tmp_path):
    path = _write(tmp_path / "a.zip", MEMBERS)
    _reads_back(path, MEMBERS)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("bundle/messages.json")
        assert zlib.crc32(MEMBERS["bundle/messages.json"]) == info.CRC
        # The member's data is one raw deflate stream, ending exactly where the member ends.
        with open(path, "rb") as handle:
            handle.seek(info.header_offset + 30 + len(info.filename) + 20)
            raw = handle.read(info.compress_size)
    inflater = zlib.decompressobj(-15)
    assert inflater.decompress(raw) == MEMBERS["bundle/messages.json"]
    assert inflater.eof and inflater.unused_data == b""


def test_the_bytes_depend_on_neither_the_threads_nor_the_reads(tmp_path):
    one = _write(tmp_path / "one.zip", MEMBERS, workers=1).read_bytes()
    four = _write(tmp_path / "four.zip", MEMBERS, workers=4).read_bytes()
    assert one == four

    class Dribbling(io.BytesIO):
        """Reads that come back short, as a pipe's or a network file system's may."""

        def read(self, size: int = -1, /) -> bytes:
            return super().read(min(size, random.randint(1, 1000)))

    path = tmp_path / "short.zip"
    with open(path, "wb") as out, ZipWriter(out, workers=2, chunk_bytes=CHUNK) as zw:
        for name, data in MEMBERS.items():
            zw.add(name, WHEN, Dribbling(data), deflate=not _stored(name))
    assert path.read_bytes() == one


def test_a_failing_source_leaves_no_thread_behind(tmp_path):
    class Broken(io.BytesIO):
        def read(self, size: int = -1, /) -> bytes:
            if self.tell() >= 3 * CHUNK:
                raise OSError("disk gone")
            return super().read(size)

    source = Broken(MEMBERS["bundle/messages.json"])
    with (
        pytest.raises(OSError, match="disk gone"),
        open(tmp_path / "a.zip", "wb") as out,
        ZipWriter(out, workers=2, chunk_bytes=CHUNK) as zw,
    ):
        zw.add("a.json", WHEN, source, deflate=True)
    assert not [t for t in threading.enumerate() if t.name.startswith("zip-deflate")]


@pytest.mark.parametrize("tool", list(TOOLS))
def test_unzip_tools_read_it(tool, tmp_path):
    path = _write(tmp_path / "a.zip", MEMBERS, workers=2)
    check_with_tool(tool, path, MEMBERS, tmp_path / "out")


@pytest.mark.parametrize("tool", list(TOOLS))
def test_unzip_tools_read_its_zip64_records(tool, tmp_path, monkeypatch):
    monkeypatch.setattr(zipwriter, "ZIP64_LIMIT", 5000)
    monkeypatch.setattr(zipwriter, "COUNT_LIMIT", 3)
    path = _write(tmp_path / "a.zip", MEMBERS, workers=2)
    _reads_back(path, MEMBERS)
    check_with_tool(tool, path, MEMBERS, tmp_path / "out")
