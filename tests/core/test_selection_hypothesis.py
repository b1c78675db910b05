"""Reads and writes of random selections on random shapes and chunkings, with numpy as the oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zarrconv as zc
from zarrconv.store import MemoryStore


@st.composite
def array_setup(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0, 12)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    sharded = draw(st.booleans()) and ndim <= 2
    return shape, chunks, sharded


def dim_selection(draw, n):
    kind = draw(st.sampled_from(["int", "slice", "array", "mask"] if n else ["slice"]))
    if kind == "int":
        return draw(st.integers(-n, n - 1))
    if kind == "slice":
        start = draw(st.none() | st.integers(-n - 2, n + 2))
        stop = draw(st.none() | st.integers(-n - 2, n + 2))
        step = draw(st.none() | st.integers(1, 4) | st.integers(-3, -1))
        return slice(start, stop, step)
    if kind == "array":
        return np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6)))
    return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))


@st.composite
def setup_and_selection(draw):
    shape, chunks, sharded = draw(array_setup())
    sel = tuple(dim_selection(draw, n) for n in shape)
    return shape, chunks, sharded, sel


def _numpy_outer(x, sel):
    # outer indexing in numpy: apply one dimension at a time
    out = x
    axis = 0
    for s in sel:
        if isinstance(s, int | np.integer):
            out = np.take(out, s, axis=axis)
            continue
        if isinstance(s, np.ndarray):
            idx = np.flatnonzero(s) if s.dtype == bool else s
            out = np.take(out, idx, axis=axis)
        else:
            out = out[(slice(None),) * axis + (s,)]
        axis += 1
    return out


def _make(shape, chunks, sharded, dtype="i4"):
    store = MemoryStore()
    if sharded:
        shards = tuple(c * 2 for c in chunks)
        return zc.create_array(store, shape=shape, dtype=dtype, chunks=chunks, shards=shards, fill_value=-1)
    return zc.create_array(store, shape=shape, dtype=dtype, chunks=chunks, fill_value=-1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup_and_selection())
def test_orthogonal_read_matches_numpy(case):
    shape, chunks, sharded, sel = case
    a = _make(shape, chunks, sharded)
    x = np.arange(int(np.prod(shape)), dtype="i4").reshape(shape)
    a[...] = x
    expected = _numpy_outer(x, sel)
    got = a.oindex[sel]
    np.testing.assert_array_equal(np.asarray(got), expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup_and_selection(), st.integers(0, 2**31 - 1))
def test_orthogonal_write_matches_numpy(case, seed):
    shape, chunks, sharded, sel = case
    # duplicate indices make the written value order-dependent, as in numpy; keep them unique
    sel = tuple(np.unique(s) if isinstance(s, np.ndarray) and s.dtype != bool else s for s in sel)
    sel = tuple(np.where(s < 0, s + n, s) if isinstance(s, np.ndarray) and s.dtype != bool else s for s, n in zip(sel, shape))
    sel = tuple(np.unique(s) if isinstance(s, np.ndarray) and s.dtype != bool else s for s in sel)
    a = _make(shape, chunks, sharded)
    x = np.full(shape, -1, dtype="i4")
    rng = np.random.default_rng(seed)
    target_shape = _numpy_outer(x, sel).shape
    value = rng.integers(0, 1000, target_shape).astype("i4")
    a.oindex[sel] = value
    # apply the same write to the numpy oracle via an index grid
    grids = []
    for s, n in zip(sel, shape):
        if isinstance(s, int | np.integer):
            grids.append(np.array([s % n]))
        elif isinstance(s, np.ndarray):
            grids.append(np.flatnonzero(s) if s.dtype == bool else s)
        else:
            grids.append(np.arange(n)[s])
    x[np.ix_(*grids)] = value.reshape([len(g) for g in grids])
    np.testing.assert_array_equal(a[...], x)


@settings(max_examples=60, deadline=None)
@given(array_setup(), st.integers(0, 2**31 - 1))
def test_pointwise_read_matches_numpy(setup, seed):
    shape, chunks, sharded = setup
    if 0 in shape:
        return
    a = _make(shape, chunks, sharded)
    x = np.arange(int(np.prod(shape)), dtype="i4").reshape(shape)
    a[...] = x
    rng = np.random.default_rng(seed)
    coords = tuple(rng.integers(-n, n, size=7) for n in shape)
    np.testing.assert_array_equal(a.vindex[coords], x[coords])
