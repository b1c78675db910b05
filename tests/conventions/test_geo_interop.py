"""GeoZarr interoperability: what zarrconv writes is read by GDAL, rioxarray and geozarr-toolkit;
what rioxarray and GDAL write is read by zarrconv -- through real Zarr v2 and v3 stores."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import xarray as xr

import zarrconv.conventions.geo as geo
from zarrconv.conventions.geo import PROJ_UUID, SPATIAL_UUID

rasterio = pytest.importorskip("rasterio")
rioxarray = pytest.importorskip("rioxarray")
pyproj = pytest.importorskip("pyproj")
zarr = pytest.importorskip("zarr")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Failed to open Zarr store with consolidated metadata:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning"),
    pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning"),
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
]


@pytest.fixture(params=[2, 3], ids=["v2", "v3"])
def zarr_format(request) -> int:
    return request.param


# --- test data ------------------------------------------------------------------------------
GRIDS = {
    # crs: (transform a..f, x name, y name)
    "EPSG:32633": ((10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0), "x", "y"),
    "EPSG:4326": ((0.25, 0.0, 10.0, 0.0, -0.25, 50.0), "lon", "lat"),
}


def _dataset(crs: str, height: int = 12, width: int = 16) -> xr.Dataset:
    (a, _, c, _, e, f), xname, yname = GRIDS[crs]
    x = c + a * (np.arange(width) + 0.5)
    y = f + e * (np.arange(height) + 0.5)
    rng = np.random.default_rng(0)
    data = (280 + 10 * rng.random((height, width))).astype("float32")
    return xr.Dataset(
        {"temperature": ((yname, xname), data, {"units": "K", "long_name": "air temperature"})},
        coords={xname: x, yname: y},
    )


@pytest.fixture(params=sorted(GRIDS))
def crs_code(request) -> str:
    return request.param


def _gdal_open(path: pathlib.Path, var: str):
    return rasterio.open(f'ZARR:"{path}":/{var}')


def _same_transform(t1, t2, tol=1e-9) -> bool:
    return all(abs(float(p) - float(q)) <= tol * max(1.0, abs(float(q))) for p, q in zip(tuple(t1)[:6], tuple(t2)[:6]))


# --- zarrconv writes, others read -------------------------------------------------------------
def test_gdal_reads_crs_and_geotransform(tmp_path, writer, zarr_format, crs_code):
    ds = geo.assign_crs(_dataset(crs_code), crs_code)
    path = tmp_path / "out.zarr"
    writer(ds, path, zarr_format)
    expected_transform = GRIDS[crs_code][0]
    with _gdal_open(path, "temperature") as src:
        assert src.crs is not None
        assert pyproj.CRS.from_user_input(src.crs.to_wkt()).equals(pyproj.CRS(crs_code), ignore_axis_order=True)
        assert src.crs.to_epsg() == int(crs_code.split(":")[1])
        assert _same_transform(src.transform, expected_transform)
        assert src.shape == (12, 16)
        # GDAL reads the same pixel values at the same place
        assert np.array_equal(src.read(1), ds["temperature"].values)


def test_rioxarray_reads_crs_and_transform(tmp_path, writer, zarr_format, crs_code, engine):
    ds = geo.assign_crs(_dataset(crs_code), crs_code)
    path = tmp_path / "out.zarr"
    writer(ds, path, zarr_format)
    opened = xr.open_dataset(path, engine=engine)
    assert opened.rio.crs is not None and opened.rio.crs.to_epsg() == int(crs_code.split(":")[1])
    assert _same_transform(opened.rio.transform(), GRIDS[crs_code][0])
    da = opened["temperature"]
    assert da.rio.crs.to_epsg() == int(crs_code.split(":")[1])
    assert _same_transform(da.rio.transform(), GRIDS[crs_code][0])
    # rioxarray's decode_coords="all" path (grid_mapping moved to encoding) works too
    opened_all = xr.open_dataset(path, engine=engine, decode_coords="all")
    assert opened_all["temperature"].rio.crs.to_epsg() == int(crs_code.split(":")[1])


def test_zarrconv_reads_back(tmp_path, writer, zarr_format, crs_code, engine):
    ds = geo.assign_crs(_dataset(crs_code), crs_code)
    path = tmp_path / "out.zarr"
    writer(ds, path, zarr_format)
    for kwargs in ({}, {"decode_coords": "all"}):
        opened = xr.open_dataset(path, engine=engine, **kwargs)
        for obj in (opened, opened["temperature"]):
            assert geo.crs(obj).equals(pyproj.CRS(crs_code))
            assert _same_transform(geo.transform(obj), GRIDS[crs_code][0])
        assert geo.bounds(opened) == pytest.approx(
            {"EPSG:32633": (500000.0, 4999880.0, 500160.0, 5000000.0), "EPSG:4326": (10.0, 47.0, 14.0, 50.0)}[crs_code]
        )
    assert geo.validate(path) == []


def test_stored_metadata_documents(tmp_path, writer, zarr_format, crs_code):
    """The attributes land in the Zarr metadata documents as conventions/geo/README.md says."""
    ds = geo.assign_crs(_dataset(crs_code), crs_code)
    path = tmp_path / "out.zarr"
    writer(ds, path, zarr_format)
    if zarr_format == 3:
        group = json.loads((path / "zarr.json").read_text())["attributes"]
        array_doc = json.loads((path / "temperature" / "zarr.json").read_text())
        array = array_doc["attributes"]
        assert array_doc["dimension_names"] == list(ds["temperature"].dims)
        gm = json.loads((path / "spatial_ref" / "zarr.json").read_text())["attributes"]
    else:
        group = json.loads((path / ".zattrs").read_text())
        array = json.loads((path / "temperature" / ".zattrs").read_text())
        gm = json.loads((path / "spatial_ref" / ".zattrs").read_text())
    for attrs in (group, array):
        uuids = [c["uuid"] for c in attrs["zarr_conventions"]]
        assert uuids == [PROJ_UUID, SPATIAL_UUID]
        assert attrs["proj:code"] == crs_code
        assert pyproj.CRS.from_wkt(attrs["proj:wkt2"]).equals(pyproj.CRS(crs_code))
        assert attrs["spatial:transform"] == list(GRIDS[crs_code][0])
        assert attrs["spatial:dimensions"] == list(ds["temperature"].dims)
        assert attrs["spatial:shape"] == [12, 16]
        assert attrs["spatial:registration"] == "pixel"
    assert array["grid_mapping"] == "spatial_ref"
    assert array["units"] == "K"
    assert gm["grid_mapping_name"] == ("transverse_mercator" if crs_code == "EPSG:32633" else "latitude_longitude")
    assert pyproj.CRS.from_wkt(gm["crs_wkt"]).equals(pyproj.CRS(crs_code))
    assert gm["spatial_ref"] == gm["crs_wkt"]
    c, a, b, f, d, e = (float(v) for v in gm["GeoTransform"].split())
    assert (a, b, c, d, e, f) == GRIDS[crs_code][0]


def test_geozarr_toolkit_validators_pass(tmp_path, writer, zarr_format, crs_code):
    toolkit = pytest.importorskip("geozarr_toolkit")
    ds = geo.assign_crs(_dataset(crs_code), crs_code)
    path = tmp_path / "out.zarr"
    writer(ds, path, zarr_format)
    group = zarr.open_group(path, mode="r")
    results = toolkit.validate_group(group)
    assert set(results) >= {"proj", "spatial", "zarr_conventions"}
    assert all(errors == [] for errors in results.values()), results
    array_results = toolkit.validate_attrs(dict(group["temperature"].attrs))
    assert set(array_results) >= {"proj", "spatial"}
    assert all(errors == [] for errors in array_results.values()), array_results
    assert toolkit.detect_conventions(dict(group.attrs)) == ["spatial", "proj"]


def test_gdal_crs_option_round_trip(tmp_path, zarr_format, write_xarray_zarr):
    """gdal_crs=True adds GDAL's own _CRS attribute (for GDAL < 3.9); GDAL reads the same CRS."""
    ds = geo.assign_crs(_dataset("EPSG:32633"), "EPSG:32633", gdal_crs=True)
    assert ds["temperature"].attrs["_CRS"]["url"] == "http://www.opengis.net/def/crs/EPSG/0/32633"
    path = tmp_path / "out.zarr"
    write_xarray_zarr(ds, path, zarr_format)
    with _gdal_open(path, "temperature") as src:
        assert src.crs.to_epsg() == 32633
    assert geo.validate(path) == []


# --- others write, zarrconv reads -------------------------------------------------------------
@pytest.mark.parametrize("convention", ["CF", "ZARR"])
def test_reads_rioxarray_written(tmp_path, zarr_format, crs_code, convention):
    from rioxarray.enum import Convention

    _, xname, yname = GRIDS[crs_code]
    base = _dataset(crs_code).rio.set_spatial_dims(x_dim=xname, y_dim=yname)
    with rioxarray.set_options(convention=Convention[convention]):
        ds = base.rio.write_crs(crs_code)
        ds = ds.rio.write_transform(base.rio.transform(recalc=True))
    expected_crs = ds.rio.crs
    expected_transform = ds.rio.transform()
    path = tmp_path / "rio.zarr"
    ds.to_zarr(path, zarr_format=zarr_format, consolidated=True, mode="w")
    opened = xr.open_dataset(path, engine="zarr")
    got = geo.crs(opened)
    assert got is not None and got.equals(pyproj.CRS(expected_crs.to_wkt()))
    assert _same_transform(geo.transform(opened), expected_transform)
    if convention == "CF":
        # A DataArray keeps its grid-mapping variable only as a coordinate (decode_coords="all");
        # rioxarray's ZARR convention writes group-level attributes only, which a DataArray loses.
        da = xr.open_dataset(path, engine="zarr", decode_coords="all")["temperature"]
        assert geo.crs(da).equals(pyproj.CRS(expected_crs.to_wkt()))
        assert _same_transform(geo.transform(da), expected_transform)


@pytest.mark.parametrize("fmt", ["ZARR_V2", "ZARR_V3"])
@pytest.mark.parametrize("gdal_crs", ["EPSG:32633", "EPSG:4326"])
def test_reads_gdal_written(tmp_path, fmt, gdal_crs):
    from rasterio.transform import from_origin

    transform = from_origin(500000, 5000000, 10, 10) if gdal_crs == "EPSG:32633" else from_origin(10, 50, 0.25, 0.25)
    path = tmp_path / "gdal.zarr"
    data = np.arange(12 * 16, dtype="float32").reshape(1, 12, 16)
    with rasterio.open(
        path, "w", driver="Zarr", width=16, height=12, count=1, dtype="float32",
        crs=gdal_crs, transform=transform, FORMAT=fmt,
    ) as dst:
        dst.write(data)
    with rasterio.open(path) as src:
        reported_crs, reported_transform = src.crs, src.transform
    opened = xr.open_dataset(path, engine="zarr")
    (var,) = opened.data_vars
    for obj in (opened, opened[var]):
        got = geo.crs(obj)
        assert got is not None and got.equals(pyproj.CRS(reported_crs.to_wkt()))
        assert _same_transform(geo.transform(obj), reported_transform)
    assert np.array_equal(opened[var].values, data[0])
    assert geo.validate(path) == []


def test_reads_gdal_written_without_crs(tmp_path):
    """GDAL 3.12 does not store the CRS of a multi-band Zarr raster; zarrconv reports what GDAL reports."""
    from rasterio.transform import from_origin

    path = tmp_path / "gdal_mb.zarr"
    with rasterio.open(
        path, "w", driver="Zarr", width=16, height=12, count=3, dtype="uint16",
        crs="EPSG:32633", transform=from_origin(500000, 5000000, 10, 10), FORMAT="ZARR_V2",
    ) as dst:
        dst.write(np.ones((3, 12, 16), "uint16"))
    with rasterio.open(path) as src:
        reported_crs, reported_transform = src.crs, src.transform
    opened = xr.open_dataset(path, engine="zarr")
    got = geo.crs(opened)
    assert (got is None) == (reported_crs is None)
    if got is not None:
        assert got.equals(pyproj.CRS(reported_crs.to_wkt()))
    assert _same_transform(geo.transform(opened), reported_transform)


def test_gdal_reads_rotated_transform_from_geotransform(tmp_path, write_xarray_zarr):
    """A rotated grid has no 1-D coordinates: spatial:transform and GeoTransform carry it."""
    ds = xr.Dataset({"band": (("y", "x"), np.ones((6, 8), "float32"))})
    rotated = (30.0, 2.0, 400000.0, 2.0, -30.0, 6000000.0)
    out = geo.assign_crs(ds, "EPSG:32633", transform=rotated)
    assert "x" not in out.coords
    path = tmp_path / "rot.zarr"
    write_xarray_zarr(out, path, 3)
    opened = xr.open_dataset(path, engine="zarr")
    assert geo.transform(opened) == rotated
    assert geo.transform(opened["band"]) == rotated
    assert _same_transform(opened.rio.transform(), rotated)
