"""Distributed writes: a dask.distributed cluster of worker processes, and independent processes
writing their own regions of one store."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from xr_data import open_zarr_quiet

import zarrconv as zc

distributed = pytest.importorskip("distributed")


def _pattern(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
    """Values from the global index (compressible, so the store stays small on disk)."""
    info = block_info[None]
    (t0, _), (y0, _), (x0, _) = info["array-location"]
    t, y, x = np.ogrid[t0:t0 + block.shape[0], y0:y0 + block.shape[1], x0:x0 + block.shape[2]]
    return ((t * 7 + y * 3 + x) % 251).astype("f8") + np.zeros(block.shape)


def expected_array(shape: tuple[int, int, int], chunks: tuple[int, int, int]) -> da.Array:
    return da.zeros(shape, chunks=chunks, dtype="f8").map_blocks(_pattern, dtype="f8")


@pytest.mark.slow
def test_local_cluster_writes_dataset_larger_than_worker_memory(tmp_path):
    memory_limit = 200 * 2**20
    shape, chunks = (56, 512, 1024), (2, 512, 1024)  # 224 MiB of float64 in 8 MiB chunks
    data = expected_array(shape, chunks)
    ds = xr.Dataset({"v": (("t", "y", "x"), data)}, coords={"t": np.arange(shape[0])})
    assert ds.nbytes > memory_limit
    path = tmp_path / "big.zarr"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        zc.to_zarr(ds, path)
    arr = zc.open_array(path, "v")
    assert arr.chunks == chunks and arr.nchunks_initialized == 28
    out = xr.open_dataset(path, engine="zarrconv", chunks={})
    assert out["v"].chunks == data.chunks
    assert bool((out["v"].data == data).all().compute(scheduler="threads"))
    # zarr-python reads the same values (spot check a few chunks)
    peer = open_zarr_quiet(path)
    np.testing.assert_array_equal(peer["v"][50:53].values, data[50:53].compute())


_REGION_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import xarray as xr
    import zarrconv as zc

    start, stop = int(sys.argv[1]), int(sys.argv[2])
    t = np.arange(start, stop)[:, None]
    x = np.arange(6)[None, :]
    part = xr.Dataset({"v": (("t", "x"), (t * 100 + x).astype("f4")),
                       "name": (("t",), np.array([f"row{i}" for i in range(start, stop)], dtype=object))})
    for path in sys.argv[3:]:
        zc.to_zarr(part, path, region={"t": slice(start, stop)}, mode="r+")
    """
)


def test_independent_processes_write_their_own_regions(tmp_path):
    nt = 8
    template = xr.Dataset(
        {"v": (("t", "x"), da.zeros((nt, 6), chunks=(4, 6), dtype="f4")),
         "name": (("t",), np.full(nt, "", dtype=object))},
        coords={"t": np.arange(nt) * 10, "x": np.arange(6)},
    )
    paths = [tmp_path / "v3.zarr", tmp_path / "v2.zarr"]
    for path, zf in zip(paths, (3, 2)):
        delayed = zc.to_zarr(template, path, compute=False, zarr_format=zf)
        assert delayed is not None  # not computed: the data come from the processes below
    procs = [
        subprocess.Popen([sys.executable, "-c", _REGION_WRITER, str(a), str(a + 4), *map(str, paths)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for a in range(0, nt, 4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    t = np.arange(nt)[:, None]
    want_v = (t * 100 + np.arange(6)[None, :]).astype("f4")
    want_names = [f"row{i}" for i in range(nt)]
    for path in paths:
        ours = xr.open_dataset(path, engine="zarrconv")
        np.testing.assert_array_equal(ours["v"].values, want_v)
        assert list(ours["name"].values) == want_names
        np.testing.assert_array_equal(ours["t"].values, np.arange(nt) * 10)
        xr.testing.assert_identical(ours, open_zarr_quiet(path, chunks=None))
