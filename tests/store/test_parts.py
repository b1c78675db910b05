"""``Store.set`` with a list of parts (how a shard is written without joining it first)."""

from __future__ import annotations

from pathlib import Path

import fsspec
import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import FsspecStore, LocalStore, MemoryStore, ZipStore
from zarrconv.store.wrappers import CountingStore

# parts of every kind a shard is made of: bytes, memoryviews of larger buffers, empty parts
_BIG = np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
PARTS = [b"head", memoryview(_BIG)[10:50_000], b"", memoryview(bytearray(b"xyz")), memoryview(_BIG)[50_000:]]
JOINED = b"head" + _BIG[10:50_000] + b"xyz" + _BIG[50_000:]


def _stores(tmp_path: Path) -> dict:
    return {
        "local": LocalStore(tmp_path / "local"),
        "memory": MemoryStore(),
        "fsspec-memory": FsspecStore(fsspec.filesystem("memory"), f"/parts-{tmp_path.name}"),
        "counting": CountingStore(LocalStore(tmp_path / "counted")),
    }


@pytest.mark.parametrize("kind", ["local", "memory", "fsspec-memory", "counting"])
def test_parts_are_stored_in_order(tmp_path: Path, kind: str) -> None:
    store = _stores(tmp_path)[kind]
    store.set("a/b", PARTS)
    store.set_many({"c": PARTS, "d": b"plain"})
    assert store.get("a/b") == JOINED and store.get("c") == JOINED and store.get("d") == b"plain"
    assert store.get("a/b", (4, 10)) == JOINED[4:10]
    if kind == "counting":
        assert store.bytes_written == 2 * len(JOINED) + 5


def test_zip_store_takes_parts(tmp_path: Path) -> None:
    with ZipStore(tmp_path / "x.zip", mode="w") as st:
        st.set("k", PARTS)
    with ZipStore(tmp_path / "x.zip", mode="r") as st:
        assert st.get("k") == JOINED


def test_local_store_writes_more_parts_than_one_writev_takes(tmp_path: Path) -> None:
    parts = [bytes([i % 251]) * (i % 7) for i in range(5000)]  # 5000 parts, some empty: several writev calls
    store = LocalStore(tmp_path)
    store.set("many", parts)
    assert (tmp_path / "many").read_bytes() == b"".join(parts)


def test_sharded_array_on_every_store_kind(tmp_path: Path) -> None:
    x = np.arange(32 * 32, dtype="u2").reshape(32, 32)
    for kind, store in _stores(tmp_path).items():
        a = zc.create_array(store, "arr", shape=x.shape, chunks=(4, 4), shards=(16, 16), dtype="u2")
        a[...] = x
        np.testing.assert_array_equal(zc.open_array(store, "arr")[...], x, err_msg=kind)


class _PlainStore(zc.store.Store):
    """A store written elsewhere, before stores took parts: ``set`` only understands bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, bytes] = {}

    @property
    def url(self) -> str:
        return "plain://"

    def get(self, key, byte_range=None):
        value = self.data.get(key)
        return None if value is None else zc.store.base.slice_range(value, byte_range)

    def set(self, key, value) -> None:
        assert isinstance(value, bytes | bytearray | memoryview), type(value)
        self.data[key] = bytes(value)

    def delete(self, key) -> None:
        self.data.pop(key, None)

    def list_prefix(self, prefix):
        return iter(sorted(k for k in self.data if k.startswith(prefix)))


def test_a_store_without_writes_parts_receives_bytes() -> None:
    x = np.arange(32 * 32, dtype="u2").reshape(32, 32)
    store = _PlainStore()
    assert not store.writes_parts
    a = zc.create_array(store, shape=x.shape, chunks=(4, 4), shards=(16, 16), dtype="u2")
    a[...] = x  # whole shards
    a[1:3, 1:3] = 0  # a partial shard: read-modify-write
    x[1:3, 1:3] = 0
    np.testing.assert_array_equal(zc.open_array(store)[...], x)
    assert sorted(k for k in store.data if k.startswith("c/")) == [f"c/{i}/{j}" for i in range(2) for j in range(2)]
