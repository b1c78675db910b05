"""zarrconv.conventions.cf: CF axis/coordinate detection and cell bounds via cf-xarray."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from zarrconv.conventions import cf
from zarrconv.errors import MetadataError

pytest.importorskip("cf_xarray")
pyproj = pytest.importorskip("pyproj")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
]


def grid(ydim: str, xdim: str, *, coords: bool = True, attrs: dict | None = None) -> xr.Dataset:
    ds = xr.Dataset({"v": ((ydim, xdim), np.zeros((3, 4)))})
    if coords:
        ds = ds.assign_coords({xdim: (xdim, np.arange(4.0), (attrs or {}).get(xdim, {})),
                               ydim: (ydim, np.arange(3.0), (attrs or {}).get(ydim, {}))})
    return ds


@pytest.mark.parametrize(
    "ydim,xdim",
    [("y", "x"), ("Y", "X"), ("lat", "lon"), ("latitude", "longitude"), ("northing", "easting"), ("rlat", "rlon")],
)
def test_spatial_dims_by_name(ydim, xdim):
    assert cf.spatial_dims(grid(ydim, xdim)) == (ydim, xdim)
    assert cf.spatial_dims(grid(ydim, xdim, coords=False)) == (ydim, xdim)


def test_spatial_dims_from_cf_attributes():
    ds = grid("j", "i", attrs={"i": {"axis": "X"}, "j": {"axis": "Y"}})
    assert cf.axes(ds, guess=False) == {"X": ["i"], "Y": ["j"]}
    assert cf.spatial_dims(ds) == ("j", "i")
    ds = grid("j", "i", attrs={"i": {"standard_name": "projection_x_coordinate"},
                               "j": {"standard_name": "projection_y_coordinate"}})
    assert cf.spatial_dims(ds) == ("j", "i")
    ds = grid("j", "i", attrs={"i": {"units": "degrees_east"}, "j": {"units": "degrees_north"}})
    assert cf.spatial_dims(ds) == ("j", "i")


def test_spatial_dims_attribute_explicit_and_failure():
    ds = grid("a", "b")
    with pytest.raises(MetadataError, match="x_dim=/y_dim="):
        cf.spatial_dims(ds)
    assert cf.spatial_dims(ds, x_dim="b", y_dim="a") == ("a", "b")
    ds.attrs["spatial:dimensions"] = ["a", "b"]
    assert cf.spatial_dims(ds) == ("a", "b")
    # axis order in the array does not matter: spatial:dimensions is ordered by role
    transposed = ds.transpose("b", "a")
    assert cf.spatial_dims(transposed) == ("a", "b")
    with pytest.raises(MetadataError, match="not one of"):
        cf.spatial_dims(ds, x_dim="zz", y_dim="a")


def test_axes_sees_time_and_vertical():
    ds = grid("y", "x").expand_dims(time=2, z=3).assign_coords(
        time=("time", [0, 1], {"standard_name": "time"}), z=("z", [1.0, 2.0, 3.0], {"positive": "up"})
    )
    ax = cf.axes(ds)
    assert ax["T"] == ["time"] and ax["Z"] == ["z"] and ax["X"] == ["x"] and ax["Y"] == ["y"]


def test_coordinate_attrs():
    utm = cf.coordinate_attrs(pyproj.CRS(32633))
    assert utm["X"]["standard_name"] == "projection_x_coordinate" and utm["X"]["units"] == "metre"
    assert utm["Y"]["axis"] == "Y"
    geographic = cf.coordinate_attrs(pyproj.CRS(4326))
    assert geographic["X"] == {"standard_name": "longitude", "long_name": "longitude coordinate",
                               "units": "degrees_east", "axis": "X"}
    assert geographic["Y"]["units"] == "degrees_north"


def test_add_bounds_default_and_round_trip(tmp_path):
    ds = grid("y", "x")
    out = cf.add_bounds(ds)
    assert out["x"].attrs["bounds"] == "x_bounds" and out["y"].attrs["bounds"] == "y_bounds"
    np.testing.assert_array_equal(out["x_bounds"].values, [[-0.5, 0.5], [0.5, 1.5], [1.5, 2.5], [2.5, 3.5]])
    path = tmp_path / "b.zarr"
    out.to_zarr(path, zarr_format=3, consolidated=True)
    back = xr.open_dataset(path, engine="zarr", decode_coords="all")
    assert "x_bounds" in back.coords
    np.testing.assert_array_equal(back.cf.get_bounds("x").values, out["x_bounds"].values)


def test_add_bounds_dataarray_and_keys():
    da = grid("lat", "lon")["v"].rename("v")
    out = cf.add_bounds(da, "lat")
    assert isinstance(out, xr.Dataset) and "lat_bounds" in out and "lon_bounds" not in out
    with pytest.raises(MetadataError, match="no coordinates"):
        cf.add_bounds(grid("y", "x", coords=False))


def test_set_axis_attrs_keeps_units_overrides_standard_name():
    ds = grid("y", "x", attrs={"x": {"units": "m", "standard_name": "longitude"}})
    out = cf.set_axis_attrs(ds, {"x": cf.coordinate_attrs(pyproj.CRS(32633))["X"]})
    assert out["x"].attrs["units"] == "m"  # existing units kept
    assert out["x"].attrs["standard_name"] == "projection_x_coordinate"
    assert ds["x"].attrs["standard_name"] == "longitude"  # input untouched
