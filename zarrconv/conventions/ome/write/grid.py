"""The storage grid of an OME-Zarr pyramid: level 0's chunk and shard shapes (from the
arguments, or defaults a viewer reads well) and the pixel sizes the level planner compares."""

from __future__ import annotations

import math
from typing import Any

from zarrconv.errors import MetadataError

from ...pyramid import is_dask_array
from .._units import to_meters
from ..models import Axis
from .axes import per_axis

__all__ = ["comparable_pixel_sizes", "default_chunks", "resolve_chunks", "resolve_shards"]

#: Target size of a default chunk.
_CHUNK_BYTES = 4 * 2**20


def default_chunks(shape: tuple[int, ...], axes: list[Axis], itemsize: int, data: Any) -> tuple[int, ...]:
    """One plane per chunk, tiled in y and x: a viewer showing one z plane reads only that
    plane's tiles. Tiles are the largest power-of-two square of at most ``_CHUNK_BYTES``
    (1024 x 1024 for 16-bit data, 2 MiB), or the y/x chunks of dask input when those are
    regular and no larger than 4 x that; a plane smaller than a tile is one chunk (below
    1 MiB for small images: a plane per chunk matters more to viewers than the chunk size)."""
    space = [i for i, a in enumerate(axes) if a.type == "space"]
    planes, tiled = space[:-2], space[-2:]  # z is chunked plane by plane
    out = [1] * len(shape)
    dask_chunks = getattr(data, "chunks", None) if is_dask_array(data) else None
    if dask_chunks is not None and all(len(set(dask_chunks[i][:-1])) <= 1 for i in tiled):
        for i in tiled:
            out[i] = min(dask_chunks[i][0], shape[i])
        if math.prod(out) * itemsize <= 4 * _CHUNK_BYTES:
            return tuple(max(c, 1) for c in out)
    side = int(2 ** math.floor(math.log2((_CHUNK_BYTES / max(itemsize, 1)) ** (1 / len(tiled)))))
    for i in tiled:
        out[i] = max(1, min(side, shape[i]))
    for i in planes:
        out[i] = 1
    return tuple(out)


def resolve_chunks(chunks: Any, shape: tuple[int, ...], axes: list[Axis], itemsize: int, data: Any) -> tuple[int, ...]:
    """Level 0's chunk shape: ``chunks`` per axis (a mapping or sequence; None entries take the
    default), an int for the space axes, or None/"auto" for :func:`default_chunks`."""
    names = [a.name for a in axes]
    if chunks is None or chunks == "auto":
        return default_chunks(shape, axes, itemsize, data)
    if isinstance(chunks, int):
        base = default_chunks(shape, axes, itemsize, None)
        return tuple(min(chunks, n) if a.type == "space" else base[i] for i, (a, n) in enumerate(zip(axes, shape)))
    vals = per_axis(chunks, names, "chunks")
    base = default_chunks(shape, axes, itemsize, data)
    return tuple(max(1, min(int(v), n)) if v is not None else base[i] for i, (v, n) in enumerate(zip(vals, shape)))


def resolve_shards(shards: Any, axes: list[Axis], chunks: tuple[int, ...], zarr_format: int) -> tuple[int, ...] | None:
    """Level 0's shard shape (None: not sharded): ``shards`` per axis (None entries take the
    chunk length) or an int for the space axes. Raises MetadataError for Zarr v2, which has
    no shards, and for a shard shape that is not a whole number of chunks along every axis."""
    if shards is None:
        return None
    if zarr_format == 2:
        raise MetadataError("shards need OME-Zarr 0.5 (Zarr v3); OME-Zarr 0.4 is Zarr v2")
    vals = per_axis(shards, [a.name for a in axes], "shards") if not isinstance(shards, int) else [
        shards if a.type == "space" else c for a, c in zip(axes, chunks)]
    shard_shape = tuple(int(v) if v is not None else c for v, c in zip(vals, chunks))
    if any(s % c for s, c in zip(shard_shape, chunks)):
        raise MetadataError(f"shards {shard_shape} must be a multiple of chunks {chunks}")
    return shard_shape


def comparable_pixel_sizes(axes: list[Axis], scale: list[float]) -> list[float] | None:
    """Level-0 pixel sizes in one unit across the space axes (the others keep their
    scale; they are never downsampled), for anisotropy-aware pyramids; None when the
    space units cannot be compared (some missing, or unknown to pint)."""
    space_units = {a.unit for a in axes if a.type == "space"}
    if len(space_units) == 1:
        return list(scale)
    if None in space_units:
        return None
    meters = {u: to_meters(u) for u in space_units if u is not None}
    if any(m is None for m in meters.values()):
        return None
    return [s * meters[a.unit] if a.type == "space" and a.unit is not None else s  # type: ignore[operator]
            for a, s in zip(axes, scale)]
