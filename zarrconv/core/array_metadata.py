"""Array metadata from the arguments users give (``create_array``, ``Group.create_array``, ``to_zarr``,
the conversion): shapes, chunk and shard shapes, data types, fill values and codec chains, checked."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..codecs import CODECS, build_pipeline, normalize_codecs
from ..errors import MetadataError, ShapeMismatchError
from ..format.chunks import ChunkKeyEncoding, RectilinearChunkGrid, RegularChunkGrid
from ..format.dtypes import DataType, data_type_from_v2, v3_data_type_for
from ..format.low_precision import int_range, is_integer
from ..format.metadata import ArrayMetadata

#: about the bytes of the chunks :func:`guess_chunks` picks
TARGET_CHUNK_BYTES = 4 * 2**20


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
    """Array metadata from user arguments (see :func:`~zarrconv.create_array`), validated: the codec chain is
    built once, so an unknown codec or a bad configuration fails here, before anything is written."""
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
        return _v2_metadata(shape, dtype, chunks, shards, fill_value, compressors, filters, dimension_names,
                            attributes, order, chunk_key_encoding)
    data_type = v3_data_type_for(dtype)
    fill = _v3_fill(fill_value, data_type)
    grid, codecs = _v3_grid_and_codecs(shape, data_type, chunks, shards, compressors, filters, serializer, order,
                                       index_location)
    meta = ArrayMetadata(3, shape, data_type, grid, _v3_chunk_key_encoding(chunk_key_encoding), fill, codecs,
                         attributes, dimension_names)
    if grid.is_regular:
        build_pipeline(meta)  # validate the chain now, not at first write
    return meta


def _v2_metadata(shape: tuple[int, ...], dtype: Any, chunks: Any, shards: Any, fill_value: Any, compressors: Any,
                 filters: Any, dimension_names: tuple | None, attributes: dict, order: str,
                 chunk_key_encoding: Any) -> ArrayMetadata:
    np_dtype = _v2_dtype(dtype)
    filt = normalize_codecs(filters, zarr_format=2)
    if np_dtype.kind == "O" and not any(f["id"].startswith("vlen") for f in filt):
        filt = [{"id": "vlen-bytes" if _is_vlen_bytes(dtype) else "vlen-utf8"}, *filt]
    data_type = data_type_from_v2(np_dtype, filt)
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

def _v3_fill(fill_value: Any, data_type: DataType) -> Any:
    """The fill value of a v3 array: the type's default, a JSON form (NaN, base64...) or a value of the type."""
    if fill_value is None:
        return data_type.default_fill()
    if isinstance(fill_value, str | list) and data_type.fixed_size and data_type.dtype.kind in "fcV":
        return data_type.fill_from_json(fill_value)
    return _coerce_fill(fill_value, data_type)


def _v3_serializer(serializer: Any, data_type: DataType) -> dict:
    """The array->bytes codec: ``bytes`` for fixed-size types, the type's vlen codec otherwise, or the user's."""
    if serializer is not None and serializer != "auto":
        return normalize_codecs(serializer, zarr_format=3)[0]
    if data_type.fixed_size:
        return {"name": "bytes", "configuration": {"endian": "little"}} if data_type.dtype.itemsize > 1 else {"name": "bytes"}
    default = getattr(CODECS.get(_DEFAULT_SERIALIZER.get(data_type.name, "")), "name", None)
    if default is None:
        raise MetadataError(f"data type {data_type.name!r} needs a serializer codec")
    return CODECS[default]().to_json()  # as zarr-python writes it


def _v3_grid_and_codecs(shape: tuple[int, ...], data_type: DataType, chunks: Any, shards: Any, compressors: Any,
                        filters: Any, serializer: Any, order: str, index_location: str) -> tuple[Any, list[dict]]:
    """The chunk grid and the codec chain of a v3 array: the chain of the chunks, inside a sharding codec
    when ``shards`` is given (then the grid is the shards')."""
    itemsize = data_type.dtype.itemsize if data_type.fixed_size else 16
    array_array = normalize_codecs(filters, zarr_format=3)
    if order == "F" and len(shape) > 1:
        array_array = [{"name": "transpose", "configuration": {"order": list(range(len(shape)))[::-1]}}, *array_array]
    ser = _v3_serializer(serializer, data_type)
    bytes_bytes = normalize_codecs(compressors, zarr_format=3, itemsize=itemsize)
    if any(c["name"] == "sharding_indexed" for c in bytes_bytes):
        raise MetadataError("pass the shard shape as shards=..., not a sharding codec in compressors")
    inner = [*array_array, ser, *bytes_bytes]
    if shards is None:
        c = _normalize_chunks(chunks, shape, itemsize)
        return (RectilinearChunkGrid.from_spec(c, shape) if isinstance(c, list) else RegularChunkGrid(c)), inner
    inner_chunks = _normalize_chunks(chunks, shape, itemsize)
    if shards == "auto":
        shards = tuple(c * max(1, min(8, -(-s // c))) for c, s in zip(inner_chunks, shape))
    shards = tuple(int(s) for s in shards)
    if len(shards) != len(shape) or any(s % c for s, c in zip(shards, inner_chunks)):
        raise MetadataError(f"shards {shards} must be a multiple of chunks {inner_chunks} in every dimension")
    return RegularChunkGrid(shards), [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": list(inner_chunks), "codecs": inner,
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        "index_location": index_location}}]


def _v3_chunk_key_encoding(chunk_key_encoding: Any) -> ChunkKeyEncoding:
    """A chunk key encoding given as an object, a document or a separator (default ``/``)."""
    if isinstance(chunk_key_encoding, ChunkKeyEncoding):
        return chunk_key_encoding
    if isinstance(chunk_key_encoding, dict):
        return ChunkKeyEncoding(chunk_key_encoding.get("name", "default"), chunk_key_encoding.get("separator", "/"))
    return ChunkKeyEncoding("default", chunk_key_encoding or "/")


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


__all__ = ["TARGET_CHUNK_BYTES", "build_array_metadata", "guess_chunks"]
