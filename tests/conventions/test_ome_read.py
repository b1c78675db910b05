"""Reading OME-Zarr with zarrconv: coordinates, old versions, bioformats2raw containers,
lazy/dask access, and validation of whole hierarchies (broken on purpose)."""

from __future__ import annotations

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.conventions import ome
from zarrconv.errors import MetadataError

xr = pytest.importorskip("xarray")


def _v2_image(store, attrs: dict, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """An image as an older writer would leave it, built through zarrconv's core."""
    g = zc.create_group(store, zarr_format=2)
    out = []
    for i, shape in enumerate(shapes):
        a = g.create_array(str(i), shape=shape, dtype="u1", chunks=shape, zarr_format=2,
                           chunk_key_encoding={"separator": "/"})
        data = (np.arange(np.prod(shape)) % 251).astype(np.uint8).reshape(shape)
        a[...] = data
        out.append(data)
    g.attrs.update(attrs)
    return out


def test_reads_0_3_axes_as_names(tmp_path):
    data = _v2_image(tmp_path / "a.zarr", {"multiscales": [{"version": "0.3", "axes": ["c", "y", "x"],
                                                          "datasets": [{"path": "0"}, {"path": "1"}]}]},
                     [(2, 8, 8), (2, 4, 4)])
    tree = ome.open_image(tmp_path / "a.zarr")
    img1 = tree["1"]["image"]
    assert img1.dims == ("c", "y", "x")
    np.testing.assert_array_equal(img1.values, data[1])
    np.testing.assert_allclose(img1["x"].values, [0, 2, 4, 6])  # scale from the shapes
    assert "c" not in img1.coords  # no omero: no channel labels


def test_reads_0_1_without_axes(tmp_path):
    _v2_image(tmp_path / "a.zarr", {"multiscales": [{"version": "0.1", "datasets": [{"path": "0"}]}]},
              [(1, 2, 3, 4, 5)])
    tree = ome.open_image(tmp_path / "a.zarr")
    assert tree["0"]["image"].dims == ("t", "c", "z", "y", "x")


def test_multiscale_wide_transformations_and_translation(tmp_path):
    attrs = {"multiscales": [{
        "version": "0.4", "name": "m",
        "axes": [{"name": "t", "type": "time", "unit": "millisecond"}, {"name": "y", "type": "space"},
                 {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [1, 2, 2]}, {"type": "translation", "translation": [0, 1, -1]}]}],
        "coordinateTransformations": [{"type": "scale", "scale": [0.1, 1, 1]}],
    }]}
    _v2_image(tmp_path / "a.zarr", attrs, [(3, 4, 4)])
    img = ome.open_image(tmp_path / "a.zarr")["0"]["image"]
    np.testing.assert_allclose(img["t"].values, [0, 0.1, 0.2])
    np.testing.assert_allclose(img["y"].values, [1, 3, 5, 7])
    np.testing.assert_allclose(img["x"].values, [-1, 1, 3, 5])
    assert img["t"].attrs == {"units": "millisecond"} and img["x"].attrs == {}
    assert ome.validate(tmp_path / "a.zarr") == []


def test_lazy_and_dask_access(tmp_path):
    x = np.random.default_rng(0).integers(0, 255, size=(40, 60)).astype(np.uint8)
    ome.write_image(x, tmp_path / "a.zarr", chunks=(16, 16), levels=2)
    lazy = ome.open_image(tmp_path / "a.zarr")["0"]["image"]
    assert not isinstance(lazy.variable._data, np.ndarray)  # nothing read yet
    np.testing.assert_array_equal(lazy.isel(y=slice(3, 20), x=[1, 5, 59]).values, x[3:20][:, [1, 5, 59]])
    assert lazy.encoding["preferred_chunks"] == {"y": 16, "x": 16}
    pytest.importorskip("dask.array")
    dsk = ome.open_image(tmp_path / "a.zarr", chunks="auto")["0"]["image"]
    assert dsk.chunks == ((16, 16, 8), (16, 16, 16, 12))
    np.testing.assert_array_equal(dsk.values, x)


def test_multiple_multiscales_by_name_or_index(tmp_path):
    ms = {"version": "0.4", "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}
    attrs = {"multiscales": [
        {**ms, "name": "full", "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}]},
        {**ms, "name": "half", "datasets": [{"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [2, 2]}]}]},
    ]}
    _v2_image(tmp_path / "a.zarr", attrs, [(4, 4), (2, 2)])
    assert list(ome.open_image(tmp_path / "a.zarr").children) == ["0"]
    assert list(ome.open_image(tmp_path / "a.zarr", multiscale="half").children) == ["1"]
    assert list(ome.open_image(tmp_path / "a.zarr", multiscale=1).children) == ["1"]
    with pytest.raises(MetadataError, match="no multiscale named"):
        ome.open_image(tmp_path / "a.zarr", multiscale="nope")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_bioformats2raw_container(tmp_path, version):
    store = tmp_path / "bf.zarr"
    zf = 3 if version == "0.5" else 2
    root = zc.create_group(store, zarr_format=zf)
    images = [np.full((8, 8), i, np.uint8) for i in range(2)]
    for i, im in enumerate(images):
        ome.write_image(im, root, path=str(i), version=version)
    ome_group = root.create_group("OME")
    if version == "0.5":
        root.attrs["ome"] = {"version": "0.5", "bioformats2raw.layout": 3}
        ome_group.attrs["ome"] = {"version": "0.5", "series": ["0", "1"]}
    else:
        root.attrs["bioformats2raw.layout"] = 3
        ome_group.attrs["series"] = ["0", "1"]
    assert ome.ome_kind(zc.open_group(store, mode="r")) == "bioformats2raw"
    assert ome.list_series(store) == ["0", "1"]
    with pytest.raises(MetadataError, match="2 images"):
        ome.open_image(store)  # readers must not silently pick the first image
    assert int(ome.open_image(store, series=1)["0"]["image"].max()) == 1
    assert int(ome.open_image(store, series="0")["0"]["image"].max()) == 0
    assert ome.validate(store) == []


def test_kind_helpers_and_hints(tmp_path):
    ome.write_plate(tmp_path / "p.zarr", {"A/1": [np.zeros((8, 8), np.uint8)]})
    g = zc.open_group(tmp_path / "p.zarr", mode="r")
    assert ome.is_ome(g) and ome.ome_kind(g) == "plate"
    assert ome.ome_kind(g["A/1"]) == "well" and ome.ome_kind(g["A/1/0"]) == "image"
    with pytest.raises(MetadataError, match="open_plate"):
        ome.open_image(tmp_path / "p.zarr")
    plain = zc.create_group(tmp_path / "plain.zarr")
    assert not ome.is_ome(plain) and ome.ome_kind(plain) is None
    with pytest.raises(MetadataError, match="not an OME-Zarr plate"):
        ome.open_plate(tmp_path / "plain.zarr")


def test_missing_dataset_is_a_clear_error(tmp_path):
    ome.write_image(np.zeros((16, 16), np.uint8), tmp_path / "a.zarr", levels=2)
    g = zc.open_group(tmp_path / "a.zarr", mode="r+")
    del g["1"]
    with pytest.raises(MetadataError, match="dataset '1' listed in multiscales does not exist"):
        ome.open_image(tmp_path / "a.zarr")
    assert ome.validate(tmp_path / "a.zarr") == ["/: dataset '1' does not exist"]


# --------------------------------------------------------------------- hierarchy checks


def _ms(g):
    return g.attrs["ome"]["multiscales"][0]


def test_validate_finds_structural_problems(tmp_path):
    x = np.zeros((2, 8, 32, 32), np.uint16)
    store = tmp_path / "a.zarr"
    ome.write_image(x, store, axes="czyx", chunks=(1, 8, 8, 8), levels=3)
    ome.write_labels(np.zeros((8, 32, 32), np.uint8), store, "seg")
    assert ome.validate(store) == []
    assert ome.validate(store).warnings == []  # what zarrconv writes follows the recommendations too
    g = zc.open_group(store, mode="r+")

    ms = _ms(g)
    ms["datasets"][1]["coordinateTransformations"][0]["scale"] = [1.0, 4.0, 4.0, 4.0]  # level 1 is half, not quarter
    ms["axes"][3]["unit"] = "pixel"
    g.attrs["ome"] = {**g.attrs["ome"], "multiscales": [ms], "omero": {"channels": [{"label": "only"}]}}
    problems = ome.validate(store)
    assert any("dataset '1' axis 'y': length 16 does not match its scale" in p for p in problems), problems
    # a unit outside the specification's list breaks a SHOULD: a warning, an error in strict mode
    assert not any("'pixel'" in p for p in problems) and any("'pixel'" in w for w in problems.warnings)
    assert any("'pixel'" in p for p in ome.validate(store, strict=True))
    assert any("omero lists 1 channels, the image has 2" in p for p in problems)

    lab = g["labels/seg"]
    lms = _ms(lab)
    lms["datasets"] = lms["datasets"][:2]
    lab.attrs["ome"] = {**lab.attrs["ome"], "multiscales": [lms]}
    assert any("the label image has 2 levels, its image has 3" in p for p in ome.validate(store))


def test_validate_dimension_names_and_version_mix(tmp_path):
    store = tmp_path / "a.zarr"
    g = ome.write_image(np.zeros((8, 8), np.uint8), store)
    g.create_array("bad", shape=(8, 8), dtype="u1", dimension_names=("a", "b"))
    ms = _ms(g)
    ms["datasets"].append({"path": "bad", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]})
    g.attrs["ome"] = {**g.attrs["ome"], "multiscales": [ms]}
    assert any("dimension_names ['a', 'b'], which must equal the axis names ['y', 'x']" in p
               for p in ome.validate(store))

    plate = tmp_path / "p.zarr"
    ome.write_plate(plate, {"A/1": [np.zeros((8, 8), np.uint8)]})
    well = zc.open_group(plate, path="A/1", mode="r+")
    well.attrs["ome"] = {**well.attrs["ome"], "version": "0.5-dev"}
    problems = ome.validate(plate)
    assert any("same throughout the hierarchy" in p for p in problems), problems


def test_validate_plate_references(tmp_path):
    plate = tmp_path / "p.zarr"
    g = ome.write_plate(plate, {"A/1": [np.zeros((8, 8), np.uint8)]}, rows=["A", "B"])
    p = g.attrs["ome"]["plate"]
    p["wells"].append({"path": "B/1", "rowIndex": 1, "columnIndex": 0})
    p["acquisitions"] = [{"id": 1}, {"id": 2}]
    g.attrs["ome"] = {**g.attrs["ome"], "plate": p}
    problems = ome.validate(plate)
    assert "B/1" in " ".join(problems) and "does not exist" in " ".join(problems)
    assert any("needs an 'acquisition'" in x for x in problems)
    assert ome.validate(tmp_path / "missing.zarr")  # no store there: reported, not raised


def test_validate_warns_about_empty_plate_groups_and_unlisted_labels(tmp_path):
    """Hierarchy-level recommendations of the specification: no row or well group without
    images (SHOULD NOT), every label image listed in 'labels' (SHOULD, 0.5 on). Warnings;
    errors with strict=True."""
    plate = tmp_path / "p.zarr"
    g = ome.write_plate(plate, {"A/1": [np.zeros((8, 8), np.uint8)]}, rows=["A", "B"], columns=["1", "2"])
    assert ome.validate(plate) == [] and ome.validate(plate).warnings == []
    g.create_group("B")  # a row without wells
    g["A"].create_group("2")  # a well group the plate does not list
    report = ome.validate(plate)
    assert report == []
    assert sorted(report.warnings) == [
        "A/2: well group A/2 is not a well of the plate (it has no images); it should not be present",
        "B: row group 'B' has no wells; it should not be present",
    ]
    assert sorted(ome.validate(plate, strict=True)) == sorted(report.warnings)

    image = tmp_path / "img.zarr"
    ome.write_image(np.zeros((16, 16), np.uint16), image, axes="yx", levels=1)
    ome.write_labels(np.zeros((16, 16), np.uint8), image, "cells")
    ome.write_labels(np.zeros((16, 16), np.uint8), image, "nuclei")
    labels = zc.open_group(image, mode="r+")["labels"]
    labels.attrs["ome"] = {**labels.attrs["ome"], "labels": ["cells"]}
    report = ome.validate(image)
    assert report == []
    assert report.warnings == ["labels/nuclei: label image 'nuclei' should be listed in the 'labels' metadata "
                               "of its 'labels' group"]


def test_xarray_backend_gives_the_same_levels(tmp_path):
    """xr.open_datatree(engine="zarrconv") builds OME levels with image_datasets: same
    variables, coordinates and attributes as open_image (labels included)."""
    if "zarrconv" not in xr.backends.list_engines():
        pytest.skip("the zarrconv xarray backend is not registered (package not installed)")
    x = np.arange(2 * 8 * 16 * 16, dtype=np.uint16).reshape(2, 8, 16, 16)
    store = tmp_path / "a.zarr"
    ome.write_image(x, store, axes="czyx", scale=[1, 2, 0.5, 0.5], channels=["a", "b"], chunks=(1, 4, 8, 8))
    ome.write_labels((x[0] % 3).astype(np.uint8), store, "seg")
    via_backend = xr.open_datatree(store, engine="zarrconv")
    ours = ome.open_image(store)
    for node in ("0", "1", "labels/seg/0", "labels/seg/1"):
        xr.testing.assert_identical(via_backend[node].to_dataset(), ours[node].to_dataset())
