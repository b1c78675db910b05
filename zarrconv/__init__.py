"""zarrconv: a Zarr v2/v3 engine, an xarray backend and OME-Zarr / GeoZarr conventions.

The public API::

    import zarrconv as zc
    g = zc.open_group("data.zarr", mode="r")
    a = zc.create_array("data.zarr", "temperature", shape=(100, 100), dtype="f4")
"""

# no ``from __future__ import annotations`` here: it would make ``annotations`` a public name of the package
from . import (
    config,
    conventions,  # noqa: F401 - registers the conventions' xarray group hooks (imports nothing heavy)
)
from .check import check
from .convert import convert, migrate_v2_to_v3
from .core import Array, Group, create_array, create_group, open, open_array, open_group  # noqa: A004
from .core.consolidated import consolidate_metadata
from .core.convenience import (  # noqa: A004 - zarr-python's names: array
    array,
    create,
    empty,
    empty_like,
    full,
    full_like,
    load,
    ones,
    ones_like,
    open_consolidated,
    save,
    save_array,
    save_group,
    tree,
    zeros,
    zeros_like,
)
from .errors import (
    ChecksumError,
    ChunkAlignmentError,
    CodecError,
    ContainsNodeError,
    CorruptChunkError,
    InvalidPathError,
    MetadataError,
    NodeNotFoundError,
    ReadOnlyError,
    SelectionError,
    ShapeMismatchError,
    StoreError,
    UnknownCodecError,
    ZarrconvError,
)
from .xarray import register_accessors_on_xarray_import as _register_accessors_on_xarray_import
from .xarray import to_zarr

_register_accessors_on_xarray_import()  # ds.zarrconv / dt.zarrconv, without importing xarray here

__version__ = "0.1.0"

_SUBMODULES = {"geo": "zarrconv.conventions.geo", "ome": "zarrconv.conventions.ome",
               "units": "zarrconv.conventions.units", "cf": "zarrconv.conventions.cf"}


def __getattr__(name: str):
    """``zc.geo``, ``zc.ome``, ``zc.units``, ``zc.cf``: imported on first use (pyproj and pint are slow to import)."""
    if name in _SUBMODULES:
        import importlib

        module = importlib.import_module(_SUBMODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'zarrconv' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API only (``__all__`` and ``__version__``), not the subpackages and helpers imported here."""
    return sorted({*__all__, "__version__"})


__all__ = [
    "Array", "ChecksumError", "ChunkAlignmentError", "CodecError", "ContainsNodeError", "CorruptChunkError",
    "Group", "InvalidPathError", "MetadataError", "NodeNotFoundError", "ReadOnlyError", "SelectionError",
    "ShapeMismatchError", "StoreError", "UnknownCodecError", "ZarrconvError", "config", "consolidate_metadata",
    "cf", "check", "convert", "geo", "ome", "units", "create_array", "create_group", "migrate_v2_to_v3", "open", "open_array", "open_group", "to_zarr",
    # zarr-python 3's module functions (zarrconv.core.convenience)
    "array", "create", "empty", "empty_like", "full", "full_like", "load", "ones", "ones_like", "open_consolidated",
    "save", "save_array", "save_group", "tree", "zeros", "zeros_like",
]
