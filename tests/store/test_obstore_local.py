"""ObstoreStore over obstore's LocalStore and MemoryStore: the store contract, zarr-python's ObjectStore on the
same directory both ways, xarray round trips through engine="zarrconv", pickling and threads."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import ObstoreStore, make_store

obstore = pytest.importorskip("obstore")
zarr = pytest.importorskip("zarr")


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> ObstoreStore:
    if request.param == "local":
        return ObstoreStore(obstore.store.LocalStore(tmp_path / "root", mkdir=True))
    return ObstoreStore(obstore.store.MemoryStore())


def test_contract(store):
    assert store.get("k") is None and not store.exists("k")
    store.set("k", b"0123456789")
    store.set("d/parts", [b"ab", memoryview(np.array([1, 2], dtype="u1")), bytearray(b"ef")])
    assert store.get_many([("k", None), ("k", (2, 5)), ("k", (-3, None)), ("k", (7, None)), ("k", (8, 30)),
                           ("k", (5, 5)), ("nope", None), ("nope", (0, 4)), ("d/parts", (1, 4))]) == [
        b"0123456789", b"234", b"789", b"789", b"89", b"", None, None, b"b\x01\x02"]
    store.set_many({"d/sub/x": b"1", "e": b""})
    assert store.get("e") == b""
    assert store.list_dir("") == (["e", "k"], ["d"])
    assert store.list_dir("d/") == (["parts"], ["sub"])
    assert store.list_dir("none/") == ([], [])
    assert list(store.list_prefix("d/")) == ["d/parts", "d/sub/x"]
    store.delete_many(["k", "never-there"])
    store.delete_prefix("d/")
    assert sorted(store.list_prefix("")) == ["e"]
    with store.lock("k"), store.lock_many(["a", "b"]):
        pass
    with pytest.raises(zc.ReadOnlyError):
        store.with_read_only().delete("e")


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (8, 8))])
def test_arrays_round_trip(store, fmt, shards):
    x = np.arange(24 * 24, dtype="i4").reshape(24, 24)
    a = zc.create_array(store, shape=x.shape, chunks=(4, 4), shards=shards, dtype=x.dtype, zarr_format=fmt)
    a[:] = x
    a[1:3, 5:19] = 0
    x[1:3, 5:19] = 0
    np.testing.assert_array_equal(zc.open_array(store)[:], x)
    np.testing.assert_array_equal(zc.open_array(store)[5:21, 3], x[5:21, 3])


def test_pickles_and_serves_threads(tmp_path):
    store = ObstoreStore(obstore.store.LocalStore(tmp_path, mkdir=True), "data")
    x = np.arange(100, dtype="f8").reshape(10, 10)
    zc.create_array(store, shape=x.shape, chunks=(2, 2), dtype=x.dtype)[:] = x
    copy = pickle.loads(pickle.dumps(store))
    assert copy.url == store.url and copy._locks[0] is not store._locks[0]  # fresh locks
    arr = zc.open_array(copy)
    with ThreadPoolExecutor(4) as pool:
        sums = list(pool.map(lambda i: float(arr[i].sum()), range(10)))
    assert sums == [float(x[i].sum()) for i in range(10)]
    assert (tmp_path / "data" / "c" / "0" / "0").is_file()  # written where zarr-python expects it


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_python_object_store_interop(tmp_path, fmt):
    x = np.linspace(0, 1, 300, dtype="f4").reshape(15, 20)
    theirs = zarr.storage.ObjectStore(obstore.store.LocalStore(tmp_path / "theirs", mkdir=True))
    zarr.create_array(theirs, shape=x.shape, chunks=(4, 6), dtype=x.dtype, zarr_format=fmt, fill_value=0)[:] = x
    a = zc.open_array(obstore.store.LocalStore(tmp_path / "theirs"))  # an obstore store is accepted as is
    assert isinstance(a.store, ObstoreStore)
    np.testing.assert_array_equal(a[:], x)
    ours = make_store(obstore.store.LocalStore(tmp_path / "ours", mkdir=True), mode="w")
    zc.create_array(ours, shape=x.shape, chunks=(4, 6), dtype=x.dtype, zarr_format=fmt)[:] = x
    back = zarr.open_array(zarr.storage.ObjectStore(obstore.store.LocalStore(tmp_path / "ours"), read_only=True),
                           mode="r")
    np.testing.assert_array_equal(back[:], x)


def test_xarray_round_trip_on_local_obstore(tmp_path):
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset({"v": (("x", "y"), np.arange(12.0).reshape(3, 4), {"long_name": "v"})},
                    coords={"x": [1, 2, 3]}, attrs={"source": "obstore"})
    root = obstore.store.LocalStore(tmp_path, mkdir=True)
    zc.to_zarr(ds, ObstoreStore(root, "ours.zarr"))
    xr.testing.assert_identical(xr.open_dataset(ObstoreStore(root, "ours.zarr"), engine="zarrconv").load(), ds)
    xr.testing.assert_identical(xr.open_zarr(str(tmp_path / "ours.zarr"), consolidated=None).load(), ds)
    ds.to_zarr(zarr.storage.ObjectStore(obstore.store.LocalStore(tmp_path / "theirs.zarr", mkdir=True)))
    got = xr.open_dataset(ObstoreStore(root, "theirs.zarr"), engine="zarrconv")
    xr.testing.assert_identical(got.load(), ds)
