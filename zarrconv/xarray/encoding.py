"""Encoding rules between xarray variables and Zarr arrays, shared by the reader and the writer.

These follow what xarray's own zarr engine does, so that stores written by either engine
open identically with the other:

* dimensions: v3 ``dimension_names``; v2 the hidden ``_ARRAY_DIMENSIONS`` attribute;
* fill values: with ``mask_fill`` (the default for v2) the array ``fill_value`` *is* the CF
  ``_FillValue``; otherwise (the default for v3) ``fill_value`` lives in the variable
  encoding and a CF ``_FillValue`` is stored as an attribute, floats as base64 of a
  little-endian float64 (:func:`encode_fill_attr` / :func:`decode_fill_attr`);
* strings: variable-length UTF-8 arrays come back as numpy ``StringDType``;
* chunks: dask chunks become storage chunks unless ``encoding["chunks"]`` says otherwise;
  dask chunks that straddle storage chunks (shards when sharded) are refused
  (:func:`check_chunk_alignment`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from ..errors import ChunkAlignmentError, MetadataError
from ..format.xarray_attrs import DIMENSION_KEY, decode_fill_attr, encode_fill_attr

#: Encoding keys the writer understands (besides the CF keys xarray's coders consume).
VALID_ENCODINGS = frozenset({
    "chunks", "shards", "compressors", "filters", "serializer", "write_empty_chunks", "chunk_key_encoding",
    "dtype", "cache_metadata",
})
#: Encoding keys that describe where data came from; dropped silently on write.
_SAFE_TO_DROP = frozenset({"source", "original_shape", "preferred_chunks"})


# -- fill values ------------------------------------------------------------------------------
# encode_fill_attr / decode_fill_attr live in format/xarray_attrs.py (zarrconv.convert uses them too).


def encode_attr_value(value: Any) -> Any:
    """An attribute value as JSON-ready Python (arrays to lists, numpy scalars to Python)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- strings ----------------------------------------------------------------------------------

def string_dtype() -> np.dtype:
    """numpy's variable-width string dtype, which xarray uses for Zarr vlen strings."""
    return np.dtypes.StringDType()


def is_vlen_str(array: Any) -> bool:
    """Whether a zarrconv array holds variable-length UTF-8 strings (v3 ``string``, v2 vlen-utf8)."""
    if array.dtype.kind not in "OT":
        return False
    meta = array.metadata
    if meta.zarr_format == 3:
        return meta.data_type.name in ("string", "variable_length_utf8")
    return any(f.get("id") in ("vlen-utf8", "vlen-unicode") for f in meta.filters or ())


# -- codecs -----------------------------------------------------------------------------------

class CodecDocument(dict):
    """A codec's JSON document (``{"name": ..., "configuration": ...}`` or numcodecs' ``{"id": ...}``)
    as the reader puts it in ``encoding["compressors"]`` and friends.

    It is a plain dict that also compares equal to a codec *object* serialising to the same
    document (zarr-python's ``to_dict()``, numcodecs' ``get_config()``), which is what
    xarray's zarr engine puts there: encodings read by either engine compare alike, and the
    document can be given back to either writer as it is.
    """

    __hash__ = None  # type: ignore[assignment]  (mutable, like dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return dict.__eq__(self, other)
        for method in ("to_dict", "get_config"):
            serialise = getattr(other, method, None)
            if callable(serialise):
                return dict.__eq__(self, serialise())
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal


def codec_documents(value: Any) -> Any:
    """Codec objects from other libraries (zarr-python's ``to_dict``) as plain documents."""
    if value is None or isinstance(value, str | dict):
        return value
    if isinstance(value, list | tuple):
        return [codec_documents(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not hasattr(value, "codec_id"):
        return to_dict()
    return value


# -- chunks -----------------------------------------------------------------------------------

def storage_chunks(enc_chunks: Any, var_chunks: tuple[tuple[int, ...], ...] | None, ndim: int,
                   name: Hashable) -> tuple[int, ...] | None:
    """Storage chunk shape for a new array: ``encoding["chunks"]``, else the dask chunks, else None (auto)."""
    if enc_chunks is not None and not isinstance(enc_chunks, int | np.integer):
        enc_chunks = tuple(enc_chunks)
        if len(enc_chunks) != ndim:  # stale encoding from another shape: start over
            enc_chunks = None
    if enc_chunks is None or enc_chunks == "auto":
        if not var_chunks:
            return None
        for sizes in var_chunks:
            if len(set(sizes[:-1])) > 1 or (sizes and sizes[-1] > sizes[0]):
                raise ChunkAlignmentError(
                    f"variable {name!r} has irregular dask chunks {var_chunks}; Zarr requires uniform chunk "
                    "sizes (the last may be smaller): rechunk with .chunk() or set encoding['chunks']"
                )
        return tuple(max(sizes[0], 1) if sizes else 1 for sizes in var_chunks)
    if isinstance(enc_chunks, int | np.integer):
        return (int(enc_chunks),) * ndim
    if not all(isinstance(c, int | np.integer) for c in enc_chunks):
        raise TypeError(f"encoding['chunks']={enc_chunks!r} of variable {name!r} must be an int or a tuple of ints")
    return tuple(int(c) for c in enc_chunks)


def check_chunk_alignment(name: Hashable, var_chunks: tuple[tuple[int, ...], ...] | None,
                          write_chunks: tuple[int, ...], region: tuple[slice, ...],
                          shape: tuple[int, ...], allow_partial_edges: bool, sharded: bool = False) -> None:
    """Refuse dask chunks that would share a storage chunk (a race between parallel writers).

    ``write_chunks`` is the unit of one storage write (the shard shape of sharded arrays, which
    ``sharded`` says, so that the message names the right thing);
    ``region`` places the variable in an array of ``shape``. With ``allow_partial_edges``
    (a store this write creates or appends to) the first and last dask chunk may cover a
    storage chunk partly, since nobody else writes there.
    """
    if not var_chunks:
        return
    for axis, (sizes, unit, sel, size) in enumerate(zip(var_chunks, write_chunks, region, shape)):
        start = sel.start or 0
        stop = sel.stop if sel.stop is not None else size
        edges = start + np.cumsum((0, *sizes))
        inner = edges[1:-1]
        bad = inner[inner % unit != 0]
        if not allow_partial_edges:
            if start % unit:
                bad = np.concatenate(([start], bad))
            if stop % unit and stop != size:
                bad = np.concatenate((bad, [stop]))
        if len(bad):
            what = "shard" if sharded else "chunk"
            raise ChunkAlignmentError(
                f"storage {what}s of the variable named {name!r} would overlap multiple Dask chunks: dask chunks "
                f"{tuple(sizes)} on axis {axis} (region {start}:{stop}) put a chunk boundary at index "
                f"{int(bad[0])}, inside a storage {what} of {unit}; parallel writers would overwrite each "
                "other's data. Rechunk with "
                f".chunk() to multiples of {unit}, change encoding['chunks'], or pass safe_chunks=False "
                "if only one writer touches each chunk"
            )


def extract_encoding(variable: Any, name: Hashable, *, zarr_format: int, strict: bool) -> dict[str, Any]:
    """The Zarr array encoding of an (already CF-encoded) variable.

    ``strict`` (encoding given by the user for this variable) refuses unknown keys; otherwise
    they are dropped (they may come from another backend).
    """
    enc = {k: v for k, v in variable.encoding.items() if k not in _SAFE_TO_DROP}
    valid = VALID_ENCODINGS | ({"fill_value"} if zarr_format == 3 else set())
    unknown = [k for k in enc if k not in valid]
    if unknown and strict:
        hint = " (Zarr v2 takes the fill value from the _FillValue attribute or encoding)" if "fill_value" in unknown else ""
        raise MetadataError(f"unexpected encoding keys {unknown} for variable {name!r}; zarrconv understands "
                            f"{sorted(valid)}{hint}")
    for k in unknown:
        del enc[k]
    enc.pop("dtype", None)  # consumed by xarray's coders already
    enc.pop("cache_metadata", None)
    enc["chunks"] = storage_chunks(enc.get("chunks"), variable.chunks, variable.ndim, name)
    shards = enc.get("shards")
    if isinstance(shards, int | np.integer):
        enc["shards"] = (int(shards),) * variable.ndim
    elif shards is not None and shards != "auto":
        enc["shards"] = tuple(int(s) for s in shards)
    for key in ("compressors", "filters", "serializer"):
        if key in enc:
            enc[key] = codec_documents(enc[key])
    return enc


__all__ = [
    "DIMENSION_KEY", "CodecDocument", "VALID_ENCODINGS", "check_chunk_alignment", "codec_documents", "decode_fill_attr",
    "encode_attr_value", "encode_fill_attr", "extract_encoding", "is_vlen_str", "storage_chunks", "string_dtype",
]
