"""CF packing as codecs through xarray: arrays packed with ``scale_offset`` + ``cast_value`` (written by
zarr-python 3.4) open as decoded floats with ``engine="zarrconv"``, and as the stored integers with
CF attributes under ``decode_cf=False``; ``zc.to_zarr`` with ``cf_packing="codecs"`` writes xarray's
scale_factor/add_offset packing as those codecs, read back by zarr-python."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc
from zarrconv.errors import MetadataError

zarr = pytest.importorskip("zarr")
pytest.importorskip("cast_value_rs")
from zarr.codecs import CastValue, ScaleOffset  # noqa: E402

NAN_TO_ZERO = {"encode": [("NaN", 0)], "decode": [(0, "NaN")]}


@pytest.fixture
def packed_by_zarr_python(tmp_path):
    x = np.linspace(0, 2540, 48).reshape(6, 8)
    x[0, 0] = np.nan
    g = zarr.open_group(str(tmp_path / "p.zarr"), mode="w")
    z = g.create_array("v", shape=x.shape, chunks=(4, 3), dtype="float64", fill_value=np.nan, dimension_names=["y", "x"],
                       filters=[ScaleOffset(offset=-10, scale=0.1), CastValue(data_type="uint8", scalar_map=NAN_TO_ZERO)],
                       compressors=None)
    z[...] = x
    z[4:, :3] = np.nan  # a chunk of fill only
    return str(tmp_path / "p.zarr"), z


def test_opens_as_decoded_floats(packed_by_zarr_python):
    path, z = packed_by_zarr_python
    ds = xr.open_dataset(path, engine="zarrconv")
    assert ds.v.dtype == np.float64
    np.testing.assert_array_equal(ds.v.values, z[...])


def test_decode_cf_false_shows_the_stored_integers(packed_by_zarr_python, tmp_path):
    path, z = packed_by_zarr_python
    raw = xr.open_dataset(path, engine="zarrconv", decode_cf=False)
    assert raw.v.dtype == np.uint8
    assert raw.v.attrs == {"scale_factor": 10.0, "add_offset": -10.0, "_FillValue": 0}
    # the stored integers, computed from zarr-python's own decoded floats by the spec's encode formula
    expected = np.where(np.isnan(z[...]), 0, np.rint((z[...] + 10) * 0.1)).astype(np.uint8)
    np.testing.assert_array_equal(raw.v.values, expected)
    np.testing.assert_allclose(xr.decode_cf(raw).v.values, z[...], rtol=1e-12)


def test_to_zarr_cf_packing_codecs_round_trips_with_zarr_python(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1000, 3000, (7, 9))
    x[2, 3] = np.nan
    ds = xr.Dataset({"t": (("y", "x"), x)})
    ds.t.encoding.update(scale_factor=0.1, add_offset=-5.0, dtype="int16", _FillValue=-32768, cf_packing="codecs",
                         chunks=(4, 4))
    zc.to_zarr(ds, str(tmp_path / "w.zarr"), mode="w")
    doc = json.loads((tmp_path / "w.zarr" / "t" / "zarr.json").read_text())
    assert doc["data_type"] == "float64" and doc["fill_value"] == "NaN"
    assert [c["name"] for c in doc["codecs"][:2]] == ["scale_offset", "cast_value"]
    theirs = zarr.open_group(str(tmp_path / "w.zarr"))["t"][...]
    # what xarray's own CF packing stores for these floats, unpacked as scale_offset decodes
    packed = np.rint((x + 5.0) / 0.1)
    np.testing.assert_array_equal(theirs, np.where(np.isnan(x), np.nan, packed / 10.0 - 5.0))
    np.testing.assert_array_equal(xr.open_dataset(str(tmp_path / "w.zarr"), engine="zarrconv").t.values, theirs)
    raw = xr.open_dataset(str(tmp_path / "w.zarr"), engine="zarrconv", decode_cf=False)
    assert raw.t.dtype == np.int16 and raw.t.values[2, 3] == -32768


def test_cf_packing_needs_zarr_v3_and_an_integer_dtype(tmp_path):
    ds = xr.Dataset({"t": (("x",), np.arange(4.0))})
    ds.t.encoding.update(scale_factor=0.5, dtype="int16", cf_packing="codecs")
    with pytest.raises(MetadataError, match="needs Zarr v3"):
        zc.to_zarr(ds, str(tmp_path / "v2.zarr"), mode="w", zarr_format=2)
    ds.t.encoding.update(dtype="float32")
    with pytest.raises(MetadataError, match="CF packing stores integers"):
        zc.to_zarr(ds, str(tmp_path / "f.zarr"), mode="w")
