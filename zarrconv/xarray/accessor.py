"""The ``.zarrconv`` accessor on xarray objects: ``ds.zarrconv.to_zarr(...)``, ``dt.zarrconv.to_zarr(...)``.

Registered when both zarrconv and xarray are imported (in either order).
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from .writer import to_zarr


class _ZarrconvAccessor:
    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def to_zarr(self, store: Any, **kwargs: Any) -> Any:
        """Write this object with zarrconv; takes the arguments of :func:`zarrconv.to_zarr`."""
        return to_zarr(self._obj, store, **kwargs)


@xr.register_dataset_accessor("zarrconv")
class DatasetAccessor(_ZarrconvAccessor):
    """``ds.zarrconv``: zarrconv's operations on a Dataset."""


@xr.register_datatree_accessor("zarrconv")
class DataTreeAccessor(_ZarrconvAccessor):
    """``dt.zarrconv``: zarrconv's operations on a DataTree."""


__all__ = ["DataTreeAccessor", "DatasetAccessor"]
