"""``zarrconv ome pyramid vol.tif`` keeps what the TIFF says about its pixels: ImageJ
spacing/unit, baseline resolution tags, OME-XML physical sizes with their units, channel
names and colours; and writes chunks a plane-by-plane viewer can use. The TIFFs are real
files written by tifffile; the outputs are checked through zarrconv and ngff-zarr."""

from __future__ import annotations

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.conventions import ome

from .conftest import run

tifffile = pytest.importorskip("tifffile")


def _volume(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, size=shape).astype(np.uint16)


def _multiscale(store):
    md = ome.read_metadata(zc.open_group(store, mode="r"))
    return md, md.multiscales[0]


def test_imagej_hyperstack_spacing_unit_and_luts(tmp_path):
    x = _volume((5, 2, 24, 32))  # ImageJ order: z, c, y, x
    luts = np.zeros((2, 3, 256), np.uint8)
    luts[0, 1] = np.arange(256)  # green
    luts[1, 0] = luts[1, 2] = np.arange(256)  # magenta
    tif = tmp_path / "stack.tif"
    tifffile.imwrite(tif, x, imagej=True, resolution=(1 / 0.25, 1 / 0.25),
                     metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "micron", "LUTs": list(luts)})
    dst = tmp_path / "stack.ome.zarr"
    run("ome", "pyramid", tif, dst, "--levels", "2")
    md, ms = _multiscale(dst)
    assert ms.axis_names == ["c", "z", "y", "x"]
    assert [a.unit for a in ms.axes] == [None, "micrometer", "micrometer", "micrometer"]
    scale, _ = ms.level_transform(0)
    np.testing.assert_allclose(scale, [1.0, 1.5, 0.25, 0.25])
    assert [c.color for c in md.omero.channels] == ["00FF00", "FF00FF"]
    level0 = ome.level(ome.open_image(dst), 0)["image"]
    np.testing.assert_array_equal(level0.values, x.transpose(1, 0, 2, 3))  # stored c, z, y, x


def test_resolution_tags_in_centimeters(tmp_path):
    x = _volume((3, 40, 40), seed=1)
    tif = tmp_path / "plain.tif"
    # 20000 pixels per cm in x (0.5 um), 10000 in y (1 um)
    tifffile.imwrite(tif, x, photometric="minisblack", metadata={"axes": "ZYX"}, resolution=(20000, 10000),
                     resolutionunit="CENTIMETER")
    dst = tmp_path / "plain.ome.zarr"
    run("ome", "pyramid", tif, dst, "--levels", "1")
    _, ms = _multiscale(dst)
    scale, _ = ms.level_transform(0)
    np.testing.assert_allclose(scale, [1.0, 1.0, 0.5])
    assert [a.unit for a in ms.axes] == [None, "micrometer", "micrometer"]  # z: the tags say nothing


def test_ome_tiff_physical_sizes_units_channel_names_and_colors(tmp_path):
    x = _volume((2, 6, 32, 32), seed=2)
    tif = tmp_path / "cells.ome.tif"
    tifffile.imwrite(tif, x, metadata={
        "axes": "CZYX", "PhysicalSizeX": 0.5, "PhysicalSizeXUnit": "µm", "PhysicalSizeY": 0.5,
        "PhysicalSizeZ": 0.002, "PhysicalSizeZUnit": "mm",
        "Channel": {"Name": ["DAPI", "GFP"], "Color": [-16776961, 16711935]},  # RGBA FF0000FF, 00FF00FF
    })
    dst = tmp_path / "cells.ome.zarr"
    run("ome", "pyramid", tif, dst, "--levels", "3")
    md, ms = _multiscale(dst)
    assert [a.unit for a in ms.axes] == [None, "millimeter", "micrometer", "micrometer"]
    assert [c.label for c in md.omero.channels] == ["DAPI", "GFP"]
    assert [c.color for c in md.omero.channels] == ["FF0000", "00FF00"]
    # z (2 um) is 4x coarser than y/x (0.5 um): two levels reduce only y and x
    scales = [[round(v, 9) for v in ms.level_transform(i)[0]] for i in range(3)]
    assert scales == [[1.0, 0.002, 0.5, 0.5], [1.0, 0.002, 1.0, 1.0], [1.0, 0.002, 2.0, 2.0]]
    tree = ome.open_image(dst)
    assert list(ome.level(tree, 0)["image"]["c"].values) == ["DAPI", "GFP"]
    # ngff-zarr reads the same sizes, units and channel names
    nz = pytest.importorskip("ngff_zarr")
    theirs = nz.from_ngff_zarr(str(dst))
    assert theirs.images[0].scale == {"c": 1.0, "z": 0.002, "y": 0.5, "x": 0.5}
    assert theirs.images[0].axes_units["z"] == "millimeter"
    assert [c.label for c in theirs.metadata.omero.channels] == ["DAPI", "GFP"]


def test_explicit_scale_and_units_override_the_tiff(tmp_path):
    x = _volume((4, 16, 16), seed=3)
    tif = tmp_path / "ij.tif"
    tifffile.imwrite(tif, x, imagej=True, resolution=(4.0, 4.0), metadata={"axes": "ZYX", "spacing": 3.0,
                                                                          "unit": "um"})
    dst = tmp_path / "ij.ome.zarr"
    run("ome", "pyramid", tif, dst, "--levels", "1", "--scale", "2,1,1", "--units", "nanometer,nanometer,nanometer")
    _, ms = _multiscale(dst)
    np.testing.assert_allclose(ms.level_transform(0)[0], [2.0, 1.0, 1.0])
    assert [a.unit for a in ms.axes] == ["nanometer"] * 3


def test_64_plane_tiff_gets_one_plane_per_chunk(tmp_path):
    """The issue's case: a 64-plane TIFF used to get (64, 128, 128) chunks, so showing one
    plane read the whole volume; now each chunk is one plane."""
    x = _volume((64, 96, 128), seed=4)
    tif = tmp_path / "vol.tif"
    tifffile.imwrite(tif, x, imagej=True, resolution=(2.0, 2.0), metadata={"axes": "ZYX", "spacing": 2.0,
                                                                          "unit": "um"})
    dst = tmp_path / "vol.ome.zarr"
    run("ome", "pyramid", tif, dst)
    level0 = zc.open_array(dst, "0")
    assert level0.chunks == (1, 96, 128)
    np.testing.assert_array_equal(level0[40], x[40])


def test_tiff_with_bad_unit_is_a_clear_error(tmp_path):
    tif = tmp_path / "bad.tif"
    tifffile.imwrite(tif, _volume((2, 8, 8)), imagej=True, resolution=(1.0, 1.0),
                     metadata={"axes": "ZYX", "spacing": 1.0, "unit": "parsec-ish"})
    proc = run("ome", "pyramid", tif, tmp_path / "bad.ome.zarr", check=None)
    assert proc.returncode != 0
    assert "bad.tif" in proc.stderr and "parsec-ish" in proc.stderr
