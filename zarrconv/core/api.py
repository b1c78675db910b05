"""The public entry points: open and create arrays and groups in any store."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..codecs import normalize_codecs
from ..errors import ContainsNodeError, MetadataError, NodeNotFoundError, ShapeMismatchError
from ..format.chunks import ChunkKeyEncoding, RectilinearChunkGrid, RegularChunkGrid
from ..format.dtypes import V2_TYPES, v3_data_type_for
from ..format.low_precision import int_range, is_integer
from ..format.metadata import ZARR_JSON, ZARRAY, ZATTRS, ZGROUP, ZMETADATA, ArrayMetadata, GroupMetadata
from ..store import StoreLike, make_store
from ..store.base import Store
from .array import Array
from .group import Group, validate_path
from .nodes import doc_key, fetch_docs, join, parse_docs, read_consolidated, write_node

_MODES = ("r", "r+", "a", "w", "w-")
TARGET_CHUNK_BYTES = 4 * 2**20


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} must be one of {_MODES}")


def node_exists(store: Store, path: str) -> bool:
    """Whether an array or group of either format exists at ``path``."""
    return bool(fetch_docs(store, [path], None)[0])


def clear_node(store: Store, path: str) -> None:
    """Delete a node's documents and everything below it."""
    store.check_writable(path)
    for name in (ZARR_JSON, ZARRAY, ZGROUP, ZATTRS, ZMETADATA):
        store.delete(doc_key(path, name))
    store.delete_prefix(f"{path}/" if path else "")
    from .nodes import update_consolidated

    update_consolidated(store, path, None)  # drop it from the ancestors' consolidated metadata


def guess_chunks(shape: tuple[int, ...], itemsize: int, target: int = TARGET_CHUNK_BYTES) -> tuple[int, ...]:
    """Chunks of roughly ``target`` bytes (1-8 MiB), halving the longest axes first."""
    chunks = [max(int(s), 1) for s in shape]
    limit = 2 * target
    while math.prod(chunks) * itemsize > limit:
        d = int(np.argmax(chunks))
        chunks[d] = -(-chunks[d] // 2)
    return tuple(chunks)


def _normalize_chunks(chunks: Any, shape: tuple[int, ...], itemsize: int) -> tuple[int, ...] | list:
    if chunks is None or chunks == "auto":
        return guess_chunks(shape, itemsize)
    if isinstance(chunks, int):
        chunks = (chunks,) * len(shape)
    chunks = list(chunks)
    if len(chunks) != len(shape):
        raise ShapeMismatchError(f"chunks {tuple(chunks)} must have one entry per dimension of shape {shape}")
    if any(isinstance(c, list | tuple) for c in chunks):
        return [tuple(int(x) for x in c) if isinstance(c, list | tuple) else c for c in chunks]
    return tuple(int(c) if c not in (None, -1) else max(shape[d], 1) for d, c in enumerate(chunks))


def build_array_metadata(
    *,
    shape: Any,
    dtype: Any,
    chunks: Any = None,
    shards: Any = None,
    fill_value: Any = None,
    compressors: Any = "auto",
    filters: Any = None,
    serializer: Any = None,
    dimension_names: Any = None,
    attributes: dict | None = None,
    order: str = "C",
    zarr_format: int = 3,
    chunk_key_encoding: Any = None,
    index_location: str = "end",
) -> ArrayMetadata:
    """Array metadata from user arguments (see :func:`create_array`)."""
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ShapeMismatchError(f"shape {shape} must not be negative")
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format {zarr_format!r} must be 2 or 3")
    if order not in ("C", "F"):
        raise ValueError(f"order {order!r} must be 'C' or 'F'")
    attributes = dict(attributes or {})
    if dimension_names is not None:
        dimension_names = tuple(dimension_names)
        if len(dimension_names) != len(shape):
            raise ShapeMismatchError(f"dimension_names {dimension_names} must have one name per dimension of {shape}")

    if zarr_format == 2:
        np_dtype = _v2_dtype(dtype)
        filt = normalize_codecs(filters, zarr_format=2)
        if np_dtype.kind == "O" and not any(f["id"].startswith("vlen") for f in filt):
            filt = [{"id": "vlen-bytes" if _is_vlen_bytes(dtype) else "vlen-utf8"}, *filt]
        data_type = V2_TYPES(np_dtype, filt)
        comp = normalize_codecs(compressors, zarr_format=2, itemsize=np_dtype.itemsize)
        if len(comp) > 1:
            raise MetadataError("Zarr v2 arrays take at most one compressor")
        if shards is not None:
            raise MetadataError("sharding needs Zarr v3 (zarr_format=3)")
        grid_chunks = _normalize_chunks(chunks, shape, max(np_dtype.itemsize, 8))
        sep = (chunk_key_encoding or {}).get("separator", ".") if isinstance(chunk_key_encoding, dict) else (chunk_key_encoding or ".")
        fill = data_type.fill_from_json(fill_value) if isinstance(fill_value, str | list) and np_dtype.kind in "fc" else (
            None if fill_value is None else np.asarray(fill_value, dtype=np_dtype)[()] if np_dtype.kind != "O" else fill_value)
        if dimension_names is not None:
            attributes["_ARRAY_DIMENSIONS"] = list(dimension_names)
        return ArrayMetadata(
            2, shape, data_type, RegularChunkGrid(tuple(grid_chunks)), ChunkKeyEncoding("v2", sep), fill,
            [], attributes, dimension_names, order=order, filters=filt or None, compressor=comp[0] if comp else None,
        )

    data_type = v3_data_type_for(dtype)
    itemsize = data_type.dtype.itemsize if data_type.fixed_size else 16
    fill = data_type.default_fill() if fill_value is None else (
        data_type.fill_from_json(fill_value) if isinstance(fill_value, str | list) and data_type.fixed_size and data_type.dtype.kind in "fcV"
        else _coerce_fill(fill_value, data_type))
    array_array = normalize_codecs(filters, zarr_format=3)
    if order == "F" and len(shape) > 1:
        array_array = [{"name": "transpose", "configuration": {"order": list(range(len(shape)))[::-1]}}, *array_array]
    if serializer is None or serializer == "auto":
        if data_type.fixed_size:
            ser = {"name": "bytes", "configuration": {"endian": "little"}} if data_type.dtype.itemsize > 1 else {"name": "bytes"}
        else:
            from ..codecs.base import CODECS

            default = getattr(CODECS.get(_DEFAULT_SERIALIZER.get(data_type.name, "")), "name", None)
            if default is None:
                raise MetadataError(f"data type {data_type.name!r} needs a serializer codec")
            ser = CODECS[default]().to_json()  # as zarr-python writes it
    else:
        ser = normalize_codecs(serializer, zarr_format=3)[0]
    bytes_bytes = normalize_codecs(compressors, zarr_format=3, itemsize=itemsize)
    if any(c["name"] == "sharding_indexed" for c in bytes_bytes):
        raise MetadataError("pass the shard shape as shards=..., not a sharding codec in compressors")
    inner = [*array_array, ser, *bytes_bytes]
    if shards is not None:
        inner_chunks = _normalize_chunks(chunks, shape, itemsize)
        if shards == "auto":
            shards = tuple(c * max(1, min(8, -(-s // c))) for c, s in zip(inner_chunks, shape))
        shards = tuple(int(s) for s in shards)
        if len(shards) != len(shape) or any(s % c for s, c in zip(shards, inner_chunks)):
            raise MetadataError(f"shards {shards} must be a multiple of chunks {inner_chunks} in every dimension")
        grid = RegularChunkGrid(shards)
        codecs = [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(inner_chunks), "codecs": inner,
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": index_location}}]
    else:
        c = _normalize_chunks(chunks, shape, itemsize)
        grid = RectilinearChunkGrid.from_spec(c, shape) if isinstance(c, list) else RegularChunkGrid(c)
        codecs = inner
    if isinstance(chunk_key_encoding, ChunkKeyEncoding):
        cke = chunk_key_encoding
    elif isinstance(chunk_key_encoding, dict):
        cke = ChunkKeyEncoding(chunk_key_encoding.get("name", "default"), chunk_key_encoding.get("separator", "/"))
    else:
        cke = ChunkKeyEncoding("default", chunk_key_encoding or "/")
    meta = ArrayMetadata(3, shape, data_type, grid, cke, fill, codecs, attributes, dimension_names)
    from ..codecs import build_pipeline

    if grid.is_regular:
        build_pipeline(meta)  # validate the chain now, not at first write
    return meta


_DEFAULT_SERIALIZER = {"string": "vlen-utf8", "variable_length_utf8": "vlen-utf8", "bytes": "vlen-bytes",
                       "variable_length_bytes": "vlen-bytes"}


def _coerce_fill(value: Any, data_type: Any) -> Any:
    if not data_type.fixed_size:
        return value
    dtype = data_type.dtype
    if is_integer(dtype) and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        lo, hi = int_range(dtype)  # numpy wraps out-of-range values for the small (ml_dtypes) ints
        if not lo <= int(value) <= hi:
            raise MetadataError(f"fill_value {value!r} is not valid for data type {data_type.name}: "
                                f"outside [{lo}, {hi}]")
    try:
        return np.asarray(value, dtype=dtype)[()]
    except (ValueError, TypeError, OverflowError) as e:
        raise MetadataError(f"fill_value {value!r} is not valid for data type {data_type.name}: {e}") from None


def _is_vlen_bytes(dtype: Any) -> bool:
    return dtype is bytes or (isinstance(dtype, str) and dtype in ("bytes", "variable_length_bytes")) or (
        isinstance(dtype, np.dtype) and dtype.kind == "O" and (dtype.metadata or {}).get("vlen") is bytes)


def _v2_dtype(dtype: Any) -> np.dtype:
    if dtype is str or (isinstance(dtype, str) and dtype in ("str", "string")) or _is_vlen_bytes(dtype):
        return np.dtype("O")
    d = np.dtype(dtype)
    return np.dtype("O") if d.kind == "T" else d


def _parents(store: Store, path: str, zarr_format: int) -> None:
    parts = path.split("/")[:-1]
    for i in range(0, len(parts) + 1):
        p = "/".join(parts[:i])
        if not node_exists(store, p):
            write_node(store, p, GroupMetadata(zarr_format))


def _make_room(store: Store, path: str, zarr_format: int, overwrite: bool) -> None:
    """Prepare ``path`` for a new node: refuse or clear an existing one, create missing parents."""
    if node_exists(store, path):
        if not overwrite:
            raise ContainsNodeError(f"a node already exists at {path or '/'!r} in {store.url}; pass overwrite=True")
        clear_node(store, path)
    if path:
        _parents(store, path, zarr_format)


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
        from .consolidated import write_consolidated

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


__all__ = ["clear_node", "create_array", "create_group", "guess_chunks", "join", "node_exists", "open",
           "open_array", "open_group"]
