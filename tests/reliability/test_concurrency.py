"""Concurrent writers lose no write.

* processes writing disjoint chunk-aligned regions;
* threads writing one array, unaligned (every chunk shared by several threads);
* processes writing different inner chunks of one shard (the read-modify-write race that
  loses data in other Zarr libraries), and single elements of shared chunks;
* a user ``synchronizer`` serialising writers on a store whose own lock is only in-process.

On a local store, partial-chunk and partial-shard writes are read-modify-written under
``store.lock(key)``: a thread lock plus a POSIX record lock on ``.zarrconv.lock``, so they
are serialised across threads and processes. Results are read back with zarr-python too.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import MemoryStore
from zarrconv.store.wrappers import FailingStore, RecordingStore

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX record locks and fork"),
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]
NPROC = 4
_ctx = multiprocessing.get_context("fork")


def _run_processes(target: Any, args: list[tuple]) -> None:
    procs = [_ctx.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]


def _read_with_zarr_python(root: Path, path: str) -> np.ndarray:
    import zarr

    return zarr.open_array(str(root), path=path, mode="r")[...]


# -- processes, disjoint aligned regions ------------------------------------------------------

def _aligned_writer(root: str, rank: int) -> None:
    arr = zc.open_array(root, "a", mode="r+")
    for i in range(8):
        for j in range(8):
            if (i + j) % NPROC == rank:
                arr[i * 4:(i + 1) * 4, j * 4:(j + 1) * 4] = rank * 1000 + i * 8 + j


def test_processes_writing_disjoint_aligned_chunks(tmp_path: Path) -> None:
    zc.create_array(tmp_path, "a", shape=(32, 32), chunks=(4, 4), dtype="i4", fill_value=-1)
    _run_processes(_aligned_writer, [(str(tmp_path), r) for r in range(NPROC)])
    expected = np.empty((32, 32), "i4")
    for i in range(8):
        for j in range(8):
            expected[i * 4:(i + 1) * 4, j * 4:(j + 1) * 4] = ((i + j) % NPROC) * 1000 + i * 8 + j
    np.testing.assert_array_equal(zc.open_array(tmp_path, "a")[...], expected)
    np.testing.assert_array_equal(_read_with_zarr_python(tmp_path, "a"), expected)


# -- processes, inner chunks of one shard and single elements of shared chunks ----------------

def _shard_writer(root: str, rank: int) -> None:
    arr = zc.open_array(root, "s", mode="r+")
    for rnd in range(3):
        for inner in range(rank, 16, NPROC):  # inner chunks of the single (16, 16) shard
            r, c = divmod(inner, 4)
            arr[r * 4:(r + 1) * 4, c * 4:(c + 1) * 4] = rnd * 100 + inner


def test_processes_writing_inner_chunks_of_one_shard(tmp_path: Path) -> None:
    zc.create_array(tmp_path, "s", shape=(16, 16), chunks=(4, 4), shards=(16, 16), dtype="i4",
                    compressors=["zstd", "crc32c"])
    _run_processes(_shard_writer, [(str(tmp_path), r) for r in range(NPROC)])
    expected = np.empty((16, 16), "i4")
    for inner in range(16):
        r, c = divmod(inner, 4)
        expected[r * 4:(r + 1) * 4, c * 4:(c + 1) * 4] = 200 + inner
    np.testing.assert_array_equal(zc.open_array(tmp_path, "s")[...], expected)
    np.testing.assert_array_equal(_read_with_zarr_python(tmp_path, "s"), expected)
    assert zc.check(tmp_path).ok


def _element_writer(root: str, path: str, rank: int) -> None:
    arr = zc.open_array(root, path, mode="r+")
    flat = np.arange(arr.size)
    for k in flat[flat % NPROC == rank]:
        i, j = divmod(int(k), arr.shape[1])
        arr[i, j] = int(k) + 1


@pytest.mark.parametrize("layout", [{"chunks": (4, 4)}, {"chunks": (2, 4), "shards": (6, 8)},
                                    {"chunks": (4, 4), "zarr_format": 2}])
def test_processes_writing_single_elements_of_shared_chunks(tmp_path: Path, layout: dict) -> None:
    """Every write is unaligned and every chunk is written by every process: pure RMW contention."""
    zc.create_array(tmp_path, "e", shape=(6, 8), dtype="i4", **layout)
    _run_processes(_element_writer, [(str(tmp_path), "e", r) for r in range(NPROC)])
    expected = np.arange(1, 49, dtype="i4").reshape(6, 8)
    np.testing.assert_array_equal(zc.open_array(tmp_path, "e")[...], expected)
    np.testing.assert_array_equal(_read_with_zarr_python(tmp_path, "e"), expected)


# -- threads, one array ------------------------------------------------------------------------

@pytest.mark.parametrize("layout", [{"chunks": (4, 4)}, {"chunks": (2, 2), "shards": (4, 8)}])
@pytest.mark.parametrize("where", ["local", "memory", "local-batched", "fsspec-memory"])
def test_threads_writing_one_array(tmp_path: Path, layout: dict, where: str) -> None:
    """The batched kinds take the high-latency path: partial chunks read-modify-written in one
    batch under ``store.lock_many``."""
    import fsspec

    from zarrconv.store import FsspecStore, LocalStore

    store = {"local": lambda: tmp_path, "memory": MemoryStore,
             "local-batched": lambda: RecordingStore(LocalStore(tmp_path), prefers_single_batch=True),
             "fsspec-memory": lambda: FsspecStore(fsspec.filesystem("memory"), f"/threads-{tmp_path.name}")}[where]()
    arr = zc.create_array(store, "t", shape=(16, 24), dtype="i4", fill_value=-1, **layout)
    barrier = threading.Barrier(8)

    def rows(t: int) -> None:
        barrier.wait()
        for r in range(t, 16, 8):  # rows of 24 cross several chunks shared with other threads' rows
            arr[r, 1:23] = r
            arr[r, 0] = r
            arr[r, 23] = r

    threads = [threading.Thread(target=rows, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = np.repeat(np.arange(16, dtype="i4")[:, None], 24, axis=1)
    np.testing.assert_array_equal(zc.open_array(store, "t")[...], expected)


def _batched_row_writer(root: str, rank: int) -> None:
    from zarrconv.store import LocalStore

    arr = zc.open_array(RecordingStore(LocalStore(root), prefers_single_batch=True), "r", mode="r+")
    for r in range(rank, 12, NPROC):
        arr[r, 1:11] = r  # three partial chunks at once: one batched read-modify-write under lock_many
        arr[r, [0, 11]] = r


def test_processes_batched_read_modify_write(tmp_path: Path) -> None:
    """``LocalStore.lock_many`` holds every chunk of a batch against other processes."""
    zc.create_array(tmp_path, "r", shape=(12, 12), chunks=(4, 4), dtype="i4", fill_value=-1)
    _run_processes(_batched_row_writer, [(str(tmp_path), r) for r in range(NPROC)])
    np.testing.assert_array_equal(zc.open_array(tmp_path, "r")[...], np.repeat(np.arange(12, dtype="i4")[:, None], 12, 1))


# -- a user synchronizer ------------------------------------------------------------------------

def _fsspec_element_writer(root: str, lock: Any, rank: int) -> None:
    import fsspec

    arr = zc.open_array(fsspec.get_mapper(f"file://{root}"), "f", mode="r+", synchronizer=lock)
    for k in range(rank, 24, NPROC):
        i, j = divmod(k, 6)
        arr[i, j] = k + 1


def test_synchronizer_serialises_processes_on_a_store_without_a_shared_lock(tmp_path: Path) -> None:
    """An fsspec store's lock is per process; a user lock passed as ``synchronizer`` covers all writers."""
    import fsspec

    zc.create_array(fsspec.get_mapper(f"file://{tmp_path}"), "f", shape=(4, 6), chunks=(4, 6), dtype="i4")
    lock = _ctx.Lock()
    _run_processes(_fsspec_element_writer, [(str(tmp_path), lock, r) for r in range(NPROC)])
    np.testing.assert_array_equal(zc.open_array(tmp_path, "f")[...], np.arange(1, 25, dtype="i4").reshape(4, 6))


def test_synchronizer_is_held_around_every_write() -> None:
    class FlagLock:
        """A lock that knows whether it is held (by any thread: writes run on worker threads)."""

        def __init__(self) -> None:
            self._lock, self.depth = threading.Lock(), 0

        def __enter__(self) -> None:
            self._lock.acquire()
            self.depth += 1

        def __exit__(self, *exc: Any) -> None:
            self.depth -= 1
            self._lock.release()

    lock = FlagLock()
    held: list[bool] = []
    store = FailingStore(MemoryStore(), before_mutation=lambda key: held.append(lock.depth > 0))
    arr = zc.create_array(store, "x", shape=(10,), chunks=(3,), dtype="u1")
    held.clear()
    arr = zc.open_array(store, "x", mode="r+", synchronizer=lock)
    arr[1:8] = 7
    arr[2] = 1
    arr.attrs["k"] = "v"
    arr.resize(12)
    arr.append(np.ones(2, "u1"))
    assert held and all(held), held
    np.testing.assert_array_equal(arr[...], [0, 7, 1, 7, 7, 7, 7, 7, 0, 0, 0, 0, 1, 1])


# -- readers during writes ------------------------------------------------------------------------

def _alternating_writer(root: str, rounds: int) -> None:
    arr = zc.open_array(root, "r", mode="r+")
    for i in range(rounds):
        arr[...] = np.full(arr.shape, i % 7 + 1, "i4")


def test_readers_see_old_or_new_chunks_during_writes(tmp_path: Path) -> None:
    """A reader in another process never sees a torn chunk: each is one whole write's content."""
    arr = zc.create_array(tmp_path, "r", shape=(32, 32), chunks=(8, 8), dtype="i4", compressors=["zstd", "crc32c"])
    arr[...] = 1
    writer = _ctx.Process(target=_alternating_writer, args=(str(tmp_path), 60))
    writer.start()
    reads = 0
    while writer.is_alive() or reads < 5:
        data = zc.open_array(tmp_path, "r")[...]  # a torn chunk would fail its checksum here
        blocks = data.reshape(4, 8, 4, 8).transpose(0, 2, 1, 3).reshape(16, 64)
        assert all(len(set(b.tolist())) == 1 and 1 <= b[0] <= 7 for b in blocks)
        reads += 1
    writer.join(60)
    assert writer.exitcode == 0 and reads >= 5


_TRY_LOCK = """
import fcntl, os, sys, zlib
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, zlib.crc32(sys.argv[2].encode()) % (1 << 20))
except OSError:
    sys.exit(3)  # held by another process
"""


def test_one_threads_unlock_never_releases_another_threads_lock(tmp_path) -> None:
    """Closing any descriptor of a file drops every POSIX lock of the process on it: the lock
    file's descriptor is shared, so another store object locking and unlocking another key
    leaves the first lock in force for other processes."""
    import subprocess
    import sys
    import threading

    from zarrconv.store import LocalStore

    first, second = LocalStore(tmp_path), LocalStore(tmp_path)  # two objects, one root
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with first.lock("c/0/0"):
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(10)
        with second.lock("c/9/9"):
            pass
        other_process = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(tmp_path / ".zarrconv.lock"), "c/0/0"])
        assert other_process.returncode == 3

        # and a thread of this process using the other store object waits for the key too
        got = threading.Event()

        def wait_for_key() -> None:
            with second.lock("c/0/0"):
                got.set()

        waiter = threading.Thread(target=wait_for_key)
        waiter.start()
        assert not got.wait(0.3)
    finally:
        release.set()
        t.join()
    assert got.wait(10)
    waiter.join()


def _finishes(fn: Any, timeout: float = 20) -> bool:
    """Whether ``fn()`` returns within ``timeout`` seconds (run in a daemon thread, so that a
    deadlock fails the test instead of hanging the suite)."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive()


@pytest.mark.parametrize("kind", ["memory", "local"])
def test_one_thread_nests_lock_and_lock_many(tmp_path, kind) -> None:
    """A thread holding ``lock(k)`` may take ``lock_many`` of keys that include ``k`` (the same
    stripe, certainly) and then ``lock(k)`` again. With plain locks this hung; in the suite it hung
    at random, whenever two different keys' hashes fell on one of the 64 stripes."""
    from zarrconv.store import LocalStore

    store = MemoryStore() if kind == "memory" else LocalStore(tmp_path)

    def nest() -> None:
        with store.lock("k"), store.lock_many(["a", "k"]), store.lock("k"):
            pass

    assert _finishes(nest)
    assert _finishes(nest)  # and every hold was released: once more from another thread


def test_nested_holds_keep_the_byte_until_the_outer_one_ends(tmp_path) -> None:
    """POSIX record locks do not count: releasing a byte once releases it. The inner release of a
    nested hold must leave the byte locked against other processes until the outer hold ends."""
    import subprocess

    from zarrconv.store import LocalStore

    store = LocalStore(tmp_path)
    lock_file = str(tmp_path / ".zarrconv.lock")

    def other_process_can_lock() -> bool:
        return subprocess.run([sys.executable, "-c", _TRY_LOCK, lock_file, "c/0/0"]).returncode == 0

    seen: list[bool] = []

    def nest() -> None:
        with store.lock("c/0/0"):
            with store.lock_many(["c/0/0", "c/1/1"]):
                seen.append(other_process_can_lock())
            seen.append(other_process_can_lock())  # the inner release must not have unlocked it

    assert _finishes(nest, 60)
    assert seen == [False, False]
    assert other_process_can_lock()
