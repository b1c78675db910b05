"""The layouts peers write, read the same way.

Each writer names its levels differently: zarrconv and bioformats2raw ``0``, ``1``...,
ome-zarr-py ``s0``, ``s1``..., ngff-zarr ``scale0/image``, ``scale1/image``... (an array
inside a group per level). ``ome.levels``/``ome.level`` give the same access to all of
them, from ``open_image`` and from ``xr.open_datatree(engine="zarrconv")`` alike.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from zarrconv.conventions import ome
from zarrconv.errors import MetadataError

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")

#: level-0 pixel size of every image below: z, y, x in micrometers
SCALE = {"z": 2.0, "y": 0.5, "x": 0.5}
UNITS = {d: "micrometer" for d in SCALE}


def _volume(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, size=(4, 32, 48)).astype(np.uint16)


def _write_zarrconv(x: np.ndarray, store) -> str:
    ome.write_image(x, store, axes="zyx", scale=[SCALE[d] for d in "zyx"], units=UNITS, levels=3,
                    downscale={"z": 1, "y": 2, "x": 2})
    return ""


def _write_ome_zarr_py(x: np.ndarray, store) -> str:
    pytest.importorskip("ome_zarr")
    from ome_zarr.format import FormatV05
    from ome_zarr.writer import write_image

    root = zarr.open_group(str(store), mode="w", zarr_format=3)
    write_image(x, root, axes="zyx", fmt=FormatV05(), scale=SCALE, axes_units=UNITS, scale_factors=(2, 4))
    return ""


def _write_ngff_zarr(x: np.ndarray, store) -> str:
    nz = pytest.importorskip("ngff_zarr")
    image = nz.to_ngff_image(x, dims=["z", "y", "x"], scale=SCALE, axes_units=UNITS)
    ms = nz.to_multiscales(image, scale_factors=[{"z": 1, "y": 2, "x": 2}, {"z": 1, "y": 4, "x": 4}],
                           method=nz.Methods.ITKWASM_BIN_SHRINK)
    nz.to_ngff_zarr(str(store), ms, version="0.5")
    return ""


#: The OME-XML bioformats2raw stores beside the images (MetadataOnly, no pixels).
_OME_XML = """<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">
  <Image ID="Image:0" Name="volume"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16"
    SizeX="48" SizeY="32" SizeZ="4" SizeC="1" SizeT="1" PhysicalSizeX="0.5" PhysicalSizeY="0.5"
    PhysicalSizeZ="2.0"><MetadataOnly/></Pixels></Image>
</OME>
"""


def _write_bioformats2raw(x: np.ndarray, store) -> str:
    """The layout bioformats2raw writes (OME-NGFF 0.4 spec, "bioformats2raw.layout"): a root
    group marked ``bioformats2raw.layout: 3``, one image group per series named ``0``,
    ``1``..., an ``OME`` group listing them in ``series`` next to ``METADATA.ome.xml``;
    every image is 5-D t, c, z, y, x with one plane per chunk and ``/``-separated chunk
    keys, levels ``0``, ``1``... downsampled by 2 in y and x only. Written with zarr-python."""
    root = zarr.open_group(str(store), mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    image = root.create_group("0")
    data5 = x[None, None]
    paths = []
    for k in range(3):
        lvl = data5[..., :: 2**k, :: 2**k]
        arr = image.create_array(str(k), shape=lvl.shape, dtype=lvl.dtype, chunks=(1, 1, 1, 32, 32),
                                 chunk_key_encoding={"name": "v2", "separator": "/"})
        arr[...] = lvl
        paths.append({"path": str(k), "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 1.0, SCALE["z"], SCALE["y"] * 2**k, SCALE["x"] * 2**k]}]})
    axes = [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}] + [
        {"name": d, "type": "space", "unit": "micrometer"} for d in "zyx"]
    image.attrs["multiscales"] = [{"axes": axes, "datasets": paths, "version": "0.4", "name": "volume",
                                   "metadata": {"method": "loci.common.image.SimpleImageScaler"}}]
    meta = root.create_group("OME")
    meta.attrs["series"] = ["0"]
    (store / "OME" / "METADATA.ome.xml").write_text(_OME_XML)
    return "0"


WRITERS = {"zarrconv": _write_zarrconv, "ome-zarr-py": _write_ome_zarr_py, "ngff-zarr": _write_ngff_zarr,
           "bioformats2raw": _write_bioformats2raw}
EXPECTED_PATHS = {"zarrconv": ["0", "1", "2"], "ome-zarr-py": ["s0", "s1", "s2"],
                  "ngff-zarr": ["scale0/image", "scale1/image", "scale2/image"], "bioformats2raw": ["0", "1", "2"]}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_levels_by_index_and_path_whatever_the_writer(tmp_path, writer):
    x = _volume()
    store = tmp_path / f"{writer}.zarr"
    image_path = WRITERS[writer](x, store)
    tree = ome.open_image(store, series=0) if writer == "bioformats2raw" else ome.open_image(store)
    found = ome.levels(tree)
    assert list(found) == EXPECTED_PATHS[writer]
    for i, (path, ds) in enumerate(found.items()):
        lvl = ome.level(tree, i)
        xr.testing.assert_identical(lvl, ome.level(tree, path))
        xr.testing.assert_identical(lvl, ds)
        img = lvl["image"]
        assert img.shape[-3:] == (4, 32 // 2**i, 48 // 2**i)
        # every writer here keeps z and halves y and x: the same physical grid
        np.testing.assert_allclose(float(img["x"][1] - img["x"][0]), 0.5 * 2**i)
        np.testing.assert_allclose(float(img["z"][1] - img["z"][0]), 2.0)
        assert img["y"].attrs["units"] == "micrometer"
    np.testing.assert_array_equal(ome.level(tree, 0)["image"].values.reshape(x.shape), x)
    assert ome.level(tree, -1)["image"].shape[-2:] == (8, 12)

    # the xarray backend gives the same levels at the image's node
    via_backend = xr.open_datatree(store, engine="zarrconv")
    node = via_backend[image_path] if image_path else via_backend
    for path, ds in found.items():
        xr.testing.assert_identical(ome.levels(node)[path], ds)


def test_open_datatree_reads_nested_dataset_paths_as_xarray_zarr_does(tmp_path):
    """ngff-zarr stores each level as ``scaleN/image``: engine="zarr" opens it; so must
    engine="zarrconv" (it raised "parent scale0 already contains a variable named image")."""
    x = _volume(1)
    store = tmp_path / "nz.zarr"
    _write_ngff_zarr(x, store)
    theirs = xr.open_datatree(store, engine="zarr")
    ours = xr.open_datatree(store, engine="zarrconv")
    assert sorted(n.path for n in theirs.subtree) == ["/", "/scale0", "/scale1", "/scale2"]
    assert sorted(n.path for n in ours.subtree) == ["/", "/scale0", "/scale0/image", "/scale1", "/scale1/image",
                                                    "/scale2", "/scale2/image"]
    for k in range(3):
        # the level is one node, with coordinates; its group keeps its attributes, no duplicate
        assert dict(ours[f"scale{k}"].attrs) == dict(theirs[f"scale{k}"].attrs)
        assert list(ours[f"scale{k}"].data_vars) == []
        np.testing.assert_array_equal(ours[f"scale{k}/image"]["image"].values, theirs[f"scale{k}"]["image"].values)
    assert ours["scale1/image"]["image"].dims == ("z", "y", "x")
    np.testing.assert_allclose(ours["scale1/image"]["x"].values, 0.25 + 1.0 * np.arange(24))


def test_bioformats2raw_container_through_the_backend(tmp_path):
    """The container's root, its ``OME`` group (holding a non-Zarr XML file) and the series'
    levels all open with engine="zarrconv"; the XML file is ignored, as a reader MAY."""
    x = _volume(2)
    store = tmp_path / "bf.zarr"
    _write_bioformats2raw(x, store)
    tree = xr.open_datatree(store, engine="zarrconv")
    assert tree.attrs["bioformats2raw.layout"] == 3
    assert tree["OME"].attrs["series"] == ["0"]
    np.testing.assert_array_equal(ome.level(tree["0"], 0)["image"].values[0, 0], x)
    assert ome.level(tree["0"], 0)["image"].dims == ("t", "c", "z", "y", "x")
    assert ome.list_series(store) == ["0"]
    assert json.loads((store / ".zattrs").read_text()) == {"bioformats2raw.layout": 3}


def test_level_access_errors_name_what_is_wrong(tmp_path):
    x = _volume()
    _write_zarrconv(x, tmp_path / "a.zarr")
    tree = ome.open_image(tmp_path / "a.zarr")
    with pytest.raises(MetadataError, match="level 3 out of range"):
        ome.level(tree, 3)
    with pytest.raises(MetadataError, match="no level at dataset path 'scale0/image'"):
        ome.level(tree, "scale0/image")
    with pytest.raises(MetadataError, match="no multiscale named 'nope'"):
        ome.level(tree, 0, multiscale="nope")
    with pytest.raises(MetadataError, match="not an OME-Zarr image"):
        ome.levels(tree["0"])
    with pytest.raises(MetadataError, match="no multiscale with all its levels"):
        ome.levels(xr.DataTree(dataset=xr.Dataset(attrs=dict(tree.attrs))))  # the metadata without the levels


@pytest.mark.parametrize("writer", ["ome-zarr-py", "ngff-zarr"])
def test_open_datatree_opens_levels_without_importing_the_conventions(tmp_path, writer):
    """A script that imports only xarray gets the OME levels as nodes: xarray loads the backend,
    whose package registers the OME group hook (zarrconv.xarray.hooks), not the backend itself."""
    import subprocess
    import sys

    store = tmp_path / f"{writer}.zarr"
    WRITERS[writer](_volume(3), store)
    script = (
        "import sys, xarray as xr\n"
        f"tree = xr.open_datatree({str(store)!r}, engine='zarrconv')\n"
        "print(sorted(n.path for n in tree.subtree))\n"
        "print(tree[sorted(n.path for n in tree.subtree)[-1]]['image'].dims)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    in_process = xr.open_datatree(store, engine="zarrconv")
    paths = sorted(n.path for n in in_process.subtree)
    assert out.splitlines() == [repr(paths), repr(in_process[paths[-1]]["image"].dims)]
    assert len(paths) > 3  # the levels are nodes of their own
