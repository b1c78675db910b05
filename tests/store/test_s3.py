"""Zarr through a real S3 server (moto on 127.0.0.1) with s3fs: round trips, interop with zarr-python
both ways, concurrency, faults, pickling to dask workers, fork."""

from __future__ import annotations

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import make_store
from zarrconv.store.fsspec_store import FsspecStore
from zarrconv.store.wrappers import FaultInjectingFileSystem

zarr = pytest.importorskip("zarr")
s3fs = pytest.importorskip("s3fs")


def _data(shape=(20, 20), dtype="f4") -> np.ndarray:
    return (np.arange(np.prod(shape)) * 0.5).astype(dtype).reshape(shape)


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (10, 10))])
def test_zarrconv_writes_zarr_python_reads(s3_bucket, s3_storage_options, fmt, shards):
    url = f"{s3_bucket}/w.zarr"
    x = _data()
    g = zc.create_group(url, zarr_format=fmt, storage_options=s3_storage_options, attributes={"title": "t"})
    g.create_array("x", shape=x.shape, chunks=(10, 5), shards=shards, dtype=x.dtype, zarr_format=fmt)[:] = x
    theirs = zarr.open_group(url, mode="r", storage_options=s3_storage_options, zarr_format=fmt)
    assert theirs.attrs["title"] == "t"
    np.testing.assert_array_equal(theirs["x"][:], x)
    ours = zc.open_group(url, mode="r", storage_options=s3_storage_options)
    assert list(dict(ours.members())) == ["x"]
    np.testing.assert_array_equal(ours["x"][2:19, 3:17], x[2:19, 3:17])


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (10, 10))])
def test_zarr_python_writes_zarrconv_reads(s3_bucket, s3_storage_options, fmt, shards):
    url = f"{s3_bucket}/r.zarr"
    x = _data(dtype="i2")
    z = zarr.create_array(url, shape=x.shape, chunks=(10, 5), shards=shards, dtype=x.dtype, zarr_format=fmt,
                          storage_options=s3_storage_options, fill_value=0)
    z[:] = x
    a = zc.open_array(url, storage_options=s3_storage_options)
    np.testing.assert_array_equal(a[:], x)
    np.testing.assert_array_equal(a[7:19, 11], x[7:19, 11])


def test_byte_ranges_on_s3(s3_bucket, s3_storage_options):
    store = make_store(f"{s3_bucket}/k", mode="w", storage_options=s3_storage_options)
    store.set("blob", b"0123456789")
    assert store.get_many([("blob", (2, 5)), ("blob", (-3, None)), ("blob", (4, None)), ("nope", None),
                           ("nope", (-2, None))]) == [b"234", b"789", b"456789", None, None]


def test_one_batch_all_requests_in_flight(s3_bucket, s3_storage_options):
    """Counted, not timed: every chunk request of a read is issued together (up to the bound)."""
    url = f"{s3_bucket}/c.zarr"
    x = _data((40, 40))
    zc.create_array(url, shape=x.shape, chunks=(10, 10), dtype=x.dtype, storage_options=s3_storage_options)[:] = x
    s3 = s3fs.S3FileSystem(**s3_storage_options)
    fs = FaultInjectingFileSystem(s3, delay=0.05)
    with zc.config.set(remote_concurrency=8):
        arr = zc.open_array(FsspecStore(fs, url[len("s3://"):]))
        before = fs.requests
        np.testing.assert_array_equal(arr[:], x)
    assert fs.requests - before == 16
    assert fs.max_in_flight == 8


def test_transient_faults_on_s3_exact_data(s3_bucket, s3_storage_options):
    url = f"{s3_bucket}/f.zarr"
    x = _data((40, 40), "i4")
    s3 = s3fs.S3FileSystem(**s3_storage_options)
    fs = FaultInjectingFileSystem(s3, transient_rate=0.25, seed=3)
    store = FsspecStore(fs, url[len("s3://"):])
    with zc.config.set(retries=10, retry_backoff=0.001):
        a = zc.create_array(store, shape=x.shape, chunks=(8, 8), shards=(16, 16), dtype=x.dtype)
        a[:] = x
        a[3:5, :] = 7  # partial shards: read-modify-write through faults
        got = zc.open_array(store)[:]
    assert fs.injected > 5
    x[3:5, :] = 7
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(zarr.open_array(url, mode="r", storage_options=s3_storage_options)[:], x)


@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")
def test_s3_after_fork(s3_bucket, s3_storage_options, sum_in_forked_child):
    url = f"{s3_bucket}/fork.zarr"
    x = _data((20, 20))
    arr = zc.create_array(url, shape=x.shape, chunks=(5, 5), dtype=x.dtype, storage_options=s3_storage_options)
    arr[:] = x
    assert sum_in_forked_child(arr) == float(x.sum())


def _write_rows(arr, start: int) -> int:
    arr[start:start + 5] = start
    return int(arr[start:start + 5].sum())


@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")
def test_dask_distributed_workers(s3_bucket, s3_storage_options):
    distributed = pytest.importorskip("distributed")
    url = f"{s3_bucket}/dist.zarr"
    x = _data((20, 20))
    zc.create_group(s3_bucket, storage_options=s3_storage_options)
    arr = zc.create_array(url, shape=x.shape, chunks=(5, 5), dtype=x.dtype, storage_options=s3_storage_options)
    group = zc.open_group(s3_bucket, mode="r", storage_options=s3_storage_options)
    import dask

    # forked worker processes start fast (the modules are already imported); arguments still travel pickled
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}), distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        sums = client.gather([client.submit(_write_rows, arr, s) for s in range(0, 20, 5)])
        members = client.submit(lambda g: sorted(dict(g.members())), group).result()
    assert sums == [s * 5 * 20 for s in range(0, 20, 5)]
    assert members == ["dist.zarr"]
    np.testing.assert_array_equal(zc.open_array(url, storage_options=s3_storage_options)[:],
                                  np.repeat(np.arange(0, 20, 5), 5)[:, None] * np.ones((1, 20)))


def test_zip_archive_on_s3_is_readable(s3_bucket, s3_storage_options, tmp_path):
    x = np.arange(50, dtype="f4").reshape(5, 10)
    with zc.store.ZipStore(tmp_path / "d.zip", mode="w") as st:
        zc.create_array(st, "a", shape=x.shape, chunks=(2, 5), dtype=x.dtype)[:] = x
    s3fs.S3FileSystem(**s3_storage_options).put_file(str(tmp_path / "d.zip"), f"{s3_bucket}/d.zip")
    a = zc.open_array(f"{s3_bucket}/d.zip", "a", storage_options=s3_storage_options)
    assert a.read_only
    np.testing.assert_array_equal(a[:], x)
    b = zc.open_array(f"zip://a::{s3_bucket}/d.zip", storage_options={"s3": s3_storage_options})
    np.testing.assert_array_equal(b[:], x)
