"""Nothing written before is lost when a later write fails.

Failures are injected by :class:`zarrconv.store.wrappers.FailingStore` (the k-th mutation
fails, as a full disk would) and, where the machine allows it, by a real 64 KiB tmpfs
that runs out of space. After each failure every chunk holds its old or its new content,
metadata is the old (or the new) valid document, other nodes are untouched, and no
temporary file is left behind.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import LocalStore, MemoryStore
from zarrconv.store.wrappers import FailingStore

OLD = np.arange(96, dtype="i4").reshape(8, 12)
NEW = -OLD - 1


def _chunks_old_or_new(arr: zc.Array, chunks: tuple[int, int]) -> set[str]:
    kinds = set()
    for r in range(0, arr.shape[0], chunks[0]):
        for c in range(0, arr.shape[1], chunks[1]):
            region = (slice(r, r + chunks[0]), slice(c, c + chunks[1]))
            got = arr[region]
            if np.array_equal(got, OLD[region]):
                kinds.add("old")
            elif np.array_equal(got, NEW[region]):
                kinds.add("new")
            else:
                raise AssertionError(f"chunk at {region} is neither old nor new: {got}")
    return kinds


LAYOUTS = {"plain": {"chunks": (4, 4)}, "sharded": {"chunks": (2, 4), "shards": (4, 12)},
           "v2": {"chunks": (4, 4), "zarr_format": 2}}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("fail_after", [0, 1, 2, 4])
@pytest.mark.parametrize("selection", ["whole", "unaligned"])
def test_failed_data_write_keeps_every_chunk_old_or_new(tmp_path: Path, layout: str, fail_after: int,
                                                        selection: str) -> None:
    kw = dict(LAYOUTS[layout])
    inner = LocalStore(tmp_path)
    zc.create_array(inner, "keep", shape=(3,), dtype="u1")[...] = [1, 2, 3]
    arr = zc.create_array(inner, "a", shape=OLD.shape, dtype="i4", **kw)
    arr[...] = OLD
    meta_before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.name in ("zarr.json", ".zarray")}
    n_objects = arr.nshards_initialized
    failing = zc.open_array(FailingStore(inner, fail_after=min(fail_after, n_objects - 1)), "a", mode="r+")
    sel = (slice(None), slice(None)) if selection == "whole" else (slice(1, 7), slice(1, 11))
    target = OLD.copy()
    target[sel] = NEW[sel]
    with pytest.raises(zc.StoreError, match="injected failure"):
        failing[sel] = NEW[sel]
    after = zc.open_array(inner, "a")
    chunk_shape = tuple(kw.get("shards", kw["chunks"]))
    if selection == "whole":
        _chunks_old_or_new(after, chunk_shape)
    else:  # each stored object is its old content or the fully merged new content
        got = after[...]
        for r in range(0, 8, chunk_shape[0]):
            for c in range(0, 12, chunk_shape[1]):
                region = (slice(r, r + chunk_shape[0]), slice(c, c + chunk_shape[1]))
                assert np.array_equal(got[region], OLD[region]) or np.array_equal(got[region], target[region])
    np.testing.assert_array_equal(zc.open_array(inner, "keep")[...], [1, 2, 3])
    assert {p: p.read_bytes() for p in meta_before} == meta_before
    assert zc.check(tmp_path).ok
    assert not [p for p in tmp_path.rglob("*") if ".zarrconv-tmp-" in p.name]


def test_failed_metadata_writes_keep_the_old_metadata(tmp_path: Path) -> None:
    inner = LocalStore(tmp_path)
    g = zc.create_group(inner, attributes={"v": 1})
    arr = g.create_array("a", shape=OLD.shape, chunks=(4, 4), dtype="i4", attributes={"units": "m"})
    arr[...] = OLD
    fg = zc.open_group(FailingStore(inner, fail_after=0), mode="r+")
    fa = fg["a"]
    for mutation in (lambda: fg.attrs.update(v=2), lambda: fa.attrs.__setitem__("units", "km"),
                     lambda: fa.resize(20, 12), lambda: fa.resize(4, 4), lambda: fa.append(OLD),
                     lambda: fg.create_group("new"), lambda: fg.create_array("a", shape=(1,), dtype="u1", overwrite=True),
                     lambda: zc.consolidate_metadata(fg.store)):
        with pytest.raises(zc.StoreError):
            mutation()
        # the in-memory objects did not move ahead of the store
        assert fg.attrs["v"] == 1 and fa.attrs["units"] == "m" and fa.shape == OLD.shape
    reopened = zc.open_group(inner)
    assert reopened.attrs.asdict() == {"v": 1}
    assert reopened["a"].attrs.asdict() == {"units": "m"} and reopened["a"].shape == OLD.shape
    np.testing.assert_array_equal(reopened["a"][...], OLD)
    assert list(dict(reopened.members())) == ["a"]
    for p in tmp_path.rglob("zarr.json"):
        json.loads(p.read_bytes())


def test_failed_write_on_memory_store_keeps_old_data() -> None:
    inner = MemoryStore()
    zc.create_array(inner, "a", shape=OLD.shape, chunks=(4, 4), dtype="i4")[...] = OLD
    with pytest.raises(zc.StoreError):
        zc.open_array(FailingStore(inner, fail_keys=["a/c/1/*"]), "a", mode="r+")[...] = NEW
    assert _chunks_old_or_new(zc.open_array(inner, "a"), (4, 4)) == {"old", "new"}


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (needs root and mount); skipped where that is not possible."""
    mnt = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                             capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=20)


def test_disk_full_keeps_what_was_written(tiny_disk: Path) -> None:
    root = tiny_disk / "data.zarr"
    small = zc.create_array(root, "small", shape=(100,), chunks=(50,), dtype="u1", compressors=None)
    small[...] = np.arange(100, dtype="u1")
    big = zc.create_array(root, "big", shape=(64, 1024), chunks=(4, 1024), dtype="u1", compressors=None)
    big[:4] = 7  # one chunk fits
    new = np.random.default_rng(0).integers(1, 255, size=(64, 1024), dtype="u1")  # incompressible
    with pytest.raises(zc.StoreError) as info:
        big[...] = new  # 64 KiB cannot fit in a 64 KiB disk already holding data
    assert isinstance(info.value, OSError) and "unchanged" in str(info.value)
    with pytest.raises(zc.StoreError):
        small.attrs.update(description="x" * 200_000)
    np.testing.assert_array_equal(zc.open_array(root, "small")[...], np.arange(100, dtype="u1"))
    assert zc.open_array(root, "small").attrs.asdict() == {}
    got = zc.open_array(root, "big")[...]
    for r in range(0, 64, 4):  # each chunk: absent (fill), its old content or the new one; never torn
        old = np.full((4, 1024), 7 if r == 0 else 0, "u1")
        assert np.array_equal(got[r:r + 4], old) or np.array_equal(got[r:r + 4], new[r:r + 4]), r
    assert zc.check(root).ok
    assert not [p for p in root.rglob("*") if ".zarrconv-tmp-" in p.name], "temporary files left behind"


def test_disk_full_while_writing_new_directories_of_chunks(tiny_disk: Path) -> None:
    """The first write of an array with rows of small chunks: each row is a new directory, written
    as a temporary directory renamed into place. When the disk fills up inside one, the temporary
    directory goes away and every chunk is absent (fill) or new."""
    root = tiny_disk / "data.zarr"
    arr = zc.create_array(root, "rows", shape=(64, 4096), chunks=(1, 1024), dtype="u1", compressors=None)
    new = np.random.default_rng(1).integers(1, 255, size=(64, 4096), dtype="u1")  # 256 KiB: cannot fit
    with pytest.raises(zc.StoreError, match="new files of") as info:
        arr[...] = new
    assert "unchanged" in str(info.value)
    got = zc.open_array(root, "rows")[...]
    written = 0
    for r in range(64):
        for c in range(0, 4096, 1024):
            chunk = got[r, c:c + 1024]
            assert not chunk.any() or np.array_equal(chunk, new[r, c:c + 1024]), (r, c)
            written += bool(chunk.any())
    assert 0 < written < 256
    assert zc.check(root).ok
    assert not [p for p in root.rglob("*") if ".zarrconv-tmp-" in p.name], "temporary files left behind"
