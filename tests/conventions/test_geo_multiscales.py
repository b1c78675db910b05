"""zc.geo.build_multiscales: GeoZarr pyramids (multiscales + proj: + spatial:), lazily with dask."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc
import zarrconv.conventions.geo as geo
from zarrconv.conventions.geo import MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID
from zarrconv.errors import MetadataError

pyproj = pytest.importorskip("pyproj")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
]


UTM = (10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)


def utm(height: int, width: int, *, dtype="float32", time: int | None = None) -> xr.Dataset:
    a, _, c, _, e, f = UTM
    rng = np.random.default_rng(42)
    shape = (height, width) if time is None else (time, height, width)
    dims = ("y", "x") if time is None else ("time", "y", "x")
    data = (rng.random(shape) * 100).astype(dtype)
    coords = {"x": c + a * (np.arange(width) + 0.5), "y": f + e * (np.arange(height) + 0.5)}
    if time is not None:
        coords["time"] = np.arange(time)
    ds = xr.Dataset({"t": (dims, data, {"units": "degC"})}, coords=coords, attrs={"title": "synthetic"})
    return geo.assign_crs(ds, "EPSG:32633")


def block_mean(a: np.ndarray, f: int) -> np.ndarray:
    """Reference: mean over f x f blocks of the last two axes (shape divisible by f)."""
    *lead, h, w = a.shape
    return a.reshape(*lead, h // f, f, w // f, f).mean(axis=(-3, -1))


def test_pyramid_structure_and_layout():
    ds = utm(40, 60)
    tree = geo.build_multiscales(ds, levels=3)
    assert sorted(tree.children) == ["0", "1", "2"]
    assert [tree[k]["t"].shape for k in "012"] == [(40, 60), (20, 30), (10, 15)]
    root = tree.attrs
    assert [c["uuid"] for c in root["zarr_conventions"]] == [MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID]
    assert root["proj:code"] == "EPSG:32633"
    assert root["spatial:dimensions"] == ["y", "x"]
    assert root["spatial:bbox"] == [500000.0, 4999600.0, 500600.0, 5000000.0]
    assert root["title"] == "synthetic"
    assert geo.bounds(tree) == (500000.0, 4999600.0, 500600.0, 5000000.0)
    assert geo.crs(tree).to_epsg() == 32633 and geo.transform(tree) is None
    layout = root["multiscales"]["layout"]
    assert root["multiscales"]["resampling_method"] == "average"
    assert [item["asset"] for item in layout] == ["0", "1", "2"]
    assert "derived_from" not in layout[0]
    assert [item.get("derived_from") for item in layout[1:]] == ["0", "1"]
    for k, item in enumerate(layout):
        cell = 10.0 * 2**k
        assert item["spatial:transform"] == [cell, 0.0, 500000.0, 0.0, -cell, 5000000.0]
        assert item["spatial:shape"] == list(tree[str(k)]["t"].shape)
        assert item["transform"] == {"scale": [1.0, 1.0] if k == 0 else [2.0, 2.0], "translation": [0.0, 0.0]}
        level = tree[str(k)]
        assert geo.transform(level) == tuple(item["spatial:transform"])
        assert geo.crs(level).to_epsg() == 32633
        assert level.attrs["spatial:transform"] == item["spatial:transform"]
        assert level["t"].attrs["units"] == "degC" and level["t"].attrs["grid_mapping"] == "spatial_ref"
        # coordinates are the cell centres of the level grid: same extent at every level
        assert float(level["x"][0]) == 500000.0 + cell / 2
        assert geo.bounds(level) == (500000.0, 4999600.0, 500600.0, 5000000.0)
    np.testing.assert_allclose(tree["1"]["t"].values, block_mean(ds["t"].values, 2), rtol=1e-6)
    np.testing.assert_allclose(tree["2"]["t"].values, block_mean(ds["t"].values, 4), rtol=1e-5)
    assert geo.validate(tree) == []


def test_only_spatial_dimensions_are_downsampled():
    ds = utm(8, 12, time=3)
    ds["series"] = ("time", np.arange(3.0))
    tree = geo.build_multiscales(ds, levels=2)
    assert tree["1"]["t"].dims == ("time", "y", "x") and tree["1"]["t"].shape == (3, 4, 6)
    np.testing.assert_array_equal(tree["1"]["time"].values, [0, 1, 2])
    assert "series" in tree["0"] and "series" not in tree["1"]
    np.testing.assert_allclose(tree["1"]["t"].values, block_mean(ds["t"].values, 2), rtol=1e-6)


def test_odd_shapes_and_default_levels():
    tree = geo.build_multiscales(utm(41, 61), levels=2)
    assert tree["1"]["t"].shape == (21, 31)  # ceil: the last cells are partial blocks
    assert tree.attrs["multiscales"]["layout"][1]["spatial:shape"] == [21, 31]
    assert geo.transform(tree["1"]) == (20.0, 0.0, 500000.0, 0.0, -20.0, 5000000.0)
    assert geo.validate(tree) == []
    # default: halve until both horizontal sizes fit in tile_size
    tree = geo.build_multiscales(utm(600, 300), tile_size=256)
    assert [tree[k]["t"].shape for k in sorted(tree.children)] == [(600, 300), (300, 150), (150, 75)]


@pytest.mark.parametrize("method,name", [("nearest", "nearest"), ("mode", "mode"), ("gaussian", "gauss")])
def test_methods_and_integer_data(method, name):
    ds = utm(16, 16, dtype="uint8")
    tree = geo.build_multiscales(ds, levels=2, method=method)
    assert tree["1"]["t"].dtype == np.uint8
    assert tree.attrs["multiscales"]["resampling_method"] == name
    assert tree.attrs["multiscales"]["layout"][1]["resampling_method"] == name
    if method == "nearest":
        np.testing.assert_array_equal(tree["1"]["t"].values, ds["t"].values[1::2, 1::2])


def test_errors():
    bare = xr.Dataset({"t": (("y", "x"), np.zeros((4, 4)))}, coords={"x": np.arange(4.0), "y": np.arange(4.0)})
    with pytest.raises(MetadataError, match="no CRS"):
        geo.build_multiscales(bare)
    tree = geo.build_multiscales(bare, crs="EPSG:32633", levels=2)
    assert tree.attrs["proj:code"] == "EPSG:32633"
    irregular = bare.assign_coords(x=[0.0, 1.0, 5.0, 6.0])
    with pytest.raises(MetadataError, match="transform"):
        geo.build_multiscales(irregular, crs=4326)
    with pytest.raises(ValueError, match="method"):
        geo.build_multiscales(utm(4, 4), method="bilinear")


def test_round_trip_through_zarr(tmp_path, writer, engine):
    ds = utm(32, 48)
    tree = geo.build_multiscales(ds, levels=3)
    for fmt in (2, 3):
        path = tmp_path / f"pyramid_v{fmt}.zarr"
        writer(tree, path, fmt)
        back = xr.open_datatree(path, engine=engine)
        assert back.attrs["multiscales"] == tree.attrs["multiscales"]
        for item in back.attrs["multiscales"]["layout"]:
            level = back[item["asset"]]
            assert geo.transform(level) == tuple(item["spatial:transform"])
            assert geo.crs(level).to_epsg() == 32633
            np.testing.assert_array_equal(level["t"].values, tree[item["asset"]]["t"].values)
        assert geo.validate(path, engine=engine) == []


def test_gdal_reads_every_level(tmp_path, write_xarray_zarr):
    rasterio = pytest.importorskip("rasterio")
    tree = geo.build_multiscales(utm(32, 48), levels=3)
    path = tmp_path / "pyramid.zarr"
    write_xarray_zarr(tree, path, 3)
    for item in tree.attrs["multiscales"]["layout"]:
        with rasterio.open(f'ZARR:"{path}":/{item["asset"]}/t') as src:
            assert src.crs.to_epsg() == 32633
            assert tuple(src.transform)[:6] == pytest.approx(item["spatial:transform"])
            assert list(src.shape) == item["spatial:shape"]


def test_geozarr_toolkit_validates_pyramid(tmp_path, write_xarray_zarr):
    toolkit = pytest.importorskip("geozarr_toolkit")
    zarr = pytest.importorskip("zarr")
    path = tmp_path / "pyramid.zarr"
    write_xarray_zarr(geo.build_multiscales(utm(32, 48), levels=3), path, 3)
    group = zarr.open_group(path, mode="r")
    results = toolkit.validate_group(group)
    assert set(results) == {"multiscales", "proj", "spatial", "zarr_conventions"}
    assert all(errors == [] for errors in results.values()), results
    ok, errors = toolkit.helpers.validation.validate_multiscales_structure(group)
    assert ok, errors
    for level in ("0", "1", "2"):
        level_results = toolkit.validate_group(group[level])
        assert all(errors == [] for errors in level_results.values()), level_results


@pytest.mark.slow
def test_4000x4000_float32_pyramid_with_dask_never_loads_the_whole_array(tmp_path):
    """A 64 MB field in 1000x1000 chunks: every task handles at most a few chunks' worth."""
    dask = pytest.importorskip("dask")
    import dask.array as darr
    from dask.callbacks import Callback

    n, chunk = 4000, 1000
    a, _, c, _, e, f = UTM
    field = darr.random.default_rng(7).random((n, n), chunks=chunk, dtype="float32")
    ds = xr.Dataset(
        {"t": (("y", "x"), field)},
        coords={"x": c + a * (np.arange(n) + 0.5), "y": f + e * (np.arange(n) + 0.5)},
    )
    ds = geo.assign_crs(ds, "EPSG:32633")
    tree = geo.build_multiscales(ds)  # levels until 256 fits: 4000, 2000, 1000, 500, 250
    assert [tree[k]["t"].shape[0] for k in sorted(tree.children)] == [4000, 2000, 1000, 500, 250]
    for k in tree.children:
        assert isinstance(tree[k]["t"].data, darr.Array), "levels must stay lazy until written"

    largest = [0]

    class MaxResult(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            largest[0] = max(largest[0], getattr(result, "nbytes", 0))

    path = tmp_path / "big.zarr"
    with MaxResult(), dask.config.set(scheduler="threads", num_workers=2):
        zc.to_zarr(tree, path, zarr_format=3)
    whole = n * n * 4
    assert 0 < largest[0] <= chunk * chunk * 8 < whole / 4

    back = xr.open_datatree(path, engine="zarr")
    full = back["0"]["t"][:64, :64].values
    np.testing.assert_allclose(back["1"]["t"][:32, :32].values, block_mean(full, 2), rtol=1e-5)
    np.testing.assert_allclose(back["4"]["t"][:4, :4].values, block_mean(full, 16), rtol=1e-5)
    assert geo.transform(back["4"]) == (160.0, 0.0, 500000.0, 0.0, -160.0, 5000000.0)
