"""xarray's own zarr engine (zarr-python underneath) opens what zarrconv writes, v2 and v3,
through consolidated metadata, without a single warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import zarrconv as zc

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

TEMP = np.random.default_rng(5).normal(size=(3, 4, 5)).astype("f4")


def _write_dataset(path, zarr_format: int) -> None:
    """A small CF dataset laid out as xarray expects, written with zarrconv's core API."""
    g = zc.create_group(path, zarr_format=zarr_format, attributes={"title": "zarrconv dataset"})
    dims = {"time": 3, "y": 4, "x": 5}
    t = g.create_array("time", shape=(3,), chunks=(3,), dtype="i8", dimension_names=["time"],
                       attributes={"units": "days since 2000-01-01", "calendar": "standard"})
    t[:] = [0, 1, 2]
    for name in ("y", "x"):
        c = g.create_array(name, shape=(dims[name],), chunks=(dims[name],), dtype="f8", dimension_names=[name])
        c[:] = np.arange(dims[name]) * 10.0
    v = g.create_array("temp", shape=TEMP.shape, chunks=(1, 4, 5), dtype="f4", fill_value=np.nan,
                       dimension_names=["time", "y", "x"], attributes={"units": "K", "long_name": "temperature"})
    v[:] = TEMP
    s = g.create_array("station", shape=(5,), chunks=(5,), dtype=str, dimension_names=["x"])
    s[:] = np.array(["a", "b", "c", "d", "é"], dtype=object)
    zc.consolidate_metadata(path)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xr_open_zarr_reads_zarrconv_stores_without_warnings(tmp_path, zarr_format) -> None:
    path = tmp_path / f"ds{zarr_format}.zarr"
    _write_dataset(path, zarr_format)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(path, consolidated=True, zarr_format=zarr_format)
        ds.load()
    assert ds.attrs["title"] == "zarrconv dataset"
    assert ds["temp"].dims == ("time", "y", "x") and ds["temp"].attrs["long_name"] == "temperature"
    np.testing.assert_array_equal(ds["temp"].values, TEMP)
    assert ds["time"].values[1] == np.datetime64("2000-01-02")
    assert list(ds["station"].values) == ["a", "b", "c", "d", "é"]
    np.testing.assert_array_equal(ds["x"].values, np.arange(5) * 10.0)
