"""Parquet copies of the table files, written while the JSON streams.

Decoded batches are buffered only up to one row group (a row and a byte bound), so memory
stays flat whatever the size of the table, and every file carries the catalog's explicit
schema even when it has no rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ocomms_pipeline.bundle.files import FileDigest, sha256_file

PARQUET_DIR = "parquet"
ROW_GROUP_ROWS = 128 * 1024
ROW_GROUP_BYTES = 4 << 20  # of decoded Arrow data
COMPRESSION = "zstd"


def parquet_path(directory: Path, table_name: str) -> Path:
    return directory / PARQUET_DIR / f"{table_name}.parquet"


def relative_name(table_name: str) -> str:
    """The file's path inside a bundle, as the manifest lists it."""
    return f"{PARQUET_DIR}/{table_name}.parquet"


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
        self._writer = pq.ParquetWriter(path, schema, compression=COMPRESSION)

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
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return FileDigest(
            relative_name(self.path.stem),
            self.rows,
            self.path.stat().st_size,
            sha256_file(self.path),
        )

    def abort(self) -> None:
        self._pending.clear()
        self._writer.close()
