"""zarr-python 3's module-level shortcuts, so code written for ``zarr.`` runs with ``zc.``.

``zeros``/``ones``/``full``/``empty``/``array`` and the ``*_like`` functions create an array
through :func:`create`, which takes zarr-python's ``create`` keywords; ``save*``/``load``
write and read numpy arrays; ``open_consolidated`` and ``tree`` are thin aliases.

Where zarrconv differs from zarr-python (documented in ``docs/zarr-python.md``):

* a v2 array made by :func:`create` (and so ``zeros``, ``array``, ...) gets the data type's zero
  as fill value, as in zarr-python; :func:`~zarrconv.create_array` keeps writing ``null`` there;
* ``store=None`` is a new zarrconv :class:`~zarrconv.store.MemoryStore`;
* ``chunks=None`` picks chunks of 1-8 MiB (zarr-python's guess gives other shapes);
* ``order='F'`` on a v3 array is stored as a transpose codec, so it survives reopening;
* ``load`` of a group returns a dict of numpy arrays (zarr-python raises ``NotImplementedError``);
* ``config``, ``cache_*``, ``meta_array``, ``chunk_store`` and ``object_codec`` are not supported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..codecs import split_chain
from ..store import StoreLike
from ..store.memory import MemoryStore
from .api import create_array, open, open_group  # noqa: A004
from .array import Array
from .group import Group

_UNSUPPORTED = ("config", "cache_metadata", "cache_attrs", "meta_array", "chunk_store", "object_codec", "read_only")


def create(shape: tuple[int, ...] | int, *, chunks: Any = None, dtype: Any = None, compressor: Any = "auto",
           fill_value: Any = None, order: str | None = None, store: StoreLike | None = None,
           synchronizer: Any = None, overwrite: bool = False, path: str | None = None, filters: Any = None,
           dimension_separator: str | None = None, write_empty_chunks: bool | None = None,
           zarr_format: int | None = None, attributes: dict | None = None, chunk_shape: Any = None,
           chunk_key_encoding: Any = None, codecs: Any = None, dimension_names: Any = None,
           storage_options: dict | None = None, mode: str | None = None, data: Any = None,
           **unsupported: Any) -> Array:
    """Create an array with zarr-python 3's ``zarr.create`` arguments.

    ``dtype`` defaults to float64 and ``store`` to a new memory store; ``chunks=False`` is one
    chunk; ``codecs`` (v3) is the whole chain, ``compressor``/``filters`` the v2-style parts;
    ``mode='w'`` replaces what is at ``path``, ``'w-'`` refuses to; ``data`` is written after
    creation.
    """
    bad = sorted(set(unsupported) - set(_UNSUPPORTED)) or sorted(k for k in unsupported if unsupported[k] is not None)
    if bad:
        raise TypeError(f"create() got arguments zarrconv does not support: {', '.join(bad)}")
    zf = 3 if zarr_format is None else zarr_format
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    chunks = chunk_shape if chunk_shape is not None else chunks
    if chunks is False:
        chunks = shape
    kwargs: dict[str, Any] = {"compressors": compressor, "filters": filters}
    if codecs is not None:
        kwargs = _split_codecs(list(codecs))
    if dimension_separator is not None and chunk_key_encoding is None:
        chunk_key_encoding = {"name": "v2" if zf == 2 else "default", "separator": dimension_separator}
    if isinstance(chunk_key_encoding, tuple):
        chunk_key_encoding = {"name": chunk_key_encoding[0], "separator": chunk_key_encoding[1]}
    if mode == "r":
        raise ValueError("mode='r' cannot create an array")
    dtype = np.float64 if dtype is None else dtype
    if fill_value is None and zf == 2:
        fill_value = _v2_default_fill(dtype)
    arr = create_array(MemoryStore() if store is None else store, path, shape=shape,
                       dtype=dtype, chunks=chunks, fill_value=fill_value,
                       dimension_names=dimension_names, attributes=attributes, order=order or "C", zarr_format=zf,
                       overwrite=overwrite or mode == "w", write_empty_chunks=bool(write_empty_chunks),
                       chunk_key_encoding=chunk_key_encoding, storage_options=storage_options,
                       synchronizer=synchronizer, **kwargs)
    if data is not None:
        arr[...] = data
    return arr


def _v2_default_fill(dtype: Any) -> Any:
    """zarr-python 3's fill value for a v2 array created without one: the data type's zero (None for
    variable-length strings and objects, whose zero has no v2 encoding zarrconv writes)."""
    try:
        d = np.dtype(dtype)
    except TypeError:
        return None
    return None if d.kind in "OT" else np.zeros((), d)[()]


def _split_codecs(codecs: list[dict]) -> dict[str, Any]:
    """A v3 codec chain as ``create_array``'s filters / serializer / compressors / shards."""
    if len(codecs) == 1 and codecs[0].get("name") == "sharding_indexed":
        raise TypeError("pass a sharded layout as create_array(shards=...), not as a sharding codec in codecs")
    filters, serializer, compressors = split_chain(codecs)
    return {"filters": filters, "serializer": serializer, "compressors": compressors}


def zeros(shape: tuple[int, ...] | int, **kwargs: Any) -> Array:
    """A new array reading as zeros (its fill value is 0); takes :func:`create`'s arguments."""
    return create(shape, fill_value=0, **kwargs)


def ones(shape: tuple[int, ...] | int, **kwargs: Any) -> Array:
    """A new array reading as ones (its fill value is 1); takes :func:`create`'s arguments."""
    return create(shape, fill_value=1, **kwargs)


def full(shape: tuple[int, ...] | int, fill_value: Any, **kwargs: Any) -> Array:
    """A new array reading as ``fill_value`` everywhere; takes :func:`create`'s arguments."""
    return create(shape, fill_value=fill_value, **kwargs)


def empty(shape: tuple[int, ...] | int, **kwargs: Any) -> Array:
    """A new array with nothing written (it reads as its fill value); takes :func:`create`'s arguments."""
    return create(shape, **kwargs)


def array(data: Any, **kwargs: Any) -> Array:
    """A new array holding ``data`` (numpy-like, or a zarrconv :class:`Array`, copied); shape and dtype
    come from ``data``, chunks from ``data.chunks`` where it has them; takes :func:`create`'s arguments."""
    if not (hasattr(data, "shape") and hasattr(data, "dtype")):
        data = np.asanyarray(data)
    kwargs.setdefault("dtype", data.dtype)
    if kwargs.get("chunks") is None:
        kwargs["chunks"] = _chunks_of(data)
    arr = create(tuple(data.shape), **kwargs)
    arr[...] = data[...] if isinstance(data, Array) else data
    return arr


def _chunks_of(a: Any) -> tuple[int, ...] | None:
    chunks = getattr(a, "chunks", None)
    return chunks if isinstance(chunks, tuple) and len(chunks) == len(a.shape) and all(
        isinstance(c, int) for c in chunks) else None


def _like(a: Any, zarr_format: int | None) -> dict[str, Any]:
    """The :func:`create` arguments of an array like ``a``: shape, chunks and dtype; for a zarrconv
    :class:`Array` also its fill value, and its codecs when the new array has its Zarr format."""
    out: dict[str, Any] = {"shape": tuple(a.shape), "dtype": a.dtype, "chunks": _chunks_of(a)}
    if isinstance(a, Array):
        out["fill_value"] = a.fill_value
        zarr_format = a.zarr_format if zarr_format is None else zarr_format
        if a.zarr_format == zarr_format:
            out["order"] = a.order
            if zarr_format == 3 and a.shards is None:
                out["codecs"] = a.metadata.codecs
            elif zarr_format == 2:
                out["compressor"] = a.compressors[0] if a.compressors else None
                out["filters"] = list(a.filters) or None
    if zarr_format is not None:
        out["zarr_format"] = zarr_format
    return out


def zeros_like(a: Any, *, zarr_format: int | None = None, **kwargs: Any) -> Array:
    """:func:`zeros` with the shape, chunks, dtype (and codecs, for an :class:`Array`) of ``a``."""
    like = _like(a, zarr_format)
    like.pop("fill_value", None)
    return zeros(**(like | kwargs))


def ones_like(a: Any, *, zarr_format: int | None = None, **kwargs: Any) -> Array:
    """:func:`ones` with the shape, chunks, dtype (and codecs, for an :class:`Array`) of ``a``."""
    like = _like(a, zarr_format)
    like.pop("fill_value", None)
    return ones(**(like | kwargs))


def full_like(a: Any, *, zarr_format: int | None = None, **kwargs: Any) -> Array:
    """:func:`full` like ``a``; the fill value is ``a``'s unless given."""
    return full(**(_like(a, zarr_format) | kwargs))


def empty_like(a: Any, *, zarr_format: int | None = None, **kwargs: Any) -> Array:
    """:func:`empty` like ``a`` (with ``a``'s fill value, for an :class:`Array`)."""
    return empty(**(_like(a, zarr_format) | kwargs))


def save_array(store: StoreLike, arr: Any, *, zarr_format: int | None = None, path: str | None = None,
               storage_options: dict | None = None, **kwargs: Any) -> None:
    """Write the numpy array ``arr`` as a Zarr array at ``path`` (``mode='w'`` or ``overwrite=True``
    to replace a node there); other keywords go to :func:`create`."""
    if not (hasattr(arr, "shape") and hasattr(arr, "dtype")):
        raise TypeError(f"save_array takes a numpy-like array, not {type(arr).__name__}")
    mode = kwargs.pop("mode", "a")
    overwrite = kwargs.pop("overwrite", None) or mode == "w"
    create(tuple(arr.shape), dtype=arr.dtype, chunks=_chunks_of(arr), store=store, path=path, zarr_format=zarr_format,
           storage_options=storage_options, overwrite=overwrite, data=arr, **kwargs)


def save_group(store: StoreLike, *args: Any, zarr_format: int | None = None, path: str | None = None,
               storage_options: dict | None = None, **kwargs: Any) -> None:
    """Write numpy arrays into a new group at ``path`` (replacing what was there): positional ones as
    ``arr_0``, ``arr_1``, ..., keyword ones by their names."""
    arrays = {**{f"arr_{i}": a for i, a in enumerate(args)}, **kwargs}
    if not arrays:
        raise ValueError("at least one array must be provided")
    for name, a in arrays.items():
        if not (hasattr(a, "shape") and hasattr(a, "dtype")):
            raise TypeError(f"save_group: {name} must be a numpy-like array, not {type(a).__name__}")
    group = open_group(store, path, mode="w", zarr_format=zarr_format or 3, storage_options=storage_options)
    for name, a in arrays.items():
        save_array(group.store, a, path=f"{group.path}/{name}" if group.path else name, zarr_format=zarr_format)


def save(store: StoreLike, *args: Any, zarr_format: int | None = None, path: str | None = None,
         storage_options: dict | None = None, **kwargs: Any) -> None:
    """:func:`save_array` for one positional array, else :func:`save_group`."""
    if not args and not kwargs:
        raise ValueError("at least one array must be provided")
    if len(args) == 1 and not kwargs:
        save_array(store, args[0], zarr_format=zarr_format, path=path, storage_options=storage_options)
    else:
        save_group(store, *args, zarr_format=zarr_format, path=path, storage_options=storage_options, **kwargs)


def load(store: StoreLike, path: str | None = None, zarr_format: int | None = None) -> Any:
    """The data at ``path`` in memory: a numpy array (or scalar) for an array; for a group, a dict of
    its arrays by name (zarr-python 3 raises ``NotImplementedError`` there)."""
    node = open(store, path, mode="r", zarr_format=zarr_format)
    if isinstance(node, Array):
        return node[...]
    return {name: a[...] for name, a in node.arrays()}


def open_consolidated(*args: Any, use_consolidated: bool = True, **kwargs: Any) -> Group:
    """:func:`~zarrconv.open_group` that requires consolidated metadata (zarr-python's alias)."""
    if use_consolidated is not True:
        raise TypeError("open_consolidated needs use_consolidated=True; use open_group(consolidated=False) instead")
    return open_group(*args, consolidated=True, **kwargs)


def tree(grp: Group, expand: bool | None = None, level: int | None = None) -> Any:
    """``grp.tree(expand, level)``."""
    return grp.tree(expand=expand, level=level)


__all__ = ["array", "create", "empty", "empty_like", "full", "full_like", "load", "ones", "ones_like",
           "open_consolidated", "save", "save_array", "save_group", "tree", "zeros", "zeros_like"]
