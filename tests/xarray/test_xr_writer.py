"""zc.to_zarr writes what xarray's zarr engine and engine="zarrconv" both open identically."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from xr_data import cftime_dataset, open_zarr_quiet, tree, variety_dataset, write_with_xarray

import zarrconv as zc

FORMATS = [2, 3]


def open_both(path: object, **kwargs: object) -> tuple[xr.Dataset, xr.Dataset]:
    return xr.open_dataset(path, engine="zarrconv", **kwargs), open_zarr_quiet(path, chunks=None, **kwargs)


def xarray_written(ds: xr.Dataset, tmp_path: object, zarr_format: int, **kwargs: object) -> xr.Dataset:
    path = tmp_path / f"ref{zarr_format}.zarr"
    write_with_xarray(ds, path, zarr_format, **kwargs)
    return open_zarr_quiet(path, chunks=None)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_round_trip_variety_both_engines(tmp_path, zarr_format):
    ds = variety_dataset()
    path = tmp_path / "out.zarr"
    zc.to_zarr(ds, path, zarr_format=zarr_format)
    ours, theirs = open_both(path)
    xr.testing.assert_identical(ours, theirs)
    # the same as what xarray's own writer produces, read back by xarray
    xr.testing.assert_identical(theirs, xarray_written(variety_dataset(), tmp_path, zarr_format))
    # and equal to the input after decoding
    xr.testing.assert_identical(ours.drop_encoding().drop_vars("packed"), ds.drop_encoding().drop_vars("packed"))
    np.testing.assert_allclose(ours["packed"].values, ds["packed"].values, atol=0.005)  # int16, scale 0.01
    meta = json.loads((path / "temperature" / ("zarr.json" if zarr_format == 3 else ".zattrs")).read_text())
    if zarr_format == 3:
        assert meta["dimension_names"] == ["x", "y"]
    else:
        assert meta["_ARRAY_DIMENSIONS"] == ["x", "y"]


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_fill_value_storage_matches_xarray(tmp_path, zarr_format):
    ds = xr.Dataset({"f": (("x",), np.array([1.0, np.nan])), "i": (("x",), np.array([1, 2], "i2"))})
    ds["i"].encoding["_FillValue"] = -1
    path = tmp_path / "fill.zarr"
    zc.to_zarr(ds, path, zarr_format=zarr_format)
    ref = tmp_path / "ref.zarr"
    write_with_xarray(ds, ref, zarr_format)
    for name in ("f", "i"):
        if zarr_format == 3:
            ours = json.loads((path / name / "zarr.json").read_text())
            theirs = json.loads((ref / name / "zarr.json").read_text())
            assert ours["fill_value"] == theirs["fill_value"]
            assert ours["attributes"] == theirs["attributes"]
        else:
            ours = json.loads((path / name / ".zarray").read_text())
            theirs = json.loads((ref / name / ".zarray").read_text())
            assert ours["fill_value"] == theirs["fill_value"]
            assert json.loads((path / name / ".zattrs").read_text()) == json.loads((ref / name / ".zattrs").read_text())


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_cftime_and_scalars_and_empty(tmp_path, zarr_format):
    pytest.importorskip("cftime")
    ds = cftime_dataset()
    path = tmp_path / "cf.zarr"
    zc.to_zarr(ds, path, zarr_format=zarr_format)
    coder = xr.coders.CFDatetimeCoder(use_cftime=True)
    ours, theirs = open_both(path, decode_times=coder)
    xr.testing.assert_identical(ours, theirs)
    xr.testing.assert_identical(ours.drop_encoding(), ds)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_encoding_keys(tmp_path, zarr_format):
    ds = xr.Dataset({"v": (("x", "y"), np.arange(600, dtype="f8").reshape(20, 30))})
    enc = {"v": {"chunks": (10, 15), "compressors": "gzip" if zarr_format == 3 else {"id": "zlib", "level": 1},
                 "dtype": "f4", "_FillValue": -9999.0}}
    if zarr_format == 3:
        enc["v"]["shards"] = (20, 30)
    path = tmp_path / "enc.zarr"
    zc.to_zarr(ds, path, zarr_format=zarr_format, encoding=enc)
    ours, theirs = open_both(path)
    xr.testing.assert_identical(ours, theirs)
    arr = zc.open_array(path, "v")
    assert arr.dtype == np.float32
    assert arr.chunks == (10, 15)
    assert arr.shards == ((20, 30) if zarr_format == 3 else None)
    assert ours["v"].encoding["chunks"] == theirs["v"].encoding["chunks"] == (10, 15)
    assert ours["v"].encoding["_FillValue"] == -9999.0
    np.testing.assert_array_equal(ours["v"].values, ds["v"].values)
    with pytest.raises(zc.MetadataError, match="unexpected encoding"):
        zc.to_zarr(ds, tmp_path / "bad.zarr", encoding={"v": {"compresor": "zstd"}})


def test_encoding_from_zarr_engine_is_reusable(tmp_path):
    """A dataset opened with engine='zarr' (zarr-python codec objects in encoding) writes back."""
    ds = xr.Dataset({"v": (("x",), np.arange(10.0))})
    src = tmp_path / "src.zarr"
    write_with_xarray(ds, src, 3, encoding={"v": {"chunks": (5,)}})
    opened = open_zarr_quiet(src, chunks=None)
    zc.to_zarr(opened, tmp_path / "copy.zarr")
    back = xr.open_dataset(tmp_path / "copy.zarr", engine="zarrconv")
    xr.testing.assert_identical(back.drop_encoding(), opened.drop_encoding())
    assert back["v"].encoding["chunks"] == (5,)
    # and what engine="zarrconv" opened writes back too
    zc.to_zarr(back, tmp_path / "copy2.zarr")
    xr.testing.assert_identical(xr.open_dataset(tmp_path / "copy2.zarr", engine="zarrconv"), back)


def test_modes(tmp_path):
    ds = xr.Dataset({"a": (("x",), np.arange(4.0))}, coords={"x": [1, 2, 3, 4]}, attrs={"v": 1})
    path = tmp_path / "m.zarr"
    zc.to_zarr(ds, path)
    with pytest.raises(zc.ContainsNodeError):
        zc.to_zarr(ds, path)  # w- refuses existing data
    ds2 = ds.assign(a=ds.a * 2).assign_attrs(v=2)
    with pytest.raises(zc.MetadataError):  # a write that is refused while planned deletes nothing
        zc.to_zarr(ds2, path, mode="w", encoding={"a": {"bogus": 1}})
    xr.testing.assert_identical(xr.open_dataset(path, engine="zarrconv").drop_encoding(), ds)
    zc.to_zarr(ds2, path, mode="w")
    xr.testing.assert_identical(xr.open_dataset(path, engine="zarrconv").drop_encoding(), ds2)
    # a: add a variable, keep the others
    zc.to_zarr(xr.Dataset({"b": (("x",), np.ones(4, "i4"))}), path, mode="a")
    out = xr.open_dataset(path, engine="zarrconv")
    assert set(out.data_vars) == {"a", "b"}
    np.testing.assert_array_equal(out["a"].values, ds2["a"].values)
    # r+: only existing variables
    zc.to_zarr(xr.Dataset({"b": (("x",), np.full(4, 7, "i4"))}), path, mode="r+")
    np.testing.assert_array_equal(xr.open_dataset(path, engine="zarrconv")["b"].values, [7] * 4)
    with pytest.raises(zc.NodeNotFoundError, match="r\\+"):
        zc.to_zarr(xr.Dataset({"c": (("x",), np.ones(4))}), path, mode="r+")
    with pytest.raises(zc.ShapeMismatchError):
        zc.to_zarr(xr.Dataset({"b": (("x",), np.ones(5, "i4"))}), path, mode="r+")
    with pytest.raises(ValueError, match="mode"):
        zc.to_zarr(ds, path, mode="x")
    xr.testing.assert_identical(*open_both(path))


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_append_dim(tmp_path, zarr_format):
    times = pd.date_range("2020-01-01", periods=6, freq="D")
    full = xr.Dataset(
        {"v": (("time", "x"), np.arange(18.0).reshape(6, 3)), "const": (("x",), np.array([1, 2, 3], "i2"))},
        coords={"time": times, "x": [10, 20, 30]},
    )
    path = tmp_path / "app.zarr"
    zc.to_zarr(full.isel(time=slice(0, 2)), path, zarr_format=zarr_format, encoding={"v": {"chunks": (2, 3)}})
    zc.to_zarr(full.isel(time=slice(2, 5)), path, append_dim="time")
    zc.to_zarr(full.isel(time=slice(5, 6)), path, mode="a", append_dim="time")
    ours, theirs = open_both(path)
    xr.testing.assert_identical(ours, theirs)
    xr.testing.assert_identical(ours.drop_encoding(), full)
    assert zc.open_array(path, "v").shape == (6, 3)
    with pytest.raises(zc.ShapeMismatchError, match="append_dim"):
        zc.to_zarr(full, path, append_dim="nope")


def test_append_with_xarray_then_zarrconv(tmp_path):
    full = xr.Dataset({"v": (("t",), np.arange(8.0))}, coords={"t": np.arange(8)})
    path = tmp_path / "mixed.zarr"
    write_with_xarray(full.isel(t=slice(0, 4)), path, 3)
    zc.to_zarr(full.isel(t=slice(4, 8)), path, append_dim="t")
    xr.testing.assert_identical(open_zarr_quiet(path, chunks=None).drop_encoding(), full)
    # and the other way: zarrconv writes, xarray's zarr engine appends
    path2 = tmp_path / "mixed2.zarr"
    zc.to_zarr(full.isel(t=slice(0, 4)), path2, zarr_format=2, encoding={"v": {"chunks": (4,)}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full.isel(t=slice(4, 8)).to_zarr(path2, append_dim="t")
    ours, theirs = open_both(path2)
    xr.testing.assert_identical(ours, theirs)
    xr.testing.assert_identical(ours.drop_encoding(), full)


def test_region_explicit_and_auto(tmp_path):
    full = xr.Dataset({"v": (("t", "x"), np.arange(40.0).reshape(10, 4))}, coords={"t": np.arange(10) * 2, "x": list("abcd")})
    path = tmp_path / "reg.zarr"
    template = full.copy()
    template["v"] = template["v"] * 0
    zc.to_zarr(template, path, encoding={"v": {"chunks": (5, 4)}})
    zc.to_zarr(full.isel(t=slice(0, 5)).drop_vars(["t", "x"]), path, region={"t": slice(0, 5)})
    zc.to_zarr(full.isel(t=slice(5, 10)), path, region="auto", mode="r+")
    ours, theirs = open_both(path)
    xr.testing.assert_identical(ours, theirs)
    xr.testing.assert_identical(ours.drop_encoding(), full)
    with pytest.raises(zc.ShapeMismatchError, match="not in the store"):
        zc.to_zarr(full.assign_coords(t=full.t + 1000).isel(t=slice(0, 2)), path, region="auto")
    with pytest.raises(zc.ShapeMismatchError, match="step 1"):
        zc.to_zarr(full.isel(t=slice(0, 5)).drop_vars(["t", "x"]), path, region={"t": slice(0, 10, 2)})


def test_dask_written_chunk_by_chunk(tmp_path):
    arr = da.arange(0, 24 * 10, chunks=24 * 2, dtype="f8").reshape(24, 10).rechunk((6, 5))
    ds = xr.Dataset({"v": (("x", "y"), arr)})
    path = tmp_path / "dask.zarr"
    calls = []

    def count(block: np.ndarray) -> np.ndarray:
        if block.size > 1:  # dask also calls with tiny blocks to learn the output type
            calls.append(block.shape)
        return block

    ds["v"] = ds["v"].copy(data=arr.map_blocks(count))
    zc.to_zarr(ds, path)
    assert len(calls) == 8 and set(calls) == {(6, 5)}  # each dask chunk computed once, never the whole array
    out = zc.open_array(path, "v")
    assert out.chunks == (6, 5)
    np.testing.assert_array_equal(out[...], np.arange(240.0).reshape(24, 10))
    xr.testing.assert_identical(*open_both(path))


def test_misaligned_dask_chunks_raise(tmp_path):
    arr = da.zeros((20,), chunks=((7, 7, 6),))
    ds = xr.Dataset({"v": (("x",), arr)})
    with pytest.raises(zc.ChunkAlignmentError, match="inside a storage chunk of 5.*safe_chunks=False"):
        zc.to_zarr(ds, tmp_path / "bad.zarr", encoding={"v": {"chunks": (5,)}})
    zc.to_zarr(ds.assign(v=ds.v + 1), tmp_path / "ok.zarr", encoding={"v": {"chunks": (5,)}}, safe_chunks=False)
    np.testing.assert_array_equal(zc.open_array(tmp_path / "ok.zarr", "v")[...], np.ones(20))
    # sharded arrays: dask chunks must align with shards, not just inner chunks
    with pytest.raises(zc.ChunkAlignmentError, match="shard"):
        zc.to_zarr(xr.Dataset({"v": (("x",), da.zeros(20, chunks=5))}), tmp_path / "sh.zarr",
                   encoding={"v": {"chunks": (5,), "shards": (10,)}})
    # region writes into an existing store must not start or stop inside a chunk
    zc.to_zarr(xr.Dataset({"v": (("x",), np.zeros(20))}), tmp_path / "r.zarr", encoding={"v": {"chunks": (5,)}})
    part = xr.Dataset({"v": (("x",), da.ones(6, chunks=3))})
    with pytest.raises(zc.ChunkAlignmentError):
        zc.to_zarr(part, tmp_path / "r.zarr", region={"x": slice(2, 8)})


def test_compute_false_returns_delayed(tmp_path):
    ds = xr.Dataset({"v": (("x",), da.arange(12.0, chunks=4))}, coords={"x": np.arange(12)})
    path = tmp_path / "lazy.zarr"
    delayed = zc.to_zarr(ds, path, compute=False)
    assert isinstance(delayed, dask.delayed(lambda: 0)().__class__)
    # metadata and coordinates are there already, data not yet
    before = xr.open_dataset(path, engine="zarrconv")
    np.testing.assert_array_equal(before["x"].values, np.arange(12))
    assert np.isnan(before["v"].values).all()
    delayed.compute()
    after, theirs = open_both(path)
    np.testing.assert_array_equal(after["v"].values, np.arange(12.0))
    xr.testing.assert_identical(after, theirs)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_datatree_round_trip(tmp_path, zarr_format):
    dt = tree()
    path = tmp_path / "tree.zarr"
    zc.to_zarr(dt, path, zarr_format=zarr_format)
    ours = xr.open_datatree(path, engine="zarrconv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = xr.open_datatree(path, engine="zarr", chunks=None)
    xr.testing.assert_identical(ours, theirs)
    xr.testing.assert_identical(ours, dt)


def test_accessors(tmp_path):
    ds = xr.Dataset({"a": (("x",), np.arange(3))})
    g = ds.zarrconv.to_zarr(tmp_path / "acc.zarr")
    assert isinstance(g, zc.Group)
    xr.testing.assert_identical(xr.open_dataset(tmp_path / "acc.zarr", engine="zarrconv").drop_encoding(), ds)
    tree().zarrconv.to_zarr(tmp_path / "acc_tree.zarr", zarr_format=2)
    xr.testing.assert_identical(xr.open_datatree(tmp_path / "acc_tree.zarr", engine="zarrconv"), tree())


def test_group_and_consolidation(tmp_path):
    path = tmp_path / "g.zarr"
    a = xr.Dataset({"a": (("x",), np.arange(3.0))})
    b = xr.Dataset({"b": (("y",), np.arange(2.0))})
    zc.to_zarr(a, path, group="first")
    zc.to_zarr(b, path, group="second/deep", mode="a")
    root = json.loads((path / "zarr.json").read_text())
    assert set(root["consolidated_metadata"]["metadata"]) >= {"first", "first/a", "second", "second/deep/b"}
    for grp, ds in (("first", a), ("second/deep", b)):
        ours = xr.open_dataset(path, engine="zarrconv", group=grp)
        xr.testing.assert_identical(ours.drop_encoding(), ds)
        xr.testing.assert_identical(ours, open_zarr_quiet(path, group=grp, chunks=None))
    zc.to_zarr(a, tmp_path / "nc.zarr", consolidated=False)
    assert "consolidated_metadata" not in json.loads((tmp_path / "nc.zarr" / "zarr.json").read_text())


def test_bad_names_and_types(tmp_path):
    with pytest.raises(TypeError):
        zc.to_zarr([1, 2], tmp_path / "x.zarr")
    with pytest.raises(zc.MetadataError, match="'/'"):
        zc.to_zarr(xr.Dataset({"a/b": (("x",), [1])}), tmp_path / "y.zarr")
    named = xr.DataArray(np.arange(3), dims="x", name="arr")
    zc.to_zarr(named, tmp_path / "da.zarr")
    np.testing.assert_array_equal(xr.open_dataset(tmp_path / "da.zarr", engine="zarrconv")["arr"].values, [0, 1, 2])


def test_failed_write_leaves_no_metadata(tmp_path):
    def explode(block: np.ndarray) -> np.ndarray:
        if block.size > 1 and block.flat[0] >= 8:
            raise RuntimeError("source failed")
        return block

    arr = da.arange(16.0, chunks=4).map_blocks(explode)
    ds = xr.Dataset({"v": (("x",), arr)})
    path = tmp_path / "failed.zarr"
    with pytest.raises(RuntimeError, match="source failed"):
        zc.to_zarr(ds, path)
    # metadata is written last: nothing claims to be a complete dataset
    assert not (path / "v" / "zarr.json").exists()
    assert not (path / "zarr.json").exists()


def test_import_zarrconv_does_not_import_xarray_but_registers_accessor():
    code = ("import sys, zarrconv; assert 'xarray' not in sys.modules; import xarray; "
            "assert hasattr(xarray.Dataset, 'zarrconv') and hasattr(xarray.DataTree, 'zarrconv'); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_s3_round_trip_with_storage_options(s3_bucket, s3_storage_options):
    ds = xr.Dataset({"v": (("t", "x"), da.arange(48.0, chunks=12).reshape(8, 6).rechunk((2, 6)))},
                    coords={"t": pd.date_range("2024-01-01", periods=8)}, attrs={"where": "s3"})
    url = f"{s3_bucket}/remote.zarr"
    zc.to_zarr(ds, url, storage_options=s3_storage_options)
    ours = xr.open_dataset(url, engine="zarrconv", storage_options=s3_storage_options, chunks={})
    assert ours["v"].chunks == ((2,) * 4, (6,))
    xr.testing.assert_identical(ours.compute().drop_encoding(), ds.compute())
    theirs = open_zarr_quiet(url, storage_options=s3_storage_options, chunks=None)
    xr.testing.assert_identical(ours.compute(), theirs)
