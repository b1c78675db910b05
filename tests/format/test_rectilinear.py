"""The rectilinear chunk grid extension: JSON exactly as zarr-python writes it, data both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.format.chunks import RectilinearChunkGrid, parse_chunk_grid, run_length_encode

zarr = pytest.importorskip("zarr")


@pytest.fixture
def rectilinear_enabled():
    with zarr.config.set({"array.rectilinear_chunks": True}):
        yield


def test_run_length_encoding() -> None:
    assert run_length_encode([10, 10, 10, 5]) == [[10, 3], 5]
    assert run_length_encode([1, 2, 2, 3]) == [1, [2, 2], 3]
    assert run_length_encode([4]) == [4]


def test_spec_example_expands_as_documented() -> None:
    grid = parse_chunk_grid({"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [
        4, [1, 2, 3], [[4, 2]], [[1, 3], 3], [4, 4, 4]]}}, (6, 6, 6, 6, 6))
    assert grid.edges == ((4, 4), (1, 2, 3), (4, 4), (1, 1, 1, 3), (4, 4, 4))
    # bare integers stay bare, explicit lists use RLE only when shorter
    assert grid.to_json()["configuration"]["chunk_shapes"] == [4, [1, 2, 3], [[4, 2]], [[1, 3], 3], [[4, 3]]]


@pytest.mark.parametrize("bad", [
    {"name": "rectilinear", "configuration": {"chunk_shapes": [2]}},  # kind is required
    {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [[2, 2]]}},  # sums to 4 < 5
    {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [[0, 5]]}},
    {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [[[2, 0], 5]]}},
    {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [2, 2]}},
])
def test_invalid_grids_raise_metadata_error(bad) -> None:
    with pytest.raises(zc.MetadataError):
        parse_chunk_grid(bad, (5,))


def test_zarrconv_writes_zarr_python_reads(tmp_path, rectilinear_enabled) -> None:
    data = np.arange(10 * 7, dtype="<i4").reshape(10, 7)
    a = zc.create_array(tmp_path / "r.zarr", shape=(10, 7), chunks=[(3, 3, 3, 1), 4], dtype="i4")
    a[:] = data
    z = zarr.create_array(tmp_path / "z.zarr", shape=(10, 7), chunks=[[3, 3, 3, 1], 4], dtype="i4")
    ours = json.loads((tmp_path / "r.zarr" / "zarr.json").read_text())["chunk_grid"]
    theirs = json.loads((tmp_path / "z.zarr" / "zarr.json").read_text())["chunk_grid"]
    assert ours == theirs == {"name": "rectilinear",
                              "configuration": {"kind": "inline", "chunk_shapes": [[[3, 3], 1], 4]}}
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "r.zarr", mode="r")[:], data)
    # chunks are stored at their exact sizes, at the same keys
    z[:] = data
    for key in ("c/3/0", "c/0/1"):
        assert (tmp_path / "r.zarr" / key).exists() and (tmp_path / "z.zarr" / key).exists()


def test_zarr_python_writes_zarrconv_reads_and_resizes(tmp_path, rectilinear_enabled) -> None:
    data = np.random.default_rng(1).normal(size=(11, 6)).astype("f4")
    z = zarr.create_array(tmp_path / "z.zarr", shape=(11, 6), chunks=[[2, 5, 4], [1, 1, 4]], dtype="f4")
    z[:] = data
    a = zc.open_array(tmp_path / "z.zarr", mode="r+")
    assert isinstance(a.metadata.chunk_grid, RectilinearChunkGrid)
    np.testing.assert_array_equal(a[:], data)
    np.testing.assert_array_equal(a[1:9, 2:5], data[1:9, 2:5])
    a.append(np.ones((3, 6), "f4"))
    grid = json.loads((tmp_path / "z.zarr" / "zarr.json").read_text())["chunk_grid"]
    assert grid["configuration"]["chunk_shapes"] == [[2, 5, 4, 3], [[1, 2], 4]]
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "z.zarr", mode="r")[:],
                                  np.concatenate([data, np.ones((3, 6), "f4")]))
