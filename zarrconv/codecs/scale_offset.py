"""The ``scale_offset`` codec (zarr-extensions ``codecs/scale_offset``): ``(x - offset) * scale``.

An array -> array codec on integer and floating-point data. The arithmetic is that of the array's
data type: floats compute in their own type (overflow to infinity is a float value), integers are
computed exactly and any result outside the type, or a decoding division with a remainder, is an
error rather than a silent wrap. ``offset`` and ``scale`` are JSON scalars in the fill-value
encoding of the input data type, so they are parsed once the chain knows that type; the fill value
is mapped through the codec like the elements.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import CodecError, MetadataError
from ..format.low_precision import int_range, is_float, is_integer
from .base import ChunkSpec, Codec, register_codec


def _parse_scalar(value: Any, spec: ChunkSpec, what: str) -> Any:
    try:
        return spec.data_type.fill_from_json(value)
    except MetadataError as e:
        raise MetadataError(f"scale_offset {what} {value!r} is not a {spec.data_type.name} value: {e}") from None


def _int_arith(data: np.ndarray, fn: Any, what: str) -> np.ndarray:
    """``fn`` over the values of an integer array as exact integers, back in the array's type."""
    lo, hi = int_range(data.dtype)
    wide = np.int64 if lo >= -(2**62) and hi <= 2**31 else object  # int64 holds a product of two int32 ranges
    values = data.astype(np.int64).astype(wide) if data.dtype.kind not in "iu" else data.astype(wide)
    out = fn(values)
    if out.size and (out.min() < lo or out.max() > hi):
        raise CodecError(f"scale_offset {what} gives values outside the range [{lo}, {hi}] of {data.dtype}")
    return np.asarray(out).astype(np.int64).astype(data.dtype) if data.dtype.kind not in "iu" else \
        np.asarray(out).astype(data.dtype)


@register_codec
class ScaleOffsetCodec(Codec):
    """Encodes ``(x - offset) * scale`` and decodes ``x / scale + offset`` in the array's data type."""

    name = "scale_offset"
    kind = "array_array"

    def __init__(self, offset: Any = 0, scale: Any = 1) -> None:
        for what, v in (("offset", offset), ("scale", scale)):
            if isinstance(v, bool) or not isinstance(v, int | float | str | list):
                raise MetadataError(f"scale_offset {what} {v!r} must be a JSON scalar (number or string)")
        self.offset = offset
        self.scale = scale

    def get_config(self) -> dict:
        conf: dict[str, Any] = {}
        if not (isinstance(self.offset, int | float) and self.offset == 0):
            conf["offset"] = self.offset
        if not (isinstance(self.scale, int | float) and self.scale == 1):
            conf["scale"] = self.scale
        return conf

    def _params(self, spec: ChunkSpec) -> tuple[Any, Any]:
        dtype = spec.dtype
        if not (is_integer(dtype) or is_float(dtype)):
            raise MetadataError(f"scale_offset needs an integer or floating-point data type, not {spec.data_type.name}")
        offset = _parse_scalar(self.offset, spec, "offset")
        scale = _parse_scalar(self.scale, spec, "scale")
        if scale == 0:
            raise MetadataError("scale_offset scale must not be zero")
        return offset, scale

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        fill = self.encode(np.asarray([spec.fill_value], dtype=spec.dtype), spec)[0]
        return replace(spec, fill_value=fill)

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        offset, scale = self._params(spec)
        data = np.asarray(data, dtype=spec.dtype)
        if is_integer(spec.dtype):
            return _int_arith(data, lambda v: (v - int(offset)) * int(scale), "encoding")
        with np.errstate(over="ignore", invalid="ignore"):
            return ((data - offset) * scale).astype(spec.dtype, copy=False)

    def decode(self, data: np.ndarray, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        offset, scale = self._params(spec)
        data = np.asarray(data, dtype=spec.dtype)
        if is_integer(spec.dtype):
            s, o = int(scale), int(offset)

            def inverse(v: np.ndarray) -> np.ndarray:
                if np.any(v % s):
                    raise CodecError(f"scale_offset decoding: a stored value is not a multiple of the scale {s}, "
                                     f"so value / scale is not a {spec.data_type.name}")
                return v // s + o

            return _int_arith(data, inverse, "decoding")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return ((data / scale) + offset).astype(spec.dtype, copy=False)
