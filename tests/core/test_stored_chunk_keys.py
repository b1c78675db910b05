"""``Array.stored_chunk_keys()``: the chunk (or shard) keys an array has in its store, checked against the
files on disk, for arrays written by zarrconv and by zarr-python, v2 and v3, chunked and sharded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import zarr

import zarrconv as zc

METADATA = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}


def files_below(root: Path) -> set[str]:
    """Every data file below ``root``, as store keys relative to ``root`` (metadata documents and zarrconv's
    lock file left out)."""
    return {Path(d, f).relative_to(root).as_posix() for d, _, fs in os.walk(root) for f in fs
            if f not in METADATA and not f.startswith(".zarrconv")}


def grid_coords(key: str, sep: str) -> tuple[int, ...]:
    """``c/1/2``, ``c.1.2`` (v3) or ``1.2``, ``1/2`` (v2) -> (1, 2)."""
    return tuple(int(c) for c in key.split(sep) if c != "c")


@pytest.mark.parametrize("writer", ["zarrconv", "zarr-python"])
@pytest.mark.parametrize("zarr_format,separator", [(2, "."), (2, "/"), (3, "/"), (3, ".")])
def test_stored_chunk_keys_are_the_chunk_files(tmp_path, writer, zarr_format, separator):
    path = tmp_path / "a.zarr"
    data = np.arange(70 * 45, dtype="i4").reshape(70, 45)
    cke = ({"name": "v2", "separator": separator} if zarr_format == 2 else
           {"name": "default", "separator": separator})
    create = zarr.create_array if writer == "zarr-python" else zc.create_array
    a = create(path, shape=data.shape, dtype="i4", chunks=(20, 20), zarr_format=zarr_format,
               chunk_key_encoding=cke, fill_value=0)
    a[:40] = data[:40]  # chunk rows 0 and 1 only: the rest stays missing
    on_disk = files_below(path)
    assert len(on_disk) == 2 * 3  # rows 0-1 of a 4 x 3 grid

    arr = zc.open_array(path, mode="r")
    keys = arr.stored_chunk_keys()
    assert set(keys) == on_disk
    for key, coords in keys.items():
        assert coords == grid_coords(key, separator)
        assert coords[0] in (0, 1) and 0 <= coords[1] < 3
    assert arr.nshards_initialized == len(on_disk)


@pytest.mark.parametrize("writer", ["zarrconv", "zarr-python"])
def test_stored_chunk_keys_of_a_sharded_array_are_the_shard_files(tmp_path, writer):
    path = tmp_path / "s.zarr"
    create = zarr.create_array if writer == "zarr-python" else zc.create_array
    a = create(path, shape=(128, 96), dtype="u2", chunks=(16, 16), shards=(64, 48), fill_value=0)
    a[64:, :48] = 7  # one shard of the 2 x 2 grid
    a[:10, 50:] = 3  # and a part of another
    on_disk = files_below(path)
    keys = zc.open_array(path, mode="r").stored_chunk_keys()
    assert set(keys) == on_disk == {"c/1/0", "c/0/1"}
    assert keys == {"c/1/0": (1, 0), "c/0/1": (0, 1)}


def test_stored_chunk_keys_leave_out_files_that_are_not_chunks_of_the_grid(tmp_path):
    path = tmp_path / "a.zarr"
    a = zc.create_array(path, shape=(40, 40), dtype="f4", chunks=(20, 20))
    a[...] = 1.5
    (path / "c" / "5").mkdir()
    (path / "c" / "5" / "0").write_bytes(b"beyond the grid")   # coordinates outside a 2 x 2 grid
    (path / "c" / "notes.txt").write_bytes(b"not a chunk key")
    keys = zc.open_array(path, mode="r").stored_chunk_keys()
    assert set(keys) == {"c/0/0", "c/0/1", "c/1/0", "c/1/1"}
    assert files_below(path) - set(keys) == {"c/5/0", "c/notes.txt"}


def test_stored_chunk_keys_from_one_listing_of_a_group(tmp_path):
    """With ``listing`` (one listing of a whole group) each array picks its own keys: a sibling whose
    name starts with the same letters is not mistaken for it."""
    g = zarr.open_group(tmp_path / "g.zarr", mode="w", zarr_format=3)
    g.create_array("t", shape=(30,), dtype="f8", chunks=(10,))[...] = np.arange(30.0)
    g.create_array("t2", shape=(30,), dtype="f8", chunks=(10,))[:10] = 1.0
    group = zc.open_group(tmp_path / "g.zarr", mode="r")
    listing = list(group.store.list_prefix(""))
    t, t2 = group["t"], group["t2"]
    assert t.stored_chunk_keys(listing) == t.stored_chunk_keys() == {"t/c/0": (0,), "t/c/1": (1,), "t/c/2": (2,)}
    assert t2.stored_chunk_keys(listing) == {"t2/c/0": (0,)}
    assert set(t.stored_chunk_keys(listing)) | set(t2.stored_chunk_keys(listing)) == files_below(tmp_path / "g.zarr")
