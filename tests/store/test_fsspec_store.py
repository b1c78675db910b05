"""FsspecStore on in-process filesystems: routing, byte ranges, listing, concurrency, retries, errors,
pickling, fork, running event loops and threads."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from concurrent.futures import ThreadPoolExecutor

import fsspec
import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import make_store
from zarrconv.store.fsspec_store import FsspecStore
from zarrconv.store.retry import is_transient
from zarrconv.store.wrappers import FaultInjectingFileSystem, RecordingStore


@pytest.fixture
def mem_url() -> str:
    url = f"memory://t-{uuid.uuid4().hex[:10]}.zarr"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


def _root(url: str) -> str:
    """The path of a memory:// URL inside the memory filesystem (what FsspecStore takes with a filesystem)."""
    return fsspec.core.url_to_fs(url)[1]


def _data(shape=(40, 30), dtype="i4") -> np.ndarray:
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape)


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (20, 10))])
def test_memory_url_round_trip(mem_url, fmt, shards):
    x = _data()
    a = zc.create_array(mem_url, shape=x.shape, chunks=(10, 5), shards=shards, dtype=x.dtype, zarr_format=fmt)
    a[:] = x
    b = zc.open_array(mem_url)
    assert isinstance(b.store, FsspecStore) and b.read_only
    np.testing.assert_array_equal(b[:], x)
    np.testing.assert_array_equal(b[3:27, 7], x[3:27, 7])


def test_filesystem_and_mapper_objects(tmp_path):
    x = _data()
    fs = fsspec.filesystem("file")
    root = str(tmp_path / "d.zarr")
    a = zc.create_array(fsspec.get_mapper(root), shape=x.shape, chunks=(8, 8), dtype=x.dtype)
    a[:] = x
    via_fs = make_store(fs, mode="r", path=root)
    assert isinstance(via_fs, FsspecStore)
    np.testing.assert_array_equal(zc.open_array(via_fs)[:], x)
    np.testing.assert_array_equal(zc.open_array(FsspecStore(fs, root))[:], x)
    np.testing.assert_array_equal(zc.open_array(f"file://{root}")[:], x)  # file:// is a local store
    with pytest.raises(TypeError, match="storage_options"):
        make_store(fs, storage_options={"anon": True})


def test_byte_ranges_and_missing_keys(mem_url):
    store = make_store(mem_url, mode="w")
    store.set("k", b"0123456789")
    assert store.get_many([("k", None), ("k", (2, 5)), ("k", (-3, None)), ("k", (7, None)), ("nope", None),
                           ("nope", (0, 4)), ("d/x", (1, 2))]) == [b"0123456789", b"234", b"789", b"789",
                                                                   None, None, None]
    store.delete_many(["k", "never-there"])
    assert store.get("k") is None


def test_listing_uses_one_call(mem_url):
    fs = FaultInjectingFileSystem(fsspec.filesystem("memory"))
    store = FsspecStore(fs, _root(mem_url))
    store.set_many({"zarr.json": b"{}", "a/zarr.json": b"{}", "a/c/0": b"x", "b/zarr.json": b"{}", "k": b""})
    before = fs.requests
    assert store.list_dir("") == (["k", "zarr.json"], ["a", "b"])
    assert fs.requests - before == 1
    assert store.list_dir("a/") == (["zarr.json"], ["c"])
    assert store.list_dir("missing/") == ([], [])
    before = fs.requests
    assert list(store.list_prefix("a/")) == ["a/c/0", "a/zarr.json"]
    assert fs.requests - before == 1
    assert sorted(store.list_prefix("")) == ["a/c/0", "a/zarr.json", "b/zarr.json", "k", "zarr.json"]


def test_latency_hiding_runs_requests_concurrently(mem_url):
    """All chunks of one read are in flight together, up to the configured bound (counted, not timed)."""
    x = _data((60, 60), "f8")
    zc.create_array(mem_url, shape=x.shape, chunks=(6, 6), dtype=x.dtype)[:] = x  # 100 chunks
    fs = FaultInjectingFileSystem(fsspec.filesystem("memory"), delay=0.02)
    arr = zc.open_array(FsspecStore(fs, _root(mem_url)))
    with zc.config.set(remote_concurrency=16):
        before = fs.requests
        np.testing.assert_array_equal(arr[:], x)
    assert fs.requests - before == 100
    assert fs.max_in_flight == 16  # bounded, and the whole batch was issued at once


def test_one_read_is_one_batch(mem_url):
    """The core hands all keys of a read to one get_many call; a sharded read makes two (indexes, then
    the inner chunks as byte ranges)."""
    x = _data((40, 40), "i2")
    zc.create_array(mem_url, shape=x.shape, chunks=(4, 4), dtype=x.dtype)[:] = x
    rec = RecordingStore(make_store(mem_url))
    arr = zc.open_array(rec)
    rec.clear()
    np.testing.assert_array_equal(arr[:], x)
    assert rec.batched == [True] and len(rec.read_calls[0]) == 100
    zc.create_array(mem_url, "s", shape=x.shape, chunks=(4, 4), shards=(20, 20), dtype=x.dtype)[:] = x
    arr = zc.open_array(rec, "s")
    rec.clear()
    np.testing.assert_array_equal(arr[2:30, 5:35], x[2:30, 5:35])
    assert rec.batched == [True, True]
    assert [len(c) for c in rec.read_calls] == [4, 8 * 8]
    assert all(rng is not None and rng[0] < 0 for _, rng in rec.read_calls[0])  # the shard indexes (suffixes)


def test_transient_faults_are_retried_reads_and_writes(mem_url):
    x = _data((50, 50), "i8")
    fs = FaultInjectingFileSystem(fsspec.filesystem("memory"), transient_rate=0.3, seed=7)
    with zc.config.set(retries=12, retry_backoff=0.0005):
        a = zc.create_array(FsspecStore(fs, _root(mem_url)), shape=x.shape, chunks=(5, 5), dtype=x.dtype, zarr_format=2)
        a[:] = x
        a[10:13, 2:40] = -x[10:13, 2:40]  # partial chunks: read-modify-write through the faults
        got = zc.open_array(FsspecStore(fs, _root(mem_url)))[:]
    assert fs.injected > 20
    expected = x.copy()
    expected[10:13, 2:40] *= -1
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(zc.open_array(mem_url)[:], expected)  # what is stored, read without faults


def test_transient_faults_give_up_with_a_clear_error(mem_url):
    fs = FaultInjectingFileSystem(fsspec.filesystem("memory"), transient_rate=1.0)
    store = FsspecStore(fs, _root(mem_url))
    with zc.config.set(retries=2, retry_backoff=0.0001), pytest.raises(zc.StoreError) as info:
        store.get("c/0/0", (0, 8))
    msg = str(info.value)
    assert "c/0/0" in msg and mem_url.split("://")[1] in msg and "3 attempts" in msg and "bytes 0..8" in msg
    assert fs.requests == 3


def test_permanent_failure_is_reported_and_stored_data_survives(mem_url):
    x = _data((20, 20), "i4")
    a = zc.create_array(mem_url, shape=x.shape, chunks=(5, 5), dtype=x.dtype)
    a[:] = x
    fs = FaultInjectingFileSystem(fsspec.filesystem("memory"), permanent=["*/c/1/*"])
    b = zc.open_array(FsspecStore(fs, _root(mem_url)), mode="r+")
    before = fs.requests
    with pytest.raises(zc.StoreError, match=r"c/1/\d.*PermissionError"):
        b[:] = x + 1000
    assert (fs.requests - before, fs.injected) == (16, 4)  # the other 12 chunks were written, the 4 failing ones not retried
    got = zc.open_array(mem_url)[:]
    for i in range(4):
        for j in range(4):
            block = got[i * 5:(i + 1) * 5, j * 5:(j + 1) * 5]
            old = x[i * 5:(i + 1) * 5, j * 5:(j + 1) * 5]
            np.testing.assert_array_equal(block, old if i == 1 else old + 1000)
    with pytest.raises(zc.StoreError, match="PermissionError"):
        b[7, 7]


def test_is_transient_classification():
    import aiohttp
    from botocore.exceptions import ClientError

    slow = ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                        "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"},
                          "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject")
    wrapped = OSError(5, "wrapped")
    wrapped.__cause__ = slow
    assert is_transient(slow) and is_transient(wrapped)
    assert not is_transient(denied)
    assert is_transient(ConnectionResetError()) and is_transient(TimeoutError())
    assert is_transient(aiohttp.ServerDisconnectedError())
    info = aiohttp.RequestInfo(url="http://x", method="GET", headers={}, real_url="http://x")
    assert is_transient(aiohttp.ClientResponseError(info, (), status=503))
    assert not is_transient(aiohttp.ClientResponseError(info, (), status=400))
    assert not is_transient(FileNotFoundError("x")) and not is_transient(ValueError("x"))


def test_pickle_store_array_group(mem_url):
    x = _data((10, 10))
    g = zc.create_group(mem_url)
    g.create_array("a", shape=x.shape, chunks=(5, 5), dtype=x.dtype)[:] = x
    g2 = pickle.loads(pickle.dumps(zc.open_group(mem_url, mode="r")))
    np.testing.assert_array_equal(g2["a"][:], x)
    a2 = pickle.loads(pickle.dumps(g2["a"]))
    np.testing.assert_array_equal(a2[:], x)
    s2 = pickle.loads(pickle.dumps(g2.store))
    assert s2.read_only and s2.get("a/zarr.json") == g2.store.get("a/zarr.json")


@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")
def test_works_after_fork(mem_url, sum_in_forked_child):
    x = _data((30, 30))
    async_fs = FaultInjectingFileSystem(fsspec.filesystem("memory"))  # an async filesystem, as S3 or HTTP
    arr = zc.create_array(FsspecStore(async_fs, _root(mem_url)), shape=x.shape, chunks=(10, 10), dtype=x.dtype)
    arr[:] = x
    arr[:5]  # the parent has used fsspec's event loop thread before forking
    assert sum_in_forked_child(arr, timeout=60) == x.sum()


def test_inside_a_running_event_loop(mem_url):
    x = _data((30, 30))

    async def main() -> np.ndarray:
        store = FsspecStore(FaultInjectingFileSystem(fsspec.filesystem("memory")), _root(mem_url))
        a = zc.create_array(store, shape=x.shape, chunks=(10, 10), dtype=x.dtype)
        a[:] = x
        await asyncio.sleep(0)
        return zc.open_array(store)[:]

    np.testing.assert_array_equal(asyncio.run(main()), x)


def test_many_threads_at_once(mem_url):
    x = _data((64, 64), "f4")
    a = zc.create_array(mem_url, shape=x.shape, chunks=(8, 8), dtype=x.dtype, zarr_format=2)
    a[:] = x
    fs = FaultInjectingFileSystem(fsspec.filesystem("memory"), delay=0.001)
    arr = zc.open_array(FsspecStore(fs, _root(mem_url)), mode="r+")

    def work(i: int) -> bool:
        rows = slice(i * 4, i * 4 + 4)
        arr[rows] = x[rows] * 2
        return bool((arr[rows] == x[rows] * 2).all())

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(work, range(16)))
    np.testing.assert_array_equal(zc.open_array(mem_url)[:], x * 2)


def test_async_filesystem_instance_is_accepted(mem_url):
    x = _data((10, 10))
    zc.create_array(mem_url, shape=x.shape, dtype=x.dtype)[:] = x

    async def main() -> np.ndarray:
        afs = FaultInjectingFileSystem(fsspec.filesystem("memory"), asynchronous=True)
        return zc.open_array(FsspecStore(afs, _root(mem_url)))[:]

    np.testing.assert_array_equal(asyncio.run(main()), x)


def test_read_only_protocols_explain_themselves(http_server):
    url, _ = http_server
    store = make_store(url + "/nothing.zarr", mode="a")
    assert store.read_only
    with pytest.raises(zc.ReadOnlyError, match="http.*cannot be written"):
        store.set("zarr.json", b"{}")
    with pytest.raises(zc.ReadOnlyError):
        zc.create_group(url + "/nothing.zarr")
