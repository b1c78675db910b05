"""The ``bitround`` codec (zarr-extensions ``codecs/bitround``): fewer significant bits, for compression.

An array -> array codec that only acts on encode. Floats keep ``keepbits`` bits of their mantissa;
integers keep ``keepbits`` bits below their most significant set bit (of the unsigned bit pattern).
The dropped bits are rounded half to even on the bit pattern, saturating at all ones, as the
registry's sample data (written by zarrs) shows. ``numcodecs.bitround`` (floats only) stays the
numcodecs codec of that name.
"""

from __future__ import annotations

import numpy as np

from ..errors import MetadataError
from ..format.low_precision import bits_of, is_integer
from .base import ChunkSpec, Codec, register_codec

#: Mantissa bits of the float types bitround supports (complex types: per component).
MANTISSA_BITS = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}


def _round_bits(u: np.ndarray, keep: int, maxbits: np.ndarray | int) -> np.ndarray:
    """Round unsigned bit patterns to ``keep`` bits below bit ``maxbits`` (a scalar or per element)."""
    mask_bits = np.asarray(maxbits, dtype=np.int64) - keep
    act = mask_bits > 0
    if not act.any():
        return u
    shift = np.where(act, mask_bits, 1).astype(u.dtype)
    one = u.dtype.type(1)
    all_set = u.dtype.type(np.iinfo(u.dtype).max)
    mask = (all_set >> shift) << shift
    half_minus_one = (one << (shift - one)) - one
    added = u + (((u >> shift) & one) + half_minus_one)
    added = np.where(added < u, all_set, added)  # saturating add
    return np.where(act, added & mask, u)


def _bit_length(u: np.ndarray) -> np.ndarray:
    length = np.zeros(u.shape, np.int64)
    for b in range(u.dtype.itemsize * 8):
        length = np.where((u >> u.dtype.type(b)) != 0, b + 1, length)
    return length


@register_codec
class BitroundCodec(Codec):
    """Keeps ``keepbits`` significant bits of each value (lossy; decoding is the identity)."""

    name = "bitround"
    kind = "array_array"

    def __init__(self, keepbits: int) -> None:
        if isinstance(keepbits, bool) or not isinstance(keepbits, int) or keepbits < 1:
            raise MetadataError(f"bitround keepbits {keepbits!r} must be an integer of at least 1")
        self.keepbits = keepbits

    def get_config(self) -> dict:
        return {"keepbits": self.keepbits}

    def _kind(self, spec: ChunkSpec) -> tuple[np.dtype, int | None]:
        dtype = spec.dtype
        name = dtype.name if dtype.kind != "c" else f"float{dtype.itemsize * 4}"
        if name in MANTISSA_BITS:
            return np.dtype(f"u{dtype.itemsize // (2 if dtype.kind == 'c' else 1)}"), MANTISSA_BITS[name]
        if (is_integer(dtype) and bits_of(dtype) >= 8) or dtype.kind in "mM":
            return np.dtype(f"u{dtype.itemsize}"), None
        raise MetadataError(f"bitround cannot round data type {spec.data_type.name}")

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        self._kind(spec)
        return spec

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        unsigned, mantissa = self._kind(spec)
        arr = np.array(data, dtype=spec.dtype, order="C")  # a copy: rounded in place of its bits
        u = arr.reshape(-1).view(unsigned)
        u[...] = _round_bits(u, self.keepbits, mantissa if mantissa is not None else _bit_length(u))
        return arr

    def decode(self, data: np.ndarray, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        return data
