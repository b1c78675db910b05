"""``zc.convert`` loses nothing xarray reads: datasets written by xarray's own zarr engine, both formats.

Each source is written with ``Dataset.to_zarr(engine zarr)`` in Zarr v2 or v3, converted
(directly, as a round trip through the other format, with a new compressor, sharding or
chunks), and the copy opened with xarray's ``engine="zarr"`` must be identical to the source
opened the same way: values (real zeros and NaN alike), dimensions (0-d included), CF times
(standard and ``noleap``), packing, fill values, every attribute.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")
cftime = pytest.importorskip("cftime")

from .conftest import run  # noqa: E402


def _dataset() -> xr.Dataset:
    """Every dtype and encoding xarray's zarr tests use, with chunks that are missing from the store."""
    temp = np.array([[0.0, np.nan, 1.5, 0.0, 2.5, -0.0], [2.0, 0.0, -1.0, np.nan, 0.0, 3.0],
                     [np.nan] * 6, [np.nan] * 6])
    noleap = [cftime.DatetimeNoLeap(2001, 2, 28) + np.timedelta64(i, "D").item() for i in range(6)]
    ds = xr.Dataset(
        {
            "temp": (("y", "x"), temp, {"units": "K", "long_name": "temperature", "valid_range": [-50.0, 50.0]}),
            "flag": (("y", "x"), np.array([[0, 1, 2, 0, 0, 3]] * 4, dtype="i1"), {"flag_values": [0, 1, 2, 3]}),
            "count": (("y", "x"), np.arange(24, dtype="u2").reshape(4, 6)),
            "masked_int": (("y", "x"), np.where(np.arange(24).reshape(4, 6) % 5 == 0, np.nan,
                                                np.arange(24.0).reshape(4, 6))),
            "packed": (("y", "x"), np.where(temp == 0, np.nan, np.round(temp * 7.3, 1)).astype("f4")),
            "f32": (("x",), np.array([0.0, 1.0, np.nan, 0.0, 4.0, 5.0], dtype="f4")),
            "ok": (("x",), np.array([True, False, True, True, False, False])),
            "name": (("x",), np.array(["a", "bé", "", "xyz", "q", "0"], dtype=object)),
            "code": (("x",), np.array([b"ab", b"", b"xyz", b"q", b"0", b"\x01"], dtype="S3")),
            "when": (("x",), np.array(["2000-01-01", "NaT", "2000-01-03T12:00", "1999-12-31", "NaT", "2010-06-01"],
                                      dtype="M8[ns]")),
            "model_time": (("x",), noleap, {"standard_name": "time"}),
            "lag": (("x",), np.array([0, 1, -3, 0, 5, 6], dtype="m8[s]").astype("m8[ns]")),
            "wave": (("x",), np.array([1 + 2j, 0, complex(np.nan, 0), 3j, -1, 0.5j])),
            "big": (("x",), np.array([0, 1, 2**63, 5, 7, 2**64 - 1], dtype="u8")),
            "half": (("x",), np.array([0, 1.5, np.nan, 2, -0.0, 65504], dtype="f2")),
        },
        coords={"x": np.arange(6) * 10, "y": [1.5, 2.5, 3.5, 4.5], "height": 2.0, "level": np.int32(0),
                "label": "surface"},
        attrs={"title": "all of xarray's encodings", "version": 3, "weights": [0.5, 0.25], "empty": "",
               "flags": {"a": 1}, "history": None},
    )
    ds["masked_int"].encoding = {"dtype": "i4", "_FillValue": -1}
    ds["packed"].encoding = {"dtype": "i2", "scale_factor": 0.1, "add_offset": 10.0, "_FillValue": -32768}
    ds["f32"].encoding = {"_FillValue": None}
    ds["big"].encoding = {"_FillValue": 5}  # an unsigned 64-bit fill value above 2**63 would not fit JSON's int64
    ds["when"].encoding = {"units": "days since 2000-01-01", "dtype": "f8"}
    ds["lag"].encoding = {"units": "seconds", "dtype": "i8"}
    ds["model_time"].encoding = {"units": "days since 2001-01-01", "calendar": "noleap"}
    for name in ("temp", "flag", "count", "masked_int", "packed"):
        ds[name].encoding["chunks"] = (2, 3)
    return ds


def _write_source(path: Path, zarr_format: int) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr-python's warnings about v2/v3 string and bytes types
        _dataset().to_zarr(path, zarr_format=zarr_format, consolidated=True, mode="w")
    assert json.loads((path / ("zarr.json" if zarr_format == 3 else ".zgroup")).read_text())["zarr_format"] == zarr_format
    return _open(path)


def _open(path: Path, **kwargs) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with xr.open_dataset(path, engine="zarr", **kwargs) as ds:
            return ds.load()


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[int, tuple[Path, xr.Dataset]]:
    root = tmp_path_factory.mktemp("xr_sources")
    return {fmt: (root / f"v{fmt}.zarr", _write_source(root / f"v{fmt}.zarr", fmt)) for fmt in (2, 3)}


def test_the_sources_hold_what_the_conversion_must_keep(sources):
    """The data really has zeros next to NaN, a 0-d coordinate, a noleap time, a null v2 fill value, missing chunks."""
    path2, ds = sources[2]
    assert (ds["temp"] == 0).sum() == 5 and ds["temp"].isnull().sum() == 14
    assert ds["flag"].dtype == np.int8 and ds["height"].ndim == 0
    assert isinstance(ds["model_time"].values[0], cftime.DatetimeNoLeap)
    assert json.loads((path2 / "model_time" / ".zarray").read_text())["fill_value"] is None
    assert json.loads((path2 / "temp" / ".zattrs").read_text())["_ARRAY_DIMENSIONS"] == ["y", "x"]
    path3, _ = sources[3]
    assert json.loads((path3 / "temp" / "zarr.json").read_text())["attributes"]["_FillValue"] == "AAAAAAAA+H8="
    assert not (path3 / "temp" / "c" / "1").exists()  # the all-NaN chunk row is not stored


ROUTES = {
    "2->3": (2, [{}]),
    "3->2": (3, [{"zarr_format": 2}]),
    "2->3->2": (2, [{}, {"zarr_format": 2}]),
    "3->2->3": (3, [{"zarr_format": 2}, {}]),
    "2->3 zstd": (2, [{"compressors": "zstd"}]),
    "3->2 gzip": (3, [{"zarr_format": 2, "compressors": {"name": "gzip", "configuration": {"level": 4}}}]),
    "2->3 sharded": (2, [{"chunks": 1, "shards": 2}]),
    "3->2 rechunked": (3, [{"zarr_format": 2, "chunks": 4}]),
    "3->2->3 sharded": (3, [{"zarr_format": 2, "chunks": 2}, {"shards": 4}]),
    "2->3->2 uncompressed": (2, [{"compressors": []}, {"zarr_format": 2, "compressors": []}]),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_converted_copy_opens_identical_with_xarrays_engine(sources, tmp_path, route):
    start, steps = ROUTES[route]
    path, expected = sources[start]
    for i, kwargs in enumerate(steps):
        out = tmp_path / f"step{i}.zarr"
        zc.convert(path, out, **{"zarr_format": 3, **kwargs})
        path = out
    got = _open(path)
    xr.testing.assert_identical(got, expected)
    for name in ("temp", "flag", "when", "model_time", "packed"):  # the encodings that decide the values
        for key in ("dtype", "units", "calendar", "scale_factor", "add_offset", "_FillValue"):
            a, b = got[name].encoding.get(key), expected[name].encoding.get(key)
            assert a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b)), (name, key, a, b)
    xr.testing.assert_identical(_open(path, decode_cf=False).drop_attrs(deep=True),
                                _open(sources[start][0], decode_cf=False).drop_attrs(deep=True))


@pytest.mark.parametrize("start", [2, 3])
def test_convert_command_round_trip_keeps_the_dataset(sources, tmp_path, start):
    """The CLI, both ways, with a new compressor, consolidated metadata read by xarray."""
    src, expected = sources[start]
    other = 5 - start
    run("convert", src, tmp_path / "a.zarr", "--zarr-format", other, "--compressor", "zstd:3", "-q")
    run("convert", tmp_path / "a.zarr", tmp_path / "b.zarr", "--zarr-format", start, "-q")
    for p in ("a.zarr", "b.zarr"):
        xr.testing.assert_identical(_open(tmp_path / p, consolidated=True), expected)
    run("validate", tmp_path / "a.zarr")
    run("validate", tmp_path / "b.zarr")


def test_v2_null_fill_value_survives_v3_and_back(sources, tmp_path):
    """fill_value null (nothing masked) stays null, so a noleap time without NaT still decodes."""
    zc.convert(sources[2][0], tmp_path / "v3.zarr", zarr_format=3)
    zc.convert(tmp_path / "v3.zarr", tmp_path / "v2.zarr", zarr_format=2)
    for name in ("model_time", "flag", "count", "ok", "name"):
        before = json.loads((sources[2][0] / name / ".zarray").read_text())["fill_value"]
        after = json.loads((tmp_path / "v2.zarr" / name / ".zarray").read_text())["fill_value"]
        assert before is None and after is None, (name, before, after)
        assert "_FillValue" not in json.loads((tmp_path / "v3.zarr" / name / "zarr.json").read_text())["attributes"]


def test_v3_fill_attribute_becomes_the_v2_fill_value(sources, tmp_path):
    """xarray's base64 _FillValue is decoded into fill_value, never copied verbatim into .zattrs."""
    zc.convert(sources[3][0], tmp_path / "v2.zarr", zarr_format=2)
    zarray = json.loads((tmp_path / "v2.zarr" / "temp" / ".zarray").read_text())
    zattrs = json.loads((tmp_path / "v2.zarr" / "temp" / ".zattrs").read_text())
    assert zarray["fill_value"] == "NaN" and "_FillValue" not in zattrs
    assert json.loads((tmp_path / "v2.zarr" / "masked_int" / ".zarray").read_text())["fill_value"] == -1
    assert json.loads((tmp_path / "v2.zarr" / "height" / ".zattrs").read_text())["_ARRAY_DIMENSIONS"] == []


def test_in_place_migration_keeps_the_dataset(sources, tmp_path):
    shutil.copytree(sources[2][0], tmp_path / "m.zarr")
    zc.migrate_v2_to_v3(tmp_path / "m.zarr")
    xr.testing.assert_identical(_open(tmp_path / "m.zarr"), sources[2][1])


# -- validate: xarray attributes that xarray cannot open --------------------------------------------

def _edit(path: Path, fn) -> None:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))


def _copy_unconsolidated(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for meta in (dst / ".zmetadata",):
        meta.unlink(missing_ok=True)
    if (dst / "zarr.json").exists():
        _edit(dst / "zarr.json", lambda d: d.pop("consolidated_metadata", None))
    return dst


@pytest.mark.parametrize("problem", ["missing-dims", "0-d-missing-dims", "fill-contradicts", "v3-raw-float-fill",
                                     "v3-missing-dimension-names"])
def test_validate_reports_xarray_attributes_xarray_cannot_open(sources, tmp_path, problem):
    fmt = 3 if problem.startswith("v3") else 2
    store = _copy_unconsolidated(sources[fmt][0], tmp_path / "s.zarr")
    if problem == "missing-dims":
        _edit(store / "flag" / ".zattrs", lambda d: d.pop("_ARRAY_DIMENSIONS"))
        node, words = "/flag", "no _ARRAY_DIMENSIONS"
    elif problem == "0-d-missing-dims":
        _edit(store / "height" / ".zattrs", lambda d: d.pop("_ARRAY_DIMENSIONS"))
        node, words = "/height", "no _ARRAY_DIMENSIONS"
    elif problem == "fill-contradicts":
        _edit(store / "temp" / ".zattrs", lambda d: d.update(_FillValue=0.0))
        node, words = "/temp", "contradicts fill_value"
    elif problem == "v3-raw-float-fill":
        _edit(store / "temp" / "zarr.json", lambda d: d["attributes"].update(_FillValue=-999.0))
        node, words = "/temp", "not base64"
    else:
        _edit(store / "flag" / "zarr.json", lambda d: d.pop("dimension_names"))
        node, words = "/flag", "no dimension_names"
    if problem != "fill-contradicts":  # xarray's own engine fails on the store: the problem is real
        with pytest.raises((KeyError, TypeError, ValueError)):
            _open(store, consolidated=False)
    proc = run("validate", store, check=1)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(f"{node}: [xarray]")]
    assert len(lines) == 1 and words in lines[0], proc.stdout
    assert "INVALID, 1 problem" in proc.stdout


@pytest.mark.parametrize("fmt", [2, 3])
def test_validate_passes_what_xarray_wrote(sources, fmt):
    proc = run("validate", sources[fmt][0])
    assert "valid" in proc.stdout and "[xarray]" not in proc.stdout
