"""The ``reshape`` codec (zarr-extensions ``codecs/reshape``): a chunk seen with another shape.

An array -> array codec that keeps C order. Each output dimension is a size, ``-1`` (at most once:
whatever makes the element counts match), or a list of input dimensions whose sizes multiply; those
lists must be strictly increasing over the whole ``shape`` and must line up with the dimensions
around them, so that a reshape never hides a transpose.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import MetadataError
from .base import ChunkSpec, Codec, register_codec


def _check_entry(entry: Any) -> None:
    if isinstance(entry, bool):
        raise MetadataError(f"reshape shape entry {entry!r} must be a size, -1 or a list of input dimensions")
    if isinstance(entry, int):
        if entry < 1 and entry != -1:
            raise MetadataError(f"reshape size {entry} must be positive (or -1)")
        return
    if not isinstance(entry, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in entry):
        raise MetadataError(f"reshape shape entry {entry!r} must be a size, -1 or a list of input dimensions")


def output_shape(spec_shape: tuple[int, ...], shape: list) -> tuple[int, ...]:
    """The shape ``shape`` gives a chunk of ``spec_shape``, checked as the registry requires."""
    flat = [d for e in shape if isinstance(e, list) for d in e]
    if any(b <= a for a, b in zip(flat, flat[1:])) or any(d >= len(spec_shape) for d in flat):
        raise MetadataError(f"reshape input dimensions {flat} must be strictly increasing dimensions of {spec_shape}")
    if sum(1 for e in shape if e == -1) > 1:
        raise MetadataError(f"reshape shape {shape} has more than one -1")
    sizes = [math.prod(spec_shape[d] for d in e) if isinstance(e, list) else e for e in shape]
    total = math.prod(spec_shape)
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if known == 0 or total % known:
            raise MetadataError(f"reshape shape {shape} cannot hold the {total} elements of a {spec_shape} chunk")
        sizes[sizes.index(-1)] = total // known
    if math.prod(sizes) != total:
        raise MetadataError(f"reshape shape {shape} gives {tuple(sizes)}, which does not hold a {spec_shape} chunk")
    for i, e in enumerate(shape):
        if isinstance(e, list) and e and (math.prod(sizes[:i]) != math.prod(spec_shape[:e[0]])
                                          or math.prod(sizes[i + 1:]) != math.prod(spec_shape[e[-1] + 1:])):
            raise MetadataError(f"reshape entry {e} at output dimension {i} does not line up with input {spec_shape}")
    return tuple(sizes)


@register_codec
class ReshapeCodec(Codec):
    """Reshapes chunks (C order kept) to the configured ``shape``."""

    name = "reshape"
    kind = "array_array"

    def __init__(self, shape: Any) -> None:
        if not isinstance(shape, list) or not shape:
            raise MetadataError(f"reshape shape {shape!r} must be a non-empty list")
        for e in shape:
            _check_entry(e)
        self.shape = shape

    def get_config(self) -> dict:
        return {"shape": self.shape}

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        return replace(spec, shape=output_shape(spec.shape, self.shape))

    def encode(self, data: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        return np.ascontiguousarray(data).reshape(output_shape(spec.shape, self.shape))

    def decode(self, data: np.ndarray, spec: ChunkSpec, limit: int | None = None) -> np.ndarray:
        return np.asarray(data).reshape(spec.shape)
