"""The ``.zarrconv`` accessor on xarray objects: ``ds.zarrconv.to_zarr(...)``, ``dt.zarrconv.to_zarr(...)``.

Registered by :func:`register` when both zarrconv and xarray are imported (in either order: see
:func:`zarrconv.xarray.register_accessors_on_xarray_import`); this module does not import xarray.
"""

from __future__ import annotations

from typing import Any

from .writer import to_zarr


class _ZarrconvAccessor:
    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def to_zarr(self, store: Any, **kwargs: Any) -> Any:
        """Write this object with zarrconv; takes the arguments of :func:`zarrconv.to_zarr`."""
        return to_zarr(self._obj, store, **kwargs)


class DatasetAccessor(_ZarrconvAccessor):
    """``ds.zarrconv``: zarrconv's operations on a Dataset."""


class DataTreeAccessor(_ZarrconvAccessor):
    """``dt.zarrconv``: zarrconv's operations on a DataTree."""


def register(xr: Any) -> None:
    """Register ``ds.zarrconv`` and ``dt.zarrconv`` on the xarray module ``xr`` (once)."""
    if getattr(xr.Dataset, "zarrconv", None) is not DatasetAccessor:
        xr.register_dataset_accessor("zarrconv")(DatasetAccessor)
    if getattr(xr.DataTree, "zarrconv", None) is not DataTreeAccessor:
        xr.register_datatree_accessor("zarrconv")(DataTreeAccessor)


__all__ = ["DataTreeAccessor", "DatasetAccessor", "register"]
