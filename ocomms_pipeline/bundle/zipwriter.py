"""A zip writer that deflates a member in fixed chunks on every core, the same bytes every time.

Python's ``zipfile`` deflates a member with zlib on one thread, which made the zip the slowest
step of a large export (docs/performance.md). This module writes the
layout ``zipfile`` writes to a seekable file with ``force_zip64`` (a local header whose ZIP64
extra field gets the sizes once the member is written; ZIP64 fields in the central directory
and the ZIP64 end records only where a value passes ``ZIP64_LIMIT``), and differs only in how
a member's bytes are deflated:

- with ISA-L (``isal``), much faster than zlib's default level for a slightly larger output;
- in chunks of ``CHUNK_BYTES`` of the input, each deflated on its own by a pool of threads
  (ISA-L releases the GIL) as pigz does: a chunk is a raw deflate stream that ends on a byte
  boundary with a sync flush, the last one with the final block, so their concatenation is one
  valid deflate stream. Results are written in order and at most two per thread are in flight,
  so memory stays flat whatever the member's size.

The chunks are cut by the input's bytes alone, so the archive is the same whatever the number of
threads or their timing. Every tool that reads ``zipfile``'s archives reads these (the tests try
``zipfile``, Info-ZIP ``unzip``, libarchive's ``bsdtar`` and ``7z``).
"""

from __future__ import annotations

import os
import struct
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Protocol

from isal import isal_zlib

CHUNK_BYTES = 1 << 20
# ISA-L's levels run 0-3. Levels 1 and 2 deflate at the same speed and 2 compresses a little
# better; level 3 is about half as fast for little more (docs/performance.md).
LEVEL = 2
# zipfile's limit: sizes and offsets past it are written in ZIP64 fields, as zipfile does, so
# that readers that take the 32-bit fields as signed never see a negative one.
ZIP64_LIMIT = (1 << 31) - 1
COUNT_LIMIT = 0xFFFF

STORED = 0
DEFLATED = 8
_ZIP64_VERSION = 45
_UNIX = 3
_UTF8_NAME = 0x800
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_ZIP64 = struct.Struct("<HHQQ")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_END = struct.Struct("<4s4H2LH")
_U32 = 0xFFFFFFFF


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Entry:
    """One member as the central directory records it."""

    name: str
    method: int
    crc: int
    compressed: int
    size: int
    offset: int
    date_time: tuple[int, int, int, int, int, int]
    mode: int


def _dos(when: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """(time, date) in MS-DOS form, to two seconds, as zipfile writes them."""
    year, month, day, hour, minute, second = when
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def _encoded(name: str) -> tuple[bytes, int]:
    """The name's bytes and flags: ASCII as it is, anything else UTF-8 with its flag set."""
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME


def _local_header(entry: Entry) -> bytes:
    name, flags = _encoded(entry.name)
    clock, date = _dos(entry.date_time)
    extra = _LOCAL_ZIP64.pack(1, 16, entry.size, entry.compressed)
    header = _LOCAL.pack(
        b"PK\x03\x04", _ZIP64_VERSION, 0, flags, entry.method, clock, date,
        entry.crc, _U32, _U32, len(name), len(extra),
    )  # fmt: skip
    return header + name + extra


def _central_record(entry: Entry) -> bytes:
    name, flags = _encoded(entry.name)
    clock, date = _dos(entry.date_time)
    zip64: list[int] = []
    size, compressed, offset = entry.size, entry.compressed, entry.offset
    if size > ZIP64_LIMIT or compressed > ZIP64_LIMIT:
        zip64 += [size, compressed]
        size = compressed = _U32
    if offset > ZIP64_LIMIT:
        zip64.append(offset)
        offset = _U32
    extra = struct.pack(f"<HH{len(zip64)}Q", 1, 8 * len(zip64), *zip64) if zip64 else b""
    record = _CENTRAL.pack(
        b"PK\x01\x02", _ZIP64_VERSION, _UNIX, _ZIP64_VERSION, 0, flags, entry.method,
        clock, date, entry.crc, compressed, size, len(name), len(extra), 0, 0, 0,
        entry.mode << 16, offset,
    )  # fmt: skip
    return record + name + extra


def _read_full(source: Readable, size: int) -> bytes:
    """Exactly ``size`` bytes, fewer only at the end: the chunks must not depend on the reads."""
    data = source.read(size)
    while 0 < len(data) < size:
        more = source.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _deflate_chunk(data: bytes, last: bool, level: int = LEVEL) -> bytes:
    """``data`` as raw deflate ending on a byte boundary, with the final block when ``last``."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    end = isal_zlib.Z_FINISH if last else isal_zlib.Z_SYNC_FLUSH
    return compressor.compress(data) + compressor.flush(end)


def _deflated(data: bytes, last: bool, level: int) -> tuple[int, int, bytes]:
    return isal_zlib.crc32(data), len(data), _deflate_chunk(data, last, level)


class ZipWriter:
    """Writes members one after another to a seekable binary file, then the central directory.

    ``workers`` threads deflate; the calling thread reads, writes and combines the CRCs. Use it
    as a context manager: leaving it normally writes the end records, leaving it on an
    exception only stops the threads (the caller removes the partial file).
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        workers: int = 1,
        chunk_bytes: int = CHUNK_BYTES,
        level: int = LEVEL,
    ) -> None:
        if workers < 1 or chunk_bytes < 1:
            raise ValueError("workers and chunk_bytes must be positive")
        self._out = out
        self._chunk = chunk_bytes
        self._level = level
        self._in_flight = 2 * workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="zip-deflate")
        self.entries: list[Entry] = []

    def __enter__(self) -> ZipWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def add(
        self,
        name: str,
        date_time: tuple[int, int, int, int, int, int],
        source: Readable,
        *,
        deflate: bool,
        mode: int = 0o644,
    ) -> Entry:
        """Write one member whose bytes ``source.read`` gives until it returns ``b""``."""
        offset = self._out.tell()
        entry = Entry(name, DEFLATED if deflate else STORED, 0, 0, 0, offset, date_time, mode)
        self._out.write(_local_header(entry))
        write = self._write_deflated if deflate else self._write_stored
        crc, compressed, size = write(source)
        end = self._out.tell()
        entry = Entry(name, entry.method, crc, compressed, size, offset, date_time, mode)
        self._out.seek(offset)
        self._out.write(_local_header(entry))
        self._out.seek(end)
        self.entries.append(entry)
        return entry

    def _write_stored(self, source: Readable) -> tuple[int, int, int]:
        crc = size = 0
        while block := _read_full(source, self._chunk):
            crc = isal_zlib.crc32(block, crc)
            size += len(block)
            self._out.write(block)
        return crc, size, size

    def _write_deflated(self, source: Readable) -> tuple[int, int, int]:
        pending: deque[Future[tuple[int, int, bytes]]] = deque()
        crc = size = compressed = 0

        def drain(keep: int) -> None:
            nonlocal crc, size, compressed
            while len(pending) > keep:
                part_crc, part_size, data = pending.popleft().result()
                crc = isal_zlib.crc32_combine(crc, part_crc, part_size)
                size += part_size
                compressed += len(data)
                self._out.write(data)

        block = _read_full(source, self._chunk)
        while True:
            following = _read_full(source, self._chunk) if block else b""
            last = not following
            pending.append(self._pool.submit(_deflated, block, last, self._level))
            if last:
                break
            drain(self._in_flight)
            block = following
        drain(0)
        return crc, compressed, size

    def close(self) -> None:
        """The central directory and the end records (ZIP64 ones only where needed)."""
        self._pool.shutdown(wait=True)
        start = self._out.tell()
        for entry in self.entries:
            self._out.write(_central_record(entry))
        end = self._out.tell()
        count, size, offset = len(self.entries), end - start, start
        if count > COUNT_LIMIT or offset > ZIP64_LIMIT or size > ZIP64_LIMIT:
            self._out.write(
                _END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
            )
            self._out.write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, end, 1))
            count, size, offset = min(count, 0xFFFF), min(size, _U32), min(offset, _U32)
        self._out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, offset, 0))


def default_workers() -> int:
    """One deflating thread per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
