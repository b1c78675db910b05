"""zarr-python 3 stores passed to zarrconv wherever a store goes: LocalStore, MemoryStore,
FsspecStore (on the moto S3 server), ObjectStore (obstore); zarr-python reads back what
zarrconv wrote through them and the other way round; batches reach the store concurrently."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc
from zarrconv.store import make_store
from zarrconv.store.zarr_python import ZarrPythonStore

zarr = pytest.importorskip("zarr")


def _local(tmp_path, request):
    return zarr.storage.LocalStore(tmp_path / "local.zarr")


def _memory(tmp_path, request):
    return zarr.storage.MemoryStore()


def _object_store(tmp_path, request):
    obstore = pytest.importorskip("obstore")
    (tmp_path / "obj").mkdir()
    return zarr.storage.ObjectStore(obstore.store.LocalStore(str(tmp_path / "obj")))


STORES = {"LocalStore": _local, "MemoryStore": _memory, "ObjectStore": _object_store}


@pytest.fixture(params=list(STORES))
def zarr_store(request, tmp_path):
    return STORES[request.param](tmp_path, request)


def test_zarrconv_writes_zarr_python_reads(zarr_store):
    x = np.arange(120, dtype="i4").reshape(10, 12)
    g = zc.create_group(zarr_store, attributes={"title": "t"})
    g.create_array("plain", shape=x.shape, chunks=(3, 5), dtype=x.dtype)[...] = x
    zc.create_array(zarr_store, "sub/sharded", shape=x.shape, chunks=(2, 3), shards=(4, 6), dtype=x.dtype)[...] = x
    theirs = zarr.open_group(zarr_store, mode="r")
    assert theirs.attrs["title"] == "t"
    np.testing.assert_array_equal(theirs["plain"][...], x)
    np.testing.assert_array_equal(theirs["sub/sharded"][...], x)
    ours = zc.open_group(zarr_store, mode="r")
    assert isinstance(ours.store, ZarrPythonStore) and ours.store.read_only
    assert [n for n, _ in ours.members(max_depth=None)] == ["plain", "sub", "sub/sharded"]
    np.testing.assert_array_equal(zc.open(zarr_store, "sub/sharded")[1:9, 2:11], x[1:9, 2:11])
    with pytest.raises(zc.ReadOnlyError):
        ours["plain"][0, 0] = 1


def test_zarr_python_writes_zarrconv_reads(zarr_store):
    x = np.linspace(0, 1, 96, dtype="f8").reshape(8, 12)
    root = zarr.open_group(zarr_store, mode="w")
    root.create_array("v2ish", shape=x.shape, chunks=(3, 4), dtype=x.dtype)[...] = x
    root.create_array("s", shape=x.shape, chunks=(2, 2), shards=(4, 4), dtype=x.dtype)[...] = x
    np.testing.assert_array_equal(zc.open_array(zarr_store, "v2ish")[...], x)
    a = zc.open_array(zarr_store, "s")
    np.testing.assert_array_equal(a.oindex[[0, 7], 1:11], x[[0, 7], 1:11])  # inner chunks by byte range
    assert a.nchunks_initialized == zarr.open_array(zarr_store, path="s", mode="r").nchunks_initialized


def test_xarray_both_ways(zarr_store):
    ds = xr.Dataset({"t": (("y", "x"), np.arange(20.0).reshape(4, 5), {"units": "K"})},
                    coords={"y": [1, 2, 3, 4], "x": np.arange(5)})
    zc.to_zarr(ds, zarr_store, mode="w")
    xr.testing.assert_identical(xr.open_dataset(zarr_store, engine="zarrconv").load(), ds)
    xr.testing.assert_identical(xr.open_dataset(zarr_store, engine="zarr").load(), ds)
    tree = xr.open_datatree(zarr_store, engine="zarrconv")
    xr.testing.assert_identical(tree.to_dataset().load(), ds)


@pytest.mark.slow
def test_fsspec_store_on_s3(s3_bucket, s3_storage_options):
    """zarr-python's FsspecStore on the moto server: written by zarrconv (arrays and xarray), read by both."""
    store = zarr.storage.FsspecStore.from_url(f"{s3_bucket}/f.zarr", storage_options=s3_storage_options)
    x = np.arange(60, dtype="i4").reshape(6, 10)
    zc.create_array(store, "s", shape=x.shape, chunks=(2, 2), shards=(2, 10), dtype=x.dtype)[...] = x
    np.testing.assert_array_equal(zarr.open_array(store, path="s", mode="r")[...], x)
    np.testing.assert_array_equal(zc.open_array(store, "s")[1:5, 3:9], x[1:5, 3:9])
    ds = xr.Dataset({"t": (("y", "x"), x * 0.5)}, coords={"y": np.arange(6)})
    zc.to_zarr(ds, store, group="ds")
    xr.testing.assert_identical(xr.open_dataset(store, engine="zarrconv", group="ds").load(), ds)


class _SlowRecordingStore(zarr.storage.WrapperStore):
    """A zarr-python store that takes 50 ms per read and records the requests and the most in flight."""

    def __init__(self, store):
        super().__init__(store)
        self.in_flight = self.most_in_flight = 0
        self.requests = []

    async def get(self, key, prototype, byte_range=None):
        self.requests.append((key, byte_range))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.05)
            return await self._store.get(key, prototype, byte_range)
        finally:
            self.in_flight -= 1


def test_reads_are_batched_and_concurrent_with_byte_ranges():
    inner = zarr.storage.MemoryStore()
    x = np.arange(64 * 64, dtype="u2").reshape(64, 64)
    zarr.create_array(inner, name="plain", shape=x.shape, chunks=(8, 8), dtype=x.dtype)[...] = x
    zarr.create_array(inner, name="sharded", shape=x.shape, chunks=(8, 8), shards=(32, 32), dtype=x.dtype)[...] = x
    slow = _SlowRecordingStore(inner)
    a = zc.open_array(slow, "plain")
    started = time.perf_counter()
    np.testing.assert_array_equal(a[...], x)  # 64 chunks of 50 ms each
    assert time.perf_counter() - started < 64 * 0.05 / 4
    assert slow.most_in_flight >= 32
    slow.requests.clear()
    s = zc.open_array(slow, "sharded")
    np.testing.assert_array_equal(s[3:5, 40:60], x[3:5, 40:60])
    ranged = [r for _, r in slow.requests if r is not None]
    assert ranged and {type(r).__name__ for r in ranged} <= {"RangeByteRequest", "SuffixByteRequest"}


def test_mode_r_and_store_read_only_flags(tmp_path):
    zarr.create_array(tmp_path / "d.zarr", shape=(4,), dtype="i1", chunks=(2,))[...] = 1
    writable = zarr.storage.LocalStore(tmp_path / "d.zarr")
    assert make_store(writable, mode="r").read_only and not make_store(writable, mode="a").read_only
    assert make_store(zarr.storage.LocalStore(tmp_path / "d.zarr", read_only=True), mode="a").read_only
    with pytest.raises(TypeError, match="storage_options"):
        make_store(writable, storage_options={"anon": True})
    zc.open_array(writable, mode="r+")[0] = 5
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "d.zarr", mode="r")[...], [5, 1, 1, 1])


def test_zarr_python_is_imported_only_when_its_store_is_passed(tmp_path):
    code = ("import sys, numpy as np, zarrconv as zc\n"
            f"zc.create_array({str(tmp_path / 'x.zarr')!r}, shape=(3,), dtype='i1')[...] = 1\n"
            "assert 'zarr' not in sys.modules, sorted(m for m in sys.modules if m.startswith('zarr.'))\n")
    subprocess.run([sys.executable, "-c", code], check=True)
