"""Codec pipelines: the chain that turns a chunk into stored bytes and back.

:class:`CodecPipeline` runs a v3 chain (array->array codecs, one array->bytes codec,
bytes->bytes codecs); :class:`V2Pipeline` runs v2 ``filters`` + ``compressor`` + ``order``.
Both offer ``decode_into``, the zero-copy fast path that decompresses straight into the
caller's output buffer when the chain allows it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import CodecError, CorruptChunkError, MetadataError
from ..format.metadata import ArrayMetadata
from .array_codecs import BytesCodec
from .base import DECODE_ERRORS, ChunkSpec, Codec
from .compression import BloscCodec, ZstdCodec, inflate
from .numcodecs_bridge import bounded_decode, get_numcodec
from .registry import codec_from_json

_SCRATCH_MAX = 4 * 2**20
_local = threading.local()


def _scratch(spec: ChunkSpec) -> tuple[np.ndarray, np.ndarray]:
    """A C-contiguous buffer of one chunk and its byte view, kept per thread and reused (never
    shared between threads).

    Only chunks up to ``_SCRATCH_MAX`` bytes are kept, for a few specs per thread; larger ones get
    a fresh buffer each time, so idle threads never hold much memory. Looked up by the spec's
    identity (a spec is kept alive with its buffer, so its id is not reused meanwhile).
    """
    bufs = getattr(_local, "scratch", None)
    if bufs is None:
        bufs = _local.scratch = {}
    entry = bufs.get(id(spec))
    if entry is not None and entry[0] is spec:
        return entry[1]
    buf = np.empty(spec.shape, spec.dtype)
    pair = (buf, buf.reshape(-1).view(np.uint8))
    if spec.nbytes <= _SCRATCH_MAX:
        if len(bufs) >= 4:
            bufs.clear()
        bufs[id(spec)] = (spec, pair)
    return pair


def decode_direct(raw: Any, out: np.ndarray, spec: ChunkSpec, decompressor: ZstdCodec | BloscCodec | None) -> None:
    """Decode a chunk of native fixed-size items, stored raw or under one decompressor, into ``out``.

    A contiguous ``out`` receives the bytes directly. Otherwise they go to a reused, cache-warm
    per-thread buffer and then one strided copy: on 2 cores with 32 KiB chunks that beats a fresh
    buffer per chunk by ~15%.
    """
    n = spec.nbytes
    if decompressor is None:
        view = memoryview(raw).cast("B")
        if view.nbytes != n:
            raise CorruptChunkError(f"chunk has {view.nbytes} bytes, expected {n}")
        out[...] = np.frombuffer(view, spec.dtype).reshape(spec.shape)
    elif out.flags.c_contiguous:
        decompressor.decode_exact(raw, n, out.reshape(-1).view(np.uint8))
    else:
        buf, view = _scratch(spec)
        decompressor.decode_exact(raw, n, view)
        np.copyto(out, buf)


class BatchDecode:
    """Decoding a batch of small chunks of a chain of native fixed-size items, stored raw or under
    zstd, in three steps: :meth:`check` and :meth:`chunk` are Python and run on the thread that
    reads and places the chunks; :meth:`run`, the decompression, is one native call with the GIL
    released, for any thread. So the thread decompressing never waits for the GIL (nor holds it)."""

    def __init__(self, spec: ChunkSpec, codec: ZstdCodec | None) -> None:
        self.spec, self.codec = spec, codec

    @property
    def stored_bound(self) -> int:
        """More bytes than any chunk this decode accepts is stored in (the codec's
        ``encoded_size_bound``, plus one): a value that fills a buffer of this size is not such a chunk."""
        n = self.spec.nbytes
        return (n if self.codec is None else self.codec.encoded_size_bound(n)) + 1

    def check(self, raws: list) -> bool:
        """Whether :meth:`run` can decode these stored chunks (else decode them one by one, which names a bad one)."""
        if self.codec is None:
            return all(memoryview(r).nbytes == self.spec.nbytes for r in raws)
        return self.codec.frames_hold_exactly(raws, self.spec.nbytes)

    def run(self, raws: list) -> Any:
        """The decoded batch (index it with :meth:`chunk`); None if the codec refused a chunk after all."""
        return raws if self.codec is None else self.codec.decompress_many(raws, self.spec.nbytes)

    def chunk(self, decoded: Any, i: int) -> np.ndarray:
        """Chunk ``i`` of a decoded batch, a read-only array of the chunk's shape (no copy)."""
        return np.frombuffer(decoded[i], self.spec.dtype).reshape(self.spec.shape)


def encode_direct(chunk: np.ndarray, spec: ChunkSpec, compress: Callable[[np.ndarray], Any]) -> Any:
    """Compress a chunk of native fixed-size items, handed to ``compress`` C-contiguous in its own
    dtype (v2 blosc takes its shuffle item size from it). A strided chunk (a block of a larger array)
    is first copied into the reused per-thread buffer: a fresh copy per chunk is a fresh
    allocation, ~65 page faults for 256 KiB, ~5 % of the time of a write."""
    if not chunk.flags.c_contiguous:
        buf, _ = _scratch(spec)
        np.copyto(buf, chunk)
        chunk = buf
    return compress(chunk)


def encode_many_direct(chunks: np.ndarray, encode: Callable[[np.ndarray], Any], compressor: Codec | None) -> list:
    """Encode chunks of native fixed-size items stacked along a first axis (C-contiguous): under
    zstd in one native call (:meth:`ZstdCodec.encode_many`), else with ``encode`` one by one."""
    if isinstance(compressor, ZstdCodec) and len(chunks):
        return compressor.encode_many(chunks.reshape(len(chunks), -1).view(np.uint8))
    return [encode(c) for c in chunks]


def _limit_chain(bb: list[Codec], nbytes: int | None) -> list[int | None]:
    """Upper bounds of each bytes->bytes decoder's output, innermost first."""
    limits: list[int | None] = []
    n = nbytes
    for codec in bb:
        limits.append(n)
        n = codec.encoded_size_bound(n)
    return limits


class CodecPipeline:
    """A v3 codec chain bound to one chunk shape."""

    def __init__(self, codecs: list[Codec], spec: ChunkSpec) -> None:
        codecs = [c for c in codecs if c.kind != "ignored"]  # unknown, must_understand: false
        self.codecs = codecs
        self.spec = spec
        aa: list[Codec] = []
        ab: Codec | None = None
        bb: list[Codec] = []
        for c in codecs:
            if c.kind == "array_array":
                if ab is not None:
                    raise MetadataError(f"array->array codec {c.name!r} must come before the array->bytes codec")
                aa.append(c)
            elif c.kind == "array_bytes":
                if ab is not None:
                    raise MetadataError(f"codec chain has two array->bytes codecs ({ab.name!r}, {c.name!r})")
                ab = c
            else:
                if ab is None:
                    raise MetadataError(f"bytes->bytes codec {c.name!r} must come after an array->bytes codec")
                bb.append(c)
        if ab is None:
            raise MetadataError("codec chain has no array->bytes codec (such as 'bytes')")
        self.aa, self.ab, self.bb = aa, ab, bb
        self.aa_specs = []
        s = spec
        for c in aa:
            self.aa_specs.append(s)
            s = c.resolve(s)
        self.ab_spec = s
        ab.resolve(s)  # the array->bytes codec checks the data type and shape it is given (packbits, zfp)
        ab_size = s.nbytes if isinstance(ab, BytesCodec) else None
        self.bb_limits = _limit_chain(bb, ab_size)
        # zero-copy decode: no array->array codecs, native bytes, at most one decompressor
        self.direct = (
            not aa
            and isinstance(ab, BytesCodec)
            and ab.is_native(spec.dtype)
            and spec.data_type.fixed_size
            and len(bb) <= 1
            and (not bb or isinstance(bb[0], ZstdCodec | BloscCodec))
        )
        #: small chunks of this chain decode a batch at a time (raw or zstd), else None
        self.batch_decode = BatchDecode(spec, bb[0] if bb else None) if self.direct and not (
            bb and isinstance(bb[0], BloscCodec)) else None

    @property
    def sharding(self) -> Any:
        """The sharding codec when it is the whole array->bytes step (partial reads possible)."""
        return self.ab if self.ab.shards and not self.aa and not self.bb else None

    def decode(self, raw: Any) -> np.ndarray:
        """Decode stored bytes to a chunk of ``spec.shape``."""
        data = raw
        for codec, limit in zip(reversed(self.bb), reversed(self.bb_limits)):
            data = codec.decode(data, self.ab_spec, limit)
        arr = self.ab.decode(data, self.ab_spec)
        for codec, spec in zip(reversed(self.aa), reversed(self.aa_specs)):
            arr = codec.decode(arr, spec)
        if arr.shape != self.spec.shape:
            raise CorruptChunkError(f"chunk decoded to shape {arr.shape}, expected {self.spec.shape}")
        return arr

    def decode_into(self, raw: Any, out: np.ndarray) -> bool:
        """Decode into ``out`` (the chunk's place: chunk shape, any strides); False if the chain cannot."""
        if not self.direct:
            return False
        decode_direct(raw, out, self.spec, self.bb[0] if self.bb else None)
        return True


    def encode_many(self, chunks: np.ndarray) -> list:
        """Encode chunks stacked along a first axis (C-contiguous, of a ``direct`` chain), the same
        bytes as :meth:`encode` gives each (see :func:`encode_many_direct`)."""
        return encode_many_direct(chunks, self.encode, self.bb[0] if self.bb else None)

    def encode(self, chunk: np.ndarray) -> Any:
        """Encode a chunk of ``spec.shape`` to bytes."""
        if self.direct and self.bb and chunk.dtype == self.spec.dtype:
            codec = self.bb[0]
            return encode_direct(chunk, self.spec, lambda data: codec.encode(data.reshape(-1).view(np.uint8), self.ab_spec))
        data: Any = chunk
        for codec, spec in zip(self.aa, self.aa_specs):
            data = codec.encode(data, spec)
        data = self.ab.encode(data, self.ab_spec)
        for codec in self.bb:
            data = codec.encode(data, self.ab_spec)
        return data


class V2Pipeline:
    """Zarr v2 chunk encoding: memory order, then ``filters``, then ``compressor``."""

    def __init__(self, filters: list[dict] | None, compressor: dict | None, order: str, spec: ChunkSpec) -> None:
        self.spec = spec
        self.order = order
        self.filters = [get_numcodec(f, "filter: ") for f in filters or []]
        self.compressor = get_numcodec(compressor, "compressor: ") if compressor else None
        self.direct = (
            not self.filters and order == "C" and spec.dtype.isnative and spec.dtype.kind not in "OV"
            and (self.compressor is None or self.compressor.codec_id in ("zstd", "blosc"))
        )
        # zstd and blosc decode through zarrconv's own codecs: they check the sizes the header
        # declares before anything is allocated; zstd also encodes through its own (reused contexts)
        cid = self.compressor.codec_id if self.compressor is not None else None
        self._exact: ZstdCodec | BloscCodec | None = None
        self._compress: Callable[[np.ndarray], Any] | None = None
        if cid == "zstd":
            zstd = self._exact = ZstdCodec(int(getattr(self.compressor, "level", 0)),
                                           bool(getattr(self.compressor, "checksum", False)))
            self._compress = lambda data: zstd.encode(data, spec)
        elif cid == "blosc":
            self._exact = BloscCodec()
        if self.compressor is not None and self._compress is None:
            self._compress = self.compressor.encode
        #: small chunks of this chain decode a batch at a time (raw or zstd), else None
        self.batch_decode = BatchDecode(spec, self._exact) if self.direct and cid in (None, "zstd") else None
        self.sharding = None

    def decode(self, raw: Any) -> np.ndarray:
        spec = self.spec
        nbytes = spec.nbytes
        data = raw
        if self.compressor is not None:
            try:
                if nbytes is not None and not self.filters and self.compressor.codec_id in ("zstd", "blosc", "lz4", "zlib", "gzip"):
                    data = self._decode_bounded(data, nbytes)
                else:
                    # filters may change the item size (astype): allow up to 16x the chunk's bytes
                    bound = None if nbytes is None else (nbytes if not self.filters else 16 * nbytes + 1024)
                    data = bounded_decode(self.compressor, data, bound)
            except CodecError:
                raise  # already says what is wrong (CodecError is a ValueError too)
            except DECODE_ERRORS as e:
                raise CorruptChunkError(f"compressor {self.compressor.codec_id!r} could not decode the chunk: {e}") from None
        for f in reversed(self.filters):
            if f.codec_id in ("vlen-utf8", "vlen-bytes", "vlen-array"):
                # the item count heads the buffer and sizes numcodecs' output: check it first
                head = memoryview(data).cast("B")[:4] if not isinstance(data, bytes) else data[:4]
                count = int.from_bytes(bytes(head), "little") if len(head) == 4 else -1
                if count != int(np.prod(spec.shape)):
                    raise CorruptChunkError(
                        f"filter {f.codec_id!r}: chunk declares {count} items, a {spec.shape} chunk has "
                        f"{int(np.prod(spec.shape))}")
            try:
                data = f.decode(data)
            except CodecError:
                raise
            except DECODE_ERRORS as e:
                raise CorruptChunkError(f"filter {f.codec_id!r} could not decode the chunk: {e}") from None
        if spec.dtype.kind == "O":
            arr = np.asarray(data, dtype=object)
            if arr.size != int(np.prod(spec.shape)):
                raise CorruptChunkError(f"chunk holds {arr.size} objects, expected {int(np.prod(spec.shape))}")
            return arr.reshape(spec.shape, order=self.order)
        if isinstance(data, np.ndarray) and data.dtype != np.uint8 and data.dtype.itemsize == spec.dtype.itemsize:
            arr = data.reshape(-1).view(spec.dtype)
        else:
            buf = np.frombuffer(memoryview(data).cast("B"), np.uint8)
            if buf.size != nbytes:
                raise CorruptChunkError(f"chunk decodes to {buf.size} bytes, expected {nbytes}")
            arr = buf.view(spec.dtype)
        if arr.size != int(np.prod(spec.shape)):
            raise CorruptChunkError(f"chunk decodes to {arr.size} elements, expected {spec.shape}")
        return arr.reshape(spec.shape, order=self.order)

    def _decode_bounded(self, data: Any, nbytes: int) -> Any:
        if self._exact is not None:
            return self._exact.decode_exact(data, nbytes)
        cid = self.compressor.codec_id
        if cid in ("zlib", "gzip"):
            res = inflate(data, nbytes, 47 if cid == "gzip" else 15, cid)
            if len(res) != nbytes:
                raise CorruptChunkError(f"chunk decodes to {len(res)} bytes, expected {nbytes}")
            return res
        return self.compressor.decode(data, out=np.empty(nbytes, np.uint8))

    def decode_into(self, raw: Any, out: np.ndarray) -> bool:
        """Decode into ``out`` (the chunk's place: chunk shape, any strides); False if the chain cannot."""
        if not self.direct:
            return False
        decode_direct(raw, out, self.spec, self._exact)
        return True


    def encode_many(self, chunks: np.ndarray) -> list:
        """Encode chunks stacked along a first axis (C-contiguous, of a ``direct`` chain), the same
        bytes as :meth:`encode` gives each (see :func:`encode_many_direct`)."""
        return encode_many_direct(chunks, self.encode, self._exact)

    def encode(self, chunk: np.ndarray) -> Any:
        if self.direct and self._compress is not None and chunk.dtype == self.spec.dtype:
            return encode_direct(chunk, self.spec, self._compress)
        data: Any = np.asfortranarray(chunk) if self.order == "F" else np.ascontiguousarray(chunk)
        if self.order == "F" and data.ndim > 1 and data.dtype.kind != "O":
            data = data.T.reshape(-1)  # bytes in F order
        elif data.dtype.kind == "O" and self.order == "F":
            data = data.reshape(-1, order="F")
        if data.dtype.kind == "O" and not data.flags.writeable:
            data = data.copy()  # numcodecs' vlen codecs need a writable buffer
        for f in self.filters:
            data = f.encode(data)
        if self._compress is not None:
            data = self._compress(data)
        if isinstance(data, np.ndarray) and data.dtype.kind != "O":
            data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)  # e.g. datetimes: no buffer protocol
        return data


def build_pipeline(meta: ArrayMetadata, shape: tuple[int, ...] | None = None) -> CodecPipeline | V2Pipeline:
    """The pipeline of an array's chunks (of ``shape``, default the regular chunk shape)."""
    spec = ChunkSpec(tuple(shape if shape is not None else meta.chunk_shape), meta.data_type, meta.fill_value)
    if meta.zarr_format == 2:
        return V2Pipeline(meta.filters, meta.compressor, meta.order, spec)
    return CodecPipeline([codec_from_json(c) for c in meta.codecs], spec)

