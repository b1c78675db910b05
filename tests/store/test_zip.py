"""ZipStore: read, write-once archives finalized on close, interop with zarr-python's ZipStore."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import ZipStore, make_store

zarr = pytest.importorskip("zarr")


def _data() -> np.ndarray:
    return np.arange(300, dtype="i4").reshape(15, 20)


@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (10, 10))])
def test_written_zip_is_read_by_zarr_python(tmp_path, fmt, shards):
    path = tmp_path / "d.zip"
    x = _data()
    with ZipStore(path, mode="w") as st:
        g = zc.create_group(st, zarr_format=fmt, attributes={"k": "v"})
        a = g.create_array("x", shape=x.shape, chunks=(5, 5), shards=shards, dtype=x.dtype, zarr_format=fmt)
        a[:] = x
        a[0:3, 0:3] = -1  # a rewrite of keys already in the archive
        assert not path.exists()  # nothing visible until finalized
    x[0:3, 0:3] = -1
    names = zipfile.ZipFile(path).namelist()
    assert len(names) == len(set(names))  # shadowed members were dropped when finalizing
    assert not [n for n in os.listdir(tmp_path) if "tmp" in n]
    theirs = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    assert theirs.attrs["k"] == "v"
    np.testing.assert_array_equal(theirs["x"][:], x)
    np.testing.assert_array_equal(zc.open_array(str(path), "x")[:], x)


def test_zarr_python_zip_is_read(tmp_path):
    path = tmp_path / "z.zip"
    x = _data()
    store = zarr.storage.ZipStore(path, mode="w")
    zarr.create_array(store, name="x", shape=x.shape, chunks=(4, 4), dtype=x.dtype)[:] = x
    store.close()
    a = zc.open_array(str(path), "x")
    assert isinstance(a.store, ZipStore) and a.read_only
    np.testing.assert_array_equal(a[:], x)
    np.testing.assert_array_equal(zc.open_array(f"zip://::{path}", "x")[:], x)
    assert sorted(zc.open_group(str(path), mode="r").keys()) == ["x"]


def test_update_delete_and_live_reads(tmp_path):
    path = str(tmp_path / "u.zip")
    with ZipStore(path, mode="w") as st:
        st.set_many({"a": b"1", "b": b"2", "dir/c": b"3"})
    st = make_store(path, mode="a")  # a new version of the archive, starting from the old one
    assert st.get("a") == b"1"
    st.set("a", b"11")
    st.delete("b")
    assert (st.get("a"), st.get("b"), st.get("a", (-1, None))) == (b"11", None, b"1")
    assert list(st.list_prefix("")) == ["a", "dir/c"] and st.list_dir("") == (["a"], ["dir"])
    reader = make_store(path, mode="r")  # same process: sees the archive being written
    assert reader.get("a") == b"11" and reader.read_only
    with pytest.raises(zc.ReadOnlyError):
        reader.set("x", b"")
    assert zipfile.ZipFile(path).read("a") == b"1"  # the file on disk is the previous version
    st.close()
    assert sorted(zipfile.ZipFile(path).namelist()) == ["a", "dir/c"]
    assert zipfile.ZipFile(path).read("a") == b"11"
    with pytest.raises(zc.StoreError, match="closed"):
        st.set("z", b"")
    assert st.get("a") == b"11"  # reads continue from the finalized archive


def test_zip_url_with_inner_directory_and_pickling(tmp_path):
    path = tmp_path / "n.zip"
    x = _data()
    with ZipStore(path, mode="w", root="inner/data.zarr") as st:
        zc.create_array(st, shape=x.shape, chunks=(5, 5), dtype=x.dtype)[:] = x
    assert "inner/data.zarr/zarr.json" in zipfile.ZipFile(path).namelist()
    a = zc.open_array(f"zip://inner/data.zarr::{path}")
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(b[:], x)
    with pytest.raises(TypeError, match="cannot be pickled"), ZipStore(tmp_path / "w.zip", mode="w") as w:
        pickle.dumps(w)


def test_missing_and_corrupt_archives(tmp_path):
    with pytest.raises(zc.NodeNotFoundError, match="no zip archive"):
        zc.open_group(str(tmp_path / "none.zip"), mode="r")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(zc.StoreError, match="bad.zip"):
        zc.open_group(str(bad), mode="r")
