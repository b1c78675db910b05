"""``Dataset.load_async`` on ``engine="zarrconv"``: the variables' reads overlap instead of queueing.

The store sits on a filesystem that delays every request (``FaultInjectingFileSystem``) and
counts the requests waiting at once; each variable is one chunk, so a synchronous ``load``
never has more than one request out, and ``load_async`` must have many.
"""

from __future__ import annotations

import asyncio

import fsspec
import numpy as np
import pytest
import xarray as xr

import zarrconv as zc
from zarrconv.store.fsspec_store import FsspecStore
from zarrconv.store.wrappers import FaultInjectingFileSystem

N_VARS = 8


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(5)
    return xr.Dataset({f"v{i}": (("x", "y"), rng.standard_normal((6, 5))) for i in range(N_VARS)})


@pytest.fixture(params=[2, 3])
def slow_store(request, tmp_path):
    """(expected dataset, store reading ``tmp_path/s.zarr`` with 50 ms per request, its filesystem)."""
    ds = _dataset()
    zc.to_zarr(ds, tmp_path / "s.zarr", zarr_format=request.param)
    fs = FaultInjectingFileSystem(fsspec.filesystem("file"), delay=0.05)
    return ds, FsspecStore(fs, str(tmp_path / "s.zarr")), fs


def test_load_async_reads_variables_concurrently(slow_store):
    expected, store, fs = slow_store
    ds = xr.open_dataset(store, engine="zarrconv")
    fs.max_in_flight = 0
    loaded = asyncio.run(ds.load_async())
    assert loaded is ds and all(v._in_memory for v in ds.variables.values())
    xr.testing.assert_identical(ds, expected)
    assert fs.max_in_flight >= 4, f"at most {fs.max_in_flight} chunk reads were waiting at once"

    # the control: a synchronous load reads one variable (one chunk) after the other
    sync = xr.open_dataset(store, engine="zarrconv")
    fs.max_in_flight = 0
    sync.load()
    xr.testing.assert_identical(sync, expected)
    assert fs.max_in_flight == 1


def test_load_async_outer_and_vectorized_selections(tmp_path):
    ds = _dataset()
    zc.to_zarr(ds, tmp_path / "s.zarr", encoding={"v0": {"chunks": (2, 2)}})
    opened = xr.open_dataset(tmp_path / "s.zarr", engine="zarrconv")
    outer = opened.v0.isel(x=[0, 3, 5], y=[4, 1])
    vectorized = opened.v0.isel(x=xr.DataArray([0, 3, 5], dims="p"), y=xr.DataArray([4, 1, 0], dims="p"))
    for lazy in (outer, vectorized, opened.v0[1:4, ::2]):
        got = asyncio.run(lazy.load_async())
        np.testing.assert_array_equal(got.values, lazy.compute().values)
