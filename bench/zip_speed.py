"""The bundle's zip, the old way against ``archive.build``, in one run on the same bundle.

    .venv/bin/python -m bench.zip_speed [--megabytes 300] [--workers N] [--new-only]

It writes a bundle-like directory into a temporary folder (removed at the end): a
``messages.json`` of chat rows (uuids, timestamps, multi-byte text, one object per line) of about
the size asked for, a ``reactions.json`` a tenth of it, a small incompressible
``parquet/messages.parquet`` (stored, not deflated) and a ``manifest.json`` with every file's
sha256. It then packs it twice:

- before: ``zipfile`` on one thread as ``archive.py`` used it until it had ``zipwriter`` (it
  asked for deflate level 1 but got zlib's default, 6: see ``zipfile_zip``);
- ``zipfile`` on one thread at level 1, what it meant to do;
- ``archive.build``: ISA-L, in chunks, on every core.

Every file is hashed while it is packed, in each way. It prints seconds, MB/s of bundle bytes,
the archive's size and its ratio to the bundle. Each archive is read back and checked (CRC and
bytes) after its timing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from bench.generators.text import Vocabulary
from ocomms_pipeline.bundle import archive, zipwriter
from ocomms_pipeline.bundle import files as bundle

_ROWS_PER_BLOCK = 20_000
_TAKEN_AT = "2026-12-01T02:00:05.123456Z"


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    return [str(uuid.UUID(bytes=bytes(b))) for b in rng.integers(0, 256, (n, 16), dtype=np.uint8)]


def _json_words(vocabulary: Vocabulary) -> list[str]:
    """The benchmark vocabulary as JSON string content (COPY escapes undone, JSON's applied)."""
    words = []
    for word in vocabulary.words:
        plain = word.replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\")
        words.append(json.dumps(plain, ensure_ascii=False)[1:-1])
    return words


def _message_rows(rng: np.random.Generator, target_bytes: int) -> bytes:
    """Rows like the bundle's ``messages.json``, as one JSON array with a row per line."""
    vocabulary = Vocabulary()
    words = _json_words(vocabulary)
    authors = _uuids(rng, 2_000)
    channels = _uuids(rng, 200)
    parts = [b"[\n"]
    written = 0
    first = True
    base = int(np.datetime64("2025-01-06T08:30:00", "us").astype(np.int64))
    micros = base
    while written < target_bytes:
        n = _ROWS_PER_BLOCK
        ids = _uuids(rng, n)
        lengths = np.clip(rng.lognormal(2.6, 0.8, n).astype(np.int64) + 1, 1, 400).tolist()
        drawn = rng.choice(vocabulary.size, int(sum(lengths)), p=vocabulary.weights).tolist()
        who = rng.integers(0, len(authors), n).tolist()
        where = rng.integers(0, len(channels), n).tolist()
        steps = rng.integers(1, 5_000_000, n)
        stamps = np.datetime_as_string((micros + np.cumsum(steps)).astype("datetime64[us]"))
        micros += int(steps.sum())
        offset = 0
        lines = []
        for k in range(n):
            text = " ".join(words[w] for w in drawn[offset : offset + lengths[k]])
            offset += lengths[k]
            created = f"{stamps[k]}Z"
            lines.append(
                f'{{"id":"{ids[k]}","content":"{text}","author_id":"{authors[who[k]]}",'
                f'"channel_id":"{channels[where[k]]}","conversation_id":null,"parent_id":null,'
                f'"reply_count":0,"sequence":{k + 1},"deleted_at":null,'
                f'"created_at":"{created}","updated_at":"{created}"}}'
            )
        block = ("" if first else ",\n") + ",\n".join(lines)
        first = False
        encoded = block.encode("utf-8")
        parts.append(encoded)
        written += len(encoded)
    parts.append(b"\n]\n")
    return b"".join(parts)


def make_bundle(directory: Path, megabytes: int, seed: int = 1) -> Path:
    """A published-looking bundle of about ``megabytes`` MB under ``directory``."""
    rng = np.random.default_rng(seed)
    path = directory / "ocomms-export-2026-12-01T02-00-05Z"
    (path / "parquet").mkdir(parents=True)
    files = {
        "messages.json": _message_rows(rng, megabytes * 1_000_000 * 10 // 11),
        "reactions.json": _message_rows(rng, megabytes * 1_000_000 // 11),
        "parquet/messages.parquet": rng.bytes(4_000_000),
    }
    tables = {}
    for name, data in files.items():
        (path / name).write_bytes(data)
        tables[name] = {
            "file": name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    manifest = {"format": "ocomms-export", "snapshot": {"taken_at": _TAKEN_AT}, "tables": tables}
    bundle.write_json(path / bundle.MANIFEST, manifest)
    return path


def zipfile_zip(bundle_path: Path, target: Path, level: int | None) -> None:
    """The archive packed by ``zipfile`` on one thread, every file hashed while packed.

    ``level=None`` is what ``archive.py`` did before ``zipwriter``: it asked ``ZipFile`` for
    level 1, but entries opened from a ``ZipInfo`` ignore the archive's level, so zlib ran at
    its default, 6. A member opened by name gets the level asked for.
    """
    manifest = bundle.read_json(bundle_path / bundle.MANIFEST)
    checksums = archive.expected_checksums(manifest)
    when = (2026, 12, 1, 2, 0, 4)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, True, compresslevel=level) as zf:
        for name in archive.bundle_files(bundle_path):
            entry: zipfile.ZipInfo | str = zipfile.ZipInfo(f"{bundle_path.name}/{name}", when)
            stored = name.endswith(".parquet")
            entry.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            if not stored and level is not None:
                entry = entry.filename
            digest = hashlib.sha256()
            with zf.open(entry, "w", force_zip64=True) as out:
                for chunk in bundle.read_blocks(bundle_path / name, 1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if name in checksums and digest.hexdigest() != checksums[name]:
                raise SystemExit(f"{name} does not match its checksum")
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


def _check(zip_path: Path, bundle_path: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        for name in archive.bundle_files(bundle_path):
            with zf.open(f"{bundle_path.name}/{name}") as member:
                digest = hashlib.sha256()
                while block := member.read(1 << 20):
                    digest.update(block)
            if digest.hexdigest() != bundle.sha256_file(bundle_path / name):
                raise SystemExit(f"{zip_path.name}: {name} does not read back")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=300, help="JSON to pack (default 300)")
    parser.add_argument("--workers", type=int, default=None, help="archive.build's threads")
    parser.add_argument("--new-only", action="store_true", help="time only archive.build")
    args = parser.parse_args(argv)
    workers = args.workers or zipwriter.default_workers()
    ways: list[tuple[str, Callable[[Path, Path], object]]] = []
    if not args.new_only:
        ways += [
            ("before: zipfile, zlib level 6, 1 thread", partial(zipfile_zip, level=None)),
            ("zipfile, zlib level 1, 1 thread", partial(zipfile_zip, level=1)),
        ]
    ways.append(
        (
            f"archive.build: ISA-L level {zipwriter.LEVEL}, {workers} thread(s)",
            lambda source, _: archive.build(source, "bench", workers=workers),
        )
    )
    with tempfile.TemporaryDirectory(prefix="zip-speed-") as temp:
        bundle_path = make_bundle(Path(temp), args.megabytes)
        size = sum(p.stat().st_size for p in bundle_path.rglob("*") if p.is_file())
        print(f"bundle: {size / 1e6:.1f} MB in {len(archive.bundle_files(bundle_path))} files")
        print("| way | seconds | MB/s | zip MB | zip/bundle |")
        print("|---|---:|---:|---:|---:|")
        timed = []
        for number, (label, pack) in enumerate(ways):
            target = Path(temp) / f"{number}.zip"
            started = time.perf_counter()
            pack(bundle_path, target)
            seconds = time.perf_counter() - started
            if not target.exists():  # archive.build writes beside the bundle
                archive.archive_path(bundle_path).rename(target)
            zipped = target.stat().st_size
            timed.append((seconds, zipped))
            print(
                f"| {label} | {seconds:.2f} | {size / 1e6 / seconds:.0f} | {zipped / 1e6:.1f} "
                f"| {zipped / size:.3f} |",
                flush=True,
            )
            _check(target, bundle_path)
        if len(timed) > 1:
            (first_s, first_b), (last_s, last_b) = timed[0], timed[-1]
            speed, size_ratio = first_s / last_s, last_b / first_b
            print(f"archive.build vs before: {speed:.1f}x the speed, {size_ratio:.3f}x the size")


if __name__ == "__main__":
    main()
