"""Any numcodecs codec as a v3 codec (``numcodecs.<id>``) or a v2 filter/compressor."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import CorruptChunkError, MetadataError, UnknownCodecError
from ..format.dtypes import v3_data_type_for
from .base import DECODE_ERRORS, ChunkSpec, Codec
from .compression import BloscCodec, ZstdCodec, inflate

#: numcodecs ids that transform arrays (possibly changing dtype or shape) rather than bytes.
ARRAY_FILTER_IDS = {"delta", "fixedscaleoffset", "quantize", "bitround", "astype", "packbits", "categorize"}
#: numcodecs ids that turn an array into bytes (they take the place of the ``bytes`` codec).
ARRAY_BYTES_IDS = {"pcodec", "zfpy"}


def numcodecs_kind(codec_id: str) -> str:
    """Where a ``numcodecs.<id>`` codec sits in a v3 chain, as zarr-python places it."""
    if codec_id in ARRAY_FILTER_IDS:
        return "array_array"
    if codec_id in ARRAY_BYTES_IDS:
        return "array_bytes"
    return "bytes_bytes"


def get_numcodec(config: dict, where: str = "") -> Any:
    """Instantiate a numcodecs codec from a v2-style config (``{"id": ..., ...}``)."""
    import numcodecs

    try:
        codec = numcodecs.get_codec(dict(config))
    except (KeyError, ValueError) as e:
        raise UnknownCodecError(
            f"{where}unknown numcodecs codec {config.get('id')!r}: {e}; install the package that provides it"
        ) from None
    except TypeError as e:
        raise MetadataError(f"{where}invalid configuration for codec {config!r}: {e}") from None
    return codec


def _too_big(cid: str, limit: int) -> CorruptChunkError:
    return CorruptChunkError(f"{cid} data expands beyond the {limit} bytes a chunk can hold")


_SIZE_CHECKING: dict[str, Any] = {}


def bounded_decode(codec: Any, data: Any, limit: int | None) -> Any:
    """Decode with a numcodecs compressor, refusing output larger than ``limit`` bytes.

    The known decompressors (zlib, gzip, bz2, lzma, lz4, zstd, blosc) are stopped at
    ``limit + 1`` output bytes or checked against their header before any allocation, so
    a decompression bomb costs at most ``limit`` bytes; other codecs are checked after.
    """
    if limit is None:
        return codec.decode(data)
    cid = getattr(codec, "codec_id", "")
    raw = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    if cid in ("zlib", "gzip"):
        return inflate(raw, limit, 47 if cid == "gzip" else 15, cid)
    if cid in ("bz2", "lzma"):
        if cid == "bz2":
            import bz2

            d2: Any = bz2.BZ2Decompressor()
        else:
            import lzma

            # a hostile header may declare a huge dictionary: cap the decoder's own memory too
            memlimit = None if codec.format == lzma.FORMAT_RAW else 2**28
            d2 = lzma.LZMADecompressor(format=codec.format, memlimit=memlimit, filters=codec.filters)
        out = d2.decompress(raw, max_length=limit + 1)
        if len(out) > limit or not d2.needs_input and not d2.eof:
            raise _too_big(cid, limit)
        if not d2.eof:
            raise CorruptChunkError(f"{cid} data is truncated")
        return out
    if cid == "lz4":
        if len(raw) < 4:
            raise CorruptChunkError(f"lz4 data of {len(raw)} bytes is shorter than its size header")
        size = int.from_bytes(bytes(raw[:4]), "little")
        if size > limit:
            raise _too_big(cid, limit)
        return codec.decode(data, out=np.empty(size, np.uint8))
    if cid in ("zstd", "blosc"):  # zarrconv's own codecs check the declared sizes (decoding needs no configuration)
        decoder = _SIZE_CHECKING.get(cid)
        if decoder is None:
            decoder = _SIZE_CHECKING[cid] = ZstdCodec() if cid == "zstd" else BloscCodec()
        return decoder.decode(data, None, limit)
    out = codec.decode(data)
    if isinstance(out, np.ndarray | bytes | bytearray | memoryview) and len(memoryview(out).cast("B")) > limit:
        raise _too_big(cid, limit)
    return out


class NumcodecsCodec(Codec):
    """Wraps a numcodecs codec; its ``kind`` comes from :func:`numcodecs_kind`.

    Array filters may change the chunk's data type (``astype``, ``encode_dtype``) or shape
    (``packbits``: ``1 + ceil(n / 8)`` bytes); :meth:`resolve` says so, with the fill value
    mapped through the filter, so the codecs after it (sharding's missing inner chunks) see the
    encoded fill value. ``pcodec`` and ``zfpy`` serialize the array themselves.
    """

    name = "numcodecs"
    kind = "bytes_bytes"

    def __init__(self, codec_id: str, config: dict) -> None:
        self.codec_id = codec_id
        self.config = dict(config)
        self.codec = get_numcodec({"id": codec_id, **self.config})
        self.kind = numcodecs_kind(codec_id)  # type: ignore[misc]
        self.name = f"numcodecs.{codec_id}"  # type: ignore[misc]

    @classmethod
    def from_numcodecs_id(cls, codec_id: str, config: dict) -> NumcodecsCodec:
        return cls(codec_id, config)

    def get_config(self) -> dict:
        conf = self.codec.get_config()
        conf.pop("id", None)
        return conf

    def _encoded_dtype(self) -> np.dtype | None:
        if self.codec_id == "astype":
            return np.dtype(self.config["encode_dtype"])
        if self.codec_id == "packbits":
            return np.dtype(np.uint8)
        if self.codec_id in ("delta", "fixedscaleoffset", "categorize") and self.config.get("astype") is not None:
            return np.dtype(self.config["astype"])
        return None

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        if self.kind != "array_array":
            return spec
        dtype = self._encoded_dtype()
        if dtype is None:
            return spec
        if self.codec_id == "packbits":
            n = 1
            for s in spec.shape:
                n *= s
            return replace(spec, shape=(1 + -(-n // 8),), data_type=v3_data_type_for(dtype), fill_value=np.uint8(0))
        try:
            fill = np.asarray(self.codec.encode(np.asarray([spec.fill_value], dtype=spec.dtype))).reshape(-1)[0]
        except (ValueError, TypeError, OverflowError, KeyError) as e:
            raise MetadataError(f"{self.name}: the fill value {spec.fill_value!r} cannot be encoded: {e}") from None
        return replace(spec, data_type=v3_data_type_for(dtype), fill_value=dtype.type(fill))

    def encode(self, data: Any, spec: ChunkSpec) -> Any:
        if self.kind == "array_array":
            out = np.asarray(self.codec.encode(np.ascontiguousarray(data)))
            target = self._encoded_dtype() or spec.dtype
            if out.dtype != target and out.dtype.itemsize == target.itemsize:
                out = out.view(target)  # bitround returns its integer view of the floats
            return out.reshape(data.shape) if out.size == data.size else out
        if self.kind == "array_bytes":
            return self.codec.encode(np.ascontiguousarray(data, dtype=spec.dtype))
        return self.codec.encode(data)

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> Any:
        try:
            out = bounded_decode(self.codec, data, limit if self.kind == "bytes_bytes" else None)
        except CorruptChunkError:
            raise  # already says what is wrong (it is a ValueError too)
        except DECODE_ERRORS as e:
            raise CorruptChunkError(f"{self.name} could not decode the chunk: {e}") from None
        if self.kind == "array_array":
            arr = np.asarray(out)
            if arr.size != int(np.prod(spec.shape)):
                raise CorruptChunkError(f"{self.name} decoded {arr.size} elements, expected {spec.shape}")
            return arr.reshape(spec.shape)
        if self.kind == "array_bytes":
            return self._as_chunk(out, spec)
        if limit is not None and len(memoryview(out).cast("B")) > limit:
            raise CorruptChunkError(f"{self.name} output exceeds the {limit} bytes a chunk can hold")
        return out

    def _as_chunk(self, out: Any, spec: ChunkSpec) -> np.ndarray:
        """The decoded output of an array->bytes codec as a chunk of ``spec`` (checked, not trusted)."""
        arr = out if isinstance(out, np.ndarray) else np.frombuffer(memoryview(out).cast("B"), np.uint8)
        if arr.dtype != spec.dtype:
            if arr.dtype.itemsize * arr.size != spec.nbytes:
                raise CorruptChunkError(f"{self.name} decoded {arr.dtype} data, expected a {spec.shape} {spec.dtype} chunk")
            arr = np.ascontiguousarray(arr).reshape(-1).view(np.uint8).view(spec.dtype)
        if arr.size != int(np.prod(spec.shape)):
            raise CorruptChunkError(f"{self.name} decoded {arr.size} elements, expected {spec.shape}")
        return arr.reshape(spec.shape)
