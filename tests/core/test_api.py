"""The public API of arrays and groups: modes, attributes, members, resize/append, empty chunks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import MemoryStore

zarr = pytest.importorskip("zarr")


def test_group_hierarchy_members_and_attrs(tmp_path):
    path = str(tmp_path / "h.zarr")
    g = zc.create_group(path, attributes={"title": "t"})
    g.create_group("sub", attributes={"k": [1, 2]})
    a = g.create_array("sub/arr", shape=(10,), dtype="i4", chunks=(4,), attributes={"units": "m"})
    a[...] = np.arange(10)
    g.create_array("top", shape=(2, 2), dtype="f4")
    g2 = zc.open_group(path, mode="r")
    assert sorted(dict(g2.members())) == ["sub", "top"]
    assert sorted(dict(g2.groups())) == ["sub"] and sorted(dict(g2.arrays())) == ["top"]
    assert "sub/arr" in g2 and "nope" not in g2
    assert g2["sub/arr"].attrs["units"] == "m"
    assert g2["sub"].attrs["k"] == [1, 2]
    np.testing.assert_array_equal(g2["sub"]["arr"][...], np.arange(10))
    assert sorted(dict(g2.members(max_depth=None))) == ["sub", "sub/arr", "top"]
    assert "arr (10,) int32" in g2.tree()
    # attributes persist and are visible to zarr-python
    g.attrs["new"] = {"nested": True}
    a.attrs.update(a=1, b="x")
    zg = zarr.open_group(path, mode="r")
    assert zg.attrs["new"] == {"nested": True} and zg["sub/arr"].attrs["b"] == "x"
    del g.attrs["title"]
    assert "title" not in zc.open_group(path).attrs


def test_open_modes(tmp_path):
    path = str(tmp_path / "m.zarr")
    with pytest.raises(zc.NodeNotFoundError):
        zc.open_group(path, mode="r+")
    g = zc.open_group(path, mode="a")
    g.create_array("x", shape=(3,), dtype="u1")
    assert "x" in zc.open_group(path, mode="a")
    with pytest.raises(zc.ContainsNodeError):
        zc.open_group(path, mode="w-")
    g = zc.open_group(path, mode="w")
    assert list(dict(g.members())) == []
    node = zc.open(path)
    assert isinstance(node, zc.Group)
    g.create_array("y", shape=(3,), dtype="u1")
    assert isinstance(zc.open(path, "y"), zc.Array)
    with pytest.raises(ValueError):
        zc.open_group(path, mode="x")


def test_missing_chunks_read_fill_and_empty_chunks_not_stored(tmp_path):
    path = str(tmp_path / "e.zarr")
    a = zc.create_array(path, shape=(10, 10), dtype="f4", chunks=(5, 5), fill_value=np.nan)
    assert np.isnan(a[...]).all()
    a[:5, :5] = 1.0
    assert a.nchunks_initialized == 1
    a[:5, :5] = np.nan  # overwriting with the fill value deletes the chunk
    assert a.nchunks_initialized == 0
    b = zc.open_array(path, mode="r+", write_empty_chunks=True)
    b[:5, :5] = np.nan
    assert b.nchunks_initialized == 1
    # a partial write of fill values into a fresh chunk stores nothing
    a[6, 6] = np.nan
    assert zc.open_array(path).nchunks_initialized == 1


def test_resize_and_append(tmp_path):
    path = str(tmp_path / "r.zarr")
    a = zc.create_array(path, shape=(10, 4), dtype="i8", chunks=(3, 4), fill_value=-1)
    x = np.arange(40).reshape(10, 4)
    a[...] = x
    a.resize((5, 4))
    np.testing.assert_array_equal(a[...], x[:5])
    a.resize((10, 4))
    expected = np.vstack([x[:5], np.full((5, 4), -1)])
    np.testing.assert_array_equal(a[...], expected)  # no stale data reappears
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], expected)
    new = a.append(np.ones((3, 4), "i8"))
    assert new == (13, 4)
    np.testing.assert_array_equal(zc.open_array(path)[10:], np.ones((3, 4)))
    with pytest.raises(zc.ShapeMismatchError):
        a.append(np.ones((3, 5)))


def test_compressor_argument_forms(tmp_path):
    import numcodecs

    x = np.linspace(0, 1, 1000).astype("f8")
    forms = ["zstd", "gzip", "blosc", None, {"name": "zstd", "configuration": {"level": 9, "checksum": False}},
             numcodecs.Zstd(level=2), numcodecs.Blosc(cname="lz4"), ["gzip", "crc32c"], numcodecs.LZ4()]
    for i, form in enumerate(forms):
        path = str(tmp_path / f"c{i}.zarr")
        a = zc.create_array(path, shape=x.shape, dtype=x.dtype, chunks=(300,), compressors=form)
        a[...] = x
        np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], x)
        np.testing.assert_array_equal(zc.open_array(path)[...], x)


def test_auto_chunks_are_between_1_and_8_mib():
    a = zc.create_array(MemoryStore(), shape=(10000, 10000), dtype="f8")
    nbytes = int(np.prod(a.chunks)) * 8
    assert 2**20 <= nbytes <= 8 * 2**20
    small = zc.create_array(MemoryStore(), shape=(10, 10), dtype="f8")
    assert small.chunks == (10, 10)


def test_pickle_array_and_group(tmp_path):
    path = str(tmp_path / "p.zarr")
    g = zc.create_group(path)
    a = g.create_array("a", shape=(4,), dtype="i2")
    a[...] = [1, 2, 3, 4]
    a2 = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a2[...], [1, 2, 3, 4])
    g2 = pickle.loads(pickle.dumps(zc.open_group(path, mode="r")))
    assert isinstance(g2["a"], zc.Array)
    with pytest.raises(zc.ReadOnlyError):
        g2["a"][0] = 9


def test_numpy_protocol_and_properties(tmp_path):
    a = zc.create_array(MemoryStore(), shape=(6, 4), dtype="u2", chunks=(2, 2), dimension_names=["y", "x"],
                        compressors=["zstd"])
    a[...] = 3
    assert np.asarray(a).sum() == 72
    assert a.dimension_names == ("y", "x") and a.ndim == 2 and len(a) == 6 and a.nchunks == 6
    assert a.compressors[0]["name"] == "zstd" and a.filters == ()
    assert a.metadata.to_json()["dimension_names"] == ["y", "x"]
