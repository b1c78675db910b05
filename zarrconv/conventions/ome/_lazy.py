"""Lazy xarray variables over zarrconv arrays (no dask needed; dask on request)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

__all__ = ["DaskSource", "lazy_variable"]


class _LazyArray(BackendArray):
    """Read-on-index wrapper of a zarrconv Array for xarray's lazy indexing machinery."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._raw)

    def _raw(self, key: tuple) -> np.ndarray:
        if all(isinstance(k, (int, np.integer, slice)) for k in key):
            return np.asarray(self.array[key])
        return np.asarray(self.array.oindex[key])


class DaskSource:
    """The minimal array protocol ``dask.array.from_array`` needs, over a zarrconv Array
    (shape, dtype, ndim and basic-slice ``__getitem__``), so that dask never asks the
    Array for anything else (and pickles it cheaply for distributed schedulers)."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.array[key])


def storage_chunks(array: Any) -> tuple[int, ...]:
    """The chunk shape a reader should align to: the shard shape if sharded, else chunks."""
    shards = getattr(array, "shards", None)
    return tuple(shards) if shards else tuple(array.chunks)


def lazy_variable(
    array: Any,
    dims: Sequence[str],
    attrs: dict[str, Any] | None = None,
    chunks: Any = None,
) -> xr.Variable:
    """An ``xr.Variable`` reading ``array`` on access.

    ``chunks=None`` gives xarray's lazy indexing (nothing read until values are used);
    ``"auto"`` or ``{}`` gives a dask array chunked like the storage; a dict or tuple is
    passed to dask.
    """
    enc = {"chunks": tuple(array.chunks), "preferred_chunks": dict(zip(dims, storage_chunks(array)))}
    if chunks is None:
        data: Any = indexing.LazilyIndexedArray(_LazyArray(array))
    else:
        import dask.array as da

        if chunks == "auto" or chunks == {}:
            c: Any = storage_chunks(array)
        elif isinstance(chunks, dict):
            stor = dict(zip(dims, storage_chunks(array)))
            c = tuple(chunks.get(d, stor[d]) for d in dims)
        else:
            c = chunks
        data = da.from_array(DaskSource(array), chunks=c, lock=False, asarray=True, fancy=False,
                             name=f"zarrconv-{array.store.url}-{array.path}-{c}")
    var = xr.Variable(tuple(dims), data, attrs or {})
    var.encoding = enc
    return var
