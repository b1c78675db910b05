"""Writing a pyramid level by level into a Zarr group, for numpy and dask input alike.

numpy input: each level is the previous one downsampled in memory, then assigned.

dask input: level 0 is stored from the input graph (rechunked, only where needed, so that
every stored chunk or shard is written by exactly one task); every further level is read
back from the previous stored level in blocks of ``factor x`` the write grid, downsampled
chunk by chunk and stored, so that each output chunk is produced by exactly one task and
peak memory stays at a few chunks per worker thread.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

import zarrconv as zc

from ..dask_source import DaskSource
from .downsampling import downsample, is_dask_array

__all__ = ["level_grid", "write_levels"]


def level_grid(chunks: tuple[int, ...], shards: tuple[int, ...] | None,
               shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """The chunk and shard shapes of a level of ``shape``: level 0's, clipped to the level
    (a shard stays a whole number of chunks and no larger than the chunks the level needs)."""
    c = tuple(max(1, min(ch, n)) for ch, n in zip(chunks, shape))
    if shards is None:
        return c, None
    s = tuple(min(sh, -(-n // ci) * ci) if n else ci for sh, n, ci in zip(shards, shape, c))
    s = tuple(max(ci, (si // ci) * ci) for si, ci in zip(s, c))
    return c, s


def _align_to_grid(x: Any, grid: tuple[int, ...]) -> Any:
    """Rechunk a dask array (only where needed) so that every block boundary falls on the
    write grid: then each stored chunk or shard is written by exactly one task."""
    new: list[Any] = []
    changed = False
    for cs, g in zip(x.chunks, grid):
        bounds = np.cumsum(cs)[:-1]
        if np.all(bounds % g == 0):
            new.append(cs)
        else:
            changed = True
            new.append(g * max(1, round(cs[0] / g)))
    return x.rechunk(tuple(new)) if changed else x


def _store_dask(x: Any, arr: Any) -> None:
    import dask.array as da

    da.store(x, arr, lock=False, compute=True)


def _reduce_block(
    block_info: Any = None,
    *,
    src: Any,
    factors: tuple[int, ...],
    method: str,
    step: tuple[int, ...],
) -> np.ndarray:
    """One output chunk of the next level, computed from the previous level one storage
    chunk at a time (so a task holds one output chunk and one input chunk, not the
    ``prod(factors)`` input chunks the output chunk stands for)."""
    loc = block_info[None]["array-location"]
    out = np.empty(tuple(b - a for a, b in loc), dtype=src.dtype)
    lo = [a * f for (a, _), f in zip(loc, factors)]
    hi = [min(b * f, n) for (_, b), f, n in zip(loc, factors, src.shape)]
    ranges = [[(s, min(s + st, h)) for s in range(l0, h, st)] for l0, h, st in zip(lo, hi, step)]
    for box in itertools.product(*ranges):
        reduced = downsample(np.asarray(src[tuple(slice(s, e) for s, e in box)]), factors, method)
        start = [(s - l0) // f for (s, _), l0, f in zip(box, lo, factors)]
        out[tuple(slice(o, o + n) for o, n in zip(start, reduced.shape))] = reduced
    return out


def _next_level(prev_arr: Any, arr: Any, grid: tuple[int, ...], factors: tuple[int, ...], method: str,
                token: str) -> Any:
    """Lazy dask array of the next level, one task per chunk (or shard) of ``arr``."""
    import dask.array as da

    if method == "gaussian":  # needs halos: dask's map_overlap over blocks of factor x the grid
        src = da.from_array(DaskSource(prev_arr), chunks=tuple(g * f for g, f in zip(grid, factors)),
                            lock=False, asarray=True, fancy=False, name=f"zarrconv-pyramid-src-{token}")
        return downsample(src, factors, method)
    # read the previous level one (inner) chunk at a time -- sharded arrays serve inner
    # chunks by byte range; a chunk length that is not a multiple of the factor (only
    # possible for user-chosen chunks) is read f chunks at a time
    step = tuple(g if g % f == 0 else g * f for g, f in zip(prev_arr.chunks, factors))
    out_chunks = da.core.normalize_chunks(grid, arr.shape)
    return da.map_blocks(
        _reduce_block, dtype=arr.dtype, chunks=out_chunks, meta=np.empty((0,) * arr.ndim, dtype=arr.dtype),
        name=f"zarrconv-pyramid-level-{token}", src=DaskSource(prev_arr), factors=tuple(factors), method=method,
        step=step,
    )


def write_levels(
    group: zc.Group,
    data: Any,
    *,
    dimension_names: Sequence[str],
    paths: Sequence[str],
    level_shapes: Sequence[tuple[int, ...]],
    level_factors: Sequence[tuple[int, ...]],
    method: str,
    chunks: tuple[int, ...],
    shards: tuple[int, ...] | None,
    compressors: Any,
    fill_value: Any,
    overwrite: bool,
) -> Any:
    """Create one array per level in ``group`` (at ``paths``, of ``level_shapes``, each the
    previous downsampled by ``level_factors`` with ``method``) and fill it from ``data``
    (numpy or dask). Returns the smallest level: numpy for numpy input, else the zarrconv
    Array, so that nothing is read unless needed."""
    zarr_format = group.zarr_format
    dtype = np.dtype(data.dtype)
    extra: dict[str, Any] = {"chunk_key_encoding": {"name": "v2", "separator": "/"}} if zarr_format == 2 else {}
    prev_arr = None
    prev_np: np.ndarray | None = None
    dask_input = is_dask_array(data)
    for i, (path, shape) in enumerate(zip(paths, level_shapes)):
        c, s = level_grid(chunks, shards, shape)
        arr = group.create_array(
            path, shape=shape, dtype=dtype, chunks=c, shards=s, compressors=compressors,
            fill_value=fill_value, dimension_names=list(dimension_names), overwrite=overwrite,
            zarr_format=zarr_format, **extra,
        )
        grid = s or c
        if i == 0:
            if dask_input:
                _store_dask(_align_to_grid(data, grid), arr)
            else:
                prev_np = np.ascontiguousarray(data)
                arr[...] = prev_np
        else:
            f = level_factors[i]
            if dask_input:
                _store_dask(_next_level(prev_arr, arr, grid, f, method, f"{group.store.url}-{group.path}-{path}"), arr)
            else:
                assert prev_np is not None
                prev_np = downsample(prev_np, f, method)
                arr[...] = prev_np
        prev_arr = arr
    return prev_np if prev_np is not None else prev_arr
