"""The ``zfp`` codec (zarr-extensions ``codecs/zfp``): zfp compression without a zfp header.

An array -> bytes codec through the ``zfpy`` binding (an optional dependency): C-order chunks of 1 to
4 dimensions map to zfp fields ``[nx]``, ``[ny, nx]``, ``[nz, ny, nx]``, ``[nw, nz, ny, nx]``; a 0-d
chunk is a field of one value. Modes ``reversible``, ``fixed_accuracy``, ``fixed_rate`` and
``fixed_precision`` are supported for ``int32``, ``int64``, ``float32`` and ``float64``; ``expert``
mode is refused because zfpy does not expose it. ``numcodecs.zfpy`` (with a header) is a different
codec and stays with the numcodecs bridge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CorruptChunkError, MetadataError
from .base import ChunkSpec, Codec, register_codec

#: Configuration keys of each mode (besides ``mode``).
MODES = {"reversible": (), "fixed_accuracy": ("tolerance",), "fixed_rate": ("rate",),
         "fixed_precision": ("precision",), "expert": ("minbits", "maxbits", "maxprec", "minexp")}
_TYPES = ("int32", "int64", "float32", "float64")


def _zfpy() -> Any:
    try:
        import zfpy
    except ImportError:
        raise MetadataError("the zfp codec needs the optional package zfpy: pip install zfpy") from None
    return zfpy


@register_codec
class ZfpCodec(Codec):
    """zfp-compressed chunks (headerless, as the registry defines them)."""

    name = "zfp"
    kind = "array_bytes"

    def __init__(self, mode: str, **params: Any) -> None:
        if mode not in MODES:
            raise MetadataError(f"zfp mode {mode!r} must be one of {list(MODES)}")
        if set(params) != set(MODES[mode]):
            raise MetadataError(f"zfp mode {mode!r} takes exactly {list(MODES[mode])}, got {sorted(params)}")
        if mode == "expert":
            raise MetadataError("zfp expert mode is not supported: the zfpy binding zarrconv uses has no expert mode")
        for k, v in params.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise MetadataError(f"zfp {k} {v!r} must be a non-negative number")
        self.mode = mode
        self.params = params

    def get_config(self) -> dict:
        return {"mode": self.mode, **self.params}

    def _kwargs(self) -> dict:
        return {"tolerance": self.params.get("tolerance", -1), "rate": self.params.get("rate", -1),
                "precision": self.params.get("precision", -1)}

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        if spec.dtype.name not in _TYPES:
            raise MetadataError(f"zfp supports {list(_TYPES)} in zarrconv, not {spec.data_type.name}")
        if len(spec.shape) > 4:
            raise MetadataError(f"zfp takes chunks of at most 4 dimensions, not {spec.shape}")
        _zfpy()
        return spec

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> bytes:
        arr = np.ascontiguousarray(data, dtype=spec.dtype).reshape(spec.shape or (1,))
        return _zfpy().compress_numpy(arr, write_header=False, **self._kwargs())

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        zfpy = _zfpy()
        shape = spec.shape or (1,)
        out = np.empty(shape, spec.dtype)
        try:
            zfpy._decompress(bytes(memoryview(data).cast("B")), zfpy.dtype_to_ztype(spec.dtype), list(shape),
                             out=out, **self._kwargs())
        except (RuntimeError, ValueError) as e:
            raise CorruptChunkError(f"zfp could not decode the chunk: {e}") from None
        return out.reshape(spec.shape)
