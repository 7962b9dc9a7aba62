"""Arrow arrays built from their buffers rather than through ``pa.array``.

``pa.array`` imports pandas the first time it converts anything, Python lists and NumPy
arrays alike, to ask whether the value is a pandas object: an import that a small
organization's export, whose whole wait is a few seconds, pays for nothing. The
few arrays the export builds from Python values are made here from their buffers instead,
which needs only NumPy (already loaded by pyarrow).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

_INT32_MAX = 2**31 - 1


def strings(values: Sequence[str | None]) -> pa.Array:
    """``values`` as a string array (large_string past 2 GiB of text), ``None`` as null."""
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    small = offsets[-1] <= _INT32_MAX
    kind = pa.string() if small else pa.large_string()
    offsets_buffer = pa.py_buffer(offsets.astype(np.int32) if small else offsets)
    nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(encoded))
    validity = pa.py_buffer(np.packbits(~nulls, bitorder="little")) if nulls.any() else None
    return pa.Array.from_buffers(
        kind,
        len(encoded),
        [validity, offsets_buffer, pa.py_buffer(b"".join(encoded))],
        null_count=int(nulls.sum()),
    )


def integers(values: np.ndarray) -> pa.Array:
    """A one-dimensional NumPy integer array as an Arrow array of the same width, no nulls."""
    flat = np.ascontiguousarray(values)
    if flat.ndim != 1 or flat.dtype.kind not in "iu":
        raise TypeError(f"expected a one-dimensional integer array, got {flat.dtype} {flat.shape}")
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(flat.dtype), len(flat), [None, pa.py_buffer(flat)], null_count=0
    )


def numbers(array: pa.Array) -> np.ndarray:
    """A primitive Arrow array without nulls as a read-only NumPy view of its values."""
    if array.null_count or not pa.types.is_integer(array.type):
        raise TypeError(f"expected integers without nulls, got {array.type}")
    dtype = np.dtype(array.type.to_pandas_dtype())
    values = array.buffers()[1]
    return np.frombuffer(
        values, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize
    )
