"""Stores pickle (dask sends them to workers) with fresh thread locks and their data or settings."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np

import zarrconv as zc
from zarrconv.store import LocalStore, MemoryStore, ZipStore
from zarrconv.store.wrappers import FailingStore

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _free(lock) -> bool:
    """Whether another thread can take ``lock`` now (a new lock, not one held while pickling)."""
    got: list[bool] = []

    def take() -> None:
        if lock.acquire(blocking=False):
            got.append(True)
            lock.release()

    t = threading.Thread(target=take)
    t.start()
    t.join()
    return bool(got)


def _roundtrip(store):
    copy = pickle.loads(pickle.dumps(store))
    for name in ("_locks", *type(store)._thread_locks):
        lock = getattr(copy, name)
        locks = lock if isinstance(lock, list) else [lock]
        assert all(isinstance(lk, _LOCK_TYPES) and _free(lk) for lk in locks), name
    return copy


def test_stores_pickle_with_new_locks(tmp_path: Path) -> None:
    x = np.arange(20, dtype="i2").reshape(4, 5)
    mem = MemoryStore()
    zc.create_array(mem, shape=x.shape, chunks=(2, 5), dtype="i2")[...] = x
    with mem._mutex:  # a lock held while pickling is not carried over
        copy = _roundtrip(mem)
    np.testing.assert_array_equal(zc.open_array(copy)[...], x)

    local = LocalStore(tmp_path / "l")
    zc.create_array(local, shape=x.shape, chunks=(2, 5), dtype="i2")[...] = x
    copy = _roundtrip(local)
    with copy.lock("c/0/0"):
        np.testing.assert_array_equal(zc.open_array(copy)[...], x)

    failing = _roundtrip(FailingStore(MemoryStore(dict(mem._data)), fail_after=1))
    assert failing.fail_after == 1 and failing.inner.get("zarr.json") == mem.get("zarr.json")

    with ZipStore(tmp_path / "z.zip", mode="w") as z:
        zc.create_array(z, shape=x.shape, chunks=(2, 5), dtype="i2")[...] = x
    with ZipStore(tmp_path / "z.zip", mode="r") as z:
        np.testing.assert_array_equal(zc.open_array(_roundtrip(z))[...], x)
