"""Writing OME-Zarr with zarrconv: images, labels, plates; checked by reading back with
zarrconv, with our validator and with the official OME-NGFF schemas."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.conventions import ome
from zarrconv.conventions.pyramid import downsample
from zarrconv.errors import ContainsNodeError, MetadataError

da = pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")

NGFF = Path(__file__).resolve().parents[2].parent / "shared" / "ngff"


def _official_problems(attrs: dict, version: str, schema: str) -> list[str]:
    """Errors of ``attrs`` against an official OME-NGFF schema ([] if the data is absent:
    the check is then skipped by the caller)."""
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    if not NGFF.is_dir():
        pytest.skip(f"official OME-NGFF schemas not found at {NGFF}")
    docs = {p.name: json.loads(p.read_text()) for p in (NGFF / version / "schemas").glob("*.schema")}
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d, default_specification=DRAFT202012)) for d in docs.values())
    validator = jsonschema.Draft202012Validator(docs[schema], registry=registry)
    return [e.message for e in validator.iter_errors(attrs)]


def _attrs(store, path: str = "") -> dict:
    return zc.open_group(store, path=path or None, mode="r").attrs.asdict()


def _image(shape=(2, 12, 40, 50), seed=0, dtype=np.uint16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3000, size=shape).astype(dtype)


# ------------------------------------------------------------------------------ images


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_numpy_image_round_trip_with_coordinates(tmp_path, version):
    x = _image()
    store = tmp_path / "img.zarr"
    g = ome.write_image(x, store, axes="czyx", scale=[1, 2.0, 0.5, 0.25], translation=[0, 10, -5, 0],
                        units={"z": "um", "y": "micrometer", "x": "µm"}, chunks=(1, 8, 16, 16),
                        channels=["DAPI", "GFP"], version=version, name="cells")
    assert g.zarr_format == (3 if version == "0.5" else 2)
    assert ome.validate(store) == []
    attrs = _attrs(store)
    assert _official_problems(attrs, version, "strict_image.schema") == []
    ms = (attrs["ome"] if version == "0.5" else attrs)["multiscales"][0]
    assert [a.get("unit") for a in ms["axes"]] == [None, "micrometer", "micrometer", "micrometer"]
    assert ms["name"] == "cells" and ms["type"] == "mean"

    tree = ome.open_image(store)
    # anisotropic pixels (z 2.0, y 0.5, x 0.25): the finest axes shrink first, z only once the
    # pixel sizes meet, until every axis fits in one chunk (1, 8, 16, 16)
    shapes = {k: tree[k]["image"].shape[1:] for k in tree.children if k.isdigit()}
    assert shapes == {"0": (12, 40, 50), "1": (12, 20, 25), "2": (12, 10, 13), "3": (12, 10, 7),
                      "4": (6, 5, 4)}
    lvl0 = tree["0"]["image"]
    assert lvl0.dims == ("c", "z", "y", "x") and lvl0.dtype == np.uint16
    np.testing.assert_array_equal(lvl0.values, x)
    np.testing.assert_allclose(lvl0["z"].values, 10 + 2.0 * np.arange(12))
    np.testing.assert_allclose(lvl0["y"].values, -5 + 0.5 * np.arange(40))
    assert list(lvl0["c"].values) == ["DAPI", "GFP"]
    assert lvl0["x"].attrs["units"] == "micrometer"
    # level 1: factor 2 on y and x only (z is already the coarsest), first pixel at the centre of
    # the first 2x2 block; z keeps its planes and their coordinates
    lvl1 = tree["1"]["image"]
    np.testing.assert_allclose(lvl1["z"].values, 10 + 2.0 * np.arange(12))
    np.testing.assert_allclose(lvl1["x"].values, 0.125 + 0.5 * np.arange(25))
    np.testing.assert_array_equal(lvl1.values, downsample(x, (1, 1, 2, 2), "mean"))
    # the block centres of level 1 are the means of the level-0 coordinates they cover
    assert lvl1["y"].values[0] == pytest.approx(lvl0["y"].values[:2].mean())
    assert tree.attrs == attrs  # original metadata kept


def test_omero_metadata(tmp_path):
    x = _image((3, 20, 20))
    ome.write_image(x, tmp_path / "a.zarr", axes="cyx", channels=["a", {"label": "b", "color": "00FF00"}, "c"])
    omero = _attrs(tmp_path / "a.zarr")["ome"]["omero"]
    assert [c["label"] for c in omero["channels"]] == ["a", "b", "c"]
    assert omero["channels"][1]["color"] == "00FF00"
    w = omero["channels"][0]["window"]
    assert w["min"] == 0 and w["max"] == 65535 and 0 <= w["start"] <= w["end"] <= 3000
    with pytest.raises(MetadataError, match="channels"):
        ome.write_image(x, tmp_path / "b.zarr", axes="cyx", channels=["only one"])


def test_dataarray_input_gives_axes_geometry_units_and_channels(tmp_path):
    arr = xr.DataArray(
        np.arange(2 * 16 * 24, dtype=np.float32).reshape(2, 16, 24),
        dims=("c", "y", "x"),
        coords={"c": ["red", "green"], "y": ("y", 100 + 0.5 * np.arange(16), {"units": "um"}),
                "x": ("x", 0.25 * np.arange(24), {"units": "nm"})},
        name="sample",
    )
    ome.write_image(arr, tmp_path / "a.zarr", levels=2)
    assert ome.validate(tmp_path / "a.zarr") == []
    lvl0 = ome.open_image(tmp_path / "a.zarr")["0"]["image"]
    xr.testing.assert_allclose(lvl0.reset_coords(drop=True), arr.rename("image").reset_coords(drop=True))
    assert lvl0["y"].attrs == {"units": "micrometer"} and lvl0["x"].attrs == {"units": "nanometer"}
    assert list(lvl0["c"].values) == ["red", "green"]
    assert _attrs(tmp_path / "a.zarr")["ome"]["multiscales"][0]["name"] == "sample"
    uneven = arr.assign_coords(x=np.r_[0.0, np.cumsum(np.arange(1, 24))])
    with pytest.raises(MetadataError, match="evenly spaced"):
        ome.write_image(uneven, tmp_path / "b.zarr")


@pytest.mark.parametrize("method", ["mean", "gaussian", "nearest", "mode"])
def test_dask_input_levels_equal_numpy_downsampling(tmp_path, method):
    x = _image((30, 70, 90), seed=1)
    dx = da.from_array(x, chunks=(16, 32, 32))
    ome.write_image(dx, tmp_path / "d.zarr", method=method, levels=3)
    tree = ome.open_image(tmp_path / "d.zarr")
    expect = x
    for level in ("0", "1", "2"):
        np.testing.assert_array_equal(tree[level]["image"].values, expect)
        expect = downsample(expect, 2, method)
    assert ome.validate(tmp_path / "d.zarr") == []
    assert zc.open_array(tmp_path / "d.zarr", "0").chunks == (1, 32, 32)  # a plane per chunk, y/x follow dask


def test_dask_input_misaligned_with_chunks_is_rechunked_not_corrupted(tmp_path):
    x = _image((20, 50, 60), seed=2)
    dx = da.from_array(x, chunks=(7, 13, 11))  # straddles the 8x16x16 storage chunks
    ome.write_image(dx, tmp_path / "d.zarr", chunks=(8, 16, 16), levels=2)
    tree = ome.open_image(tmp_path / "d.zarr")
    np.testing.assert_array_equal(tree["0"]["image"].values, x)
    np.testing.assert_array_equal(tree["1"]["image"].values, downsample(x, 2, "mean"))


def test_dask_write_memory_is_bounded(tmp_path):
    """32 MiB of lazily generated data, 256 KiB chunks, 2 worker threads: the traced peak
    stays at a few chunks, far below the image size."""
    import dask

    ome.write_image(da.zeros((8, 64, 64), chunks=(8, 32, 32), dtype=np.uint16), tmp_path / "warm.zarr")
    x = da.random.default_rng(0).integers(0, 60000, size=(128, 512, 256), chunks=(32, 64, 64),
                                          dtype=np.uint16)
    assert x.nbytes == 32 * 2**20
    with dask.config.set(scheduler="threads", num_workers=2):
        tracemalloc.start()
        try:
            ome.write_image(x, tmp_path / "big.zarr", chunks=(32, 64, 64))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert zc.open_array(tmp_path / "big.zarr", "2").shape == (32, 128, 64)


def test_shards_and_time_axis(tmp_path):
    x = _image((3, 16, 64, 64), seed=3)
    ome.write_image(x, tmp_path / "s.zarr", axes="tzyx", chunks=(1, 8, 16, 16), shards=(1, 16, 64, 64),
                    units={"t": "s", "z": "um", "y": "um", "x": "um"}, scale=[0.5, 1, 1, 1])
    a0 = zc.open_array(tmp_path / "s.zarr", "0")
    assert a0.chunks == (1, 8, 16, 16) and a0.shards == (1, 16, 64, 64)
    a2 = zc.open_array(tmp_path / "s.zarr", "2")
    assert a2.shape == (3, 4, 16, 16) and a2.chunks == (1, 4, 16, 16)
    tree = ome.open_image(tmp_path / "s.zarr")
    np.testing.assert_allclose(tree["2"]["t"].values, [0, 0.5, 1.0])  # time is never downsampled
    assert tree["2"]["t"].attrs["units"] == "second"
    np.testing.assert_array_equal(tree["0"]["image"].values, x)
    assert ome.validate(tmp_path / "s.zarr") == []
    with pytest.raises(MetadataError, match="0.5"):
        ome.write_image(x, tmp_path / "v2.zarr", axes="tzyx", shards=(1, 16, 64, 64), version="0.4")


def test_shards_that_are_not_whole_chunks_are_refused_by_images_and_labels_alike(tmp_path):
    """write_image and write_labels resolve shard shapes in one place: both refuse a shard
    shape that is not a multiple of the chunk shape (write_labels used to write it), before
    anything is created."""
    x = _image((64, 64), seed=4)
    with pytest.raises(MetadataError, match=r"shards \(24, 24\) must be a multiple of chunks \(16, 16\)"):
        ome.write_image(x, tmp_path / "bad.zarr", axes="yx", chunks=16, shards=24)
    assert not (tmp_path / "bad.zarr").exists()
    ome.write_image(x, tmp_path / "img.zarr", axes="yx", chunks=16, shards=32, levels=2)
    with pytest.raises(MetadataError, match=r"shards \(24, 24\) must be a multiple of chunks \(16, 16\)"):
        ome.write_labels((x % 3).astype(np.uint8), tmp_path / "img.zarr", "cells", chunks=16, shards=24)
    assert "labels" not in zc.open_group(tmp_path / "img.zarr", mode="r")
    # whole chunks per shard are written, as for the image
    ome.write_labels((x % 3).astype(np.uint8), tmp_path / "img.zarr", "cells", chunks=16, shards=32)
    lv0 = zc.open_array(tmp_path / "img.zarr", "labels/cells/0")
    assert lv0.chunks == (16, 16) and lv0.shards == (32, 32)
    assert ome.validate(tmp_path / "img.zarr") == []


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"axes": "zcyx"}, "ordered time, channel/custom, then space"),
        ({"axes": "cyxq"}, "at most one channel"),
        ({"axes": "tcxy", "units": {"x": "second"}}, "not allowed for a space axis"),
        ({"axes": "tcyx", "units": ["ms", None, "pixel", None]}, "not allowed"),
        ({"axes": "yx"}, "2 axes"),
        ({"version": "0.3"}, "version"),
        ({"method": "cubic"}, "method"),
        ({"scale": [1, 1, 0, 1]}, "non-zero"),
    ],
)
def test_bad_image_arguments_raise(tmp_path, kwargs, fragment):
    with pytest.raises(MetadataError, match=fragment):
        ome.write_image(np.zeros((2, 2, 8, 8), np.uint8), tmp_path / "x.zarr", **kwargs)


def test_existing_group_needs_overwrite(tmp_path):
    x = np.zeros((8, 8), np.uint8)
    ome.write_image(x, tmp_path / "x.zarr")
    with pytest.raises(ContainsNodeError):
        ome.write_image(x, tmp_path / "x.zarr")
    ome.write_image(x + 1, tmp_path / "x.zarr", overwrite=True)
    assert int(ome.open_image(tmp_path / "x.zarr")["0"]["image"].max()) == 1


# ------------------------------------------------------------------------------ labels


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_labels_match_the_image(tmp_path, version):
    x = _image((2, 10, 40, 50), seed=4)
    store = tmp_path / "img.zarr"
    ome.write_image(x, store, axes="czyx", chunks=(1, 8, 16, 16), scale=[1, 2, 0.5, 0.5], version=version)
    seg = np.zeros((10, 40, 50), np.uint16)
    seg[2:8, 5:30, 10:40] = 7
    seg[0:3, 0:10, 0:10] = 3
    lg = ome.write_labels(seg, store, "cells", properties={7: {"class": "nucleus"}})
    assert lg.path.endswith("labels/cells")
    assert ome.validate(store) == []
    lattrs = _attrs(store, "labels/cells")
    assert _official_problems(lattrs, version, "strict_label.schema") == []
    assert _official_problems(lattrs, version, "strict_image.schema") == []
    il = (lattrs["ome"] if version == "0.5" else lattrs)["image-label"]
    assert [c["label-value"] for c in il["colors"]] == [0, 3, 7]
    assert il["colors"][0]["rgba"] == [0, 0, 0, 0]
    assert il["properties"] == [{"label-value": 7, "class": "nucleus"}]
    assert il["source"] == {"image": "../../"}
    labels_attrs = _attrs(store, "labels")
    assert (labels_attrs["ome"] if version == "0.5" else labels_attrs)["labels"] == ["cells"]

    tree = ome.open_image(store)
    lab = tree["labels/cells"]
    # the label pyramid has the image's levels (z 2.0 against y/x 0.5: y and x shrink first)
    image_levels = [k for k in tree.children if k.isdigit()]
    assert list(lab.children) == image_levels == ["0", "1", "2", "3"]
    img1, lab1 = tree["1"]["image"], lab["1"]["image"]
    assert lab1.shape == (1,) + img1.shape[1:]
    for dim in "zyx":  # overlays exactly
        np.testing.assert_array_equal(lab1[dim].values, img1[dim].values)
    np.testing.assert_array_equal(lab["0"]["image"].values[0], seg)
    np.testing.assert_array_equal(lab["1"]["image"].values[0], downsample(seg, (1, 2, 2), "mode"))

    ome.write_labels(da.from_array(seg, chunks=(5, 20, 25)), store, "second", colors={7: (255, 0, 0, 255)},
                     method="nearest")
    assert _attrs(store, "labels")[("ome" if version == "0.5" else "labels")] is not None
    names = (ome.open_image(store)["labels"].attrs.get("ome") or ome.open_image(store)["labels"].attrs)["labels"]
    assert names == ["cells", "second"]
    assert ome.validate(store) == []
    with pytest.raises(MetadataError, match="integers"):
        ome.write_labels(seg.astype(np.float32), store, "bad")
    with pytest.raises(MetadataError, match="shape"):
        ome.write_labels(seg[:, :10], store, "bad")


# ------------------------------------------------------------------------------- plates


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_plate_round_trip(tmp_path, version):
    f = [_image((2, 32, 32), seed=s) for s in range(3)]
    store = tmp_path / "plate.zarr"
    ome.write_plate(store, {"A/1": [f[0]], "B/3": [f[1], f[2]]}, rows=["A", "B"], columns=["1", "2", "3"],
                    name="screen", acquisitions=[{"id": 0, "name": "run", "maximumfieldcount": 2}],
                    field_acquisitions={"A/1": 0, "B/3": [0, 0]}, version=version, axes="cyx",
                    scale=[1, 0.3, 0.3], units={"y": "um", "x": "um"})
    assert ome.validate(store) == []
    pattrs = _attrs(store)
    assert _official_problems(pattrs, version, "strict_plate.schema") == []
    assert _official_problems(_attrs(store, "B/3"), version, "strict_well.schema") == []
    plate = ome.open_plate(store)
    assert plate.name == "screen" and plate.version == version
    assert plate.rows == ["A", "B"] and plate.columns == ["1", "2", "3"]
    assert plate.wells == ["A/1", "B/3"]
    assert plate.fields("B/3") == ["0", "1"]
    assert plate.acquisitions == [{"id": 0, "name": "run", "maximumfieldcount": 2}]
    field = plate.open_field("B/3", 1)
    np.testing.assert_array_equal(field["0"]["image"].values, f[2])
    np.testing.assert_allclose(field["0"]["x"].values, 0.3 * np.arange(32))
    assert ome.list_series(store) == ["A/1/0", "B/3/0", "B/3/1"]
    with pytest.raises(MetadataError, match="no well"):
        plate.open_field("C/1")
    with pytest.raises(MetadataError, match="out of range"):
        plate.open_field("A/1", 3)


def test_bad_plates_raise(tmp_path):
    x = np.zeros((8, 8), np.uint8)
    with pytest.raises(MetadataError, match="row"):
        ome.write_plate(tmp_path / "p.zarr", {"A-1/1": [x]})
    with pytest.raises(MetadataError, match="not in rows"):
        ome.write_plate(tmp_path / "p.zarr", {"C/1": [x]}, rows=["A", "B"])
    with pytest.raises(MetadataError, match="acquisition"):
        ome.write_plate(tmp_path / "p.zarr", {"A/1": [x]}, acquisitions=[1], field_acquisitions={"A/1": 2})
    with pytest.raises(MetadataError, match="at least one well"):
        ome.write_plate(tmp_path / "p.zarr", {})


def test_dask_with_odd_chunks_and_shards(tmp_path):
    """Chunk lengths that are not multiples of the factor, and sharded levels: each output
    chunk is still produced by one task from the right input pixels."""
    x = _image((23, 61, 47), seed=5)
    ome.write_image(da.from_array(x, chunks=(10, 20, 20)), tmp_path / "odd.zarr", chunks=(5, 15, 15), levels=3)
    tree = ome.open_image(tmp_path / "odd.zarr")
    np.testing.assert_array_equal(tree["1"]["image"].values, downsample(x, 2, "mean"))
    np.testing.assert_array_equal(tree["2"]["image"].values, downsample(downsample(x, 2, "mean"), 2, "mean"))
    ome.write_image(da.from_array(x, chunks=(16, 32, 32)), tmp_path / "sh.zarr", chunks=(8, 16, 16),
                    shards=(16, 32, 32), levels=3, method="mode")
    tree = ome.open_image(tmp_path / "sh.zarr")
    assert zc.open_array(tmp_path / "sh.zarr", "1").shards == (16, 32, 32)  # level (12, 31, 24)
    small = zc.open_array(tmp_path / "sh.zarr", "2")
    assert small.shape == (6, 16, 12) and small.shards == small.shape  # clipped to one shard
    np.testing.assert_array_equal(tree["2"]["image"].values, downsample(downsample(x, 2, "mode"), 2, "mode"))
    assert ome.validate(tmp_path / "sh.zarr") == []
