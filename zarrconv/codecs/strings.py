"""Variable-length ``array -> bytes`` codecs of Zarr v3: ``vlen-utf8`` and ``vlen-bytes``.

The encoded chunk is a u32le element count, then for every element in C order a u32le
byte length and the bytes (UTF-8 for strings). This is the numcodecs ``VLenUTF8`` /
``VLenBytes`` format, so zarrconv uses numcodecs' compiled implementation and the stored
bytes are those zarr-python 3 writes. ``None`` elements are stored as empty values.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import CodecError, CorruptChunkError, MetadataError
from .base import ChunkSpec, Codec, register_codec


class _VlenCodec(Codec):
    kind = "array_bytes"
    numcodecs_id: ClassVar[str]
    element: ClassVar[type]

    def __init__(self) -> None:
        import numcodecs

        self._impl = numcodecs.get_codec({"id": self.numcodecs_id})

    @classmethod
    def from_config(cls, config: dict) -> Codec:
        if config:
            raise MetadataError(f"codec {cls.name!r} takes no configuration, got {config!r}")
        return cls()

    def get_config(self) -> dict:
        return {}

    def to_json(self) -> dict:
        # zarr-python 3 writes an empty configuration object; so do we, for identical metadata
        return {"name": self.name, "configuration": {}}

    def _check_type(self, spec: ChunkSpec) -> None:
        if spec.data_type.fixed_size:
            raise MetadataError(
                f"codec {self.name!r} stores variable-length data, not the fixed-size data type "
                f"{spec.data_type.name!r}; use the 'bytes' codec"
            )

    def encode(self, data: Any, spec: ChunkSpec) -> Any:
        self._check_type(spec)
        arr = np.ascontiguousarray(data, dtype=object).reshape(-1)
        if not arr.flags.writeable:  # numcodecs needs a writable buffer
            arr = arr.copy()
        try:
            return self._impl.encode(arr)
        except (TypeError, ValueError) as e:
            raise CodecError(
                f"codec {self.name!r} can only store {self.element.__name__} values (or None): {e}"
            ) from None

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        self._check_type(spec)
        n = 1
        for s in spec.shape:
            n *= s
        buf = memoryview(data).cast("B") if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
        if len(buf) < 4 or int.from_bytes(bytes(buf[:4]), "little") != n:
            raise CorruptChunkError(f"{self.name} chunk does not hold the {n} elements of a {spec.shape} chunk")
        try:
            out = self._impl.decode(buf)
        except (TypeError, ValueError, RuntimeError) as e:
            raise CorruptChunkError(f"{self.name} chunk is corrupt: {e}") from None
        return np.asarray(out, dtype=object).reshape(spec.shape)


@register_codec
class VlenUTF8Codec(_VlenCodec):
    """Variable-length UTF-8 strings (data type ``string``)."""

    name = "vlen-utf8"
    numcodecs_id = "vlen-utf8"
    element = str


@register_codec
class VlenBytesCodec(_VlenCodec):
    """Variable-length byte strings (data type ``variable_length_bytes`` / ``bytes``)."""

    name = "vlen-bytes"
    numcodecs_id = "vlen-bytes"
    element = bytes


__all__ = ["VlenBytesCodec", "VlenUTF8Codec"]
