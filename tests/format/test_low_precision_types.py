"""The registry's small and low-precision data types (int2/int4/uint2/uint4, float8 family, float6, float4,
bfloat16) through ml_dtypes: tensorstore writes, zarrconv reads, and back, compared bit for bit; and with
zarrconv's own cast_value codec into them."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.errors import MetadataError

ml_dtypes = pytest.importorskip("ml_dtypes")
ts = pytest.importorskip("tensorstore")

# tensorstore 0.1.86 writes these; the others (uint2, uint4, float8_e4m3, float6_*) are zarrconv-only here
TS_TYPES = ["int2", "int4", "bfloat16", "float8_e3m4", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz",
            "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn"]
ALL_TYPES = [*TS_TYPES, "uint2", "uint4", "float8_e4m3", "float6_e2m3fn", "float6_e3m2fn"]


def _values(name: str) -> np.ndarray:
    dtype = np.dtype(getattr(ml_dtypes, name))
    if name in ("int2", "int4", "uint2", "uint4"):
        info = ml_dtypes.iinfo(dtype)
        return np.resize(np.arange(int(info.min), int(info.max) + 1), 20).astype(dtype)
    base = np.array([1, 2, 0.5, 4, 0.25, 3, 1.5, 0.75, 6, 0.375] * 2)
    sign = 1 if name == "float8_e8m0fnu" else np.resize([1, -1], 20)
    if name == "float8_e8m0fnu":
        base = 2.0 ** np.arange(-4, 16)
    return (base * sign).astype(dtype)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a.view(f"u{a.dtype.itemsize}"), b.view(f"u{b.dtype.itemsize}"))


@pytest.mark.parametrize("name", TS_TYPES)
def test_tensorstore_writes_zarrconv_reads_and_back(tmp_path, name):
    x = _values(name)
    spec = {"driver": "zarr3", "kvstore": f"file://{tmp_path / 'ts.zarr'}"}
    t = ts.open({**spec, "metadata": {"data_type": name, "shape": [20],
                                      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8]}}}},
                create=True).result()
    t[:12] = x[:12]  # the last chunk is missing: read as the fill value
    expected = t.read().result()
    assert _same_bits(zc.open_array(str(tmp_path / "ts.zarr"))[...], expected)

    a = zc.create_array(str(tmp_path / "zc.zarr"), shape=(20,), chunks=(8,), dtype=x.dtype)
    a[:12] = x[:12]
    assert json.loads((tmp_path / "zc.zarr" / "zarr.json").read_text())["data_type"] == name
    got = ts.open({"driver": "zarr3", "kvstore": f"file://{tmp_path / 'zc.zarr'}"}).result().read().result()
    assert _same_bits(got, expected)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_round_trip_and_fill_values(tmp_path, name):
    x = _values(name)
    has_nan = name not in ("int2", "int4", "uint2", "uint4", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn")
    fill = "NaN" if has_nan else 1
    a = zc.create_array(str(tmp_path / "a.zarr"), shape=(24,), chunks=(8,), dtype=x.dtype, fill_value=fill,
                        compressors="zstd")
    a[:20] = x
    b = zc.open_array(str(tmp_path / "a.zarr"))[...]
    assert _same_bits(b[:20], x)
    tail = b[20:].astype(np.float64)
    assert np.isnan(tail).all() if has_nan else (tail == 1).all()


def test_sub_byte_upper_bits_are_ignored(tmp_path):
    """The registry: int4 is stored as one byte whose upper four bits are arbitrary."""
    a = zc.create_array(str(tmp_path / "i4.zarr"), shape=(4,), chunks=(4,), dtype=ml_dtypes.int4, compressors=None)
    a[...] = np.array([1, -1, 7, -8]).astype(ml_dtypes.int4)
    (tmp_path / "i4.zarr" / "c" / "0").write_bytes(bytes([0xA1, 0x5F, 0xF7, 0x08]))
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "i4.zarr"))[...].astype(int), [1, -1, 7, -8])


def test_bfloat16_big_endian(tmp_path):
    x = np.array([1.5, -2.0, 3.25], ml_dtypes.bfloat16)
    a = zc.create_array(str(tmp_path / "be.zarr"), shape=(3,), chunks=(3,), dtype=x.dtype, compressors=None,
                        serializer={"name": "bytes", "configuration": {"endian": "big"}})
    a[...] = x
    assert (tmp_path / "be.zarr" / "c" / "0").read_bytes() == x.view(np.uint16).astype(">u2").tobytes()
    assert _same_bits(zc.open_array(str(tmp_path / "be.zarr"))[...], x)


def _document(path, data_type: str, fill) -> str:
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [2], "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": fill, "codecs": [{"name": "bytes"}]}))
    return str(path)


@pytest.mark.parametrize("data_type, fill, message", [
    ("float4_e2m1fn", "NaN", "float4_e2m1fn has no such value"),
    ("float8_e4m3fn", "-Infinity", "float8_e4m3fn has no such value"),
    ("int4", 9, r"not an integer in \[-8, 7\]"),
    ("uint2", -1, r"not an integer in \[0, 3\]"),
    ("bfloat16", "0x7fc", "must encode exactly 2 bytes"),
])
def test_fill_value_the_type_cannot_hold_is_refused(tmp_path, data_type, fill, message):
    with pytest.raises(MetadataError, match=message):
        zc.open_array(_document(tmp_path / "bad.zarr", data_type, fill))


def test_cast_value_into_float8_with_clamp(tmp_path):
    x = np.array([0.1, 1.0, 500.0, -1e6, 3.3])
    a = zc.create_array(str(tmp_path / "c.zarr"), shape=(5,), chunks=(5,), dtype="float64", compressors=None,
                        filters=[{"name": "cast_value", "configuration": {"data_type": "float8_e4m3fn",
                                                                          "out_of_range": "clamp"}}])
    a[...] = x
    stored = np.frombuffer((tmp_path / "c.zarr" / "c" / "0").read_bytes(), ml_dtypes.float8_e4m3fn)
    np.testing.assert_array_equal(stored.astype(np.float64), [0.1015625, 1.0, 448.0, -448.0, 3.25])
    np.testing.assert_array_equal(a[...], stored.astype(np.float64))


def test_missing_ml_dtypes_says_what_to_install(tmp_path, monkeypatch):
    path = _document(tmp_path / "b.zarr", "bfloat16", 0)
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # as if the optional package were not installed
    with pytest.raises(MetadataError, match=r"ml_dtypes: pip install 'zarrconv\[lowprec\]'") as e:
        zc.open_array(path)
    assert "b.zarr" in str(e.value)


@pytest.mark.parametrize(("dtype", "fill"), [("int4", 9), ("int4", -9), ("uint2", 4), ("int2", -3), ("uint4", -1)])
def test_create_array_refuses_a_fill_value_outside_a_small_int_range(tmp_path, dtype, fill):
    # numpy casts 9 to int4 as -7: without the range check the array silently had the wrong fill
    with pytest.raises(MetadataError, match=f"fill_value {fill} is not valid for data type {dtype}"):
        zc.create_array(tmp_path / "a.zarr", shape=(4,), dtype=dtype, fill_value=fill)
    assert not (tmp_path / "a.zarr" / "zarr.json").exists()
