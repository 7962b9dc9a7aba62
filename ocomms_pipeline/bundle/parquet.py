"""Parquet copies of the table files, written while the JSON streams.

Decoded batches are buffered only up to one row group (a row and a byte bound), so memory
stays flat whatever the size of the table, and every file carries the catalog's explicit
schema even when it has no rows. Like the JSON files, each file's size and sha256 are taken
from the bytes on their way to the file, not by reading it back.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ocomms_pipeline.bundle.files import FileDigest

PARQUET_DIR = "parquet"
ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 4 << 20  # of decoded Arrow data
COMPRESSION = "zstd"
SINK_BUFFER = 1 << 20  # gathered in C++ before the Python sink hashes and writes them


def parquet_path(directory: Path, table_name: str) -> Path:
    return directory / PARQUET_DIR / f"{table_name}.parquet"


def relative_name(table_name: str) -> str:
    """The file's path inside a bundle, as the manifest lists it."""
    return f"{PARQUET_DIR}/{table_name}.parquet"


class _DigestingFile:
    """The Parquet writer's sink: the file's bytes, hashed and counted as they are written.

    pyarrow hands every byte of the file to ``write``, in order (page headers, pages, the
    footer), through a buffer of its own (``SINK_BUFFER``), so the writer, which runs without
    the GIL, takes it once a megabyte rather than once a page; sha256 releases it again while
    it hashes.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close(), after the writer
        self._hash = hashlib.sha256()
        self.bytes = 0

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self._hash.update(data)
        self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        self._file.flush()

    def close(self, *, sync: bool = False) -> str:
        """Close the file (durably with ``sync``); the sha256 of everything written."""
        if not self._file.closed:
            try:
                self._file.flush()
                if sync:
                    os.fsync(self._file.fileno())
            finally:
                self._file.close()
        return self._hash.hexdigest()


class ParquetTableWriter:
    """One table's Parquet file, fed Arrow tables of its schema, in row groups of bounded size."""

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        row_group_bytes: int = ROW_GROUP_BYTES,
    ) -> None:
        path.parent.mkdir(exist_ok=True)
        self.path = path
        self.rows = 0
        self._limits = (row_group_rows, row_group_bytes)
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._sink = _DigestingFile(path)
        self._stream = pa.BufferedOutputStream(pa.PythonFile(self._sink, "w"), SINK_BUFFER)
        try:
            self._writer = pq.ParquetWriter(self._stream, schema, compression=COMPRESSION)
        except BaseException:
            self._stream.close()  # and the sink with it
            raise

    def write(self, batch: pa.Table) -> None:
        rows_limit, bytes_limit = self._limits
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if self._pending_rows >= rows_limit or self._pending_bytes >= bytes_limit:
            self._flush()

    def _flush(self) -> None:
        if not self._pending_rows:
            self._pending.clear()
            return
        group = pa.concat_tables(self._pending)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        self._writer.write_table(group, row_group_size=self._limits[0])
        self.rows += group.num_rows

    def close(self) -> FileDigest:
        self._flush()
        self._writer.close()
        self._stream.detach()  # its last bytes to the sink, which stays open to be synced
        sha256 = self._sink.close(sync=True)
        return FileDigest(relative_name(self.path.stem), self.rows, self._sink.bytes, sha256)

    def abort(self) -> None:
        self._pending.clear()
        try:
            self._writer.close()
        finally:
            self._stream.close()  # and the sink with it; the file is discarded with staging
