"""CF packing (``scale_factor``/``add_offset`` + an integer dtype) expressed as registry codecs, and back.

An array whose chain starts with ``scale_offset`` then ``cast_value`` to an integer type is what the CF
conventions call packed data: :func:`packed_form` gives the metadata of the stored integers (the rest of
the chain) and the CF attributes that unpack them, so a reader can show the stored values
(``decode_cf=False`` in xarray). :func:`packing_codecs` builds that codec pair from CF attributes.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import MetadataError
from ..format.metadata import ArrayMetadata
from .base import ChunkSpec
from .cast_value import CastValueCodec
from .registry import codec_from_json
from .scale_offset import ScaleOffsetCodec


def packed_form(meta: ArrayMetadata) -> tuple[ArrayMetadata, dict[str, Any]] | None:
    """``(metadata of the stored integers, CF attributes)`` of a v3 array packed with ``scale_offset`` and
    ``cast_value`` to an integer type, or None for any other array (sharded ones included)."""
    if meta.zarr_format != 3 or len(meta.codecs) < 3:
        return None
    first, second = (codec_from_json(c) for c in meta.codecs[:2])
    if not (isinstance(first, ScaleOffsetCodec) and isinstance(second, CastValueCodec)) or \
            second.target.dtype.kind not in "iu" or meta.dtype.kind != "f":
        return None
    spec = ChunkSpec(meta.chunk_shape, meta.data_type, meta.fill_value)
    offset, scale = first._params(spec)
    stored = second.resolve(first.resolve(spec))
    # JSON-like numbers, as attributes read from a store are
    attrs: dict[str, Any] = {"scale_factor": float(meta.dtype.type(1) / scale), "add_offset": float(offset)}
    for key, value in second.scalar_map.get("decode", []):
        if isinstance(value, str) and value == "NaN":
            attrs["_FillValue"] = int(key)
            break
    return replace(meta, data_type=stored.data_type, fill_value=stored.fill_value, codecs=meta.codecs[2:]), attrs


def packing_codecs(scale_factor: Any, add_offset: Any, dtype: Any, packed_fill: Any = None) -> list[dict]:
    """The ``scale_offset`` + ``cast_value`` documents that store floats as CF packing does:
    ``stored = round((x - add_offset) / scale_factor)`` (nearest, ties to even; values beyond the
    integer type clamp), NaN stored as ``packed_fill`` when given."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise MetadataError(f"CF packing stores integers, not {dtype}")
    scale_factor = float(1 if scale_factor is None else scale_factor)
    if scale_factor == 0 or not math.isfinite(scale_factor):
        raise MetadataError(f"CF packing scale_factor {scale_factor!r} must be finite and non-zero")
    cast: dict[str, Any] = {"data_type": dtype.name, "out_of_range": "clamp"}
    if packed_fill is not None:
        fill = int(packed_fill)
        cast["scalar_map"] = {"encode": [["NaN", fill]], "decode": [[fill, "NaN"]]}
    return [{"name": "scale_offset", "configuration": {"offset": float(add_offset or 0), "scale": 1 / scale_factor}},
            {"name": "cast_value", "configuration": cast}]
