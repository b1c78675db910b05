"""Consolidated metadata: one read opens a hierarchy; interop with zarr-python; the staleness rule.

The rule under test: every metadata write made through zarrconv below a group that has
consolidated metadata updates it; writes by other tools do not, so a name lookup that the
consolidated metadata misses falls back to the store, and ``consolidate_metadata`` refreshes it.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import MemoryStore
from zarrconv.store.base import ByteRange

zarr = pytest.importorskip("zarr")

_META = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")


class CountingStore(MemoryStore):
    """A memory store that counts read requests (round trips) for metadata keys."""

    def __init__(self, data: dict | None = None, read_only: bool = False) -> None:
        super().__init__(data, read_only)
        self.metadata_requests = 0
        self.metadata_keys: list[str] = []

    def _count(self, keys: list[str]) -> None:
        meta = [k for k in keys if k.rsplit("/", 1)[-1] in _META]
        if meta:
            self.metadata_requests += 1
            self.metadata_keys += meta

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        self._count([key])
        return super().get(key, byte_range)

    def get_many(self, requests):  # one request, however many keys
        self._count([k for k, _ in requests])
        return [MemoryStore.get(self, k, r) for k, r in requests]

    def with_read_only(self, read_only: bool = True) -> CountingStore:
        return self  # share the counter with the caller


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_500_arrays_open_with_one_metadata_read(zarr_format) -> None:
    data: dict[str, bytes] = {}
    g = zc.create_group(MemoryStore(data), zarr_format=zarr_format, attributes={"title": "many"})
    for i in range(5):
        sub = g.create_group(f"g{i}")
        for j in range(100):
            sub.create_array(f"a{j}", shape=(4,), chunks=(4,), dtype="i2", attributes={"j": j})
    g["g3/a7"][:] = [1, 2, 3, 4]
    zc.consolidate_metadata(MemoryStore(data))

    store = CountingStore(data, read_only=True)
    root = zc.open_group(store, mode="r")
    everything = dict(root.members(max_depth=None))
    arrays = [n for n in everything.values() if isinstance(n, zc.Array)]
    assert len(arrays) == 500 and len(everything) == 505
    assert root["g4/a99"].attrs["j"] == 99 and root.attrs["title"] == "many"
    assert sorted(dict(root["g2"].members()))[:2] == ["a0", "a1"]
    assert store.metadata_requests == 1, store.metadata_keys
    np.testing.assert_array_equal(root["g3/a7"][:], [1, 2, 3, 4])  # data reads are chunk reads only
    assert store.metadata_requests == 1


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarrconv_consolidates_zarr_python_reads(tmp_path, zarr_format) -> None:
    g = zc.create_group(tmp_path / "c.zarr", zarr_format=zarr_format, attributes={"a": 1})
    arr = g.create_array("x/y", shape=(3,), chunks=(2,), dtype="f8", dimension_names=["t"])
    arr[:] = [1.0, 2.0, 3.0]
    zc.consolidate_metadata(tmp_path / "c.zarr")
    key = "zarr.json" if zarr_format == 3 else ".zmetadata"
    doc = json.loads((tmp_path / "c.zarr" / key).read_text())
    if zarr_format == 3:
        cm = doc["consolidated_metadata"]
        assert cm["kind"] == "inline" and cm["must_understand"] is False
        assert sorted(cm["metadata"]) == ["x", "x/y"]
    else:
        assert doc["zarr_consolidated_format"] == 1 and "x/y/.zarray" in doc["metadata"]
    # remove the node documents: zarr-python can only have used the consolidated metadata
    (tmp_path / "c.zarr" / "x" / ("zarr.json" if zarr_format == 3 else ".zgroup")).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zg = zarr.open_group(tmp_path / "c.zarr", mode="r", use_consolidated=True, zarr_format=zarr_format)
        np.testing.assert_array_equal(zg["x/y"][:], [1.0, 2.0, 3.0])
        assert dict(zg.attrs) == {"a": 1}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_consolidates_zarrconv_reads(tmp_path, zarr_format) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zg = zarr.create_group(tmp_path / "z.zarr", zarr_format=zarr_format, attributes={"b": 2})
        zg.create_group("s").create_array("v", shape=(4,), chunks=(2,), dtype="i4")[:] = [5, 6, 7, 8]
        zarr.consolidate_metadata(tmp_path / "z.zarr")
    (tmp_path / "z.zarr" / "s" / ("zarr.json" if zarr_format == 3 else ".zgroup")).unlink()
    g = zc.open_group(tmp_path / "z.zarr", mode="r", consolidated=True)
    assert sorted(dict(g.members(max_depth=None))) == ["s", "s/v"]
    np.testing.assert_array_equal(g["s/v"][:], [5, 6, 7, 8])
    assert g.attrs["b"] == 2


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_writes_through_zarrconv_keep_consolidated_metadata_current(tmp_path, zarr_format) -> None:
    path = tmp_path / "w.zarr"
    g = zc.create_group(path, zarr_format=zarr_format, consolidated=True)
    a = g.create_array("deep/arr", shape=(2,), chunks=(2,), dtype="u1")
    g.create_group("other", attributes={"k": "v"})
    a.attrs["units"] = "K"
    a.resize((5,))
    g.attrs["root"] = True
    zc.open_group(path, mode="r+")["other"].attrs["k"] = "w"  # through a group opened from consolidated metadata
    del g["deep/arr"]
    g.create_array("later", shape=(1,), dtype="f4")

    fresh = zc.open_group(path, mode="r")
    assert fresh._consolidated is not None  # opened from consolidated metadata
    assert sorted(dict(fresh.members(max_depth=None))) == ["deep", "later", "other"]
    assert fresh["other"].attrs["k"] == "w" and fresh.attrs["root"] is True
    # and what the consolidated metadata says equals what a full re-consolidation finds
    before = dict(fresh._consolidated)
    after = zc.consolidate_metadata(path)._consolidated
    assert before == after
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zg = zarr.open_group(path, mode="r", use_consolidated=True, zarr_format=zarr_format)
        assert sorted(k for k, _ in zg.members(max_depth=None)) == ["deep", "later", "other"]
        assert zg.attrs["root"] is True


def test_nodes_written_by_other_tools_are_found_by_name_and_listed_after_reconsolidation(tmp_path) -> None:
    path = tmp_path / "x.zarr"
    g = zc.create_group(path, consolidated=True)
    g.create_array("mine", shape=(2,), dtype="i1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.open_group(path, mode="r+", use_consolidated=False).create_array("theirs", shape=(3,), dtype="i1")
    stale = zc.open_group(path, mode="r")
    assert sorted(dict(stale.members())) == ["mine"]  # documented: listings trust the consolidated metadata
    assert stale["theirs"].shape == (3,)  # but a lookup by name is never hidden
    assert "theirs" in stale
    assert sorted(dict(zc.open_group(path, mode="r", consolidated=False).members())) == ["mine", "theirs"]
    zc.consolidate_metadata(path)
    assert sorted(dict(zc.open_group(path, mode="r").members())) == ["mine", "theirs"]


def test_consolidated_true_requires_it_and_arrays_are_refused(tmp_path) -> None:
    zc.create_group(tmp_path / "p.zarr").create_array("a", shape=(1,), dtype="i1")
    with pytest.raises(zc.NodeNotFoundError, match="consolidated"):
        zc.open_group(tmp_path / "p.zarr", mode="r", consolidated=True)
    with pytest.raises(zc.ContainsNodeError, match="array"):
        zc.consolidate_metadata(tmp_path / "p.zarr", "a")
    (tmp_path / "p.zarr" / ".zmetadata").write_text("{not json")
    zc.create_group(tmp_path / "q.zarr", zarr_format=2)
    (tmp_path / "q.zarr" / ".zmetadata").write_text('{"metadata": 3}')
    with pytest.raises(zc.MetadataError, match=".zmetadata"):
        zc.open_group(tmp_path / "q.zarr", mode="r")
