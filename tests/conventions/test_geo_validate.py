"""zc.geo.validate finds real problems in real stores; the JSON Schemas ship and load."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import xarray as xr

import zarrconv.conventions.geo as geo
from zarrconv.conventions._schemas import conventions_roots, load_json, schema_path
from zarrconv.conventions.geo import registry

pyproj = pytest.importorskip("pyproj")
jsonschema = pytest.importorskip("jsonschema")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:zarr"),
]

# xarray's zarr engine: zarrconv's backend does not open zarr-conventions multiscales groups yet
# (it takes their "multiscales" object for OME-NGFF metadata); test_geo_interop covers it for datasets.
ENGINE = "zarr"
UTM = (10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)


def good(height: int = 4, width: int = 5) -> xr.Dataset:
    a, _, c, _, e, f = UTM
    ds = xr.Dataset(
        {"t": (("y", "x"), np.ones((height, width), "float32"), {"units": "degC"})},
        coords={"x": c + a * (np.arange(width) + 0.5), "y": f + e * (np.arange(height) + 0.5)},
    )
    return geo.assign_crs(ds, "EPSG:32633")


def write(ds: xr.Dataset | xr.DataTree, tmp_path: pathlib.Path, name: str = "s.zarr", zarr_format: int = 3):
    path = tmp_path / name
    ds.to_zarr(path, zarr_format=zarr_format, consolidated=True, mode="w")
    return path


def problems_of(ds, tmp_path, **kw) -> list[str]:
    return geo.validate(write(ds, tmp_path, **kw), engine=ENGINE)


def test_clean_store_has_no_problems(tmp_path):
    assert problems_of(good(), tmp_path) == []
    assert problems_of(good(), tmp_path, zarr_format=2) == []


def test_unknown_crs_code(tmp_path):
    ds = good()
    ds.attrs["proj:code"] = "EPSG:999999"
    problems = problems_of(ds, tmp_path)
    assert any(p.startswith("/: unknown CRS in proj:code") for p in problems), problems


def test_representations_disagree(tmp_path):
    ds = good()
    ds["t"].attrs["proj:code"] = "EPSG:32634"
    problems = problems_of(ds, tmp_path)
    assert any("/t: proj:code" in p and "describe different CRSs" in p for p in problems), problems


def test_cf_and_proj_disagree(tmp_path):
    ds = good()
    ds["spatial_ref"].attrs["crs_wkt"] = ds["spatial_ref"].attrs["spatial_ref"] = pyproj.CRS(4326).to_wkt()
    problems = problems_of(ds, tmp_path)
    assert any("CF grid mapping CRS (WGS 84) differs from the proj: CRS" in p for p in problems), problems


def test_transform_inconsistent_with_coordinates(tmp_path):
    ds = good()
    ds.attrs["spatial:transform"] = [10.0, 0.0, 400000.0, 0.0, -10.0, 5000000.0]
    ds["spatial_ref"].attrs["GeoTransform"] = "400000 10 0 5000000 0 -10"
    problems = problems_of(ds, tmp_path)
    assert any(p.startswith("/: spatial:transform") and "inconsistent" in p for p in problems), problems
    assert any(p.startswith("/spatial_ref: GeoTransform") and "inconsistent" in p for p in problems), problems


def test_shape_bbox_and_dimensions(tmp_path):
    ds = good()
    ds["t"].attrs["spatial:shape"] = [5, 4]
    ds.attrs["spatial:bbox"] = [0.0, 0.0, 1.0, 1.0]
    problems = problems_of(ds, tmp_path)
    assert any(p.startswith("/t: spatial:shape [5, 4]") for p in problems), problems
    assert any(p.startswith("/: spatial:bbox") for p in problems), problems
    ds = good()
    ds["t"].attrs["spatial:dimensions"] = ["lat", "lon"]
    problems = problems_of(ds, tmp_path, name="dims.zarr")
    assert any("/t: spatial:dimensions ['lat', 'lon'] names dimensions" in p for p in problems), problems


def test_unparseable_units(tmp_path):
    ds = good()
    ds["t"].attrs["units"] = "degrees_bogus"
    ds["x"].attrs["units"] = "metre"
    ds = ds.assign_coords(time=("time", [0, 1], {"units": "days since 2000-01-01"}))
    problems = problems_of(ds, tmp_path)
    assert problems == ["/t: units: cannot parse 'degrees_bogus' "
                        "(UndefinedUnitError: 'degrees_bogus' is not defined in the unit registry)"]


def test_conventions_used_but_not_declared_or_malformed(tmp_path):
    ds = good()
    ds.attrs["zarr_conventions"] = [c for c in ds.attrs["zarr_conventions"] if c["name"] != "proj"]
    ds["t"].attrs["zarr_conventions"] = [{"name": "spatial", "version": "1"}]
    ds["t"].attrs["spatial:registration"] = "corner"
    problems = problems_of(ds, tmp_path)
    assert "/: proj: attributes are used but the proj convention is not declared in zarr_conventions" in problems
    assert any(p.startswith("/t: zarr_conventions: zarr_conventions/0") for p in problems), problems
    assert any(p.startswith("/t: spatial: spatial:registration: 'corner' is not one of") for p in problems), problems


def test_array_without_spatial_dimensions(tmp_path):
    ds = xr.Dataset({"t": (("y", "x"), np.zeros((2, 2)))})
    ds["t"].attrs = {"zarr_conventions": [registry.SPATIAL], "spatial:transform": list(UTM)}
    problems = problems_of(ds, tmp_path)
    assert "/t: spatial:dimensions is required on arrays using the spatial convention" in problems


def test_grid_mapping_missing_and_broken(tmp_path):
    ds = good()
    ds["t"].attrs["grid_mapping"] = "nowhere"
    problems = problems_of(ds, tmp_path)
    assert "/t: grid_mapping refers to 'nowhere', which does not exist" in problems
    ds = good().drop_vars("spatial_ref").assign_coords(spatial_ref=((), 0, {"grid_mapping_name": "bogus"}))
    problems = problems_of(ds, tmp_path, name="b.zarr")
    assert any(p.startswith("/spatial_ref: unknown CRS") for p in problems), problems


def test_multiscales_layout_problems(tmp_path):
    tree = geo.build_multiscales(good(8, 8), levels=2)
    ms = dict(tree.attrs["multiscales"])
    layout = [dict(item) for item in ms["layout"]]
    layout[1]["spatial:transform"] = [30.0, 0.0, 500000.0, 0.0, -30.0, 5000000.0]
    layout.append({"asset": "9", "derived_from": "0"})
    tree.attrs = {**tree.attrs, "multiscales": {**ms, "layout": layout}}
    problems = geo.validate(write(tree, tmp_path), engine=ENGINE)
    assert "/: multiscales layout[2].asset '9' does not exist" in problems
    assert any("multiscales: multiscales/layout/2: 'transform' is a required property" in p for p in problems), problems
    assert any(p.startswith("/ layout[1] (1): spatial:transform") and "inconsistent" in p for p in problems), problems


def test_in_memory_objects_validate_before_writing():
    assert geo.validate(good()) == []
    assert geo.validate(good()["t"]) == []
    da = good()["t"]
    da.attrs["spatial:shape"] = [1, 1]
    assert geo.validate(da) == ["/t: spatial:shape [1, 1] does not match the 'y'/'x' sizes [4, 5]"]


# --- schemas and examples ------------------------------------------------------------------
def test_schema_path_finds_shipped_files():
    p = schema_path("geo", "schemas", "proj.schema.json")
    assert p.is_file() and p.parent.parent.name == "geo"
    assert any(p.is_relative_to(root) for root in conventions_roots())
    assert load_json("geo", "schemas", "spatial.schema.json")["type"] == "object"
    with pytest.raises(FileNotFoundError, match="nope.json"):
        schema_path("geo", "nope.json")
    with pytest.raises(ValueError):
        schema_path("..", "etc", "passwd")


@pytest.mark.parametrize("name", ["zarr-conventions", "proj", "spatial", "multiscales"])
def test_schemas_are_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(load_json("geo", "schemas", f"{name}.schema.json"))


EXAMPLES = sorted(p.name for p in schema_path("geo", "examples").glob("*.json"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_pass_the_schemas(name):
    from zarrconv.conventions.geo.validate import _schema_problems, _used_conventions

    doc = load_json("geo", "examples", name)
    attrs = doc["attributes"]
    used = _used_conventions(attrs) | ({"zarr_conventions"} if "zarr_conventions" in attrs else set())
    if not used:  # the CF grid-mapping variable
        from zarrconv.conventions.geo._crs import crs_from_cf

        assert crs_from_cf(attrs).to_epsg() == 32633
    for key in sorted(used):
        assert _schema_problems(key, attrs) == [], (name, key)


def test_examples_are_what_zarrconv_writes(tmp_path):
    """conventions/geo/examples are documents zarrconv writes, not hand-written drift."""
    import zarrconv as zc

    path = tmp_path / "s.zarr"
    zc.to_zarr(good(), path, zarr_format=3)
    written = {
        "dataset-group.zarr.json": json.loads((path / "zarr.json").read_text())["attributes"],
        "dataset-array.zarr.json": json.loads((path / "t" / "zarr.json").read_text())["attributes"],
        "dataset-grid-mapping.zarr.json": json.loads((path / "spatial_ref" / "zarr.json").read_text())["attributes"],
    }
    tree_path = tmp_path / "tree.zarr"
    zc.to_zarr(geo.build_multiscales(good(8, 8), levels=2), tree_path, zarr_format=3)
    written["multiscales-root.zarr.json"] = json.loads((tree_path / "zarr.json").read_text())["attributes"]
    written["multiscales-level1.zarr.json"] = json.loads((tree_path / "1" / "zarr.json").read_text())["attributes"]
    for name, attrs in written.items():
        example = load_json("geo", "examples", name)["attributes"]
        assert set(example) == set(attrs), name
        for key, value in attrs.items():
            if key in ("proj:wkt2", "crs_wkt", "spatial_ref"):  # PROJ-version dependent text
                assert pyproj.CRS(example[key]).equals(pyproj.CRS(value)), (name, key)
            else:
                assert example[key] == value, (name, key)
