"""``Store.sizes(keys)``: the stored size of each key (0 when missing), in the order asked, for a directory
(``stat``), memory and an fsspec filesystem (one listing with details)."""

from __future__ import annotations

import os
import uuid

import fsspec
import pytest

from zarrconv.store import make_store
from zarrconv.store.fsspec_store import FsspecStore
from zarrconv.store.local import LocalStore
from zarrconv.store.memory import MemoryStore

#: keys in two directories and at the top, with sizes 0 to 5000 bytes
VALUES = {"a/c/0/0": b"x" * 5000, "a/c/0/1": b"", "a/c/1/0": b"abc", "b/0.0": bytes(range(256)) * 3,
          "zarr.json": b'{"zarr_format": 3, "node_type": "group"}'}


@pytest.fixture(params=["local", "memory", "fsspec-memory"])
def store(request, tmp_path):
    if request.param == "local":
        st = LocalStore(str(tmp_path / "s.zarr"))
    elif request.param == "memory":
        st = MemoryStore()
    else:
        url = f"memory://sizes-{uuid.uuid4().hex[:10]}.zarr"
        st = make_store(url, mode="w")
        assert isinstance(st, FsspecStore)
        request.addfinalizer(lambda: fsspec.filesystem("memory").rm(url, recursive=True))
    st.set_many(VALUES)
    return st


def test_sizes_are_the_stored_lengths_in_the_order_asked(store):
    keys = ["b/0.0", "a/c/1/0", "zarr.json", "a/c/0/0", "a/c/0/1"]
    assert store.sizes(keys) == [len(VALUES[k]) for k in keys] == [768, 3, 40, 5000, 0]


def test_sizes_of_missing_keys_are_zero(store):
    assert store.sizes(["a/c/9/9", "a/c/0/0", "nothing"]) == [0, 5000, 0]
    assert store.sizes([]) == []


def test_sizes_of_keys_below_one_directory(store):
    keys = ["a/c/0/1", "a/c/0/0", "a/c/1/0"]
    assert store.sizes(keys) == [0, 5000, 3]
    assert store.sizes(["a/c/1/0"]) == [3]


def test_local_sizes_are_the_file_sizes_on_disk(tmp_path):
    st = LocalStore(str(tmp_path / "d.zarr"))
    st.set_many(VALUES)
    on_disk = [os.path.getsize(tmp_path / "d.zarr" / k) for k in VALUES]
    assert st.sizes(list(VALUES)) == on_disk
