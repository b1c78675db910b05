"""zc.geo.assign_crs / crs / transform / bounds on in-memory xarray objects, every encoding."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import zarrconv.conventions.geo as geo
from zarrconv.conventions.geo import MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID, registry
from zarrconv.errors import MetadataError, ZarrconvError

pyproj = pytest.importorskip("pyproj")

UTM = (10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)


def utm_dataset(height: int = 4, width: int = 5, **extra_vars) -> xr.Dataset:
    a, _, c, _, e, f = UTM
    return xr.Dataset(
        {"t": (("y", "x"), np.arange(height * width, dtype="float32").reshape(height, width)), **extra_vars},
        coords={"x": c + a * (np.arange(width) + 0.5), "y": f + e * (np.arange(height) + 0.5)},
    )


# --- assign_crs ----------------------------------------------------------------------------
def test_assign_crs_writes_cf_proj_and_spatial():
    ds = utm_dataset(series=(("time",), np.arange(3.0)))
    out = geo.assign_crs(ds, "EPSG:32633")
    assert ds.attrs == {} and "spatial_ref" not in ds.coords  # input untouched
    gm = out["spatial_ref"]
    assert gm.ndim == 0 and "spatial_ref" in out.coords
    assert gm.attrs["grid_mapping_name"] == "transverse_mercator"
    assert gm.attrs["longitude_of_central_meridian"] == 15.0
    assert pyproj.CRS.from_wkt(gm.attrs["crs_wkt"]).to_epsg() == 32633
    assert gm.attrs["GeoTransform"] == "500000.0 10.0 0.0 5000000.0 0.0 -10.0"
    assert out["t"].attrs["grid_mapping"] == "spatial_ref"
    assert "grid_mapping" not in out["series"].attrs  # not a grid variable
    assert "proj:code" not in out["series"].attrs
    assert out["x"].attrs == {
        "standard_name": "projection_x_coordinate", "long_name": "Easting", "units": "metre", "axis": "X"
    }
    assert out["y"].attrs["standard_name"] == "projection_y_coordinate"
    for attrs in (out.attrs, out["t"].attrs):
        assert [c["uuid"] for c in attrs["zarr_conventions"]] == [PROJ_UUID, SPATIAL_UUID]
        assert attrs["proj:code"] == "EPSG:32633"
        assert attrs["spatial:transform"] == list(UTM)
        assert attrs["spatial:dimensions"] == ["y", "x"]
        assert attrs["spatial:shape"] == [4, 5]
        assert attrs["spatial:bbox"] == [500000.0, 4999960.0, 500050.0, 5000000.0]
        json.dumps(attrs)  # JSON-serialisable as stored in zarr.json
    assert geo.validate(out) == []


def test_assign_crs_dataarray_and_geographic():
    lon = np.arange(4) * 0.5 + 0.25
    lat = 60 - (np.arange(3) * 0.5 + 0.25)
    da = xr.DataArray(np.zeros((3, 4)), dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="v")
    out = geo.assign_crs(da, 4326)
    assert isinstance(out, xr.DataArray)
    assert out.attrs["proj:code"] == "EPSG:4326"
    assert out.attrs["spatial:dimensions"] == ["lat", "lon"]
    assert out.attrs["spatial:transform"] == [0.5, 0.0, 0.0, 0.0, -0.5, 60.0]
    assert out["lat"].attrs["standard_name"] == "latitude" and out["lat"].attrs["units"] == "degrees_north"
    assert out["lon"].attrs["axis"] == "X"
    assert out.coords["spatial_ref"].attrs["grid_mapping_name"] == "latitude_longitude"
    assert geo.crs(out).to_epsg() == 4326
    assert geo.transform(out) == (0.5, 0.0, 0.0, 0.0, -0.5, 60.0)


def test_assign_crs_creates_coordinates_from_transform():
    ds = xr.Dataset({"b": (("y", "x"), np.ones((3, 2)))})
    out = geo.assign_crs(ds, "EPSG:32633", transform=(30, 0, 400000, 0, -30, 6000000))
    np.testing.assert_array_equal(out["x"].values, [400015.0, 400045.0])
    np.testing.assert_array_equal(out["y"].values, [5999985.0, 5999955.0, 5999925.0])
    assert geo.transform(out) == (30.0, 0.0, 400000.0, 0.0, -30.0, 6000000.0)


def test_assign_crs_accepts_affine_and_pyproj_crs():
    affine = pytest.importorskip("affine")
    ds = xr.Dataset({"b": (("y", "x"), np.ones((3, 2)))})
    out = geo.assign_crs(ds, pyproj.CRS(32633), transform=affine.Affine(30, 0, 400000, 0, -30, 6000000))
    assert geo.transform(out) == (30.0, 0.0, 400000.0, 0.0, -30.0, 6000000.0)


def test_assign_crs_rejects_contradicting_transform():
    with pytest.raises(MetadataError, match="contradicts"):
        geo.assign_crs(utm_dataset(), "EPSG:32633", transform=(20, 0, 500000, 0, -20, 5000000))


def test_assign_crs_unknown_crs_is_a_metadata_error():
    with pytest.raises(MetadataError, match="EPSG:999999") as info:
        geo.assign_crs(utm_dataset(), "EPSG:999999")
    assert isinstance(info.value, ZarrconvError)


def test_assign_crs_needs_detectable_dims():
    ds = xr.Dataset({"t": (("a", "b"), np.zeros((2, 2)))})
    with pytest.raises(MetadataError, match="x_dim"):
        geo.assign_crs(ds, 4326)
    out = geo.assign_crs(ds, 4326, x_dim="b", y_dim="a", transform=(1, 0, 0, 0, -1, 2))
    assert out.attrs["spatial:dimensions"] == ["a", "b"]
    assert geo.transform(out) == (1.0, 0.0, 0.0, 0.0, -1.0, 2.0)  # spatial:dimensions now tells


def test_assign_crs_irregular_coordinates_writes_crs_only():
    ds = xr.Dataset(
        {"t": (("y", "x"), np.zeros((3, 3)))}, coords={"x": [0.0, 1.0, 3.0], "y": [2.0, 1.0, 0.0]}
    )
    out = geo.assign_crs(ds, "EPSG:32633")
    assert geo.crs(out).to_epsg() == 32633
    assert geo.transform(out) is None
    assert "spatial:transform" not in out.attrs and "GeoTransform" not in out["spatial_ref"].attrs
    assert geo.bounds(out) == (-0.5, -0.5, 4.0, 2.5)


def test_reassign_replaces_previous_encodings():
    once = geo.assign_crs(utm_dataset(), "EPSG:32633", gdal_crs=True)
    legacy = once.rename({"spatial_ref": "crs"})
    legacy["t"].attrs["grid_mapping"] = "crs"
    twice = geo.assign_crs(legacy, "EPSG:32634")
    assert "crs" not in twice.variables
    assert "_CRS" not in twice["t"].attrs
    assert twice.attrs["proj:code"] == "EPSG:32634"
    assert len(twice.attrs["zarr_conventions"]) == 2
    assert geo.crs(twice).to_epsg() == 32634


def test_assign_crs_twice_is_idempotent():
    once = geo.assign_crs(utm_dataset(), "EPSG:32633")
    twice = geo.assign_crs(once, "EPSG:32633")
    xr.testing.assert_identical(once, twice)
    da = geo.assign_crs(once["t"], "EPSG:32633")
    assert da.attrs == once["t"].attrs


def test_assign_crs_keeps_other_conventions():
    ds = utm_dataset()
    other = {"uuid": "00000000-0000-4000-8000-000000000000", "name": "other"}
    ds.attrs["zarr_conventions"] = [other]
    out = geo.assign_crs(ds, "EPSG:32633")
    assert out.attrs["zarr_conventions"][0] == other
    assert [c["uuid"] for c in out.attrs["zarr_conventions"][1:]] == [PROJ_UUID, SPATIAL_UUID]


# --- reading each encoding -----------------------------------------------------------------
@pytest.mark.parametrize(
    "gm_attrs",
    [
        {"crs_wkt": pyproj.CRS(32633).to_wkt()},
        {"spatial_ref": pyproj.CRS(32633).to_wkt("WKT1_GDAL")},
        # CF projection parameters only, no WKT at all
        {k: v for k, v in pyproj.CRS(32633).to_cf().items() if k != "crs_wkt"},
    ],
    ids=["crs_wkt", "spatial_ref", "cf-parameters"],
)
def test_crs_from_cf_grid_mapping(gm_attrs):
    ds = utm_dataset().assign_coords(crs=((), 0, gm_attrs))
    ds["t"].attrs["grid_mapping"] = "crs"
    c = geo.crs(ds)
    assert c is not None and c.equals(pyproj.CRS(32633), ignore_axis_order=True)
    assert c.to_epsg() == 32633
    # grid_mapping in encoding (xarray decode_coords="all") and in the CF 1.7 extended form
    ds["t"].attrs.pop("grid_mapping")
    ds["t"].encoding["grid_mapping"] = "crs: x y"
    assert geo.crs(ds["t"]).to_epsg() == 32633


def test_crs_from_proj_variants():
    base = utm_dataset()
    for attrs in (
        {"proj:code": "EPSG:32633"},
        {"proj:wkt2": pyproj.CRS(32633).to_wkt()},
        {"proj:projjson": pyproj.CRS(32633).to_json_dict()},
        {"proj:projjson": pyproj.CRS(32633).to_json()},
    ):
        ds = base.copy()
        ds.attrs = {"zarr_conventions": [registry.PROJ], **attrs}
        assert geo.crs(ds).equals(pyproj.CRS(32633)), attrs
    ds = base.copy()
    ds.attrs = {"proj:wkt2": pyproj.CRS(4326).to_wkt(), "proj:code": "EPSG:32633"}
    assert geo.crs(ds).to_epsg() == 4326  # proj:wkt2 takes precedence


@pytest.mark.parametrize(
    "gdal", [
        {"url": "http://www.opengis.net/def/crs/EPSG/0/32633"},
        {"wkt": pyproj.CRS(32633).to_wkt()},
        {"projjson": pyproj.CRS(32633).to_json_dict()},
    ],
    ids=["url", "wkt", "projjson"],
)
def test_crs_from_gdal_attribute(gdal):
    ds = utm_dataset()
    ds["t"].attrs["_CRS"] = gdal
    assert geo.crs(ds).equals(pyproj.CRS(32633))
    assert geo.crs(ds["t"]).equals(pyproj.CRS(32633))


def test_crs_legacy_attribute_and_none():
    ds = utm_dataset()
    assert geo.crs(ds) is None
    assert geo.crs(ds["t"]) is None
    ds.attrs["crs"] = "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs"
    assert geo.crs(ds).to_epsg() == 32633


def test_crs_malformed_raises_metadata_error():
    ds = utm_dataset()
    ds.attrs["proj:code"] = "EPSG:nope"
    with pytest.raises(MetadataError, match="proj:code"):
        geo.crs(ds)
    ds = utm_dataset()
    ds["t"].attrs["_CRS"] = "EPSG:32633"
    with pytest.raises(MetadataError, match="_CRS"):
        geo.crs(ds)


def test_crs_ambiguous_grid_mappings():
    ds = utm_dataset(u=(("y", "x"), np.zeros((4, 5))))
    ds = ds.assign_coords(a=((), 0, {"crs_wkt": pyproj.CRS(32633).to_wkt()}), b=((), 0, {"crs_wkt": pyproj.CRS(4326).to_wkt()}))
    ds["t"].attrs["grid_mapping"] = "a"
    ds["u"].attrs["grid_mapping"] = "b"
    with pytest.raises(MetadataError, match="several grid mappings"):
        geo.crs(ds)
    assert geo.crs(ds["t"]).to_epsg() == 32633
    assert geo.crs(ds["u"]).to_epsg() == 4326


def test_crs_of_datatree_inherits_from_ancestors():
    child = utm_dataset()
    tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={"proj:code": "EPSG:32633"}), "/level": child})
    assert geo.crs(tree["level"]).to_epsg() == 32633
    assert geo.transform(tree["level"]) == UTM


# --- transform / bounds ---------------------------------------------------------------------
def test_transform_from_coordinates_of_all_orientations():
    ds = utm_dataset()
    assert geo.transform(ds) == UTM
    flipped = ds.isel(y=slice(None, None, -1))  # south-up
    assert geo.transform(flipped) == (10.0, 0.0, 500000.0, 0.0, 10.0, 4999960.0)
    assert geo.bounds(flipped) == geo.bounds(ds) == (500000.0, 4999960.0, 500050.0, 5000000.0)


def test_transform_follows_slicing_over_stale_attributes():
    out = geo.assign_crs(utm_dataset(), "EPSG:32633")
    sliced = out.isel(x=slice(2, None), y=slice(1, None))
    assert sliced.attrs["spatial:transform"] == list(UTM)  # xarray keeps the stale attribute
    assert geo.transform(sliced) == (10.0, 0.0, 500020.0, 0.0, -10.0, 4999990.0)


def test_transform_from_geotransform_and_spatial_attrs_without_coords():
    ds = xr.Dataset({"t": (("y", "x"), np.zeros((4, 5)))})
    ds = ds.assign_coords(spatial_ref=((), 0, {"GeoTransform": "500000 10 0 5000000 0 -10", "crs_wkt": pyproj.CRS(32633).to_wkt()}))
    ds["t"].attrs["grid_mapping"] = "spatial_ref"
    assert geo.transform(ds) == UTM
    bare = xr.Dataset({"t": (("y", "x"), np.zeros((4, 5)))}, attrs={"spatial:transform": list(UTM)})
    assert geo.transform(bare) == UTM
    assert geo.bounds(bare) == (500000.0, 4999960.0, 500050.0, 5000000.0)


def test_node_registration_is_converted_to_pixel_corners():
    ds = xr.Dataset(
        {"dem": (("y", "x"), np.zeros((3, 3)))},
        attrs={"spatial:transform": [1.0, 0.0, -1.0, 0.0, -1.0, 1.0], "spatial:registration": "node"},
    )
    assert geo.transform(ds) == (1.0, 0.0, -1.5, 0.0, -1.0, 1.5)
    assert geo.bounds(ds) == (-1.5, -1.5, 1.5, 1.5)


def test_transform_with_bad_attribute_raises():
    ds = xr.Dataset({"t": (("y", "x"), np.zeros((2, 2)))}, attrs={"spatial:transform": [1, 0, 0]})
    with pytest.raises(MetadataError, match="6"):
        geo.transform(ds)
    ds.attrs["spatial:transform"] = [0, 0, 0, 0, 0, 0]
    with pytest.raises(MetadataError, match="singular"):
        geo.transform(ds)


def test_transform_float32_coordinates():
    """float32 projected coordinates are regular only to float32 precision; still one transform."""
    ds = utm_dataset(40, 40)
    ds = ds.assign_coords(x=ds.x.astype("float32"), y=ds.y.astype("float32"))
    t = geo.transform(ds)
    assert t is not None
    assert t == pytest.approx(UTM, rel=1e-6)


# --- zarr_conventions registrations ---------------------------------------------------------
@pytest.mark.parametrize(
    "entry",
    [
        {"uuid": PROJ_UUID},
        {"name": "proj:"},  # rioxarray / geozarr-toolkit spelling
        {"name": "proj"},
        {"schema_url": "https://raw.githubusercontent.com/zarr-experimental/geo-proj/refs/tags/v1/schema.json"},
        {"spec_url": "https://github.com/zarr-conventions/proj/blob/v0.1/README.md"},
    ],
)
def test_registration_detection(entry):
    assert registry.declared_conventions({"zarr_conventions": [entry]}) == {"proj"}


def test_registration_uuid_is_identity():
    # a different uuid is a different convention whatever its name says
    entry = {"uuid": "00000000-0000-4000-8000-000000000000", "name": "proj"}
    assert registry.declared_conventions({"zarr_conventions": [entry]}) == set()
    attrs: dict = {}
    registry.add_registration(attrs, "multiscales", "proj")
    registry.add_registration(attrs, "proj")
    assert [c["uuid"] for c in attrs["zarr_conventions"]] == [MULTISCALES_UUID, PROJ_UUID]
    assert registry.declared_conventions({"zarr_conventions": "proj"}) == set()


def test_dataset_reads_array_level_conventions():
    """GDAL >= 3.13 writes proj:/spatial: on the array only; a Dataset finds them on its variables."""
    t = geo.assign_crs(xr.DataArray(np.zeros((4, 5)), dims=("y", "x"), name="t"), "EPSG:32633", transform=UTM)
    ds = t.drop_vars(["x", "y", "spatial_ref"]).to_dataset()
    ds["t"].attrs.pop("grid_mapping")
    assert ds.attrs == {} and "proj:wkt2" in ds["t"].attrs
    assert geo.crs(ds).to_epsg() == 32633
    assert geo.transform(ds) == UTM
    other = ds["t"].copy()
    other.attrs = {**other.attrs, "proj:wkt2": pyproj.CRS(4326).to_wkt(), "proj:code": "EPSG:4326"}
    with pytest.raises(MetadataError, match="different proj: CRSs"):
        geo.crs(ds.assign(u=other))
