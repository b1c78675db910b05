"""The ``packbits`` codec (zarr-extensions ``codecs/packbits``): values packed at their bit width.

An array -> bytes codec. Each component (two for complex types) keeps bits ``first_bit`` to
``last_bit`` of its little-endian representation; the components' bits are laid end to end in C
order, least significant bit first within each byte, and zero-padded to a whole byte. An optional
byte before or after the data counts the padding bits. On decode the bits are shifted back to
``first_bit`` and sign-extended for signed integers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CorruptChunkError, MetadataError
from ..format.low_precision import bits_of, is_integer, is_low_precision
from .base import ChunkSpec, Codec, register_codec

PADDING_ENCODINGS = ("none", "first_byte", "last_byte")


def _components(dtype: np.dtype) -> tuple[int, int]:
    """(bits per component, components per element) of a data type packbits supports."""
    if dtype.kind == "b":
        return 1, 1
    if dtype.kind == "c":
        return dtype.itemsize * 4, 2
    if dtype.kind in "iuf" or is_low_precision(dtype):
        return bits_of(dtype), 1
    raise MetadataError(f"packbits cannot encode data type {dtype}")


def _as_unsigned(data: np.ndarray, bits: int, count: int) -> np.ndarray:
    """The components of ``data`` as unsigned integers of their bit pattern (uint64)."""
    flat = np.ascontiguousarray(data).reshape(-1)
    if bits < 8 or flat.dtype.kind == "b":
        return (flat.view(np.uint8) & np.uint8((1 << bits) - 1)).astype(np.uint64)
    width = bits // 8
    return flat.view(np.dtype(f"u{width}")).astype(np.uint64).reshape(flat.size * count)


@register_codec
class PackBitsCodec(Codec):
    """Packs each value into exactly the bits it needs (1 for bool, 4 for int4, ...)."""

    name = "packbits"
    kind = "array_bytes"

    def __init__(self, padding_encoding: str = "none", first_bit: int | None = None,
                 last_bit: int | None = None) -> None:
        if padding_encoding not in PADDING_ENCODINGS:
            raise MetadataError(f"packbits padding_encoding {padding_encoding!r} must be one of {list(PADDING_ENCODINGS)}")
        for what, v in (("first_bit", first_bit), ("last_bit", last_bit)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise MetadataError(f"packbits {what} {v!r} must be a non-negative integer or null")
        if first_bit is not None and last_bit is not None and last_bit < first_bit:
            raise MetadataError(f"packbits last_bit {last_bit} is less than first_bit {first_bit}")
        self.padding_encoding = padding_encoding
        self.first_bit = first_bit
        self.last_bit = last_bit

    def get_config(self) -> dict:
        conf: dict[str, Any] = {"padding_encoding": self.padding_encoding}
        if self.first_bit is not None:
            conf["first_bit"] = self.first_bit
        if self.last_bit is not None:
            conf["last_bit"] = self.last_bit
        return conf

    def _layout(self, spec: ChunkSpec) -> tuple[int, int, int, int]:
        bits, count = _components(spec.dtype)
        first = self.first_bit or 0
        last = bits - 1 if self.last_bit is None else self.last_bit
        if last >= bits:
            raise MetadataError(f"packbits last_bit {last} is outside the {bits}-bit components of {spec.data_type.name}")
        return bits, count, first, last - first + 1

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        self._layout(spec)  # unsupported types and bit ranges fail when the chain is built
        return spec

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> bytes:
        bits, count, first, width = self._layout(spec)
        comps = (_as_unsigned(np.asarray(data, dtype=spec.dtype), bits, count) >> np.uint64(first))
        bitmatrix = (comps[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)
        packed = np.packbits(bitmatrix.astype(np.uint8).reshape(-1), bitorder="little").tobytes()
        padding = bytes([(-comps.size * width) % 8])
        if self.padding_encoding == "first_byte":
            return padding + packed
        return packed + padding if self.padding_encoding == "last_byte" else packed

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        bits, count, first, width = self._layout(spec)
        n = int(np.prod(spec.shape)) * count
        raw = np.frombuffer(memoryview(data).cast("B"), np.uint8)
        nbytes = -(-n * width // 8)
        extra = 0 if self.padding_encoding == "none" else 1
        if raw.size != nbytes + extra:
            raise CorruptChunkError(f"packbits chunk has {raw.size} bytes, a {spec.shape} chunk packs into {nbytes + extra}")
        if extra:
            pad_at = 0 if self.padding_encoding == "first_byte" else nbytes
            if raw[pad_at] != (-n * width) % 8:
                raise CorruptChunkError(f"packbits padding byte says {raw[pad_at]} bits, expected {(-n * width) % 8}")
            raw = raw[1:] if pad_at == 0 else raw[:nbytes]
        bitvec = np.unpackbits(raw, count=n * width, bitorder="little").reshape(n, width).astype(np.uint64)
        comps = (bitvec << np.arange(width, dtype=np.uint64)).sum(axis=1, dtype=np.uint64) << np.uint64(first)
        if is_integer(spec.dtype) and spec.dtype.name.startswith("int"):
            top = np.uint64(1) << np.uint64(first + width - 1)
            above = np.uint64(((1 << bits) - 1) & ~((1 << (first + width)) - 1))
            comps = np.where(comps & top, comps | above, comps)
        return self._from_unsigned(comps, spec, bits)

    @staticmethod
    def _from_unsigned(comps: np.ndarray, spec: ChunkSpec, bits: int) -> np.ndarray:
        if bits < 8 or spec.dtype.kind == "b":
            return comps.astype(np.uint8).view(spec.dtype).reshape(spec.shape)
        little = comps.astype(np.dtype(f"<u{bits // 8}"))
        return little.view(spec.dtype.newbyteorder("<") if not is_low_precision(spec.dtype) else spec.dtype) \
            .astype(spec.dtype).reshape(spec.shape)
