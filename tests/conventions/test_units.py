"""zarrconv.conventions.units: pint quantities with cf-xarray's CF/UDUNITS registry."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from zarrconv.conventions import units
from zarrconv.errors import MetadataError

pint = pytest.importorskip("pint")
pytest.importorskip("cf_xarray")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
]


def temperature(data=None) -> xr.DataArray:
    data = np.array([[0.0, 10.0], [20.0, -273.15]]) if data is None else data
    return xr.DataArray(data, dims=("y", "x"), name="t", attrs={"units": "degC", "long_name": "air temperature"})


@pytest.mark.parametrize(
    "text,expected",
    [("m s-1", "m s-1"), ("m/s", "m s-1"), ("kg m-2 s-1", "kg m-2 s-1"), ("degrees_north", "degrees_north"),
     ("1", "1"), ("%", "%"), ("degC", "degC"), ("Celsius", "degC"), ("hPa", "hPa"), ("W m-2", "W m-2")],
)
def test_parse_and_format_udunits(text, expected):
    assert units.format_units(units.parse_units(text)) == expected


def test_parse_errors():
    with pytest.raises(MetadataError, match="'furlongs_per_bogus'"):
        units.parse_units("furlongs_per_bogus")
    with pytest.raises(MetadataError, match="time encoding"):
        units.parse_units("days since 2000-01-01")
    assert units.is_time_units("hours since 1970-01-01 00:00:00")
    assert not units.is_time_units("K")


def test_quantify_convert_dequantify():
    q = units.quantify(temperature())
    assert isinstance(q.data, pint.Quantity)
    assert "units" not in q.attrs and q.attrs["long_name"] == "air temperature"
    kelvin = q.copy(data=q.data.to("K"))
    np.testing.assert_allclose(kelvin.data.magnitude, [[273.15, 283.15], [293.15, 0.0]], atol=1e-9)
    plain = units.dequantify(kelvin)
    assert plain.attrs["units"] == "K" and isinstance(plain.data, np.ndarray)
    back = units.dequantify(q)
    assert back.attrs["units"] == "degC"  # ASCII, not the UDUNITS symbol
    xr.testing.assert_identical(back, temperature())


def test_convert_and_incompatible_units():
    out = units.convert(temperature(), "degF")
    np.testing.assert_allclose(out.values, [[32.0, 50.0], [68.0, -459.67]], atol=1e-9)
    assert out.attrs["units"] == "degF"
    with pytest.raises(pint.DimensionalityError):
        units.convert(temperature(), "m")


def test_quantify_errors():
    da = temperature()
    da.attrs["units"] = "degrees_bogus"
    with pytest.raises(MetadataError, match="'t' units"):
        units.quantify(da)
    no_units = xr.DataArray([1.0, 2.0], dims="x", name="n")
    with pytest.raises(MetadataError, match="no 'units'"):
        units.quantify(no_units)
    assert str(units.quantify(no_units, units="m").data.units) == "meter"


def test_dataset_quantifies_only_physical_units():
    ds = xr.Dataset(
        {
            "t": temperature(),
            "count": (("y", "x"), np.ones((2, 2))),
            "age": ("y", [1.0, 2.0], {"units": "days since 2000-01-01"}),
        }
    )
    q = units.quantify(ds)
    assert isinstance(q["t"].data, pint.Quantity)
    assert not isinstance(q["count"].data, pint.Quantity)
    assert q["age"].attrs["units"] == "days since 2000-01-01"
    xr.testing.assert_identical(units.dequantify(q), ds)


def test_dask_stays_lazy():
    darr = pytest.importorskip("dask.array")
    lazy = temperature(darr.from_array(np.arange(16.0).reshape(4, 4), chunks=2))
    q = units.quantify(lazy)
    assert isinstance(q.data.magnitude, darr.Array)
    k = units.dequantify(q.copy(data=q.data.to("K")))
    assert isinstance(k.data, darr.Array)
    np.testing.assert_allclose(k.values, np.arange(16.0).reshape(4, 4) + 273.15)


def test_units_round_trip_through_zarr(tmp_path):
    path = tmp_path / "u.zarr"
    temperature().to_dataset().to_zarr(path, zarr_format=3, consolidated=True)
    opened = xr.open_dataset(path, engine="zarr")
    kelvin = units.convert(opened["t"], "K")
    kelvin.to_dataset(name="t_k").to_zarr(path, mode="a")
    back = xr.open_dataset(path, engine="zarr")
    assert back["t_k"].attrs["units"] == "K"
    np.testing.assert_allclose(back["t_k"].values, opened["t"].values + 273.15)
