"""Fuzzing the convention attribute parsers (OME-NGFF, GeoZarr/CF): ZarrconvError or a result, nothing else.

Seeds are the example documents shipped in ``conventions/``; hypothesis mutates them
(values replaced by random JSON, keys removed) and also feeds purely random attributes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import expect_only_zarrconv_errors, json_values, mutated

FUZZ = settings(max_examples=int(os.environ.get("ZARRCONV_FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
EXAMPLES = Path(__file__).resolve().parents[2] / "conventions"


def _attrs(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    return doc.get("attributes", doc)


OME_SEEDS = [_attrs(p) for p in sorted((EXAMPLES / "ome" / "examples").rglob("*.json"))]
GEO_SEEDS = [_attrs(p) for p in sorted((EXAMPLES / "geo" / "examples").glob("*.json"))]


@pytest.mark.skipif(not OME_SEEDS, reason="no OME example documents")
@FUZZ
@given(data=st.data())
def test_ome_attribute_parser(data: Any) -> None:
    from zarrconv.conventions.ome.models import parse_attrs

    seed = data.draw(st.sampled_from(OME_SEEDS))
    attrs = data.draw(st.one_of(mutated(seed), st.dictionaries(st.sampled_from(
        ["ome", "multiscales", "omero", "labels", "image-label", "plate", "well", "bioformats2raw.layout", "series"]),
        json_values, max_size=3)))
    if not isinstance(attrs, dict):
        attrs = {"ome": attrs}
    md = expect_only_zarrconv_errors(parse_attrs, attrs, "fuzz.zarr/zarr.json", ndim=data.draw(st.sampled_from([None, 2, 5])))
    if md is not None and not isinstance(md, Exception):
        for version in ("0.4", "0.5"):  # what parsed can be written back (or refused clearly)
            expect_only_zarrconv_errors(md.to_attrs, version)


def test_ome_seeds_parse() -> None:
    from zarrconv.conventions.ome.models import parse_attrs

    assert OME_SEEDS and all(parse_attrs(a) is not None for a in OME_SEEDS if "ome" in a or "multiscales" in a)


GEO_KEYS = ["proj:code", "proj:wkt2", "proj:projjson", "spatial:transform", "spatial:shape", "spatial:dimensions",
            "spatial:bbox", "grid_mapping", "crs_wkt", "spatial_ref", "grid_mapping_name", "GeoTransform", "_CRS",
            "zarr_conventions", "multiscales"]


@pytest.mark.skipif(not GEO_SEEDS, reason="no geo example documents")
@FUZZ
@given(data=st.data())
def test_geo_attribute_parsers(data: Any) -> None:
    from zarrconv.conventions.geo._crs import crs_from_cf, crs_from_gdal, crs_from_proj, parse_geotransform
    from zarrconv.conventions.geo.affine import as_affine

    seed = data.draw(st.sampled_from(GEO_SEEDS))
    attrs = data.draw(st.one_of(mutated(seed), st.dictionaries(st.sampled_from(GEO_KEYS), json_values, max_size=4)))
    if not isinstance(attrs, dict):
        attrs = {"proj:code": attrs}
    expect_only_zarrconv_errors(crs_from_proj, attrs, where="fuzz")
    expect_only_zarrconv_errors(crs_from_cf, attrs, where="fuzz")
    if "_CRS" in attrs:
        expect_only_zarrconv_errors(crs_from_gdal, attrs["_CRS"], where="fuzz")
    for key in ("GeoTransform", "spatial:transform"):
        if key in attrs:
            expect_only_zarrconv_errors(parse_geotransform, attrs[key], where="fuzz")
            expect_only_zarrconv_errors(as_affine, attrs[key], where="fuzz") if isinstance(attrs[key], list) else None


@pytest.mark.skipif(not GEO_SEEDS, reason="no geo example documents")
@settings(FUZZ, max_examples=max(6, FUZZ.max_examples // 8))  # pyproj and xarray make each example slow
@given(data=st.data())
def test_geo_readers_and_validator_on_hostile_attributes(data: Any) -> None:
    """``geo.crs``/``geo.transform`` raise only ZarrconvError; ``geo.validate`` reports instead of raising."""
    import xarray as xr

    import zarrconv.conventions.geo as geo

    seed = data.draw(st.sampled_from(GEO_SEEDS))
    attrs = data.draw(mutated(seed))
    if not isinstance(attrs, dict):
        attrs = {"proj:code": attrs}
    ds = xr.Dataset({"v": (("y", "x"), np.zeros((3, 4), "f4"))}, coords={"y": [3.0, 2.0, 1.0], "x": [0.0, 1, 2, 3]})
    ds.attrs.update(attrs)
    ds["v"].attrs.update(attrs)
    expect_only_zarrconv_errors(geo.crs, ds)
    expect_only_zarrconv_errors(geo.transform, ds)
    problems = expect_only_zarrconv_errors(geo.validate, ds)
    assert isinstance(problems, list | Exception)
