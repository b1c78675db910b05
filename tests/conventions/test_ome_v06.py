"""OME-Zarr 0.6 (0.6rc0) images: what zarrconv writes validates (the official 0.6rc0 schemas,
ngff-zarr's validator) and ngff-zarr reads it with equal data and scales; zarrconv reads
what ngff-zarr writes; coordinates in a named coordinate system."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.conventions import ome
from zarrconv.conventions.ome import parse_attrs
from zarrconv.errors import MetadataError, NoTransformPathError

nz = pytest.importorskip("ngff_zarr")

SCHEMAS = Path(__file__).resolve().parents[2] / "conventions" / "ome" / "schemas" / "0.6rc0"
UNITS = {"z": "micrometer", "y": "micrometer", "x": "micrometer"}


def _official_validator(schema: str):
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    if not SCHEMAS.is_dir():
        pytest.skip(f"the official 0.6rc0 schemas are vendored by the validation work at {SCHEMAS}")
    docs = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema")}
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d, default_specification=DRAFT202012)) for d in docs.values())
    return jsonschema.Draft202012Validator(docs[schema], registry=registry)


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    return np.random.default_rng(6).integers(0, 4000, (8, 96, 80), dtype=np.uint16)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, volume: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("v06") / "zc.ome.zarr"
    ome.write_image(volume, path, axes="zyx", scale=[2.0, 0.5, 0.25], translation=[10.0, 0.0, -3.0],
                    units=UNITS, version="0.6", chunks=(8, 32, 32), levels=3)
    return path


def _attrs(path: Path) -> dict:
    return json.loads((path / "zarr.json").read_text())["attributes"]


def test_written_06_is_valid(written: Path) -> None:
    attrs = _attrs(written)
    assert attrs["ome"]["version"] == "0.6rc0"
    ms = attrs["ome"]["multiscales"][0]
    assert [c["name"] for c in ms["coordinateSystems"]] == ["intrinsic"]
    for ds in ms["datasets"]:
        (t,) = ds["coordinateTransformations"]
        assert t["input"] == {"path": ds["path"]} and t["output"] == {"name": "intrinsic"}
    nz.validate(attrs, version="0.6", model="image")  # the peer's validator
    errors = sorted(e.message for e in _official_validator("image.schema").iter_errors(attrs))
    assert errors == []


def test_ngff_zarr_reads_ours(written: Path, volume: np.ndarray) -> None:
    theirs = nz.from_ngff_zarr(str(written))
    ours = ome.open_image(written)
    assert len(theirs.images) == 3
    for image, (name, level) in zip(theirs.images, ((k, ours[k]) for k in ("0", "1", "2"))):
        np.testing.assert_array_equal(np.asarray(image.data), level["image"].values, err_msg=name)
        for dim in "zyx":
            coord = level[dim].values
            assert image.scale[dim] == pytest.approx(coord[1] - coord[0])
            assert image.translation[dim] == pytest.approx(coord[0])
    np.testing.assert_array_equal(np.asarray(theirs.images[0].data), volume)


def test_we_read_ngff_zarr_06(tmp_path: Path, volume: np.ndarray) -> None:
    img = nz.to_ngff_image(volume, dims=["z", "y", "x"], scale={"z": 2.0, "y": 0.5, "x": 0.25},
                           translation={"z": 1.0, "y": 2.0, "x": 3.0}, axes_units={d: "micrometer" for d in "zyx"})
    ms = nz.to_multiscales(img, scale_factors=[2, 4], method=nz.Methods.ITKWASM_BIN_SHRINK)
    nz.to_ngff_zarr(str(tmp_path / "nz.ome.zarr"), ms, version="0.6")
    md = parse_attrs(_attrs(tmp_path / "nz.ome.zarr"))
    assert md is not None and md.version == "0.6" and md.multiscales[0].intrinsic == "intrinsic"
    # per dataset path, independent of how the DataTree nests "scale0/image"
    levels = ome.image_datasets(zc.open_group(tmp_path / "nz.ome.zarr", mode="r"))
    assert list(levels) == md.multiscales[0].paths == ["scale0/image", "scale1/image", "scale2/image"]
    for image, level in zip(ms.images, levels.values()):
        np.testing.assert_array_equal(level["image"].values, np.asarray(image.data))
        for dim in "zyx":
            expected = image.translation[dim] + image.scale[dim] * np.arange(image.data.shape["zyx".index(dim)])
            np.testing.assert_allclose(level[dim].values, expected)
            assert level[dim].attrs["units"] == "micrometer"


def test_coordinates_in_another_coordinate_system(tmp_path: Path) -> None:
    data = np.arange(6 * 4, dtype=np.uint8).reshape(6, 4)
    g = ome.write_image(data, tmp_path / "img.ome.zarr", axes="yx", scale=[0.5, 2.0], version="0.6", levels=1)
    attrs = g.attrs.asdict()
    ms = attrs["ome"]["multiscales"][0]
    ms["coordinateSystems"] += [
        {"name": "stage", "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]},
        {"name": "swapped", "axes": [{"name": "x", "type": "space"}, {"name": "y", "type": "space"}]},
        {"name": "turned", "axes": [{"name": "u", "type": "space"}, {"name": "v", "type": "space"}]},
        {"name": "mislabelled", "axes": [{"name": "x", "type": "space"}, {"name": "y", "type": "space"}]},
    ]
    ms["coordinateTransformations"] = [
        {"type": "translation", "translation": [100, 200], "input": {"name": "intrinsic"}, "output": {"name": "stage"}},
        {"type": "mapAxis", "mapAxis": [1, 0], "input": {"name": "intrinsic"}, "output": {"name": "swapped"}},
        {"type": "scale", "scale": [2, 3], "input": {"name": "intrinsic"}, "output": {"name": "mislabelled"}},
        {"type": "rotation", "rotation": [[0, -1], [1, 0]], "input": {"name": "turned"},
         "output": {"name": "intrinsic"}},
    ]
    g.attrs.update(attrs)
    y, x = 0.5 * np.arange(6), 2.0 * np.arange(4)
    level = ome.open_image(tmp_path / "img.ome.zarr")["0"]
    np.testing.assert_allclose(level["y"].values, y)
    stage = ome.open_image(tmp_path / "img.ome.zarr", coordinate_system="stage")["0"]
    np.testing.assert_allclose(stage["y"].values, y + 100)
    np.testing.assert_allclose(stage["x"].values, x + 200)
    swapped = ome.open_image(tmp_path / "img.ome.zarr", coordinate_system="swapped")["0"]
    # mapAxis [1, 0]: the system's first axis "x" is input axis 1, the image's x
    np.testing.assert_allclose(swapped["x"].values, x)
    assert swapped["x"].dims == ("x",)
    mislabelled = ome.open_image(tmp_path / "img.ome.zarr", coordinate_system="mislabelled")["0"]
    # its first axis "x" varies along the dimension y: named apart from the dimension x
    np.testing.assert_allclose(mislabelled["x_mislabelled"].values, 2 * y)
    assert mislabelled["x_mislabelled"].dims == ("y",)
    turned = ome.open_image(tmp_path / "img.ome.zarr", coordinate_system="turned")["0"]
    # intrinsic = R @ turned, so turned = R^T @ intrinsic: u = y_i * 0 + x_i, v = -y_i
    np.testing.assert_allclose(turned["u"].values, x)
    np.testing.assert_allclose(turned["v"].values, -y)
    # the same numbers as the points API
    pts = ome.transform_coordinates(tmp_path / "img.ome.zarr", "intrinsic", "turned", [[y[3], x[2]]])
    np.testing.assert_allclose(pts, [[x[2], -y[3]]])
    with pytest.raises(MetadataError, match="needs an OME-Zarr 0.6 image"):
        ome.write_image(data, tmp_path / "v5.ome.zarr", axes="yx", levels=1)
        ome.open_image(tmp_path / "v5.ome.zarr", coordinate_system="stage")


def test_array_paths_are_nodes_of_the_graph(written: Path) -> None:
    # a point of level 1's array to the intrinsic system: index * (4, 1, 0.5) + translation
    got = ome.transform_coordinates(written, ("1", ""), "intrinsic", [[1, 2, 3]])
    level = ome.open_image(written)["1"]
    np.testing.assert_allclose(got, [[level["z"].values[1], level["y"].values[2], level["x"].values[3]]])


def test_official_06_multiscales_example_levels() -> None:
    # the 0.6rc0 text's complete multiscales example (facts: scales and translations per level)
    attrs = {"ome": {"version": "0.6rc0", "multiscales": [{
        "coordinateSystems": [{"name": "intrinsic", "axes": [
            {"name": "t", "type": "time"}, {"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
            {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}],
        "datasets": [
            {"path": "s0", "coordinateTransformations": [{"type": "scale", "scale": [0.1, 1, 0.5, 0.5, 0.5],
                                                          "input": {"path": "s0"}, "output": {"name": "intrinsic"}}]},
            {"path": "s1", "coordinateTransformations": [{
                "type": "sequence", "input": {"path": "s1"}, "output": {"name": "intrinsic"},
                "transformations": [{"type": "scale", "scale": [0.1, 1, 1, 1, 1]},
                                    {"type": "translation", "translation": [0, 0, 0.25, 0.25, 0.25]}]}]}]}]}}
    md = parse_attrs(attrs)
    scale, trans = md.multiscales[0].level_transform(1)
    np.testing.assert_allclose(scale, [0.1, 1, 1, 1, 1])
    np.testing.assert_allclose(trans, [0, 0, 0.25, 0.25, 0.25])
    assert md.to_attrs() == attrs  # written back as read


@pytest.mark.parametrize("broken, match", [
    ({"datasets": [{"path": "s0", "coordinateTransformations": []}]}, "has no 'coordinateSystems'"),
    ({"coordinateSystems": [{"name": "a", "axes": [{"name": "x"}]}],
      "datasets": [{"path": "s0", "coordinateTransformations": [
          {"type": "affine", "affine": [[1, 0]], "input": {"path": "s0"}, "output": {"name": "a"}}]}]},
     "must be a scale, an identity or a sequence"),
    ({"coordinateSystems": [{"name": "a", "axes": [{"name": "x"}]}],
      "datasets": [{"path": "s0", "coordinateTransformations": [
          {"type": "scale", "scale": [1], "input": {"path": "s0"}, "output": {"name": "b"}}]}]},
     "output 'b' is not one of the coordinate systems"),
])
def test_broken_06_multiscales(broken: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        parse_attrs({"ome": {"version": "0.6rc0", "multiscales": [broken]}})


def test_labels_on_a_06_image(tmp_path: Path) -> None:
    data = np.zeros((32, 32), dtype=np.uint8)
    ome.write_image(data, tmp_path / "img.ome.zarr", axes="yx", version="0.6", levels=2)
    seg = np.zeros((32, 32), dtype=np.uint16)
    seg[4:9, 4:9] = 3
    ome.write_labels(seg, tmp_path / "img.ome.zarr", "cells")
    label = zc.open_group(tmp_path / "img.ome.zarr", path="labels/cells", mode="r")
    assert label.attrs["ome"]["version"] == "0.6rc0"
    assert "coordinateSystems" in label.attrs["ome"]["multiscales"][0]
    tree = ome.open_image(tmp_path / "img.ome.zarr")
    np.testing.assert_array_equal(tree["labels/cells/0"]["image"].values, seg)


# ------------------------------------------------------------------ scenes


def _two_images(root: zc.Group) -> None:
    ome.write_image(np.zeros((16, 12), np.uint8), root, path="a", axes="yx", scale=[0.5, 0.5], version="0.6",
                    levels=1)
    ome.write_image(np.ones((8, 6), np.uint8), root, path="b", axes="yx", scale=[2.0, 2.0], version="0.6",
                    levels=1)


AFFINE = [[0.0, -1.0, 10.0], [1.0, 0.0, 5.0]]


def test_scene_we_write_ngff_zarr_reads(tmp_path: Path) -> None:
    root = zc.create_group(tmp_path / "scene.ome.zarr", zarr_format=3)
    _two_images(root)
    ome.write_scene(root, [
        {"type": "affine", "affine": AFFINE, "input": {"path": "a", "name": "intrinsic"},
         "output": {"path": "b", "name": "intrinsic"}},
        {"type": "translation", "translation": [100.0, 200.0], "input": {"path": "b", "name": "intrinsic"},
         "output": {"name": "world"}},
    ], [{"name": "world", "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}])
    attrs = _attrs(tmp_path / "scene.ome.zarr")
    assert attrs["ome"]["version"] == "0.6rc0" and len(attrs["ome"]["scene"]["coordinateTransformations"]) == 2
    theirs = nz.from_ome_zarr(str(tmp_path / "scene.ome.zarr"), kind="scene", validate=True)
    assert sorted(theirs.images) == ["a", "b"]
    assert [t.type for t in theirs.coordinateTransformations] == ["affine", "translation"]
    assert [list(r) for r in theirs.coordinateTransformations[0].affine] == AFFINE
    # index (2, 4) of a's level 0 -> a intrinsic (1, 2) -> b intrinsic by the affine -> world
    a_intrinsic = np.array([1.0, 2.0])
    b_intrinsic = np.array(AFFINE)[:, :2] @ a_intrinsic + np.array(AFFINE)[:, 2]
    got = ome.transform_coordinates(tmp_path / "scene.ome.zarr", ("a/0", ""), "world", [[2, 4]])
    np.testing.assert_allclose(got, [b_intrinsic + [100, 200]])
    back = ome.transform_coordinates(tmp_path / "scene.ome.zarr", "world", {"path": "a", "name": "intrinsic"}, got)
    np.testing.assert_allclose(back, [a_intrinsic])
    with pytest.raises(NoTransformPathError, match="ambiguous"):
        ome.transform_coordinates(tmp_path / "scene.ome.zarr", "intrinsic", "world", [[0, 0]])


def test_scene_ngff_zarr_writes_we_read(tmp_path: Path) -> None:
    from ngff_zarr.v06.zarr_metadata import Affine, CoordinateSystemIdentifier

    a = nz.to_multiscales(nz.to_ngff_image(np.zeros((16, 12), np.uint8), dims=["y", "x"],
                                           scale={"y": 0.5, "x": 0.5}), scale_factors=[])
    b = nz.to_multiscales(nz.to_ngff_image(np.ones((8, 6), np.uint8), dims=["y", "x"],
                                           scale={"y": 2.0, "x": 2.0}), scale_factors=[])
    t = Affine(affine=AFFINE, input=CoordinateSystemIdentifier(path="a", name="intrinsic"),
               output=CoordinateSystemIdentifier(path="b", name="intrinsic"))
    nz.NgffScene(images={"a": a, "b": b}, coordinateTransformations=[t]).to_ome_zarr(
        str(tmp_path / "nz.ome.zarr"), version="0.6")
    md = parse_attrs(_attrs(tmp_path / "nz.ome.zarr"))
    assert md is not None and md.kind == "scene"
    got = ome.transform_coordinates(tmp_path / "nz.ome.zarr", ("b", "intrinsic"), ("a", "intrinsic"), [[8.0, 6.0]])
    np.testing.assert_allclose(got, [[1.0, 2.0]])  # through the affine's inverse


def test_scene_naming_an_unknown_system_is_refused(tmp_path: Path) -> None:
    root = zc.create_group(tmp_path / "scene.ome.zarr", zarr_format=3)
    _two_images(root)
    with pytest.raises(NoTransformPathError, match="no coordinate system 'physical' in 'b'"):
        ome.write_scene(root, [{"type": "identity", "input": {"path": "a", "name": "intrinsic"},
                                "output": {"path": "b", "name": "physical"}}])
    assert "ome" not in zc.open_group(tmp_path / "scene.ome.zarr", mode="r").attrs
