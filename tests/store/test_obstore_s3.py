"""ObstoreStore on a real S3 server (moto on 127.0.0.1): routing by URL and storage_options, the store
contract (byte ranges, parts, listing, deletes), interop with zarr-python's ObjectStore both ways, xarray
round trips through engine="zarrconv", pickling and fork."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.errors import StoreError
from zarrconv.store import FsspecStore, ObstoreStore, make_store

obstore = pytest.importorskip("obstore")
zarr = pytest.importorskip("zarr")
pytest.importorskip("s3fs")


def _native(s3_storage_options: dict, bucket_url: str, prefix: str = "") -> obstore.store.S3Store:
    """The same bucket as an obstore S3Store configured with obstore's own option names."""
    bucket = bucket_url[len("s3://"):]
    return obstore.store.S3Store(bucket, prefix=prefix or None, endpoint=s3_storage_options["endpoint_url"],
                                 access_key_id="testing", secret_access_key="testing", region="us-west-2",
                                 client_options={"allow_http": True})


def _data(shape=(30, 20), dtype="f4") -> np.ndarray:
    return (np.arange(np.prod(shape)) * 0.25).astype(dtype).reshape(shape)


def test_s3_urls_pick_obstore_and_fsspec_stays_available(s3_bucket, s3_storage_options):
    st = make_store(f"{s3_bucket}/a.zarr", mode="w", storage_options=s3_storage_options)
    assert isinstance(st, ObstoreStore) and not st.read_only and st.url == f"{s3_bucket}/a.zarr"
    with zc.config.set(remote_store="fsspec"):
        assert isinstance(make_store(f"{s3_bucket}/a.zarr", storage_options=s3_storage_options), FsspecStore)
    # an s3fs-only option: fsspec serves the URL under "auto", "obstore" refuses clearly
    only_s3fs = {**s3_storage_options, "config_kwargs": {"connect_timeout": 5}}
    assert isinstance(make_store(f"{s3_bucket}/a.zarr", storage_options=only_s3fs), FsspecStore)
    with zc.config.set(remote_store="obstore"), pytest.raises(StoreError, match="config_kwargs"):
        make_store(f"{s3_bucket}/a.zarr", storage_options=only_s3fs)
    with zc.config.set(remote_store="obstore"), pytest.raises(StoreError, match="memory://"):
        make_store("memory://x.zarr")
    with zc.config.set(remote_store="nonsense"), pytest.raises(StoreError, match="remote_store"):
        make_store(f"{s3_bucket}/a.zarr", storage_options=s3_storage_options)
    # obstore's own option names are taken too, and an obstore store instance is a store
    native_opts = {"endpoint": s3_storage_options["endpoint_url"], "access_key_id": "testing",
                   "secret_access_key": "testing", "region": "us-west-2"}
    assert isinstance(make_store(f"{s3_bucket}/a.zarr", storage_options=native_opts), ObstoreStore)
    inst = make_store(_native(s3_storage_options, s3_bucket), mode="r", path="a.zarr")
    assert isinstance(inst, ObstoreStore) and inst.read_only and inst.url == f"{s3_bucket}/a.zarr"


def test_store_contract_on_s3(s3_bucket, s3_storage_options):
    st = make_store(f"{s3_bucket}/k", mode="w", storage_options=s3_storage_options)
    st.set("blob", b"0123456789")
    st.set("parts", [b"ab", memoryview(b"cd"), bytearray(b"ef")])
    assert st.get_many([("blob", (2, 5)), ("blob", (-3, None)), ("blob", (4, None)), ("blob", (0, None)),
                        ("blob", (8, 20)), ("blob", (12, 15)), ("blob", (3, 3)), ("blob", (10, None)),
                        ("nope", None), ("nope", (-2, None)), ("nope", (1, 4)), ("parts", None)]) == [
        b"234", b"789", b"456789", b"0123456789", b"89", b"", b"", b"", None, None, None, b"abcdef"]
    # several ranges of one object in one batch, as a sharded read asks for them
    assert st.get_many([("blob", (0, 2)), ("blob", (4, 6)), ("blob", (8, 10)), ("parts", (1, 3))]) == [
        b"01", b"45", b"89", b"bc"]
    st.set_many({"d/x": b"1", "d/sub/y": b"2", "d/sub/z": b"3", "e": b""})
    assert st.exists("e") and st.get("e") == b""
    assert st.list_dir("") == (["blob", "e", "parts"], ["d"])
    assert st.list_dir("d/") == (["x"], ["sub"])
    assert st.list_dir("missing/") == ([], [])
    assert list(st.list_prefix("d/")) == ["d/sub/y", "d/sub/z", "d/x"]
    st.delete_many(["d/x", "never-there"])
    st.delete_prefix("d/sub/")
    assert list(st.list_prefix("d/")) == [] and st.get("d/x") is None
    ro = st.with_read_only()
    with pytest.raises(zc.ReadOnlyError):
        ro.set("blob", b"x")
    with pytest.raises(zc.errors.InvalidPathError):
        st.get("../escape")


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (10, 10))])
def test_zarrconv_writes_zarr_python_object_store_reads(s3_bucket, s3_storage_options, fmt, shards):
    x = _data()
    url = f"{s3_bucket}/ours.zarr"
    g = zc.create_group(url, zarr_format=fmt, storage_options=s3_storage_options, attributes={"t": 1})
    assert isinstance(g.store, ObstoreStore)
    g.create_array("x", shape=x.shape, chunks=(10, 5), shards=shards, dtype=x.dtype, zarr_format=fmt)[:] = x
    g["x"][4:9, 2:17] = -1.0  # partial chunks and shards: read-modify-write
    x[4:9, 2:17] = -1.0
    theirs = zarr.open_group(zarr.storage.ObjectStore(_native(s3_storage_options, s3_bucket, "ours.zarr"),
                                                      read_only=True), mode="r", zarr_format=fmt)
    assert theirs.attrs["t"] == 1
    np.testing.assert_array_equal(theirs["x"][:], x)


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (10, 10))])
def test_zarr_python_object_store_writes_zarrconv_reads(s3_bucket, s3_storage_options, fmt, shards):
    x = _data(dtype="i2")
    their_store = zarr.storage.ObjectStore(_native(s3_storage_options, s3_bucket, "theirs.zarr"))
    zarr.create_array(their_store, name="x", shape=x.shape, chunks=(10, 5), shards=shards, dtype=x.dtype,
                      zarr_format=fmt, fill_value=0)[:] = x
    a = zc.open_array(f"{s3_bucket}/theirs.zarr", "x", storage_options=s3_storage_options)
    assert isinstance(a.store, ObstoreStore)
    np.testing.assert_array_equal(a[:], x)
    np.testing.assert_array_equal(a[7:29, 11], x[7:29, 11])
    g = zc.open_group(_native(s3_storage_options, s3_bucket), "theirs.zarr", mode="r")  # an obstore instance
    assert list(dict(g.members())) == ["x"]
    np.testing.assert_array_equal(g["x"][3:5], x[3:5])


def test_xarray_round_trip_on_s3(s3_bucket, s3_storage_options):
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset({"t": (("time", "y"), _data((6, 4)), {"units": "K"}),
                     "n": ("time", np.arange(6, dtype="i8"))},
                    coords={"time": np.arange(6), "y": [10.0, 20.0, 30.0, 40.0]}, attrs={"title": "obstore"})
    url = f"{s3_bucket}/x.zarr"
    zc.to_zarr(ds, url, storage_options=s3_storage_options)
    ours = xr.open_dataset(url, engine="zarrconv", storage_options=s3_storage_options)
    xr.testing.assert_identical(ours.load(), ds)
    theirs = xr.open_zarr(zarr.storage.ObjectStore(_native(s3_storage_options, s3_bucket, "x.zarr"),
                                                   read_only=True), consolidated=False)
    xr.testing.assert_identical(theirs.load(), ds)
    ds.to_zarr(zarr.storage.ObjectStore(_native(s3_storage_options, s3_bucket, "x2.zarr")), consolidated=True)
    back = xr.open_dataset(f"{s3_bucket}/x2.zarr", engine="zarrconv", storage_options=s3_storage_options)
    xr.testing.assert_identical(back.load(), ds)


def test_pickled_store_reads_the_same_data(s3_bucket, s3_storage_options):
    x = _data()
    url = f"{s3_bucket}/p.zarr"
    a = zc.create_array(url, shape=x.shape, chunks=(7, 7), dtype=x.dtype, storage_options=s3_storage_options)
    a[:] = x
    copy = pickle.loads(pickle.dumps(zc.open_array(url, storage_options=s3_storage_options)))
    assert isinstance(copy.store, ObstoreStore) and copy.read_only
    np.testing.assert_array_equal(copy[:], x)


@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")
def test_after_fork_requests_go_through_fsspec(s3_bucket, s3_storage_options, sum_in_forked_child):
    """obstore's runtime does not survive fork; a store opened from a URL carries on through fsspec."""
    x = _data((20, 20))
    url = f"{s3_bucket}/fork.zarr"
    arr = zc.create_array(url, shape=x.shape, chunks=(5, 5), dtype=x.dtype, storage_options=s3_storage_options)
    arr[:] = x
    assert isinstance(arr.store, ObstoreStore)
    assert sum_in_forked_child(arr) == float(x.sum())


def _read_in_child(arr, q) -> None:
    try:
        q.put(float(arr[:].sum()))
    except StoreError as e:
        q.put(str(e))


@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")
def test_after_fork_a_bare_obstore_store_says_why_it_cannot_read(s3_bucket, s3_storage_options):
    import multiprocessing

    x = _data((10, 10))
    arr = zc.create_array(_native(s3_storage_options, s3_bucket), "b.zarr", shape=x.shape, chunks=(5, 5),
                          dtype=x.dtype)
    arr[:] = x  # obstore has run in this process
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_read_in_child, args=(arr, q))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert "forked after obstore ran" in q.get(timeout=5)


def test_clients_are_reused_per_url_and_options(s3_bucket, s3_storage_options):
    url = f"{s3_bucket}/cached.zarr"
    first = make_store(url, mode="w", storage_options=s3_storage_options)
    again = make_store(url, mode="r", storage_options=dict(s3_storage_options))  # equal options, new dict
    assert again.store is first.store and again.read_only and not first.read_only
    other_options = {**s3_storage_options, "client_kwargs": {"region_name": "eu-west-1"}}
    assert make_store(url, storage_options=other_options).store is not first.store
    assert make_store(f"{s3_bucket}/elsewhere.zarr", storage_options=s3_storage_options).store is not first.store
    # the shared client serves both stores: what one writes, the other reads
    zc.create_array(first, shape=(4,), chunks=(2,), dtype="i2")[:] = [1, 2, 3, 4]
    assert zc.open_array(again)[:].tolist() == [1, 2, 3, 4]
