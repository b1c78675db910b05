"""Fill values: building fill-valued chunks and recognising chunks that equal the fill value."""

from __future__ import annotations

from typing import Any

import numpy as np


def full_chunk(shape: tuple[int, ...], dtype: np.dtype, fill: Any) -> np.ndarray:
    """A new writable chunk of ``shape`` filled with ``fill``."""
    if dtype.kind == "O":
        out = np.empty(shape, dtype=object)
        out.fill(fill)
        return out
    if fill is None:
        return np.zeros(shape, dtype=dtype)
    return np.full(shape, fill, dtype=dtype)


def is_fill(chunk: np.ndarray, fill: Any) -> bool:
    """Whether every element of ``chunk`` equals ``fill`` (NaN equals NaN; bitwise for raw types).

    The first element is checked alone first: a chunk of data usually differs there, and the
    full comparison would scan (and allocate a mask as large as) the whole chunk.
    """
    if fill is None:
        return False
    chunk = np.asarray(chunk)  # a 0-d selection of a string array arrives as a numpy scalar
    if chunk.size > 1 and not _all_fill(chunk[(slice(0, 1),) * chunk.ndim], fill):
        return False
    return _all_fill(chunk, fill)


def fill_rows(chunks: np.ndarray, fill: Any) -> np.ndarray:
    """For chunks stacked along the first axis: whether each equals ``fill`` entirely (as
    :func:`is_fill`). The first elements of all of them are compared at once; only chunks whose
    first element is the fill value are scanned."""
    n = len(chunks)
    out = np.zeros(n, bool)
    if fill is None or n == 0 or chunks.size == 0:
        return out
    for i in np.flatnonzero(_equal_fill(chunks.reshape(n, -1)[:, 0], fill)):
        out[i] = _all_fill(chunks[i], fill)
    return out


def _all_fill(chunk: np.ndarray, fill: Any) -> bool:
    if chunk.dtype.kind == "O":
        return all(v == fill for v in chunk.reshape(-1))
    return bool(_equal_fill(chunk, fill).all())


def _equal_fill(values: np.ndarray, fill: Any) -> np.ndarray:
    """Element by element (items of a raw type: by their bytes), whether ``values`` equal ``fill``;
    NaN equals NaN and NaT equals NaT."""
    kind = values.dtype.kind
    if kind == "f" or kind == "c":
        return np.isnan(values) if np.isnan(fill) else values == fill
    if kind == "V":
        rows = np.ascontiguousarray(values).reshape(-1).view(np.uint8).reshape(-1, values.dtype.itemsize)
        return (rows == np.frombuffer(np.asarray(fill, values.dtype).tobytes(), np.uint8)).all(axis=1)
    if kind in "mM" and np.isnat(np.asarray(fill, values.dtype)):
        return np.isnat(values)
    return values == fill
