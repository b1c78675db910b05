"""A zarrconv Array as dask reads it: the OME reader's lazy variables and the pyramid writer
read stored levels back through :class:`DaskSource`."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DaskSource", "storage_chunks"]


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
