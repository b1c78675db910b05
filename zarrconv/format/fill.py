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


def _all_fill(chunk: np.ndarray, fill: Any) -> bool:
    if chunk.dtype.kind == "f" or chunk.dtype.kind == "c":
        if np.isnan(fill):
            return bool(np.isnan(chunk).all())
        return bool((chunk == fill).all())
    if chunk.dtype.kind == "V":
        rows = np.ascontiguousarray(chunk).reshape(-1).view(np.uint8).reshape(-1, chunk.dtype.itemsize)
        return bool((rows == np.frombuffer(np.asarray(fill, chunk.dtype).tobytes(), np.uint8)).all())
    if chunk.dtype.kind == "O":
        flat = chunk.reshape(-1)
        return all(v == fill for v in flat)
    if chunk.dtype.kind in "mM":
        if np.isnat(np.asarray(fill, chunk.dtype)):
            return bool(np.isnat(chunk).all())
    return bool((chunk == fill).all())
