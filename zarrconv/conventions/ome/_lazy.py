"""Lazy xarray variables over zarrconv arrays (no dask needed; dask on request).

Without dask, a variable wraps the same lazy array as ``engine="zarrconv"``
(:class:`~zarrconv.xarray.datastore.ZarrconvBackendArray`), so indexing behaves alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr
from xarray.core import indexing

from zarrconv.xarray.datastore import ZarrconvBackendArray

from ..dask_source import DaskSource, storage_chunks

__all__ = ["lazy_variable"]


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
        data: Any = indexing.LazilyIndexedArray(ZarrconvBackendArray(array))
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
