"""Do the ids a bundle's rows point at resolve inside the bundle? Checked in flat memory.

A million messages are referenced by reactions, notifications, replies...: holding every id
in a set would make memory grow with the organization. Instead each table's scan spills the
ids it holds (keys) and the ids it points at (references) to disk, split into buckets by a
hash of the id, and resolution then reads one bucket at a time: memory is the size of one
bucket, a small fraction of the ids, whatever the size of the bundle.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ocomms_pipeline.bundle import arrow_arrays

BUCKETS = 32  # the fewest: what a small export and ``verify`` use
MAX_BUCKETS = 256
BUCKET_SOURCE_BYTES = 16 << 20  # of table data on disk per bucket
FLUSH_IDS = 1 << 15
SPILL_DIR = ".reference-spill"
EXAMPLES = 3
RESOLVE_THREADS = 2
_SCHEMA = pa.schema([("id", pa.string()), ("stream", pa.int16())])
_STREAMS = b"streams"  # batch metadata: JSON list of [kind, target, source] per stream tag


def bucket_count(source_bytes: int) -> int:
    """Buckets for an export reading ``source_bytes`` of tables: memory per bucket stays flat.

    Resolution holds one bucket's ids at a time, so the bucket count grows with the data, a
    power of two from ``BUCKETS`` to ``MAX_BUCKETS``.
    """
    wanted = max(1, source_bytes // BUCKET_SOURCE_BYTES)
    count = BUCKETS
    while count < wanted and count < MAX_BUCKETS:
        count *= 2
    return count


def _buckets(values: pa.StringArray, count: int) -> np.ndarray:
    """A bucket per value from its length and last four bytes, vectorised over the buffers."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1]
    data_buffer = values.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
    if not len(data):
        data = np.zeros(1, np.uint8)
    ends = offsets[1:].astype(np.int64)
    lengths = ends - offsets[:-1]
    mixed = lengths.astype(np.uint64)
    for back in range(1, 5):
        present = lengths >= back
        byte = np.where(present, data[np.clip(ends - back, 0, len(data) - 1)], 0)
        mixed = mixed * np.uint64(1_000_003) + byte.astype(np.uint64)
    return (mixed % np.uint64(count)).astype(np.int64)


class ReferenceSpill:
    """One table's keys and references, appended to bucket files on disk.

    Ids are held back until about ``FLUSH_IDS`` have come in, then split into buckets once
    and written as one batch per bucket, each id tagged with its stream (which key or which
    referencing column it came from). Splitting every chunk's ids per bucket and column made
    hundreds of thousands of tiny batches, tens of thousands of small writes, and a Python
    loop per bucket per chunk; held back, the ids cost a few megabytes.
    """

    def __init__(self, directory: Path, table_name: str, buckets: int = BUCKETS) -> None:
        self.directory = directory / table_name
        self.buckets = buckets
        self.directory.mkdir(parents=True, exist_ok=True)
        self._writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
        self._pending: dict[tuple[str, str, str], list[pa.Array]] = defaultdict(list)
        self._pending_ids = 0

    def add(self, kind: str, target: str, source: str, values: pa.Array | pa.ChunkedArray) -> None:
        """Record ``values`` as keys of ``target`` (kind "key") or references to it ("ref")."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        values = pc.drop_null(values.cast(pa.string()))
        if kind != "key":  # keys are a primary key's values: unique already
            values = pc.unique(values)
        if len(values) == 0:
            return
        self._pending[(kind, target, source)].append(values)
        self._pending_ids += len(values)
        if self._pending_ids >= FLUSH_IDS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        streams = sorted(self._pending)
        arrays = [pa.concat_arrays(self._pending[s]) for s in streams]
        self._pending.clear()
        self._pending_ids = 0
        ids = pa.concat_arrays(arrays)
        tags = np.repeat(np.arange(len(streams), dtype=np.int16), [len(a) for a in arrays])
        buckets = _buckets(ids, self.buckets)
        order = np.argsort(buckets, kind="stable")
        counts = np.bincount(buckets, minlength=self.buckets)
        batch = pa.record_batch(
            [ids.take(arrow_arrays.integers(order)), arrow_arrays.integers(tags[order])], _SCHEMA
        )
        metadata = {_STREAMS: json.dumps(streams)}
        start = 0
        for bucket in np.flatnonzero(counts):
            count = int(counts[bucket])
            self._writer(int(bucket)).write_batch(batch.slice(start, count), metadata)
            start += count

    def _writer(self, bucket: int) -> pa.ipc.RecordBatchStreamWriter:
        if bucket not in self._writers:
            path = self.directory / f"{bucket}.arrows"
            self._writers[bucket] = pa.ipc.new_stream(str(path), _SCHEMA)
        return self._writers[bucket]

    def close(self) -> None:
        self._flush()
        self.abandon()

    def abandon(self) -> None:
        """Stop without writing what is held back: the export failed, its staging goes."""
        self._pending.clear()
        self._pending_ids = 0
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


@dataclass
class Unresolved:
    """Ids one referencing column holds that the target table's file does not."""

    source: str  # "table.column"
    target: str
    count: int = 0
    examples: list[str] | None = None

    def reason(self) -> str:
        shown = ", ".join(repr(e) for e in self.examples or [])
        return f"{self.source}: {self.count:,} ids not found in {self.target}, e.g. {shown}"


def _read_bucket(paths: list[Path]) -> tuple[dict, dict]:
    keys: dict[str, list[pa.Array]] = defaultdict(list)
    refs: dict[tuple[str, str], list[pa.Array]] = defaultdict(list)
    for path in sorted(paths):
        with pa.OSFile(str(path)) as source, pa.ipc.open_stream(source) as reader:
            while True:
                try:
                    batch, meta = reader.read_next_batch_with_custom_metadata()
                except StopIteration:
                    break
                ids, tags = batch.column(0), arrow_arrays.numbers(batch.column(1))
                for tag, (kind, target, source_column) in enumerate(json.loads(meta[_STREAMS])):
                    values = ids.take(arrow_arrays.integers(np.flatnonzero(tags == tag)))
                    if kind == "key":
                        keys[target].append(values)
                    else:
                        refs[(target, source_column)].append(values)
    return keys, refs


def _resolve_bucket(paths: list[Path]) -> list[Unresolved]:
    """The ids of one bucket that miss their target, per referencing column.

    All columns pointing at one target are looked up together: Arrow builds the set of the
    target's keys once per call, and a million messages are pointed at by half a dozen.
    """
    keys, refs = _read_bucket(paths)
    found = []
    for target in sorted({t for t, _ in refs}):
        sources = sorted(s for t, s in refs if t == target)
        values = [pc.unique(pa.concat_arrays(refs[(target, s)])) for s in sources]
        known = pa.concat_arrays(keys[target]) if keys[target] else arrow_arrays.strings([])
        absent = pc.invert(pc.is_in(pa.concat_arrays(values), value_set=known))
        start = 0
        for source, source_values in zip(sources, values, strict=True):
            missing = source_values.filter(absent.slice(start, len(source_values)))
            start += len(source_values)
            if len(missing):
                first = missing.take(pc.sort_indices(missing)[:EXAMPLES]).to_pylist()
                found.append(Unresolved(source, target, len(missing), first))
    return found


def resolve(directory: Path, threads: int = RESOLVE_THREADS) -> list[Unresolved]:
    """Every referencing column with ids missing from its target, bucket by bucket.

    Buckets are independent and Arrow's hashing releases the GIL, so ``threads`` buckets are
    resolved side by side; memory is that many buckets.
    """
    files: dict[str, list[Path]] = defaultdict(list)
    for path in directory.glob("*/*.arrows"):
        files[path.stem].append(path)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        per_bucket = list(pool.map(_resolve_bucket, files.values()))
    found: dict[str, Unresolved] = {}
    for part in per_bucket:
        for miss in part:
            entry = found.setdefault(miss.source, Unresolved(miss.source, miss.target, 0, []))
            entry.count += miss.count
            entry.examples = sorted([*(entry.examples or []), *(miss.examples or [])])[:EXAMPLES]
    return sorted(found.values(), key=lambda u: u.source)


def discard(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
