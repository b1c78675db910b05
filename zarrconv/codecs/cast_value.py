"""The ``cast_value`` codec (zarr-extensions ``codecs/cast_value``): values cast to another data type.

An array -> array codec between integer and floating-point types. Each value goes, in order, through
``scalar_map`` (explicit pairs, first occurrence wins), then exact representation, then
``rounding`` and ``out_of_range`` (:mod:`zarrconv.codecs.casting`); anything else is an error. The
fill value is cast the same way, and must come back to itself through the decode direction.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import CodecError, MetadataError
from ..format.dtypes import DataType, parse_v3_data_type
from ..format.low_precision import is_float, is_integer
from .base import ChunkSpec, Codec, register_codec
from .casting import OUT_OF_RANGE_MODES, ROUNDING_MODES, to_float, to_integer


def _check_numeric(data_type: DataType, role: str) -> None:
    if not (is_integer(data_type.dtype) or is_float(data_type.dtype)):
        raise MetadataError(f"cast_value: the {role} data type {data_type.name!r} is not an integer or floating-point type")


def _parse_pairs(entries: Any, direction: str) -> list[tuple[Any, Any]]:
    if not isinstance(entries, list) or not all(isinstance(e, list | tuple) and len(e) == 2 for e in entries):
        raise MetadataError(f"cast_value scalar_map.{direction} {entries!r} must be a list of [input, output] pairs")
    return [tuple(e) for e in entries]  # type: ignore[misc]


def _scalar(value: Any, data_type: DataType, what: str) -> Any:
    try:
        return data_type.fill_from_json(value)
    except MetadataError as e:
        raise MetadataError(f"cast_value scalar_map {what} {value!r} is not a {data_type.name} value: {e}") from None


@register_codec
class CastValueCodec(Codec):
    """Casts chunk values to ``data_type`` on encode and back to the array's type on decode."""

    name = "cast_value"
    kind = "array_array"

    def __init__(self, data_type: Any, rounding: str = "nearest-even", out_of_range: str | None = None,
                 scalar_map: dict | None = None) -> None:
        self.target = parse_v3_data_type(data_type)
        _check_numeric(self.target, "target")
        if rounding not in ROUNDING_MODES:
            raise MetadataError(f"cast_value rounding {rounding!r} must be one of {list(ROUNDING_MODES)}")
        if out_of_range is not None and out_of_range not in OUT_OF_RANGE_MODES:
            raise MetadataError(f"cast_value out_of_range {out_of_range!r} must be one of {list(OUT_OF_RANGE_MODES)}")
        if out_of_range == "wrap" and not is_integer(self.target.dtype):
            raise MetadataError(f"cast_value out_of_range 'wrap' needs an integer data_type, not {self.target.name!r}")
        if scalar_map is not None and (not isinstance(scalar_map, dict) or set(scalar_map) - {"encode", "decode"}):
            raise MetadataError(f"cast_value scalar_map {scalar_map!r} must be an object with 'encode' and/or 'decode'")
        self.rounding = rounding
        self.out_of_range = out_of_range
        self.scalar_map = {k: _parse_pairs(v, k) for k, v in (scalar_map or {}).items()}
        self._raw_map = scalar_map

    def get_config(self) -> dict:
        conf: dict[str, Any] = {"data_type": self.target.json}
        if self.rounding != "nearest-even":
            conf["rounding"] = self.rounding
        if self.out_of_range is not None:
            conf["out_of_range"] = self.out_of_range
        if self._raw_map is not None:
            conf["scalar_map"] = {k: [list(p) for p in v] for k, v in self.scalar_map.items()}
        return conf

    def _mapping(self, direction: str, source: DataType, target: DataType) -> list[tuple[Any, Any]]:
        return [(_scalar(k, source, f"{direction} input"), _scalar(v, target, f"{direction} output"))
                for k, v in self.scalar_map.get(direction, [])]

    def _cast(self, data: np.ndarray, source: DataType, target: DataType, direction: str) -> np.ndarray:
        flat = np.asarray(data, dtype=source.dtype).reshape(-1)
        out = np.empty(flat.shape, target.dtype)
        done = np.zeros(flat.shape, bool)
        for key, value in self._mapping(direction, source, target):
            if is_float(source.dtype) and math.isnan(float(key)):
                hit = np.isnan(flat.astype(np.float64))
            else:
                hit = flat == key
            hit &= ~done  # the first pair of a repeated input wins
            out[hit] = value
            done |= hit
        rest = ~done
        if rest.any():
            cast = to_integer if is_integer(target.dtype) else to_float
            out[rest] = cast(flat[rest], target.dtype, self.rounding, self.out_of_range)
        return out.reshape(np.shape(data))

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        _check_numeric(spec.data_type, "array")
        self._mapping("encode", spec.data_type, self.target)  # wrong scalar types fail here, at open
        self._mapping("decode", self.target, spec.data_type)
        fill = np.asarray([spec.fill_value], dtype=spec.dtype)
        shown = fill.astype(np.float64)[0].item() if is_float(spec.dtype) else int(fill.astype(np.int64)[0])
        try:
            encoded = self._cast(fill, spec.data_type, self.target, "encode")
            back = self._cast(encoded, self.target, spec.data_type, "decode")
        except CodecError as e:
            raise MetadataError(f"cast_value: the fill value {shown!r} cannot be cast to "
                                f"{self.target.name}: {e}") from None
        kept = back == fill
        if is_float(spec.dtype):
            kept |= np.isnan(back.astype(np.float64)) & np.isnan(fill.astype(np.float64))
        if not kept.all():
            raise MetadataError(f"cast_value: the fill value {shown!r} does not survive the cast to "
                                f"{self.target.name} and back (it comes back as {back[0].item()!r})")
        return replace(spec, data_type=self.target, fill_value=encoded[0])

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        return self._cast(data, spec.data_type, self.target, "encode")

    def decode(self, data: np.ndarray, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        return self._cast(data, self.target, spec.data_type, "decode")
