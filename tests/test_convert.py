"""``zc.convert`` (v2 <-> v3 copies) and ``zc.migrate_v2_to_v3`` (in place), checked by zarr-python and tensorstore."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numcodecs
import numpy as np
import pytest

import zarrconv as zc

zarr = pytest.importorskip("zarr")
ts = pytest.importorskip("tensorstore")

RNG = np.random.default_rng(3)
TEMP = RNG.normal(size=(6, 9)).astype(">f8")  # big-endian on purpose
COUNTS = np.arange(6 * 9, dtype="<i4").reshape(6, 9)
FLAGS = RNG.integers(0, 2, size=(5,)).astype(bool)
WHEN = np.arange(5).astype("M8[D]").astype("M8[ns]")
NAMES = np.array(["a", "bé", "", "xyz", "q"], dtype=object)


def _zarr_python_v2_hierarchy(path: Path) -> None:
    """A v2 dataset as xarray + zarr-python write them: _ARRAY_DIMENSIONS, .zmetadata, mixed codecs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.create_group(path, zarr_format=2, attributes={"title": "demo"})
        t = g.create_array("temp", shape=TEMP.shape, chunks=(4, 4), dtype=TEMP.dtype, order="F",
                           compressors=numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.SHUFFLE),
                           fill_value=np.nan, attributes={"_ARRAY_DIMENSIONS": ["y", "x"], "units": "K"},
                           chunk_key_encoding={"name": "v2", "separator": "/"})
        t[:] = TEMP
        c = g.create_array("sub/counts", shape=COUNTS.shape, chunks=(3, 5), dtype=COUNTS.dtype,
                           compressors=numcodecs.Zstd(level=2), filters=[numcodecs.Delta(dtype="<i4")],
                           attributes={"_ARRAY_DIMENSIONS": ["y", "x"]})
        c[:] = COUNTS
        f = g.create_array("flags", shape=FLAGS.shape, chunks=(2,), dtype=bool, compressors=numcodecs.GZip(level=3))
        f[:] = FLAGS
        w = g.create_array("when", shape=WHEN.shape, chunks=(3,), dtype=WHEN.dtype, compressors=None,
                           attributes={"_ARRAY_DIMENSIONS": ["time"]})
        w[:] = WHEN
        n = g.create_array("names", shape=NAMES.shape, chunks=(2,), dtype=str)
        n[:] = NAMES
        zarr.consolidate_metadata(path)


def _expected() -> dict[str, np.ndarray]:
    return {"temp": TEMP, "sub/counts": COUNTS, "flags": FLAGS, "when": WHEN, "names": NAMES}


def _check_with_zarr_python(path: Path, zarr_format: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(path, mode="r", zarr_format=zarr_format)
        for name, values in _expected().items():
            got = g[name][:]
            if values.dtype.kind == "O":
                assert list(got) == list(values)
            else:
                np.testing.assert_array_equal(got, values)
        assert g.attrs["title"] == "demo"


def _tensorstore_read(path: Path, name: str, driver: str) -> np.ndarray:
    spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(path / name)}}
    return ts.open(spec, read=True).result().read().result()


def test_convert_v2_to_v3_translates_metadata_and_peers_read_it(tmp_path) -> None:
    _zarr_python_v2_hierarchy(tmp_path / "v2.zarr")
    g = zc.convert(tmp_path / "v2.zarr", tmp_path / "v3.zarr", zarr_format=3)
    assert g.zarr_format == 3
    temp = json.loads((tmp_path / "v3.zarr" / "temp" / "zarr.json").read_text())
    assert temp["dimension_names"] == ["y", "x"]
    assert "_ARRAY_DIMENSIONS" not in temp["attributes"] and temp["attributes"]["units"] == "K"
    assert temp["fill_value"] == "NaN"
    assert [c["name"] for c in temp["codecs"]] == ["transpose", "bytes", "blosc"]
    assert temp["codecs"][1]["configuration"]["endian"] == "big"
    names = json.loads((tmp_path / "v3.zarr" / "names" / "zarr.json").read_text())
    assert names["data_type"] == "string" and names["codecs"][0]["name"] == "vlen-utf8"
    when = json.loads((tmp_path / "v3.zarr" / "when" / "zarr.json").read_text())
    assert when["data_type"] == {"name": "numpy.datetime64", "configuration": {"unit": "ns", "scale_factor": 1}}
    root = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    assert sorted(root["consolidated_metadata"]["metadata"]) == ["flags", "names", "sub", "sub/counts", "temp", "when"]
    _check_with_zarr_python(tmp_path / "v3.zarr", 3)
    # tensorstore reads the arrays whose codecs it implements (numcodecs.delta is zarr-python's)
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "v3.zarr", "temp", "zarr3"), TEMP)
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "v3.zarr", "flags", "zarr3"), FLAGS)


def test_convert_v3_to_v2_round_trip(tmp_path) -> None:
    src = zc.create_group(tmp_path / "a.zarr", attributes={"title": "demo"})
    sharded = src.create_array("temp", shape=TEMP.shape, chunks=(2, 3), shards=(4, 9), dtype="f8",
                               dimension_names=["y", "x"], compressors=["zstd", "crc32c"], fill_value=np.nan)
    sharded[:] = TEMP
    src.create_array("names", shape=NAMES.shape, chunks=(2,), dtype=str)[:] = NAMES
    src.create_array("when", shape=WHEN.shape, chunks=(3,), dtype=WHEN.dtype)[:] = WHEN
    src.create_array("f", shape=COUNTS.shape, chunks=(3, 3), dtype="i4", order="F")[:] = COUNTS

    zc.convert(tmp_path / "a.zarr", tmp_path / "b.zarr", zarr_format=2)
    zarray = json.loads((tmp_path / "b.zarr" / "temp" / ".zarray").read_text())
    assert zarray["chunks"] == [2, 3] and zarray["compressor"]["id"] == "zstd" and zarray["fill_value"] == "NaN"
    assert json.loads((tmp_path / "b.zarr" / "temp" / ".zattrs").read_text())["_ARRAY_DIMENSIONS"] == ["y", "x"]
    assert json.loads((tmp_path / "b.zarr" / "f" / ".zarray").read_text())["order"] == "F"
    assert (tmp_path / "b.zarr" / ".zmetadata").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zg = zarr.open_group(tmp_path / "b.zarr", mode="r", zarr_format=2)
        np.testing.assert_array_equal(zg["temp"][:], TEMP)
        assert list(zg["names"][:]) == list(NAMES)
        np.testing.assert_array_equal(zg["when"][:], WHEN)
        np.testing.assert_array_equal(zg["f"][:], COUNTS)
    np.testing.assert_array_equal(_tensorstore_read(tmp_path / "b.zarr", "temp", "zarr"), TEMP)
    # and back to v3: the same data again
    back = zc.convert(tmp_path / "b.zarr", tmp_path / "c.zarr", zarr_format=3)
    assert back["temp"].dimension_names == ("y", "x")
    np.testing.assert_array_equal(back["temp"][:], TEMP)


def test_convert_refuses_what_v2_cannot_express_and_existing_destinations(tmp_path) -> None:
    zc.create_array(tmp_path / "r.zarr", shape=(5,), chunks=[(2, 3)], dtype="i1")
    with pytest.raises(zc.MetadataError, match="rectilinear"):
        zc.convert(tmp_path / "r.zarr", tmp_path / "out.zarr", zarr_format=2)
    assert not (tmp_path / "out.zarr" / ".zarray").exists()
    zc.create_group(tmp_path / "taken.zarr")
    with pytest.raises(zc.ContainsNodeError, match="overwrite"):
        zc.convert(tmp_path / "r.zarr", tmp_path / "taken.zarr")
    a = zc.convert(tmp_path / "r.zarr", tmp_path / "taken.zarr", overwrite=True)
    assert a.shape == (5,)


def _chunk_files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name != "zarr.json"}


def test_migrate_v2_to_v3_in_place_keeps_chunk_bytes(tmp_path) -> None:
    path = tmp_path / "m.zarr"
    _zarr_python_v2_hierarchy(path)
    chunks_before = _chunk_files(path)
    g = zc.migrate_v2_to_v3(path)
    assert g.zarr_format == 3
    assert _chunk_files(path) == chunks_before  # not a byte of data rewritten
    assert not list(path.rglob(".z*"))  # the v2 documents are gone
    temp = json.loads((path / "temp" / "zarr.json").read_text())
    assert temp["chunk_key_encoding"] == {"name": "v2", "configuration": {"separator": "/"}}
    counts = json.loads((path / "sub" / "counts" / "zarr.json").read_text())
    assert counts["chunk_key_encoding"] == {"name": "v2", "configuration": {"separator": "."}}
    assert [c["name"] for c in counts["codecs"]] == ["numcodecs.delta", "bytes", "zstd"]
    assert "consolidated_metadata" in json.loads((path / "zarr.json").read_text())
    np.testing.assert_array_equal(zc.open_array(path, "temp")[:], TEMP)
    _check_with_zarr_python(path, 3)
    for name, values in (("temp", TEMP), ("flags", FLAGS)):
        np.testing.assert_array_equal(_tensorstore_read(path, name, "zarr3"), values)
    # the migrated arrays stay writable with their v2 chunk keys
    a = zc.open_array(path, "sub/counts", mode="r+")
    a[0, 0] = -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert zarr.open_array(path / "sub" / "counts", mode="r")[0, 0] == -1


def test_migrate_refuses_untranslatable_nodes_before_writing(tmp_path) -> None:
    path = tmp_path / "p.zarr"
    g = zc.create_group(path, zarr_format=2)
    g.create_array("ok", shape=(2,), dtype="i1")
    g.create_array("pickled", shape=(2,), dtype=object, filters=[{"id": "pickle"}])
    zarray = path / "pickled" / ".zarray"
    zarray.write_text(json.dumps({**json.loads(zarray.read_text()), "filters": [{"id": "pickle"}]}))
    with pytest.raises(zc.MetadataError, match="pickled"):
        zc.migrate_v2_to_v3(path)
    assert not list(path.rglob("zarr.json")) and (path / "ok" / ".zarray").exists()


def test_migrate_refuses_mixed_byte_order_structs_but_convert_copies_them(tmp_path) -> None:
    dt = np.dtype([("x", ">f4"), ("y", "<i2")])
    data = np.array([(1.5, 2), (-3.0, 4), (0.25, -9)], dtype=dt)
    zc.create_array(tmp_path / "s.zarr", shape=(3,), chunks=(2,), dtype=dt, zarr_format=2)[:] = data
    with pytest.raises(zc.MetadataError, match="byte orders"):
        zc.migrate_v2_to_v3(tmp_path / "s.zarr")
    out = zc.convert(tmp_path / "s.zarr", tmp_path / "v3.zarr")
    assert json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())["data_type"]["name"] == "struct"
    np.testing.assert_array_equal(out[:], data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(zarr.open_array(tmp_path / "v3.zarr", mode="r")[:], data)


# -- new layouts: chunks, shards, compressors, progress -------------------------------------------

GRID = np.arange(60 * 50, dtype=">f8").reshape(60, 50) / 7


def _v2_grid(path: Path) -> None:
    zc.create_array(path, shape=GRID.shape, dtype=GRID.dtype, chunks=(20, 25), zarr_format=2, fill_value=np.nan,
                    compressors=numcodecs.Blosc(cname="lz4"),
                    attributes={"_ARRAY_DIMENSIONS": ["y", "x"], "units": "m"})[...] = GRID


# the v2 fill value NaN of an xarray variable is its CF _FillValue: in v3, xarray's base64 attribute
V3_ATTRS = {"units": "m", "_FillValue": "AAAAAAAA+H8="}


def _zarr_python_reads(path: Path, expected: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = zarr.open_array(path, mode="r", zarr_format=3)
        np.testing.assert_array_equal(a[...], expected)
        assert a.metadata.dimension_names == ("y", "x") and dict(a.attrs) == V3_ATTRS


def test_convert_v2_to_v3_with_new_chunks(tmp_path) -> None:
    _v2_grid(tmp_path / "v2.zarr")
    out = zc.convert(tmp_path / "v2.zarr", tmp_path / "v3.zarr", chunks=(10, -1))
    doc = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [10, 50]
    assert [c["name"] for c in doc["codecs"]] == ["bytes", "blosc"]  # the source's codecs are kept
    assert doc["dimension_names"] == ["y", "x"] and doc["attributes"] == V3_ATTRS
    assert doc["fill_value"] == "NaN"
    assert len([p for p in (tmp_path / "v3.zarr" / "c").rglob("*") if p.is_file()]) == 6
    np.testing.assert_array_equal(out[...], GRID)
    _zarr_python_reads(tmp_path / "v3.zarr", GRID)


def test_convert_v2_to_v3_with_shards(tmp_path) -> None:
    _v2_grid(tmp_path / "v2.zarr")
    out = zc.convert(tmp_path / "v2.zarr", tmp_path / "v3.zarr", chunks=(10, 25), shards=(30, 50))
    assert out.chunks == (10, 25) and out.shards == (30, 50)
    doc = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [30, 50]
    (sharding,) = doc["codecs"]
    assert sharding["name"] == "sharding_indexed" and sharding["configuration"]["chunk_shape"] == [10, 25]
    assert [c["name"] for c in sharding["configuration"]["codecs"]] == ["bytes", "blosc"]
    assert sorted(p.name for p in (tmp_path / "v3.zarr" / "c").rglob("*") if p.is_file()) == ["0", "0"]
    np.testing.assert_array_equal(out[...], GRID)
    _zarr_python_reads(tmp_path / "v3.zarr", GRID)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert zarr.open_array(tmp_path / "v3.zarr", mode="r").shards == (30, 50)


def test_convert_v2_to_v3_with_another_compressor(tmp_path) -> None:
    _v2_grid(tmp_path / "v2.zarr")
    for compressors, expected in (("zstd", {"name": "zstd"}),
                                  ({"name": "gzip", "configuration": {"level": 3}}, {"name": "gzip"}),
                                  (numcodecs.Zstd(level=7), {"name": "zstd"})):
        out = zc.convert(tmp_path / "v2.zarr", tmp_path / "v3.zarr", compressors=compressors, overwrite=True)
        doc = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
        assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [20, 25]  # chunks kept
        assert [c["name"] for c in doc["codecs"]] == ["bytes", expected["name"]]
        np.testing.assert_array_equal(out[...], GRID)
        _zarr_python_reads(tmp_path / "v3.zarr", GRID)
    assert doc["codecs"][1]["configuration"]["level"] == 7
    zc.convert(tmp_path / "v2.zarr", tmp_path / "raw.zarr", compressors=[])
    assert [c["name"] for c in json.loads((tmp_path / "raw.zarr" / "zarr.json").read_text())["codecs"]] == ["bytes"]
    _zarr_python_reads(tmp_path / "raw.zarr", GRID)


def test_convert_group_with_new_chunks(tmp_path) -> None:
    g = zc.create_group(tmp_path / "two.zarr", zarr_format=2, attributes={"title": "two"})
    g.create_array("temp", shape=TEMP.shape, chunks=(6, 9), dtype=TEMP.dtype)[...] = TEMP
    g.create_array("sub/counts", shape=COUNTS.shape, chunks=(6, 9), dtype=COUNTS.dtype,
                   attributes={"_ARRAY_DIMENSIONS": ["y", "x"]})[...] = COUNTS
    out = zc.convert(tmp_path / "two.zarr", tmp_path / "v3.zarr", chunks=(2, 3))
    assert out.attrs["title"] == "two"
    for name, values in (("temp", TEMP), ("sub/counts", COUNTS)):
        doc = json.loads((tmp_path / "v3.zarr" / name / "zarr.json").read_text())
        assert doc["chunk_grid"]["configuration"]["chunk_shape"] == [2, 3]
        np.testing.assert_array_equal(out[name][...], values)
    assert out["sub/counts"].dimension_names == ("y", "x")
    root = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    assert sorted(root["consolidated_metadata"]["metadata"]) == ["sub", "sub/counts", "temp"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zg = zarr.open_group(tmp_path / "v3.zarr", mode="r", zarr_format=3)
        assert zg["temp"].chunks == zg["sub/counts"].chunks == (2, 3)
        np.testing.assert_array_equal(zg["temp"][...], TEMP)
        np.testing.assert_array_equal(zg["sub/counts"][...], COUNTS)


def test_convert_reports_progress_per_block(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys.modules["zarrconv.convert"], "_COPY_BLOCK_BYTES", 10 * 25 * 8)  # a chunk per block
    _v2_grid(tmp_path / "v2.zarr")
    calls: list[tuple[int, int]] = []
    out = zc.convert(tmp_path / "v2.zarr", tmp_path / "v3.zarr", chunks=(10, 25),
                     progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_array_equal(out[...], GRID)
    assert calls[-1] == (12, 12) and calls[0] == (0, 12)
    assert {t for _, t in calls} == {12}
    assert [d for d, _ in calls] == list(range(13))  # one call per block, increasing


def test_convert_refuses_shards_for_v2(tmp_path) -> None:
    _v2_grid(tmp_path / "v2.zarr")
    with pytest.raises(ValueError, match="shards"):
        zc.convert(tmp_path / "v2.zarr", tmp_path / "out.zarr", zarr_format=2, shards=(20, 50))
    assert not (tmp_path / "out.zarr").exists()
