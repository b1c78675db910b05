"""engine="zarrconv" opens what xarray's own zarr engine writes, identically (v2 and v3)."""

from __future__ import annotations

import json
import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from xr_data import cftime_dataset, open_zarr_quiet, tree, variety_dataset, write_with_xarray

import zarrconv as zc
from zarrconv.xarray.backend import ZarrconvBackendEntrypoint

FORMATS = [2, 3]


def assert_same_encoding(ours: xr.Dataset, theirs: xr.Dataset) -> None:
    """Encodings that mean the same thing in both engines (codec objects differ in type)."""
    for name in theirs.variables:
        a, b = ours[name].encoding, theirs[name].encoding
        for key in ("chunks", "preferred_chunks", "shards", "dtype", "units", "calendar", "scale_factor",
                    "add_offset"):
            assert (key in a) == (key in b), (name, key, a, b)
            if key in b:
                assert a[key] == b[key], (name, key, a[key], b[key])
        for key in ("_FillValue", "fill_value"):
            assert (key in a) == (key in b), (name, key)
            if key in b:
                np.testing.assert_equal(np.asarray(a[key]), np.asarray(b[key]))


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize("consolidated", [True, False])
def test_xarray_written_store_opens_identically(tmp_path, zarr_format, consolidated):
    ds = variety_dataset()
    path = tmp_path / "x.zarr"
    write_with_xarray(ds, path, zarr_format, consolidated=consolidated)
    theirs = open_zarr_quiet(path, chunks=None, consolidated=consolidated)
    ours = xr.open_dataset(path, engine="zarrconv", consolidated=consolidated)
    xr.testing.assert_identical(ours, theirs)
    assert_same_encoding(ours, theirs)
    # the data match the original too (a check that does not rely on the peer)
    xr.testing.assert_identical(ours.drop_encoding(), xr.open_dataset(path, engine="zarrconv").load())
    np.testing.assert_array_equal(ours["temperature"].values, ds["temperature"].values)
    assert list(ours["name"].values) == list(ds["name"].values)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_decoding_arguments_match_zarr_engine(tmp_path, zarr_format):
    ds = variety_dataset()
    path = tmp_path / "x.zarr"
    write_with_xarray(ds, path, zarr_format)
    for kwargs in ({"mask_and_scale": False, "concat_characters": False},
                   {"decode_times": False, "decode_timedelta": False},
                   {"decode_coords": False, "drop_variables": ["lat", "i1"]}):
        theirs = open_zarr_quiet(path, chunks=None, **kwargs)
        ours = xr.open_dataset(path, engine="zarrconv", **kwargs)
        xr.testing.assert_identical(ours, theirs)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_cftime_calendar(tmp_path, zarr_format):
    pytest.importorskip("cftime")
    ds = cftime_dataset()
    path = tmp_path / "t.zarr"
    write_with_xarray(ds, path, zarr_format)
    coder = xr.coders.CFDatetimeCoder(use_cftime=True)
    ours = xr.open_dataset(path, engine="zarrconv", decode_times=coder)
    xr.testing.assert_identical(ours, open_zarr_quiet(path, chunks=None, decode_times=coder))
    assert ours["time"].encoding["calendar"] == "noleap"
    assert ours["time"].values[1].month == 2


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_fill_value_as_mask_override(tmp_path, zarr_format):
    ds = xr.Dataset({"v": (("x",), np.array([0, 1, 2], "i4"))})
    path = tmp_path / "m.zarr"
    write_with_xarray(ds, path, zarr_format, encoding={"v": {"_FillValue": 0}} if zarr_format == 2 else None)
    default = xr.open_dataset(path, engine="zarrconv")
    xr.testing.assert_identical(default, open_zarr_quiet(path, chunks=None))
    # a v2 fill_value is the CF _FillValue whatever the argument says (xarray's engine does the same,
    # and its own test_zarr_fill_value_setting expects it); in v3 the argument opts in to masking
    masked = xr.open_dataset(path, engine="zarrconv", use_zarr_fill_value_as_mask=True)
    np.testing.assert_array_equal(masked["v"].values, [np.nan, 1, 2])
    raw = xr.open_dataset(path, engine="zarrconv", use_zarr_fill_value_as_mask=False)
    if zarr_format == 2:
        xr.testing.assert_identical(raw, open_zarr_quiet(path, chunks=None, use_zarr_fill_value_as_mask=False))
        np.testing.assert_array_equal(raw["v"].values, [np.nan, 1, 2])
    else:
        np.testing.assert_array_equal(raw["v"].values, [0, 1, 2])
        assert raw["v"].dtype == np.int32


def test_lazy_indexing_reads_only_touched_chunks(tmp_path):
    data = np.arange(40 * 30, dtype="f8").reshape(40, 30)
    ds = xr.Dataset({"v": (("x", "y"), data)})
    path = tmp_path / "lazy.zarr"
    write_with_xarray(ds, path, 3, encoding={"v": {"chunks": (10, 10)}})
    ours = xr.open_dataset(path, engine="zarrconv")
    v = ours["v"]
    # remove every chunk but one: a selection inside that chunk must still work
    keep = path / "v" / "c" / "1" / "2"
    for f in (path / "v" / "c").rglob("*"):
        if f.is_file() and f != keep:
            f.unlink()
    np.testing.assert_array_equal(v[12:15, 21:28].values, data[12:15, 21:28])
    # outer indexing with arrays, and vectorized (pointwise) indexing
    np.testing.assert_array_equal(v.isel(x=[11, 13, 19], y=[20, 29]).values, data[np.ix_([11, 13, 19], [20, 29])])
    pts = v.isel(x=xr.DataArray([10, 15, 19], dims="p"), y=xr.DataArray([25, 20, 29], dims="p"))
    np.testing.assert_array_equal(pts.values, data[[10, 15, 19], [25, 20, 29]])
    assert np.isnan(v[0:5, 0:5].values).all()  # deleted chunks read as the fill value (NaN)


def test_chunks_follow_storage_and_shards(tmp_path):
    data = np.arange(64 * 48, dtype="i4").reshape(64, 48)
    ds = xr.Dataset({"v": (("x", "y"), data)})
    path = tmp_path / "sharded.zarr"
    write_with_xarray(ds, path, 3, encoding={"v": {"chunks": (8, 12), "shards": (32, 24)}})
    ours = xr.open_dataset(path, engine="zarrconv", chunks={})
    theirs = open_zarr_quiet(path)
    assert ours["v"].encoding["chunks"] == (8, 12)
    assert ours["v"].encoding["shards"] == (32, 24)
    assert ours["v"].chunks == theirs["v"].chunks == ((8,) * 8, (12,) * 4)
    assert isinstance(ours["v"].data, da.Array)
    xr.testing.assert_identical(ours.compute(), theirs.compute())


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_datatree_opens_identically(tmp_path, zarr_format):
    dt = tree()
    path = tmp_path / "tree.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt.to_zarr(path, zarr_format=zarr_format, mode="w")
        theirs = xr.open_datatree(path, engine="zarr", chunks=None)
    ours = xr.open_datatree(path, engine="zarrconv")
    xr.testing.assert_identical(ours, theirs)
    sub = xr.open_datatree(path, engine="zarrconv", group="child")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.testing.assert_identical(sub, xr.open_datatree(path, engine="zarr", group="child", chunks=None))
    groups = xr.open_groups(path, engine="zarrconv")
    assert set(groups) == {"/", "/child", "/child/grand", "/empty"}
    ds = xr.open_dataset(path, engine="zarrconv", group="child/grand")
    xr.testing.assert_identical(ds, open_zarr_quiet(path, group="child/grand", chunks=None))


def test_consolidated_metadata_is_one_read(tmp_path):
    ds = xr.Dataset({f"v{i}": (("x",), np.arange(3.0) + i) for i in range(20)})
    path = tmp_path / "c.zarr"
    write_with_xarray(ds, path, 3, consolidated=True)
    # with consolidated metadata, per-array zarr.json files are not needed to open
    for i in range(20):
        (path / f"v{i}" / "zarr.json").unlink()
    ours = xr.open_dataset(path, engine="zarrconv")
    np.testing.assert_array_equal(ours["v7"].values, np.arange(3.0) + 7)
    # without it, the arrays whose metadata is gone are not there
    assert not xr.open_dataset(path, engine="zarrconv", consolidated=False).data_vars


def test_consolidated_true_requires_it(tmp_path):
    path = tmp_path / "n.zarr"
    write_with_xarray(xr.Dataset({"v": (("x",), [1, 2])}), path, 3, consolidated=False)
    with pytest.raises(zc.NodeNotFoundError, match="consolidated"):
        xr.open_dataset(path, engine="zarrconv", consolidated=True)


def test_guess_can_open(tmp_path):
    entry = ZarrconvBackendEntrypoint()
    assert entry.guess_can_open("s3://bucket/data.zarr")
    assert entry.guess_can_open(tmp_path / "a.zarr/")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not entry.guess_can_open(plain)
    (plain / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    assert entry.guess_can_open(plain)
    assert not entry.guess_can_open(tmp_path / "file.nc")
    assert "zarrconv" in xr.backends.list_engines()


def test_missing_dimension_names_is_a_clear_error(tmp_path):
    path = tmp_path / "nodims.zarr"
    g = zc.create_group(path)
    g.create_array("a", shape=(3,), dtype="f4")
    with pytest.raises(zc.MetadataError, match="dimension_names"):
        xr.open_dataset(path, engine="zarrconv")
    path2 = tmp_path / "nodims2.zarr"
    g2 = zc.create_group(path2, zarr_format=2)
    g2.create_array("a", shape=(3,), dtype="f4")
    with pytest.raises(zc.MetadataError, match="_ARRAY_DIMENSIONS"):
        xr.open_dataset(path2, engine="zarrconv")


def test_missing_store_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        xr.open_dataset(tmp_path / "nothing.zarr", engine="zarrconv")


def test_ome_image_group_opens_as_levels_with_coordinates(tmp_path):
    ome = pytest.importorskip("zarrconv.conventions.ome")
    if not hasattr(ome, "image_datasets"):
        pytest.skip("the OME convention module has no image_datasets hook yet")
    path = tmp_path / "img.ome.zarr"
    axes = [{"name": "y", "type": "space", "unit": "micrometer"}, {"name": "x", "type": "space", "unit": "micrometer"}]
    datasets = [{"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": [0.5 * 2**i] * 2}]}
                for i in range(2)]
    g = zc.create_group(path, attributes={"ome": {"version": "0.5", "multiscales": [{"axes": axes,
                                                                                       "datasets": datasets}]}})
    full = np.arange(64, dtype="u2").reshape(8, 8)
    for i, level in enumerate((full, full[::2, ::2])):
        a = g.create_array(str(i), shape=level.shape, dtype="u2", chunks=(4, 4), dimension_names=["y", "x"])
        a[...] = level
    dt = xr.open_datatree(path, engine="zarrconv")
    assert set(dt.children) == {"0", "1"}
    assert not dt.ds.data_vars  # the level arrays are children, not variables of the image group
    np.testing.assert_array_equal(dt["1"]["image"].values, full[::2, ::2])
    np.testing.assert_allclose(dt["0"]["y"].values, np.arange(8) * 0.5)
    np.testing.assert_allclose(dt["1"]["x"].values, np.arange(4) * 1.0)
    assert dt["0"]["x"].attrs["units"] == "micrometer"


def test_rectilinear_chunks_become_dask_chunks(tmp_path):
    path = tmp_path / "rect.zarr"
    g = zc.create_group(path)
    a = g.create_array("v", shape=(10, 4), dtype="f4", chunks=[(3, 7), 2], dimension_names=["x", "y"])
    data = np.arange(40, dtype="f4").reshape(10, 4)
    a[...] = data
    ds = xr.open_dataset(path, engine="zarrconv", chunks={})
    assert ds["v"].encoding["chunks"] == ((3, 7), 2)
    assert ds["v"].chunks == ((3, 7), (2, 2))
    np.testing.assert_array_equal(ds["v"].values, data)
