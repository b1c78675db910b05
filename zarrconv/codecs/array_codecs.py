"""Array-to-array and array-to-bytes codecs of the core spec: ``transpose`` and ``bytes``."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import CorruptChunkError, MetadataError
from ..format.low_precision import bits_of, canonical_sub_byte, is_low_precision
from .base import ChunkSpec, Codec, register_codec


@register_codec
class TransposeCodec(Codec):
    """Permutes the axes of a chunk; ``order`` lists the input axis of each output axis."""

    name = "transpose"
    kind = "array_array"

    def __init__(self, order: Any) -> None:
        if order == "C":
            order = None
        if order == "F":
            self.order: tuple[int, ...] | str = "F"
            return
        if not isinstance(order, list | tuple) or sorted(order) != list(range(len(order))):
            raise MetadataError(f"transpose order {order!r} must be a permutation of 0..n-1")
        self.order = tuple(int(i) for i in order)

    def _perm(self, ndim: int) -> tuple[int, ...]:
        return tuple(range(ndim))[::-1] if self.order == "F" else self.order  # type: ignore[return-value]

    def get_config(self) -> dict:
        return {"order": list(self.order) if self.order != "F" else "F"}

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        perm = self._perm(len(spec.shape))
        if len(perm) != len(spec.shape):
            raise MetadataError(f"transpose order {self.order} does not match {len(spec.shape)} dimensions")
        return replace(spec, shape=tuple(spec.shape[i] for i in perm))

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        return data.transpose(self._perm(data.ndim))

    def decode(self, data: np.ndarray, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        return data.transpose(np.argsort(self._perm(data.ndim)))


@register_codec
class BytesCodec(Codec):
    """Fixed-size elements as raw bytes in C order, little or big endian."""

    name = "bytes"
    kind = "array_bytes"

    def __init__(self, endian: str | None = "little") -> None:
        if endian not in ("little", "big", None):
            raise MetadataError(f"bytes codec endian {endian!r} must be 'little' or 'big'")
        self.endian = endian

    def get_config(self) -> dict:
        return {} if self.endian is None else {"endian": self.endian}

    def stored_dtype(self, dtype: np.dtype) -> np.dtype:
        """The dtype of the bytes on disk (for ml_dtypes types: a same-size unsigned integer when
        bytes must be swapped, since those types have no byte-swapped form)."""
        if dtype.itemsize == 1 or (dtype.kind == "V" and dtype.names is None and not is_low_precision(dtype)) \
                or self.endian is None:
            return dtype
        order = "<" if self.endian == "little" else ">"
        if is_low_precision(dtype):
            return dtype if order == NATIVE_ORDER else np.dtype(f"{order}u{dtype.itemsize}")
        return dtype.newbyteorder(order)

    def is_native(self, dtype: np.dtype) -> bool:
        """Whether stored bytes equal the in-memory bytes (no byte swap, no sub-byte masking)."""
        if is_low_precision(dtype):
            return bits_of(dtype) >= 8 and self.stored_dtype(dtype) == dtype
        return self.stored_dtype(dtype).isnative or dtype.itemsize == 1

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> Any:
        if data.dtype.kind == "O":
            raise MetadataError(f"the bytes codec cannot store variable-length data ({spec.data_type.name})")
        target = self.stored_dtype(spec.dtype)
        if target.kind == "u" and is_low_precision(spec.dtype):  # byte-swapped bfloat16
            arr = np.ascontiguousarray(data, dtype=spec.dtype).view(target.newbyteorder("=")).astype(target)
        else:
            arr = np.ascontiguousarray(data, dtype=target)
        return arr.reshape(-1).view(np.uint8)

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        expected = spec.nbytes
        buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
        if buf.size != expected:
            raise CorruptChunkError(
                f"chunk decodes to {buf.size} bytes but a {spec.shape} {spec.data_type.name} chunk has {expected}"
            )
        stored = self.stored_dtype(spec.dtype)
        arr = buf.view(stored).reshape(spec.shape)
        if stored.kind == "u" and is_low_precision(spec.dtype):
            return arr.astype(stored.newbyteorder("=")).view(spec.dtype)
        if not arr.dtype.isnative and arr.dtype.itemsize > 1:
            arr = arr.astype(spec.dtype)
        return canonical_sub_byte(arr)


NATIVE_ENDIAN = sys.byteorder
NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"
