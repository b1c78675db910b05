"""A bug inside a store operation surfaces as itself: the remote stores turn the I/O errors they expect
(``OSError``, a client library's errors) into a :class:`~zarrconv.errors.StoreError` naming the key, and
nothing else. A ``TypeError`` is not a missing object or a flaky network."""

from __future__ import annotations

import pytest
from fsspec.asyn import AsyncFileSystem
from fsspec.implementations.memory import MemoryFileSystem

import zarrconv as zc
from zarrconv.store import FsspecStore, ObstoreStore, ZipStore

obstore = pytest.importorskip("obstore")


class _BuggyFileSystem(MemoryFileSystem):
    """A memory filesystem whose reads have a bug, and whose writes meet a real I/O error."""

    protocol = "buggymemory"
    store: dict = {}  # noqa: RUF012 - fsspec's MemoryFileSystem keeps its files in a class attribute
    pseudo_dirs = [""]  # noqa: RUF012

    def cat_file(self, path, start=None, end=None, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    def pipe_file(self, path, value, **kwargs):
        raise PermissionError(13, "Permission denied", path)


def test_fsspec_bug_in_a_read_is_not_a_store_error():
    store = FsspecStore(_BuggyFileSystem(), "data.zarr")
    with pytest.raises(TypeError, match="unsupported operand") as info:
        store.get("zarr.json")
    assert not isinstance(info.value, zc.StoreError)
    with pytest.raises(TypeError, match="unsupported operand"):  # also from a batch on the thread pool
        store.get_many([("a", None), ("b", (0, 4))])


class _BuggyAsyncFileSystem(AsyncFileSystem):
    """An async filesystem (the kind S3, GCS and HTTP are) whose reads have a bug and whose deletes time out."""

    protocol = "buggyasync"

    async def _cat_file(self, path, start=None, end=None, **kwargs):
        raise TypeError("'NoneType' object is not subscriptable")

    async def _rm_file(self, path, **kwargs):
        raise TimeoutError("read timed out")


def test_fsspec_async_bug_is_not_a_store_error_and_timeouts_are():
    store = FsspecStore(_BuggyAsyncFileSystem(), "data.zarr")
    with pytest.raises(TypeError, match="not subscriptable"):
        store.get_many([("a", None), ("b", (2, 6))])
    with zc.config.set(retries=1, retry_backoff=0.001), pytest.raises(
            zc.StoreError, match=r"cannot delete .*data\.zarr/a: TimeoutError.*gave up after 2 attempts"):
        store.delete("a")


def test_fsspec_io_error_is_a_store_error_naming_the_key():
    store = FsspecStore(_BuggyFileSystem(), "data.zarr")
    with pytest.raises(zc.StoreError, match=r"cannot write .*data\.zarr/c/0: PermissionError") as info:
        store.set("c/0", b"x")
    assert isinstance(info.value.__cause__, PermissionError)


@pytest.mark.parametrize("keys", [["k"], ["k", "l", "m"]])
def test_obstore_bug_in_a_write_is_not_a_store_error(tmp_path, keys):
    store = ObstoreStore(obstore.store.LocalStore(tmp_path, mkdir=True))
    items = {k: b"fine" for k in keys}
    items[keys[0]] = object()  # not bytes-like: a bug of the caller, found inside the request
    with pytest.raises(TypeError) as info:
        store.set_many(items)
    assert not isinstance(info.value, zc.StoreError)
    assert all(store.get(k) == b"fine" for k in keys[1:])  # the other requests finished first


def test_zip_commit_failure_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a.zip"
    store = ZipStore(str(path), mode="w")
    store.set("k", b"1")
    store.delete("k")  # a dead member: commit rewrites the archive
    path.mkdir()  # os.replace onto a directory fails with an OSError
    with pytest.raises(zc.StoreError, match="cannot finalize zip archive"):
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]
