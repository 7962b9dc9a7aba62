"""Keep an exporting process's memory flat: buffers freed after each chunk go back to the OS.

An export allocates and frees the same few multi-megabyte buffers (a chunk of COPY lines, its
framed copy, Arrow's decoded columns) thousands of times, from two or more threads. Two
allocator habits turn that churn into growth that looks like a leak:

- glibc raises its mmap threshold each time a large mmapped block is freed, so later blocks
  of that size come from per-thread heaps, which fragment and are rarely trimmed. Fixing the
  threshold keeps every block above it mmapped, returned to the OS the moment it is freed.
- Arrow's default pool (mimalloc or jemalloc) keeps freed pages for reuse per thread. The
  system pool hands them to glibc, where the fixed threshold applies.

Together they lower a large export's peak memory by a good part (docs/performance.md). Both
settings are process-wide and harmless to the rest of a Dagster run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import pyarrow as pa

MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def give_back_freed_memory() -> None:
    """Return the free pages inside glibc's heaps to the OS (``malloc_trim``).

    Blocks under the mmap threshold (ids, small Arrow arrays, Python objects) are freed into
    per-thread heaps that only shrink from their top; after each table part the freed middle
    pages are handed back. Measured, it lowered a large export's peak by little, within the
    run-to-run noise (docs/performance.md); it is cheap and keeps long processes tidy.
    """
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)


@cache
def keep_memory_flat() -> bool:
    """Apply both settings once per process; False where glibc's mallopt is not available."""
    pa.set_memory_pool(pa.system_memory_pool())
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
