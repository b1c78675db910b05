"""Every user-caused failure in the core raises a clear zarrconv error naming array and key."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import zarrconv as zc


def _array(tmp_path, **kw):
    path = str(tmp_path / "a.zarr")
    a = zc.create_array(path, shape=(8, 8), dtype="f8", chunks=(4, 4), **kw)
    a[...] = np.arange(64.0).reshape(8, 8)
    return path, a


def test_corrupt_chunk_bytes_names_array_and_key(tmp_path):
    path, _ = _array(tmp_path)
    chunk = os.path.join(path, "c", "1", "0")
    with open(chunk, "r+b") as f:  # garbage frame header (without crc32c, silent bit flips are undetectable)
        f.write(b"\xff\xff\xff\xff")
    with pytest.raises(zc.CorruptChunkError) as e:
        zc.open_array(path)[...]
    assert "c/1/0" in str(e.value) and path in str(e.value)
    # chunks elsewhere still read
    np.testing.assert_array_equal(zc.open_array(path)[:4, :], np.arange(32.0).reshape(4, 8))


def test_truncated_chunk(tmp_path):
    path, _ = _array(tmp_path, compressors=None)
    chunk = os.path.join(path, "c", "0", "1")
    with open(chunk, "r+b") as f:
        f.truncate(100)
    with pytest.raises(zc.CorruptChunkError, match="c/0/1"):
        zc.open_array(path)[0, 5]


def test_bad_checksum(tmp_path):
    path, _ = _array(tmp_path, compressors=["zstd", "crc32c"])
    chunk = os.path.join(path, "c", "0", "0")
    raw = bytearray(open(chunk, "rb").read())
    raw[-1] ^= 0x01
    open(chunk, "wb").write(bytes(raw))
    with pytest.raises(zc.ChecksumError, match="c/0/0"):
        zc.open_array(path)[0, 0]


@pytest.mark.parametrize("text,match", [
    ("{not json", "not valid JSON"),
    ('{"zarr_format": 3, "node_type": "array"}', "required field"),
    ('{"zarr_format": 3, "node_type": "array", "shape": [-1], "data_type": "int8", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes"}]}', "shape"),
    ('{"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int9", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes"}]}', "unknown data type"),
    ('{"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int8", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 1000, "codecs": [{"name": "bytes"}]}', "out of range"),
    ('{"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int8", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes"}], "my_extension": {"x": 1}}', "must understand"),
    ('[1, 2]', "not a Zarr v3|expected a JSON object"),
])
def test_malformed_zarr_json(tmp_path, text, match):
    path = tmp_path / "bad.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(text)
    with pytest.raises(zc.MetadataError, match=match) as e:
        zc.open_array(str(path))
    assert "zarr.json" in str(e.value) or str(path) in str(e.value)


def test_tolerated_extension(tmp_path):
    path, _ = _array(tmp_path)
    doc = json.loads(open(os.path.join(path, "zarr.json")).read())
    doc["my_extension"] = {"must_understand": False, "x": 1}
    open(os.path.join(path, "zarr.json"), "w").write(json.dumps(doc))
    np.testing.assert_array_equal(zc.open_array(path)[0], np.arange(8.0))


def test_unknown_codec(tmp_path):
    path, _ = _array(tmp_path)
    doc = json.loads(open(os.path.join(path, "zarr.json")).read())
    doc["codecs"].append({"name": "fancy-compressor", "configuration": {}})
    open(os.path.join(path, "zarr.json"), "w").write(json.dumps(doc))
    a = zc.open_array(path)  # opening (and listing a group) still works; I/O fails clearly
    with pytest.raises(zc.UnknownCodecError, match="fancy-compressor") as e:
        a[...]
    assert path in str(e.value)
    with pytest.raises(zc.UnknownCodecError):
        zc.create_array(str(tmp_path / "x.zarr"), shape=(2,), dtype="i1", compressors="fancy-compressor")


def test_missing_node_and_existing_node(tmp_path):
    with pytest.raises(zc.NodeNotFoundError):
        zc.open_array(str(tmp_path / "nothing.zarr"))
    with pytest.raises(FileNotFoundError):
        zc.open_group(str(tmp_path / "nothing.zarr"), mode="r")
    path, _ = _array(tmp_path)
    with pytest.raises(zc.ContainsNodeError):
        zc.create_array(path, shape=(1,), dtype="i1")
    with pytest.raises(zc.ContainsNodeError):
        zc.open_group(path, mode="r")


def test_selection_and_shape_errors(tmp_path):
    _, a = _array(tmp_path)
    with pytest.raises(zc.SelectionError):
        a[8, 0]
    with pytest.raises(IndexError):
        a[0, 0, 0]
    with pytest.raises(zc.ShapeMismatchError):
        a[0:2, 0:2] = np.ones((3, 3))
    with pytest.raises(zc.SelectionError):
        a.oindex[np.ones(5, bool), 0]


def test_read_only(tmp_path):
    path, _ = _array(tmp_path)
    a = zc.open_array(path, mode="r")
    with pytest.raises(zc.ReadOnlyError):
        a[0, 0] = 1
    with pytest.raises(PermissionError):
        a.attrs["x"] = 1
    with pytest.raises(zc.ReadOnlyError):
        a.resize((9, 9))
    np.testing.assert_array_equal(zc.open_array(path)[0], np.arange(8.0))


@pytest.mark.parametrize("key", ["../escape", "/abs/path", "a/../../b", "a//b", "a\\b"])
def test_keys_escaping_root_refused(tmp_path, key):
    store = zc.store.LocalStore(tmp_path / "root")
    with pytest.raises(zc.InvalidPathError):
        store.set(key, b"x")
    with pytest.raises(zc.InvalidPathError):
        store.get(key)
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("name", ["a/b/..", "__reserved", ".", "x/./y"])
def test_invalid_node_names(tmp_path, name):
    g = zc.create_group(str(tmp_path / "g.zarr"))
    with pytest.raises(zc.InvalidPathError):
        g.create_group(name)
