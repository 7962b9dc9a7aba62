"""Do the ids a bundle's rows point at resolve inside the bundle? Checked in flat memory.

A million messages are referenced by reactions, notifications, replies...: holding every id
in a set would make memory grow with the organization. Instead each table's scan spills the
ids it holds (keys) and the ids it points at (references) to disk, split into buckets by a
hash of the id, and resolution then reads one bucket at a time: memory is the size of one
bucket, a small fraction of the ids, whatever the size of the bundle.

A small export has too few ids for that to pay: a directory and dozens of bucket files per
table, written, read and removed, were a visible share of a small organization's export. Its
tables' ids are held in memory instead (``HeldIds``), up to ``HELD_IDS`` of them for the
whole export, and resolved as one bucket; a table past ``FLUSH_IDS`` ids, and any table once
the export holds ``HELD_IDS``, spills to disk as before, so memory stays flat.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
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
HELD_IDS = 1 << 18  # ids one export may hold in memory, all tables together (a few MB)
SPILL_DIR = ".reference-spill"
EXAMPLES = 3
RESOLVE_THREADS = 2
_SCHEMA = pa.schema([("id", pa.string()), ("stream", pa.int16())])
_STREAMS = b"streams"  # batch metadata: JSON list of [kind, target, source] per stream tag

# A batch of ids with the [kind, target, source] of each of its stream tags.
Tagged = tuple[pa.RecordBatch, list]


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


def _split(batch: pa.RecordBatch, count: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """The batch's rows per bucket, as (bucket, rows), for the buckets that have any."""
    buckets = _buckets(batch.column(0), count)
    order = np.argsort(buckets, kind="stable")
    counts = np.bincount(buckets, minlength=count)
    ordered = batch.take(arrow_arrays.integers(order))
    start = 0
    for bucket in np.flatnonzero(counts):
        size = int(counts[bucket])
        yield int(bucket), ordered.slice(start, size)
        start += size


class HeldIds:
    """The ids of one export's small tables, kept in memory instead of spilled.

    Shared by the export's spills (tables may be read on several threads). ``hold`` takes a
    table's ids while the export holds fewer than ``limit``; a table it refuses spills to
    disk, and ``resolve`` joins what is held to what was spilled.
    """

    def __init__(self, limit: int = HELD_IDS) -> None:
        self.limit = limit
        self.ids = 0
        self.batches: list[Tagged] = []
        self._lock = threading.Lock()

    def hold(self, batch: pa.RecordBatch, streams: list) -> bool:
        with self._lock:
            if self.ids + batch.num_rows > self.limit:
                return False
            self.ids += batch.num_rows
            self.batches.append((batch, streams))
            return True

    def by_bucket(self, count: int) -> dict[int, list[Tagged]]:
        """The held ids split as a spill with ``count`` buckets splits them."""
        found: dict[int, list[Tagged]] = defaultdict(list)
        for batch, streams in self.batches:
            for bucket, rows in _split(batch, count):
                found[bucket].append((rows, streams))
        return found


class ReferenceSpill:
    """One table's keys and references, appended to bucket files on disk.

    Ids are held back until about ``FLUSH_IDS`` have come in, then split into buckets once
    and written as one batch per bucket, each id tagged with its stream (which key or which
    referencing column it came from). Splitting every chunk's ids per bucket and column made
    hundreds of thousands of tiny batches, tens of thousands of small writes, and a Python
    loop per bucket per chunk; held back, the ids cost a few megabytes.

    With ``held``, a table that never reaches ``FLUSH_IDS`` ids gives them to the export's
    ``HeldIds`` when it closes, if it takes them, and writes nothing. The table's directory
    is made only when a bucket file is.
    """

    def __init__(
        self,
        directory: Path,
        table_name: str,
        buckets: int = BUCKETS,
        held: HeldIds | None = None,
    ) -> None:
        self.directory = directory / table_name
        self.buckets = buckets
        self.held = held
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

    def _take_pending(self) -> Tagged:
        """What is held back, as one batch tagged by stream; nothing is held back after."""
        streams = sorted(self._pending)
        arrays = [pa.concat_arrays(self._pending[s]) for s in streams]
        self._pending.clear()
        self._pending_ids = 0
        tags = np.repeat(np.arange(len(streams), dtype=np.int16), [len(a) for a in arrays])
        batch = pa.record_batch([pa.concat_arrays(arrays), arrow_arrays.integers(tags)], _SCHEMA)
        return batch, [list(s) for s in streams]

    def _flush(self) -> None:
        if self._pending:
            self._write(*self._take_pending())

    def _write(self, batch: pa.RecordBatch, streams: list) -> None:
        metadata = {_STREAMS: json.dumps(streams)}
        for bucket, rows in _split(batch, self.buckets):
            self._writer(bucket).write_batch(rows, metadata)

    def _writer(self, bucket: int) -> pa.ipc.RecordBatchStreamWriter:
        if bucket not in self._writers:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{bucket}.arrows"
            self._writers[bucket] = pa.ipc.new_stream(str(path), _SCHEMA)
        return self._writers[bucket]

    def close(self) -> None:
        if self.held is not None and self._pending and not self._writers:
            batch, streams = self._take_pending()
            if not self.held.hold(batch, streams):
                self._write(batch, streams)
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


def _spilled(paths: list[Path]) -> Iterator[Tagged]:
    """The batches of one bucket's files, in a stable order."""
    for path in sorted(paths):
        with pa.OSFile(str(path)) as source, pa.ipc.open_stream(source) as reader:
            while True:
                try:
                    batch, meta = reader.read_next_batch_with_custom_metadata()
                except StopIteration:
                    break
                yield batch, json.loads(meta[_STREAMS])


def _read_bucket(batches: Iterable[Tagged]) -> tuple[dict, dict]:
    keys: dict[str, list[pa.Array]] = defaultdict(list)
    refs: dict[tuple[str, str], list[pa.Array]] = defaultdict(list)
    for batch, streams in batches:
        ids, tags = batch.column(0), arrow_arrays.numbers(batch.column(1))
        for tag, (kind, target, source_column) in enumerate(streams):
            values = ids.take(arrow_arrays.integers(np.flatnonzero(tags == tag)))
            if kind == "key":
                keys[target].append(values)
            else:
                refs[(target, source_column)].append(values)
    return keys, refs


def _resolve_bucket(paths: list[Path], held: list[Tagged] | None = None) -> list[Unresolved]:
    """The ids of one bucket (its files, and what is held of it) that miss their target,
    per referencing column.

    All columns pointing at one target are looked up together: Arrow builds the set of the
    target's keys once per call, and a million messages are pointed at by half a dozen.
    """
    keys, refs = _read_bucket([*_spilled(paths), *(held or [])])
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


def resolve(
    directory: Path,
    threads: int = RESOLVE_THREADS,
    held: HeldIds | None = None,
    buckets: int = BUCKETS,
) -> list[Unresolved]:
    """Every referencing column with ids missing from its target, bucket by bucket.

    Buckets are independent and Arrow's hashing releases the GIL, so ``threads`` buckets are
    resolved side by side; memory is that many buckets. With nothing spilled, the ``held``
    ids are one bucket; otherwise they are split into the spills' ``buckets`` and each part
    joins its bucket's files.
    """
    files: dict[str, list[Path]] = defaultdict(list)
    for path in directory.glob("*/*.arrows"):
        files[path.stem].append(path)
    if held is not None and not files:
        per_bucket = [_resolve_bucket([], held.batches)]
    else:
        parts = held.by_bucket(buckets) if held is not None else {}
        names = sorted(set(files) | {str(b) for b in parts})
        work = [(files.get(n, []), parts.get(int(n), [])) for n in names]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            per_bucket = list(pool.map(lambda w: _resolve_bucket(*w), work))
    found: dict[str, Unresolved] = {}
    for part in per_bucket:
        for miss in part:
            entry = found.setdefault(miss.source, Unresolved(miss.source, miss.target, 0, []))
            entry.count += miss.count
            entry.examples = sorted([*(entry.examples or []), *(miss.examples or [])])[:EXAMPLES]
    return sorted(found.values(), key=lambda u: u.source)


def discard(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
