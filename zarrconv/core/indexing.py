"""Selections to chunk plans.

A selection (ints, slices with steps, Ellipsis, ``None``-free orthogonal integer arrays
and boolean masks, or pointwise coordinate arrays) becomes a plan: for every chunk it
touches, the selection inside the chunk and the place in the output. The work is done
per dimension with numpy, then combined per chunk; never per element in Python.
"""

from __future__ import annotations

import gc
import itertools
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import SelectionError

DimSel = Any  # int | slice | np.ndarray


@dataclass
class DimProjection:
    """How one dimension's selection falls on the chunks of that dimension.

    ``chunk_sels[i]``/``out_sels[i]`` belong to chunk ``chunk_ids[i]``; ``out_sels`` is None
    when an integer drops the dimension; ``complete[i]`` tells whether the whole in-bounds
    extent of the chunk along this dimension is selected, in order.
    """

    chunk_ids: list[int]
    chunk_sels: list[DimSel]
    out_sels: list[DimSel]
    complete: list[bool]
    out_len: int | None  # None when the dimension is dropped


def _norm_int(i: Any, n: int, dim: int) -> int:
    i = int(i)
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise SelectionError(f"index {i} is out of bounds for axis {dim} with size {n}")
    return i


def project_dim(sel: Any, n: int, offsets: np.ndarray, dim: int) -> DimProjection:
    """Project one dimension's selection onto its chunks (``offsets`` = chunk starts + end)."""
    nchunks = len(offsets) - 1
    if isinstance(sel, int | np.integer):
        i = _norm_int(sel, n, dim)
        c = bisect_right(offsets, i) - 1  # bisect: a few us cheaper than searchsorted per scalar
        lo, hi = int(offsets[c]), int(offsets[c + 1])
        return DimProjection([c], [i - lo], [None], [hi - lo == 1], None)
    if isinstance(sel, slice):
        start, stop, step = sel.indices(n)
        if step < 0:
            return project_dim(np.arange(start, stop, step), n, offsets, dim)
        count = len(range(start, stop, step))
        if count == 0:
            return DimProjection([], [], [], [], 0)
        last = start + (count - 1) * step
        c0 = bisect_right(offsets, start) - 1
        c1 = bisect_right(offsets, last) - 1
        ids, csels, osels, comp = [], [], [], []
        for c in range(c0, min(c1, nchunks - 1) + 1):
            lo, hi = int(offsets[c]), int(offsets[c + 1])
            first = start if start >= lo else start + -(-(lo - start) // step) * step
            if first >= hi or first > last:
                continue
            end = min(hi, last + 1)
            k = len(range(first, end, step))
            o = (first - start) // step
            ids.append(c)
            csels.append(slice(first - lo, end - lo, step))
            osels.append(slice(o, o + k))
            comp.append(step == 1 and first == lo and end == hi)
        return DimProjection(ids, csels, osels, comp, count)
    arr = np.asarray(sel)
    if arr.dtype == bool:
        if arr.ndim != 1 or arr.shape[0] != n:
            raise SelectionError(f"boolean mask of shape {arr.shape} does not match axis {dim} of size {n}")
        arr = np.flatnonzero(arr)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise SelectionError(f"unsupported selection {sel!r} for axis {dim}: use ints, slices, 1-D int arrays or masks")
    arr = arr.astype(np.int64)
    arr = np.where(arr < 0, arr + n, arr)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise SelectionError(f"index array has values out of bounds for axis {dim} with size {n}")
    if arr.size == 0:
        return DimProjection([], [], [], [], 0)
    chunk_of = np.searchsorted(offsets, arr, "right") - 1
    order = np.argsort(chunk_of, kind="stable")
    sorted_chunks = chunk_of[order]
    bounds = np.flatnonzero(np.diff(sorted_chunks)) + 1
    ids, csels, osels, comp = [], [], [], []
    monotonic = bool((np.diff(arr) >= 0).all())
    for group in np.split(np.arange(arr.size), bounds):
        pos = order[group]
        c = int(chunk_of[pos[0]])
        lo, hi = int(offsets[c]), int(offsets[c + 1])
        local = arr[pos] - lo
        ids.append(c)
        if monotonic and pos[-1] - pos[0] + 1 == pos.size:
            osels.append(slice(int(pos[0]), int(pos[-1]) + 1))
        else:
            osels.append(pos)
        contiguous = local.size == hi - lo and bool((local == np.arange(hi - lo)).all())
        csels.append(slice(0, hi - lo) if contiguous else local)
        comp.append(contiguous)
    return DimProjection(ids, csels, osels, comp, int(arr.size))


def normalize_selection(selection: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """Expand Ellipsis and pad with full slices so there is one entry per dimension."""
    if not isinstance(selection, tuple):
        selection = (selection,)
    if any(s is None for s in selection):
        raise SelectionError("newaxis (None) is not supported in zarrconv selections")
    n_ellipsis = sum(1 for s in selection if s is Ellipsis)
    if n_ellipsis > 1:
        raise SelectionError("a selection may contain at most one Ellipsis")
    if n_ellipsis:
        i = next(k for k, s in enumerate(selection) if s is Ellipsis)
        fill = len(shape) - (len(selection) - 1)
        selection = selection[:i] + (slice(None),) * max(fill, 0) + selection[i + 1:]
    if len(selection) > len(shape):
        raise SelectionError(f"too many indices ({len(selection)}) for an array of {len(shape)} dimensions")
    return selection + (slice(None),) * (len(shape) - len(selection))


class ChunkTask(NamedTuple):
    """One chunk's part of a read or write.

    A named tuple, so that a plan of thousands of chunks is built at C speed from per-dimension
    tuples (see :func:`orthogonal_plan`).
    """

    coords: tuple[int, ...]
    chunk_sel: tuple[DimSel, ...]
    out_sel: tuple[DimSel, ...]
    complete_dims: tuple[bool, ...]  # per dimension: the chunk's whole extent is selected, in order

    @property
    def complete(self) -> bool:
        """Whether the selection covers the whole chunk, in order (a write need not read it first)."""
        return all(self.complete_dims)


@dataclass(slots=True)
class Plan:
    """All chunk tasks of one selection, with the shape of the selected result."""

    tasks: list[ChunkTask]
    out_shape: tuple[int, ...]
    #: whether a task selects with an index array (numpy's own indexing may then not be outer indexing)
    index_arrays: bool = True


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: for building and running the plan of many chunks, whose
    tuples are not garbage. The collections that tens of thousands of new tuples trigger (full ones
    too, which walk every object of the process) took up to two thirds of building a plan of 10,000
    chunks. Collection resumes after (if it was on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def orthogonal_plan(selection: Any, shape: tuple[int, ...], offsets: list[np.ndarray]) -> Plan:
    """The plan of an orthogonal (outer) selection."""
    sel = normalize_selection(selection, shape)
    projs = [project_dim(s, n, off, d) for d, (s, n, off) in enumerate(zip(sel, shape, offsets))]
    out_shape = tuple(p.out_len for p in projs if p.out_len is not None)
    # one (id, chunk_sel, out_sel, complete) tuple per chunk and dimension; zip(*combo) regroups
    # them into the fields of one task, all in C (~2 us a chunk, against ~30 us for a Python loop)
    dims = [list(zip(p.chunk_ids, p.chunk_sels, p.out_sels, p.complete)) for p in projs]
    if not dims:  # a 0-d array: one chunk
        return Plan([ChunkTask((), (), (), ())], (), False)
    new = tuple.__new__  # ChunkTask._make without its Python-level length check
    with gc_paused():
        tasks = [new(ChunkTask, zip(*combo)) for combo in itertools.product(*dims)]
    if len(out_shape) < len(projs):  # integers dropped dimensions: their out_sel entries are None
        tasks = [t._replace(out_sel=tuple(o for o in t.out_sel if o is not None)) for t in tasks]
    arrays = any(isinstance(s, np.ndarray) for p in projs for s in (*p.chunk_sels, *p.out_sels))
    return Plan(tasks, out_shape, arrays)


def _numpy_is_outer(sel: tuple[DimSel, ...]) -> bool:
    """Whether plain numpy indexing with ``sel`` already means outer indexing.

    True without index arrays, or with one array and no integers: numpy treats integers as
    advanced indices too, and an integer and an array apart (``(0, slice, array)``) would move
    the array's axis to the front.
    """
    n_arrays = sum(isinstance(s, np.ndarray) for s in sel)
    return n_arrays == 0 or (n_arrays == 1 and not any(isinstance(s, int | np.integer) for s in sel))


def ortho_get(arr: np.ndarray, sel: tuple[DimSel, ...]) -> np.ndarray:
    """``arr[sel]`` with outer-indexing semantics for several integer arrays."""
    if _numpy_is_outer(sel):
        return arr[sel]
    ints = tuple(s if isinstance(s, int | np.integer) else slice(None) for s in sel)
    sub = arr[ints]
    rest = [s for s in sel if not isinstance(s, int | np.integer)]
    idx = [np.arange(sub.shape[k])[s] if isinstance(s, slice) else s for k, s in enumerate(rest)]
    return sub[np.ix_(*idx)]


def ortho_set(arr: np.ndarray, sel: tuple[DimSel, ...], value: Any) -> None:
    """``arr[sel] = value`` with outer-indexing semantics for several integer arrays."""
    if _numpy_is_outer(sel):
        arr[sel] = value
        return
    idx = []
    for k, s in enumerate(sel):
        if isinstance(s, int | np.integer):
            idx.append(np.array([s]))
        elif isinstance(s, slice):
            idx.append(np.arange(arr.shape[k])[s])
        else:
            idx.append(s)
    value = np.asarray(value)
    shape = tuple(len(i) for i in idx)
    arr[np.ix_(*idx)] = value.reshape(shape) if value.size == int(np.prod(shape)) else value


def pointwise_plan(selection: Any, shape: tuple[int, ...], offsets: list[np.ndarray]) -> tuple[Plan, tuple[int, ...]]:
    """The plan of a vectorized (pointwise) selection: coordinate arrays broadcast together.

    Returns a plan over a flat output of all points and the broadcast shape to reshape to.
    Slices are allowed only as full slices after the coordinate arrays are applied.
    """
    if not isinstance(selection, tuple):
        selection = (selection,)
    if len(selection) == 1 and np.asarray(selection[0]).dtype == bool and np.asarray(selection[0]).shape == shape:
        selection = tuple(np.nonzero(np.asarray(selection[0])))
    if len(selection) != len(shape) or any(isinstance(s, slice) for s in selection):
        raise SelectionError("vindex needs one integer array (or int) per dimension, or one boolean mask of the array's shape")
    try:
        arrays = np.broadcast_arrays(*[np.asarray(s) for s in selection])
    except ValueError as e:
        raise SelectionError(f"vindex coordinate arrays do not broadcast: {e}") from None
    bshape = arrays[0].shape
    coords = []
    chunk_idx = []
    for d, (a, n, off) in enumerate(zip(arrays, shape, offsets)):
        if a.dtype.kind not in "iu":
            raise SelectionError(f"vindex coordinates for axis {d} must be integers")
        a = a.reshape(-1).astype(np.int64)
        a = np.where(a < 0, a + n, a)
        if a.size and (a.min() < 0 or a.max() >= n):
            raise SelectionError(f"vindex coordinates out of bounds for axis {d} with size {n}")
        coords.append(a)
        chunk_idx.append(np.searchsorted(off, a, "right") - 1)
    npts = coords[0].size if coords else 1
    if not coords:
        return Plan([ChunkTask((), (), (), ())], ()), ()
    grid = tuple(len(o) - 1 for o in offsets)
    flat = np.ravel_multi_index(tuple(chunk_idx), grid) if npts else np.zeros(0, np.int64)
    order = np.argsort(flat, kind="stable")
    bounds = np.flatnonzero(np.diff(flat[order])) + 1
    tasks = []
    for group in np.split(order, bounds) if npts else []:
        c = tuple(int(ci[group[0]]) for ci in chunk_idx)
        local = tuple(coords[d][group] - int(offsets[d][c[d]]) for d in range(len(shape)))
        tasks.append(ChunkTask(c, local, (group,), (False,)))
    return Plan(tasks, (npts,)), bshape


def block_selection(selection: Any, offsets: list[np.ndarray]) -> tuple[slice, ...]:
    """A block selection (chunk indices: ints and step-1 slices per dimension, as zarr-python's
    ``Array.blocks``) as the slices of array elements those chunks cover."""
    shape = tuple(int(o[-1]) for o in offsets)
    sel = normalize_selection(selection, shape)
    out = []
    for d, (s, off) in enumerate(zip(sel, offsets)):
        nblocks = len(off) - 1
        if isinstance(s, int | np.integer):
            i = _norm_int(s, nblocks, d)
            out.append(slice(int(off[i]), int(off[i + 1])))
        elif isinstance(s, slice):
            start, stop, step = s.indices(nblocks)
            if step != 1:
                raise SelectionError(f"block selections take slices with step 1, got step {step} for axis {d}")
            out.append(slice(int(off[start]), int(off[max(stop, start)])))
        else:
            raise SelectionError(f"block selections take ints and slices of chunk indices, got {type(s).__name__} "
                                 f"for axis {d}")
    return tuple(out)
