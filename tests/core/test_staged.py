"""core.staged.StagedNodes: the documents of one write, stored only on commit, children first."""

from __future__ import annotations

import numpy as np
import zarr

import zarrconv as zc
from zarrconv.core.array_metadata import build_array_metadata
from zarrconv.core.staged import StagedNodes
from zarrconv.format.metadata import GroupMetadata
from zarrconv.store import LocalStore
from zarrconv.store.wrappers import RecordingStore


def test_chunks_are_written_before_any_document_and_documents_children_first(tmp_path):
    store = RecordingStore(LocalStore(tmp_path / "s.zarr"))
    staged = StagedNodes(store, 3)
    staged.stage_group("a/b", GroupMetadata(3, {"title": "b"}), with_parents=True)
    meta = build_array_metadata(shape=(4, 6), dtype="i2", chunks=(2, 3), dimension_names=["y", "x"])
    arr = staged.stage_array("a/b/v", meta, write_empty_chunks=False)
    arr[...] = np.arange(24, dtype="i2").reshape(4, 6)
    assert store.written and not any(k.endswith("zarr.json") for k in store.written), "a document before commit"
    staged.commit()
    docs = [k for k in store.written if k.endswith("zarr.json")]
    assert docs == ["a/b/v/zarr.json", "a/b/zarr.json", "a/zarr.json", "zarr.json"]
    g = zarr.open_group(tmp_path / "s.zarr", mode="r")
    np.testing.assert_array_equal(g["a/b/v"][...], np.arange(24, dtype="i2").reshape(4, 6))
    assert g["a/b"].attrs["title"] == "b"


def test_with_parents_stages_only_the_missing_ones(tmp_path):
    zc.create_group(tmp_path / "s.zarr", "a", attributes={"keep": 1})
    store = LocalStore(tmp_path / "s.zarr")
    staged = StagedNodes(store, 3)
    staged.stage_group("a/b/c", GroupMetadata(3), with_parents=True)
    assert sorted(staged.groups) == ["a/b", "a/b/c"]
    staged.commit()
    assert zc.open_group(tmp_path / "s.zarr", path="a").attrs["keep"] == 1


def test_consolidate_gathers_the_committed_nodes(tmp_path):
    store = LocalStore(tmp_path / "s.zarr")
    staged = StagedNodes(store, 3)
    assert not staged
    staged.stage_group("", GroupMetadata(3))
    staged.stage_array("v", build_array_metadata(shape=(3,), dtype="f4"), write_empty_chunks=False)
    staged.commit()
    staged.consolidate()
    g = zarr.open_consolidated(tmp_path / "s.zarr")
    assert list(g.array_keys()) == ["v"]
