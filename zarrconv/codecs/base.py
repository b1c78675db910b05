"""The codec interface and registry.

A codec is ``encode/decode/get_config/from_config`` (as in numcodecs), plus a ``kind``
saying where it sits in a v3 chain: ``array_array`` (transpose, filters), ``array_bytes``
(bytes, vlen strings, sharding) or ``bytes_bytes`` (compressors, checksums).
"""

from __future__ import annotations

import lzma
import pickle
import struct
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..errors import MetadataError
from ..format.dtypes import DataType

#: What decoding raises, besides zarrconv's own :class:`~zarrconv.errors.CodecError`, for stored bytes that
#: are not a valid encoding (corrupt, truncated, a wrong size or item count): numcodecs' errors (RuntimeError
#: from zstd, blosc and lz4, ValueError from the vlen codecs, OSError/EOFError from bz2, lzma, pickle), numpy's
#: ValueError for a buffer of the wrong size, zlib's, struct's. A TypeError or AttributeError is a bug in a
#: codec and is not among them: callers catch these and let everything else surface as itself.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    ValueError, RuntimeError, OSError, EOFError, IndexError, OverflowError,
    zlib.error, lzma.LZMAError, struct.error, pickle.UnpicklingError,
)


@dataclass(frozen=True)
class ChunkSpec:
    """What a codec needs to know of the chunk it handles."""

    shape: tuple[int, ...]
    data_type: DataType
    fill_value: Any

    @cached_property  # read once per chunk on the hot path: computed once per spec
    def dtype(self) -> np.dtype:
        return self.data_type.dtype

    @cached_property
    def nbytes(self) -> int | None:
        """Size of the chunk as raw fixed-size elements, None for variable-length types."""
        if not self.data_type.fixed_size:
            return None
        n = self.dtype.itemsize
        for s in self.shape:
            n *= s
        return n


class Codec(ABC):
    """Base class of all codecs."""

    name: ClassVar[str]
    kind: ClassVar[str]
    #: True for the sharding codec: its chunks (shards) hold inner chunks, read and written piecewise
    shards: ClassVar[bool] = False

    @classmethod
    def from_config(cls, config: dict) -> Codec:
        """Build the codec from its ``configuration`` object."""
        try:
            return cls(**config)
        except TypeError as e:
            raise MetadataError(f"codec {cls.name!r}: invalid configuration {config!r}: {e}") from None

    @abstractmethod
    def get_config(self) -> dict:
        """The ``configuration`` object of the codec's metadata document."""

    def to_json(self) -> dict:
        """The codec's metadata document ``{"name": ..., "configuration": ...}``."""
        conf = self.get_config()
        return {"name": self.name, "configuration": conf} if conf else {"name": self.name}

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the encoded chunk (array-array codecs change shape or dtype)."""
        return spec

    def encoded_size_bound(self, n: int | None) -> int | None:
        """An upper bound of the encoded size of ``n`` input bytes (bytes-bytes codecs)."""
        return None if n is None else n + (n >> 3) + 1024

    @abstractmethod
    def encode(self, data: Any, spec: ChunkSpec) -> Any:
        """Encode one chunk."""

    @abstractmethod
    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> Any:
        """Decode one chunk. Bytes-bytes codecs must refuse output longer than ``limit``."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_json() == other.to_json()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class IgnoredCodec(Codec):
    """An unknown codec marked ``must_understand: false``: Zarr 3.1 lets readers skip it, so pipelines
    leave it out (its ``kind`` is ``"ignored"``) and its document is written back unchanged."""

    name = "ignored"
    kind = "ignored"

    def __init__(self, doc: dict) -> None:
        self.doc = doc
        self.name = doc["name"]  # type: ignore[misc]

    def get_config(self) -> dict:
        return dict(self.doc.get("configuration") or {})

    def to_json(self) -> dict:
        return dict(self.doc)

    def encode(self, data: Any, spec: ChunkSpec) -> Any:
        return data

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> Any:
        return data


#: Codec classes by v3 name. Extend with :func:`register_codec`.
CODECS: dict[str, type[Codec]] = {}


def register_codec(cls: type[Codec]) -> type[Codec]:
    """Class decorator adding a codec to the registry under its ``name``."""
    CODECS[cls.name] = cls
    return cls
