"""Table files on disk: space reserved only for large ones, read back whole, published durably."""

from __future__ import annotations

import hashlib
import os

from ocomms_pipeline.bundle import files as bundle
from ocomms_pipeline.bundle.preallocation import RESERVE_FROM, GrowingFile


def test_a_small_file_reserves_nothing_and_a_large_one_is_exactly_its_bytes(tmp_path):
    small = GrowingFile(tmp_path / "small.json")
    small.write(b"x" * 300)
    assert os.stat(small.path).st_size == 300  # no reservation beyond the bytes
    small.close()

    large = GrowingFile(tmp_path / "large.json")
    chunk = bytes(range(256)) * 1024  # 256 KiB
    for _ in range(RESERVE_FROM // len(chunk) + 1):
        large.write(chunk)
    written = RESERVE_FROM + len(chunk)
    assert os.stat(large.path).st_size > written  # reserved ahead
    large.close()
    assert (tmp_path / "small.json").read_bytes() == b"x" * 300
    assert (tmp_path / "large.json").read_bytes() == chunk * (written // len(chunk))


def test_files_smaller_and_larger_than_the_read_chunk_are_read_whole(tmp_path):
    rows = [b'{"id":%d}' % n for n in range(2000)]
    data = b"[\n" + b",\n".join(rows) + b"\n]\n"
    path = tmp_path / "t.json"
    path.write_bytes(data)
    for chunk in (1 << 20, 4096, 100):  # larger than the file, and smaller
        reader = bundle.JsonArrayReader(path, chunk_bytes=chunk)
        reader.measure()
        assert (reader.rows, reader.bytes, reader.framing_error) == (2000, len(data), None)
        assert reader.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(bytes(block) for block in bundle.read_blocks(path, 100)) == data
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert bundle.sha256_file(empty) == hashlib.sha256(b"").hexdigest()


def test_publishing_syncs_every_staged_file_and_leaves_links_alone(tmp_path):
    staging = tmp_path / ".staging-run"
    (staging / "parquet").mkdir(parents=True)
    (staging / "users.json").write_bytes(b"[\n]\n")
    (staging / "parquet" / "users.parquet").write_bytes(b"PAR1")
    (staging / "elsewhere").symlink_to(tmp_path / "missing")  # a dangling link: not followed
    destination = tmp_path / "ocomms-export-2026-01-01T00-00-00Z"
    published = bundle.publish(staging, {"format": "test"}, destination)
    assert published == destination and not staging.exists()
    assert bundle.read_json(destination / bundle.MANIFEST) == {"format": "test"}
    assert (destination / "parquet" / "users.parquet").read_bytes() == b"PAR1"
    assert (destination / "elsewhere").is_symlink()
