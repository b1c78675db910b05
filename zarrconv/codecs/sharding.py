"""The ``sharding_indexed`` codec: many inner chunks stored in one object with an index.

Besides whole-shard ``encode``/``decode`` (used when a shard sits inside another chain),
it exposes the pieces the core needs for partial I/O: the index byte range, index
decoding, the inner pipeline and shard assembly from already-encoded inner chunks.
"""

from __future__ import annotations

import itertools
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import CorruptChunkError, MetadataError
from ..format.dtypes import core_type
from ..format.fill import full_chunk, is_fill
from .base import ChunkSpec, Codec, register_codec
from .pipeline import CodecPipeline
from .registry import codec_from_json

EMPTY = np.uint64(2**64 - 1)
_DEFAULT_INDEX_CODECS = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]


@register_codec
class ShardingCodec(Codec):
    """Stores a shard as inner chunks plus an index of ``(offset, nbytes)`` per inner chunk."""

    name = "sharding_indexed"
    kind = "array_bytes"
    shards = True

    def __init__(self, chunk_shape: list[int], codecs: list | None = None,
                 index_codecs: list | None = None, index_location: str = "end") -> None:
        if not isinstance(chunk_shape, list | tuple) or not all(isinstance(c, int) and c > 0 for c in chunk_shape):
            raise MetadataError(f"sharding chunk_shape {chunk_shape!r} must be positive integers")
        if index_location not in ("start", "end"):
            raise MetadataError(f"sharding index_location {index_location!r} must be 'start' or 'end'")
        self.chunk_shape = tuple(int(c) for c in chunk_shape)
        self.codecs = [c if isinstance(c, dict) else {"name": c} for c in (codecs or [{"name": "bytes", "configuration": {"endian": "little"}}])]
        self.index_codecs = [c if isinstance(c, dict) else {"name": c} for c in (index_codecs or _DEFAULT_INDEX_CODECS)]
        self.index_location = index_location
        self._inner = [codec_from_json(c) for c in self.codecs]
        self._index = [codec_from_json(c) for c in self.index_codecs]

    def get_config(self) -> dict:
        return {
            "chunk_shape": list(self.chunk_shape),
            "codecs": self.codecs,
            "index_codecs": self.index_codecs,
            "index_location": self.index_location,
        }

    # -- geometry ---------------------------------------------------------------------------
    def chunks_per_shard(self, shard_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shard_shape) != len(self.chunk_shape) or any(s % c for s, c in zip(shard_shape, self.chunk_shape)):
            raise MetadataError(
                f"shard shape {shard_shape} must be a multiple of the inner chunk shape {self.chunk_shape}"
            )
        return tuple(s // c for s, c in zip(shard_shape, self.chunk_shape))

    def inner_pipeline(self, spec: ChunkSpec):
        """The pipeline of inner chunks of an array of ``spec`` (data type, fill value)."""
        return CodecPipeline(self._inner, ChunkSpec(self.chunk_shape, spec.data_type, spec.fill_value))

    def _index_pipeline(self, cps: tuple[int, ...]):
        return CodecPipeline(self._index, ChunkSpec((*cps, 2), core_type("uint64"), np.uint64(0)))

    @cached_property
    def _index_sizes(self) -> dict:
        return {}

    def index_size(self, cps: tuple[int, ...]) -> int:
        """Encoded size of the index of a shard with ``cps`` inner chunks per dimension."""
        size = self._index_sizes.get(cps)
        if size is None:
            dummy = np.zeros((*cps, 2), np.uint64)
            size = len(memoryview(self._index_pipeline(cps).encode(dummy)).cast("B"))
            self._index_sizes[cps] = size
        return size

    def index_range(self, cps: tuple[int, ...]) -> tuple[int, int | None]:
        """The byte range of the index inside a shard object."""
        n = self.index_size(cps)
        return (0, n) if self.index_location == "start" else (-n, None)

    def decode_index(self, raw: Any, cps: tuple[int, ...], shard_len: int | None = None) -> np.ndarray:
        """Decode an index to an ``(*cps, 2)`` uint64 array, checking it points inside the shard."""
        if raw is None or len(memoryview(raw).cast("B")) != self.index_size(cps):
            got = None if raw is None else len(memoryview(raw).cast("B"))
            raise CorruptChunkError(f"shard index has {got} bytes, expected {self.index_size(cps)}")
        index = np.asarray(self._index_pipeline(cps).decode(raw))
        offsets, nbytes = index[..., 0], index[..., 1]
        empty = (offsets == EMPTY) & (nbytes == EMPTY)
        used = ~empty
        if used.any():
            ends = offsets[used] + nbytes[used]  # wraps around on overflow: caught by ends < offsets
            limit = np.uint64(2**62) if shard_len is None else np.uint64(shard_len)
            if (ends > limit).any() or (ends < offsets[used]).any():
                raise CorruptChunkError(
                    f"shard index points outside the shard (an inner chunk ends at byte {int(ends.max())}"
                    f"{'' if shard_len is None else f' of a {shard_len}-byte shard'})"
                )
        return index

    def encode_index(self, index: np.ndarray) -> bytes:
        return bytes(memoryview(self._index_pipeline(index.shape[:-1]).encode(index)).cast("B"))

    # -- assembly ---------------------------------------------------------------------------
    def assemble(self, cps: tuple[int, ...], parts: dict[tuple[int, ...], Any]) -> list | None:
        """A shard from encoded inner chunks by grid coordinate, as the list of its byte parts in
        order (stores write them without joining); None if it would be empty."""
        if not parts:
            return None
        index = np.full((*cps, 2), EMPTY, dtype=np.uint64)
        isize = self.index_size(cps)
        offset = isize if self.index_location == "start" else 0
        blobs = []
        for coords in sorted(parts):
            b = memoryview(parts[coords]).cast("B")
            index[coords] = (offset, len(b))
            blobs.append(b)
            offset += len(b)
        idx = self.encode_index(index)
        return [idx, *blobs] if self.index_location == "start" else [*blobs, idx]

    def split(self, raw: Any, cps: tuple[int, ...]) -> dict[tuple[int, ...], memoryview]:
        """The encoded inner chunks of a whole shard object, by grid coordinate."""
        view = memoryview(raw).cast("B")
        isize = self.index_size(cps)
        if len(view) < isize:
            raise CorruptChunkError(f"shard of {len(view)} bytes is shorter than its index ({isize} bytes)")
        idx_bytes = view[:isize] if self.index_location == "start" else view[len(view) - isize:]
        index = self.decode_index(idx_bytes, cps, len(view))
        out = {}
        for coords in itertools.product(*map(range, cps)):
            off, n = index[coords]
            if off == EMPTY and n == EMPTY:
                continue
            out[coords] = view[int(off):int(off) + int(n)]
        return out

    # -- whole-shard codec API --------------------------------------------------------------
    def encode(self, data: np.ndarray, spec: ChunkSpec) -> Any:
        cps = self.chunks_per_shard(spec.shape)
        inner = self.inner_pipeline(spec)
        parts = {}
        for coords in itertools.product(*map(range, cps)):
            sel = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, self.chunk_shape))
            chunk = data[sel]
            if is_fill(chunk, spec.fill_value):
                continue
            parts[coords] = inner.encode(chunk)
        out = self.assemble(cps, parts)
        if out is None:  # all empty: still a valid shard of sentinels (nested use)
            return self.encode_index(np.full((*cps, 2), EMPTY, dtype=np.uint64))
        return b"".join(out)

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        cps = self.chunks_per_shard(spec.shape)
        inner = self.inner_pipeline(spec)
        out = full_chunk(spec.shape, spec.dtype, spec.fill_value)
        for coords, blob in self.split(data, cps).items():
            sel = tuple(slice(i * c, (i + 1) * c) for i, c in zip(coords, self.chunk_shape))
            out[sel] = inner.decode(blob)
        return out
