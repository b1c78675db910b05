"""Any numcodecs codec as a v3 codec (``numcodecs.<id>``) or a v2 filter/compressor."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CorruptChunkError, MetadataError, UnknownCodecError
from .base import ChunkSpec, Codec

#: numcodecs ids that transform arrays (possibly changing dtype) rather than bytes.
ARRAY_FILTER_IDS = {"delta", "fixedscaleoffset", "quantize", "bitround", "astype", "packbits", "categorize"}


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


class NumcodecsCodec(Codec):
    """Wraps a numcodecs codec; array filters are ``array_array``, compressors ``bytes_bytes``."""

    name = "numcodecs"
    kind = "bytes_bytes"

    def __init__(self, codec_id: str, config: dict) -> None:
        self.codec_id = codec_id
        self.config = dict(config)
        self.codec = get_numcodec({"id": codec_id, **self.config})
        self.kind = "array_array" if codec_id in ARRAY_FILTER_IDS else "bytes_bytes"  # type: ignore[misc]
        self.name = f"numcodecs.{codec_id}"  # type: ignore[misc]

    @classmethod
    def from_numcodecs_id(cls, codec_id: str, config: dict) -> NumcodecsCodec:
        return cls(codec_id, config)

    def get_config(self) -> dict:
        conf = self.codec.get_config()
        conf.pop("id", None)
        return conf

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        if self.kind != "array_array":
            return spec
        astype = self.config.get("astype")
        if astype is None or self.codec_id in ("bitround", "quantize"):
            return spec
        from dataclasses import replace

        from ..format.dtypes import v3_data_type_for

        return replace(spec, data_type=v3_data_type_for(np.dtype(astype)))

    def encode(self, data: Any, spec: ChunkSpec) -> Any:
        if self.kind == "array_array":
            out = self.codec.encode(np.ascontiguousarray(data))
            return np.asarray(out).reshape(data.shape) if np.asarray(out).size == data.size else out
        return self.codec.encode(data)

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> Any:
        try:
            out = self.codec.decode(data)
        except Exception as e:
            raise CorruptChunkError(f"{self.name} could not decode the chunk: {e}") from None
        if self.kind == "array_array":
            arr = np.asarray(out)
            if arr.size != int(np.prod(spec.shape)):
                raise CorruptChunkError(f"{self.name} decoded {arr.size} elements, expected {spec.shape}")
            return arr.reshape(spec.shape)
        if limit is not None and len(memoryview(out).cast("B")) > limit:
            raise CorruptChunkError(f"{self.name} output exceeds the {limit} bytes a chunk can hold")
        return out
