"""Group hooks (zarrconv.xarray.hooks): how a convention changes what a group opens as in a
DataTree, without the xarray layer knowing the convention."""

from __future__ import annotations

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.xarray.hooks import group_hooks, register_group_hook, unregister_group_hook

xr = pytest.importorskip("xarray")


def test_a_registered_hook_opens_a_recognized_group_as_child_nodes(tmp_path):
    root = zc.create_group(tmp_path / "h.zarr")
    tagged = root.create_group("tagged")
    tagged.attrs["toy-convention"] = True
    tagged.create_array("a", shape=(4,), dtype="i4", dimension_names=["i"])[...] = np.arange(4)
    root.create_group("plain").create_array("b", shape=(2,), dtype="i4", dimension_names=["j"])[...] = 7

    def toy(group):
        if not group.attrs.get("toy-convention"):
            return {}
        return {"a": xr.Dataset({"a": ("i", np.asarray(group["a"][...]) * 10)})}

    before = xr.open_datatree(tmp_path / "h.zarr", engine="zarrconv")
    assert list(before["tagged"].data_vars) == ["a"]
    register_group_hook(toy)
    try:
        assert toy in group_hooks()
        tree = xr.open_datatree(tmp_path / "h.zarr", engine="zarrconv")
    finally:
        unregister_group_hook(toy)
    assert toy not in group_hooks()
    # the hook's dataset is a child node; the group no longer holds the array it replaced
    assert list(tree["tagged"].data_vars) == []
    np.testing.assert_array_equal(tree["tagged/a"]["a"].values, [0, 10, 20, 30])
    xr.testing.assert_identical(tree["plain"].to_dataset(), before["plain"].to_dataset())


def test_the_ome_hook_is_registered_by_reference_and_resolves():
    assert any(getattr(h, "__name__", None) == "datatree_levels" for h in group_hooks())


@pytest.mark.parametrize("ref", ["no_colon", "a:b:c", ":f", "m:"])
def test_a_malformed_reference_is_refused(ref):
    with pytest.raises(ValueError, match="module:function"):
        register_group_hook(ref)
