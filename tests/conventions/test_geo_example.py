"""Worked example (notebook-grade): a synthetic air-temperature field on a UTM grid.

Read top to bottom, this is the GeoZarr tutorial: build a CF dataset, georeference it,
add cell bounds and unit conversions, write it to Zarr, open it with GDAL and rioxarray,
build a map pyramid and validate everything. It runs as a normal test.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc
import zarrconv.conventions.geo as geo
from zarrconv.conventions import cf, units

pyproj = pytest.importorskip("pyproj")
rasterio = pytest.importorskip("rasterio")
rioxarray = pytest.importorskip("rioxarray")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
]


def synthetic_temperature(ny: int = 120, nx: int = 160, nt: int = 3) -> xr.Dataset:
    """Air temperature over 16 x 12 km of UTM zone 33N (around 15°E, 45°N), 100 m cells."""
    x = 500_000.0 + 100.0 * (np.arange(nx) + 0.5)  # cell-centre eastings
    y = 4_990_000.0 - 100.0 * (np.arange(ny) + 0.5)  # northings, north-up
    time = np.array(["2024-07-01T06", "2024-07-01T12", "2024-07-01T18"], dtype="datetime64[ns]")[:nt]
    xx, yy = np.meshgrid((x - x.mean()) / 1000.0, (y - y.mean()) / 1000.0)
    elevation = 400.0 + 300.0 * np.exp(-(xx**2 + yy**2) / 20.0)  # a hill, metres
    diurnal = np.array([14.0, 24.0, 19.0])[:nt, None, None]
    temp = diurnal - 0.0065 * (elevation - 400.0)[None] + 0.05 * xx[None]
    return xr.Dataset(
        {
            "temperature": (("time", "y", "x"), temp.astype("float32"),
                            {"standard_name": "air_temperature", "units": "degC"}),
            "elevation": (("y", "x"), elevation.astype("float32"),
                          {"standard_name": "surface_altitude", "units": "m"}),
        },
        coords={"time": time, "y": y, "x": x},
        attrs={"title": "synthetic temperature on a UTM grid", "Conventions": "CF-1.11"},
    )


def test_utm_temperature_walkthrough(tmp_path):
    # 1. Georeference: CF grid mapping + proj:/spatial: conventions, transform from the coords.
    ds = geo.assign_crs(synthetic_temperature(), "EPSG:32633")
    assert geo.transform(ds) == (100.0, 0.0, 500000.0, 0.0, -100.0, 4990000.0)
    assert geo.bounds(ds) == (500000.0, 4978000.0, 516000.0, 4990000.0)

    # 2. CF cell bounds for the horizontal coordinates (cf-xarray).
    ds = cf.add_bounds(ds)
    assert ds["x"].attrs["bounds"] == "x_bounds"

    # 3. Units: derive a Kelvin copy through pint, keep CF `units` strings on disk.
    ds["temperature_k"] = units.convert(ds["temperature"], "K")
    assert ds["temperature_k"].attrs["units"] == "K"

    # 4. Write to Zarr v3 with zarrconv.
    path = tmp_path / "temperature.zarr"
    zc.to_zarr(ds, path, zarr_format=3)

    # 5. GDAL sees a 3-band (time) raster with the CRS and geotransform we wrote.
    with rasterio.open(f'ZARR:"{path}":/temperature') as src:
        assert src.crs.to_epsg() == 32633
        assert tuple(src.transform)[:6] == (100.0, 0.0, 500000.0, 0.0, -100.0, 4990000.0)
        assert src.count == 3 and src.shape == (120, 160)
        np.testing.assert_allclose(src.read(2), ds["temperature"].isel(time=1).values)

    # 6. rioxarray agrees, and can warp it to lon/lat.
    opened = xr.open_dataset(path, engine="zarr", decode_coords="all")
    t0 = opened["temperature"].isel(time=0)
    assert t0.rio.crs.to_epsg() == 32633
    lonlat = t0.rio.reproject("EPSG:4326")
    west, south, east, north = lonlat.rio.bounds()
    assert 14.9 < west < east < 15.3 and 44.8 < south < north < 45.1

    # zarrconv reads the same georeferencing back, from the Dataset and from one variable.
    for obj in (opened, opened["temperature"], opened["elevation"]):
        assert geo.crs(obj).to_epsg() == 32633
        assert geo.transform(obj) == (100.0, 0.0, 500000.0, 0.0, -100.0, 4990000.0)
    to_lonlat = pyproj.Transformer.from_crs(geo.crs(opened), "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(*geo.bounds(opened)[:2])
    assert lon == pytest.approx(15.0, abs=0.01) and lat == pytest.approx(44.94, abs=0.02)

    # 7. A map pyramid of the whole dataset (mean of 2x2 blocks per level).
    tree = geo.build_multiscales(opened.drop_vars(["x_bounds", "y_bounds"]), levels=3)
    assert [tree[k]["temperature"].shape for k in "012"] == [(3, 120, 160), (3, 60, 80), (3, 30, 40)]
    pyramid = tmp_path / "temperature_pyramid.zarr"
    zc.to_zarr(tree, pyramid, zarr_format=3)
    with rasterio.open(f'ZARR:"{pyramid}":/2/temperature') as src:
        assert tuple(src.transform)[:6] == (400.0, 0.0, 500000.0, 0.0, -400.0, 4990000.0)

    # 8. Nothing to complain about, for zarrconv's validator ...
    assert geo.validate(path, engine="zarr") == []
    assert geo.validate(pyramid, engine="zarr") == []
    # ... and for geozarr-toolkit's.
    toolkit = pytest.importorskip("geozarr_toolkit")
    zarr = pytest.importorskip("zarr")
    results = toolkit.validate_group(zarr.open_group(pyramid, mode="r"))
    assert all(errors == [] for errors in results.values()), results
