"""The public entry points: open and create arrays and groups in any store."""

from __future__ import annotations

from typing import Any

from ..errors import ContainsNodeError, NodeNotFoundError
from ..format.metadata import ArrayMetadata, GroupMetadata
from ..store import StoreLike, make_store
from ..store.base import Store
from .array import Array
from .array_metadata import build_array_metadata
from .consolidated import write_consolidated
from .group import Group, validate_path
from .nodes import clear_node, create_parents, fetch_docs, node_exists, parse_docs, read_consolidated, write_node

_MODES = ("r", "r+", "a", "w", "w-")


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} must be one of {_MODES}")


def _make_room(store: Store, path: str, zarr_format: int, overwrite: bool) -> None:
    """Prepare ``path`` for a new node: refuse or clear an existing one, create missing parents."""
    if node_exists(store, path):
        if not overwrite:
            raise ContainsNodeError(f"a node already exists at {path or '/'!r} in {store.url}; pass overwrite=True")
        clear_node(store, path)
    if path:
        create_parents(store, path, zarr_format)


def open_group(store: StoreLike, path: str | None = None, mode: str = "a", *, zarr_format: int | None = None,
               consolidated: bool | None = None, storage_options: dict | None = None,
               attributes: dict | None = None) -> Group:
    """Open (or, in modes ``a``/``w``/``w-``, create) a group.

    ``consolidated=None`` uses consolidated metadata when present; ``False`` ignores it;
    ``True`` requires it.
    """
    _check_mode(mode)
    st = make_store(store, mode=mode, storage_options=storage_options)
    path = validate_path(path or "")
    if mode in ("w", "w-"):
        return create_group(st, path, attributes=attributes, zarr_format=zarr_format or 3, overwrite=mode == "w",
                            consolidated=bool(consolidated))
    docs = fetch_docs(st, [path], zarr_format, consolidated=consolidated is not False)[0]
    if not docs:
        if mode == "a":
            return create_group(st, path, attributes=attributes, zarr_format=zarr_format or 3)
        raise NodeNotFoundError(f"no Zarr group at {path or '/'!r} in {st.url}")
    meta = parse_docs(st, path, docs)
    if not isinstance(meta, GroupMetadata):
        raise ContainsNodeError(f"{path or '/'!r} in {st.url} is an array, not a group")
    cons = None if consolidated is False else read_consolidated(st, path, meta, docs)
    if consolidated and cons is None:
        raise NodeNotFoundError(f"group {path or '/'!r} in {st.url} has no consolidated metadata")
    return Group(st, path, meta, cons)


def create_group(store: StoreLike, path: str | None = None, attributes: dict | None = None, zarr_format: int = 3,
                 overwrite: bool = False, *, storage_options: dict | None = None, consolidated: bool = False) -> Group:
    """Create a group (and missing parent groups).

    ``consolidated=True`` gives the group (empty) consolidated metadata, which every later
    metadata write through zarrconv below it keeps up to date.
    """
    st = make_store(store, mode="w" if overwrite else "a", storage_options=storage_options)
    path = validate_path(path or "")
    _make_room(st, path, zarr_format, overwrite)
    meta = GroupMetadata(zarr_format, dict(attributes or {}))
    write_node(st, path, meta)
    if consolidated:
        write_consolidated(st, path, meta, {})
        return Group(st, path, meta, {})
    return Group(st, path, meta)


def create_array(store: StoreLike, path: str | None = None, *, shape: Any, dtype: Any, chunks: Any = None,
                 shards: Any = None, fill_value: Any = None, compressors: Any = "auto", filters: Any = None,
                 serializer: Any = None, dimension_names: Any = None, attributes: dict | None = None,
                 order: str = "C", zarr_format: int = 3, overwrite: bool = False, write_empty_chunks: bool = False,
                 chunk_key_encoding: Any = None, storage_options: dict | None = None,
                 synchronizer: Any = None) -> Array:
    """Create an array.

    ``chunks=None`` picks chunks of about 1-8 MiB; ``shards`` (v3) groups chunks into shard
    objects; ``compressors="auto"`` is zstd; ``compressors`` also takes names, v3 codec
    documents, numcodecs codecs or a list; ``order="F"`` adds a transpose codec (v3) or sets
    the v2 order. Chunks equal to the fill value are not stored unless ``write_empty_chunks``.
    ``synchronizer`` is a lock (any context manager) held around each write of the array.
    """
    st = make_store(store, mode="w" if overwrite else "a", storage_options=storage_options)
    path = validate_path(path or "")
    meta = build_array_metadata(shape=shape, dtype=dtype, chunks=chunks, shards=shards, fill_value=fill_value,
                                compressors=compressors, filters=filters, serializer=serializer,
                                dimension_names=dimension_names, attributes=attributes, order=order,
                                zarr_format=zarr_format, chunk_key_encoding=chunk_key_encoding)
    _make_room(st, path, zarr_format, overwrite)
    write_node(st, path, meta)
    return Array(st, path, meta, write_empty_chunks=write_empty_chunks, synchronizer=synchronizer)


def open_array(store: StoreLike, path: str | None = None, mode: str = "r", *, zarr_format: int | None = None,
               storage_options: dict | None = None, write_empty_chunks: bool = False, synchronizer: Any = None,
               **create_kwargs: Any) -> Array:
    """Open an existing array (modes ``r``, ``r+``, ``a``); ``w``/``w-`` create one from ``create_kwargs``."""
    _check_mode(mode)
    st = make_store(store, mode=mode, storage_options=storage_options)
    path = validate_path(path or "")
    if mode in ("w", "w-") or (mode == "a" and create_kwargs and not node_exists(st, path)):
        return create_array(st, path, overwrite=mode == "w", write_empty_chunks=write_empty_chunks,
                            synchronizer=synchronizer, **create_kwargs)
    meta = parse_docs(st, path, fetch_docs(st, [path], zarr_format)[0])
    if not isinstance(meta, ArrayMetadata):
        raise ContainsNodeError(f"{path or '/'!r} in {st.url} is a group, not an array")
    return Array(st, path, meta, write_empty_chunks=write_empty_chunks, synchronizer=synchronizer)


def open(store: StoreLike, path: str | None = None, mode: str = "r", *, zarr_format: int | None = None,  # noqa: A001
         storage_options: dict | None = None, consolidated: bool | None = None) -> Array | Group:
    """Open whatever node is at ``path``: an :class:`Array` or a :class:`Group`."""
    _check_mode(mode)
    st = make_store(store, mode=mode, storage_options=storage_options)
    path = validate_path(path or "")
    docs = fetch_docs(st, [path], zarr_format, consolidated=consolidated is not False)[0]
    if not docs:
        if mode in ("a", "w", "w-"):
            return open_group(st, path, mode=mode, zarr_format=zarr_format)
        raise NodeNotFoundError(f"no Zarr array or group at {path or '/'!r} in {st.url}")
    meta = parse_docs(st, path, docs)
    if isinstance(meta, ArrayMetadata):
        return Array(st, path, meta)
    cons = None if consolidated is False else read_consolidated(st, path, meta, docs)
    return Group(st, path, meta, cons)


__all__ = ["create_array", "create_group", "open", "open_array", "open_group"]
