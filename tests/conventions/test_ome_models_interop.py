"""ome-zarr-models (pydantic models of OME-Zarr 0.4/0.5) against zarrconv, both ways.

ome-zarr-models 1.8 validates a whole hierarchy when it opens it, so reading ours is a check that
what zarrconv writes (images and labels) matches its models; and what it writes (metadata through
pydantic-zarr, data filled by zarr-python) must read in zarrconv with the same pixels and scales.
0.6 is not here: ome-zarr-models 1.8 accepts only the versions "0.6" and "0.6.dev4", not the
"0.6rc0" the tagged text names (ngff-zarr is the 0.6 peer: test_ome_v06.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from zarrconv.conventions import ome

zarr = pytest.importorskip("zarr")
pytest.importorskip("ome_zarr_models")
from ome_zarr_models import open_ome_zarr  # noqa: E402


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_models_reads_our_image_and_labels(tmp_path, version):
    x = np.random.default_rng(0).integers(0, 1000, (2, 8, 32, 32)).astype(np.uint16)
    store = tmp_path / "img.zarr"
    ome.write_image(x, store, axes="czyx", scale=[1, 2.0, 0.5, 0.5], chunks=(1, 4, 16, 16), version=version,
                    units={a: "micrometer" for a in "zyx"})
    seg = np.zeros((8, 32, 32), np.uint8)
    seg[2:5, 3:9, 4:20] = 3
    ome.write_labels(seg, store, "cells")

    model = open_ome_zarr(zarr.open_group(store, mode="r"))
    assert type(model).__name__ == "Image" and model.ome_zarr_version == version
    ms = model.ome_attributes.multiscales[0]
    ours = ome.open_image(store)
    assert [d.path for d in ms.datasets] == [k for k in ours.children if k.isdigit()]
    assert [list(d.coordinateTransformations[0].scale) for d in ms.datasets][:2] == [
        [1, 2.0, 0.5, 0.5], [1, 2.0, 1.0, 1.0]]
    assert list(model.labels.ome_attributes.labels) == ["cells"]


def _models_image(version: str, x0: np.ndarray, x1: np.ndarray):
    if version == "0.5":
        from ome_zarr_models.v05 import Image
        from ome_zarr_models.v05.axes import Axis
        from pydantic_zarr.v3 import ArraySpec

        # pydantic-zarr's default bytes codec has no endian, which zarr-python 3.4 refuses
        def spec(a):
            return ArraySpec.from_array(a, dimension_names=list("zyx"),
                                        codecs=[{"name": "bytes", "configuration": {"endian": "little"}}])
    else:
        from ome_zarr_models.v04 import Image
        from ome_zarr_models.v04.axes import Axis
        from pydantic_zarr.v2 import ArraySpec

        spec = ArraySpec.from_array
    axes = [Axis(name=a, type="space", unit="micrometer") for a in "zyx"]
    return Image.new(array_specs=[spec(x0), spec(x1)], paths=["0", "1"], axes=axes,
                     scales=[[2.0, 0.5, 0.5], [2.0, 1.0, 1.0]], translations=[None, [0, 0.25, 0.25]], name="m")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_we_read_what_ome_zarr_models_writes(tmp_path, version):
    x0 = np.random.default_rng(1).integers(0, 1000, (6, 32, 40)).astype(np.uint16)
    x1 = x0[:, ::2, ::2]
    path = tmp_path / "m.zarr"
    _models_image(version, x0, x1).to_zarr(zarr.storage.LocalStore(path), path="")
    zarr.open_array(path, path="0", mode="r+")[:] = x0
    zarr.open_array(path, path="1", mode="r+")[:] = x1

    tree = ome.open_image(path)  # its "omero": null (0.4) and "type": null read as absent
    lvl0, lvl1 = ome.level(tree, 0)["image"], ome.level(tree, 1)["image"]
    np.testing.assert_array_equal(lvl0.values, x0)
    np.testing.assert_array_equal(lvl1.values, x1)
    np.testing.assert_allclose(lvl1["y"].values[:3], 0.25 + 1.0 * np.arange(3))
    np.testing.assert_allclose(lvl0["z"].values[:3], 2.0 * np.arange(3))
    # validate reads the document as the official schema does: null where a string/object belongs
    problems = ome.validate(path)
    assert problems and all("None is not of type" in p for p in problems)
