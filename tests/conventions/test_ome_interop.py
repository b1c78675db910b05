"""Interoperability with the reference OME-Zarr implementations (test-only peers):

* what zarrconv writes is read by ome-zarr-py (``ome_zarr.reader``) and ngff-zarr
  (``from_ngff_zarr`` / ``from_hcs_zarr``) with the same data and transformations;
* images, labels and plates written by ome-zarr-py and ngff-zarr (0.4 and 0.5) are read
  by zarrconv with the right coordinates.
"""

from __future__ import annotations

import numpy as np
import pytest

from zarrconv.conventions import ome

zarr = pytest.importorskip("zarr")
VERSIONS = ["0.4", "0.5"]


def _image(shape=(2, 12, 48, 40), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, size=shape).astype(np.uint16)


def _write_ours(tmp_path, version):
    x = _image()
    store = tmp_path / f"ours{version}.zarr"
    ome.write_image(x, store, axes="czyx", scale=[1, 2.0, 0.5, 0.5], translation=[0, 5.0, 0, -3.0],
                    units={"z": "micrometer", "y": "micrometer", "x": "micrometer"}, chunks=(1, 8, 16, 16),
                    channels=["a", "b"], version=version)
    seg = (x[0] > 2000).astype(np.uint8)
    ome.write_labels(seg, store, "mask")
    return store, x, seg


def _level(tree, i: int = 0):
    """Level ``i`` of an opened image, whatever its dataset path ("0", "s0", "scale0/image")."""
    return ome.level(tree, i)["image"]


def _expected_transforms(store):
    md = ome.read_metadata(__import__("zarrconv").open_group(store, mode="r"))
    ms = md.multiscales[0]
    return [tuple(np.asarray(v).tolist() for v in ms.level_transform(i)) for i in range(len(ms.datasets))]


# ------------------------------------------------------------------ zarrconv -> others


@pytest.mark.parametrize("version", VERSIONS)
def test_ome_zarr_py_reads_what_we_write(tmp_path, version):
    pytest.importorskip("ome_zarr")
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Reader

    store, x, seg = _write_ours(tmp_path, version)
    nodes = list(Reader(parse_url(str(store)))())
    image = nodes[0]
    assert image.load(Multiscales) is not None
    # z (2.0) is 4x coarser than y/x (0.5): y and x are halved twice before z shrinks
    assert [tuple(d.shape) for d in image.data] == [(2, 12, 48, 40), (2, 12, 24, 20), (2, 12, 12, 10), (2, 6, 6, 5)]
    np.testing.assert_array_equal(np.asarray(image.data[0]), x)
    cts = image.metadata["coordinateTransformations"]
    expected = _expected_transforms(store)
    for level, ct in enumerate(cts):
        scale = next(t["scale"] for t in ct if t["type"] == "scale")
        trans = next((t["translation"] for t in ct if t["type"] == "translation"), [0] * 4)
        np.testing.assert_allclose(scale, expected[level][0])
        np.testing.assert_allclose(trans, expected[level][1])
    assert image.metadata["channel_names"] == ["a", "b"]
    labels = [n for n in nodes if n.load(Label) is not None]
    assert len(labels) == 1
    np.testing.assert_array_equal(np.asarray(labels[0].data[0])[0], seg)


@pytest.mark.parametrize("version", VERSIONS)
def test_ngff_zarr_reads_what_we_write(tmp_path, version):
    nz = pytest.importorskip("ngff_zarr")
    store, x, _ = _write_ours(tmp_path, version)
    ms = nz.from_ngff_zarr(str(store))
    assert len(ms.images) == 4
    np.testing.assert_array_equal(np.asarray(ms.images[0].data), x)
    expected = _expected_transforms(store)
    for level, im in enumerate(ms.images):
        assert tuple(im.dims) == ("c", "z", "y", "x")
        np.testing.assert_allclose([im.scale[d] for d in im.dims], expected[level][0])
        np.testing.assert_allclose([im.translation[d] for d in im.dims], expected[level][1])
        assert im.axes_units["z"] == "micrometer"
    np.testing.assert_array_equal(np.asarray(ms.images[1].data), np.asarray(ome.open_image(store)["1"]["image"]))


@pytest.mark.parametrize("version", VERSIONS)
def test_ngff_zarr_reads_our_plate(tmp_path, version):
    nz = pytest.importorskip("ngff_zarr")
    fields = [_image((2, 16, 16), seed=s) for s in range(3)]
    store = tmp_path / "plate.zarr"
    ome.write_plate(store, {"A/1": [fields[0]], "B/2": fields[1:]}, rows=["A", "B"], columns=["1", "2"],
                    name="p", acquisitions=[0], field_acquisitions={"A/1": 0, "B/2": 0}, version=version,
                    axes="cyx")
    plate = nz.from_hcs_zarr(str(store))
    assert [r.name for r in plate.metadata.rows] == ["A", "B"]
    assert [w.path for w in plate.metadata.wells] == ["A/1", "B/2"]
    well = plate.get_well("B", "2")
    assert len(well.images) == 2
    np.testing.assert_array_equal(np.asarray(well.get_image(1).images[0].data), fields[2])


# ------------------------------------------------------------------ others -> zarrconv


@pytest.mark.parametrize("version", VERSIONS)
def test_we_read_ome_zarr_py_images_and_labels(tmp_path, version):
    pytest.importorskip("ome_zarr")
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image, write_labels

    fmt = FormatV04() if version == "0.4" else FormatV05()
    x = _image((2, 8, 64, 48), seed=1)
    store = tmp_path / "ozp.zarr"
    root = zarr.open_group(str(store), mode="w", zarr_format=fmt.zarr_format)
    with pytest.warns(UserWarning):  # ome-zarr-py warns about the channel axis' missing scale
        write_image(x, root, axes="czyx", fmt=fmt, scale={"z": 2.0, "y": 0.5, "x": 0.25},
                    axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"}, scale_factors=(2, 4))
    seg = (x[:1] > 2000).astype(np.uint8)
    write_labels(seg, root, name="mask", axes="czyx", fmt=fmt, scale_factors=(2, 4))

    tree = ome.open_image(store)
    md = ome.read_metadata(__import__("zarrconv").open_group(store, mode="r"))
    paths = md.multiscales[0].paths
    assert list(tree.children)[: len(paths)] == paths
    lvl0 = tree[paths[0]]["image"]
    np.testing.assert_array_equal(lvl0.values, x)
    np.testing.assert_allclose(lvl0["z"].values, 2.0 * np.arange(8))
    np.testing.assert_allclose(lvl0["x"].values, 0.25 * np.arange(48))
    assert lvl0["y"].attrs["units"] == "micrometer"
    last = tree[paths[-1]]["image"]
    assert last.shape == (2, 8, 16, 12)  # ome-zarr-py only downsamples y and x
    # every level spans the same physical extent: its pixels are the level-0 block centres
    np.testing.assert_allclose(last["x"].values, (0.25 * np.arange(48)).reshape(12, 4).mean(axis=1))
    mask = tree["labels/mask"]
    np.testing.assert_array_equal(mask[paths[0]]["image"].values, seg)
    problems = ome.validate(store)
    if version == "0.5":
        # ome-zarr-py leaves "version" out of the labels group's "ome" object
        assert problems == ["labels: $.ome: 'version' is a required property (schema 0.5/labels)"]
    else:
        assert problems == []


@pytest.mark.parametrize("version", VERSIONS)
def test_we_read_ome_zarr_py_plates(tmp_path, version):
    pytest.importorskip("ome_zarr")
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    fmt = FormatV04() if version == "0.4" else FormatV05()
    store = tmp_path / "plate.zarr"
    root = zarr.open_group(str(store), mode="w", zarr_format=fmt.zarr_format)
    write_plate_metadata(root, ["A", "B"], ["1", "2", "3"], ["A/2", "B/3"], fmt=fmt, name="screen")
    data = {}
    for w in ("A/2", "B/3"):
        row, col = w.split("/")
        well = root.require_group(row).require_group(col)
        write_well_metadata(well, ["0"], fmt=fmt)
        im = _image((16, 16), seed=len(data))
        write_image(im, well.require_group("0"), axes="yx", fmt=fmt, scale_factors=())
        data[w] = im
    plate = ome.open_plate(store)
    assert plate.rows == ["A", "B"] and plate.columns == ["1", "2", "3"] and plate.wells == ["A/2", "B/3"]
    assert plate.name == "screen"
    for w, im in data.items():
        np.testing.assert_array_equal(_level(plate.open_field(w, 0)).values, im)
    assert ome.validate(store) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_we_read_ngff_zarr_images(tmp_path, version):
    nz = pytest.importorskip("ngff_zarr")
    x = _image((10, 64, 80), seed=2)
    image = nz.to_ngff_image(x, dims=["z", "y", "x"], scale={"z": 3.0, "y": 0.5, "x": 0.5},
                             translation={"z": 1.0, "y": -2.0, "x": 4.0},
                             axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})
    ms = nz.to_multiscales(image, scale_factors=[2, 4], method=nz.Methods.ITKWASM_BIN_SHRINK)
    store = tmp_path / "nz.zarr"
    nz.to_ngff_zarr(str(store), ms, version=version)
    tree = ome.open_image(store)
    md = ome.read_metadata(__import__("zarrconv").open_group(store, mode="r"))
    paths = md.multiscales[0].paths
    assert len(paths) == 3
    for level, (path, im) in enumerate(zip(paths, ms.images)):
        da_ = tree[path]["image"]
        assert da_.dims == ("z", "y", "x")
        np.testing.assert_array_equal(da_.values, np.asarray(im.data))
        for dim in da_.dims:
            np.testing.assert_allclose(da_[dim].values, im.translation[dim] + im.scale[dim] * np.arange(da_.sizes[dim]),
                                       err_msg=f"level {level} {dim}")
        assert da_["x"].attrs["units"] == "micrometer"
    np.testing.assert_allclose(tree[paths[0]]["z"].values, 1.0 + 3.0 * np.arange(10))
    assert ome.validate(store) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_we_read_ngff_zarr_plates(tmp_path, version):
    nz = pytest.importorskip("ngff_zarr")
    from ngff_zarr.hcs import HCSPlateWriter, Plate, PlateColumn, PlateRow, PlateWell

    store = tmp_path / "plate.zarr"
    meta = Plate(columns=[PlateColumn("1"), PlateColumn("2")], rows=[PlateRow("A")],
                 wells=[PlateWell("A/1", 0, 0), PlateWell("A/2", 0, 1)], version=version, name="nzplate")
    images = {}
    with HCSPlateWriter(str(store), meta) as writer:
        for col in ("1", "2"):
            x = _image((24, 24), seed=int(col))
            ms = nz.to_multiscales(nz.to_ngff_image(x, dims=["y", "x"], scale={"y": 0.7, "x": 0.7}),
                                   scale_factors=[])
            writer.write_well_image(multiscales=ms, row_name="A", column_name=col, field_index=0)
            images[f"A/{col}"] = x
    plate = ome.open_plate(store)
    assert plate.wells == ["A/1", "A/2"] and plate.name == "nzplate" and plate.version == version
    for w, x in images.items():
        level0 = _level(plate.open_field(w))
        np.testing.assert_array_equal(level0.values, x)
        np.testing.assert_allclose(level0["y"].values, 0.7 * np.arange(24))
