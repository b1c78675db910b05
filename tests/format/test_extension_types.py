"""v3 extension data types and variable-length strings, against zarr-python 3.

For every type: the metadata zarrconv writes equals what zarr-python writes for the same
array, zarr-python reads zarrconv's data, and zarrconv reads zarr-python's data.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.format.dtypes import parse_v3_data_type, v3_data_type_for

zarr = pytest.importorskip("zarr")
from zarr.core.dtype import VariableLengthBytes  # noqa: E402

STRUCT = np.dtype([("x", "<f4"), ("n", "<i2"), ("t", "<M8[s]")])
NESTED = np.dtype([("p", [("x", "<f4"), ("y", "<f4")]), ("v", "<f8")])


def _values(kind: str) -> tuple[object, np.ndarray, object]:
    """(dtype as given to both libraries, 6 values, a non-default fill value)."""
    if kind == "string":
        return str, np.array(["a", "bé", "", "xyz", "long string " * 3, "ü"], dtype=object), "fill"
    if kind == "bytes":
        return "bytes", np.array([b"a", b"\x00\xff", b"", b"xyz", b"q" * 40, b"z"], dtype=object), b"\x01\x02"
    if kind == "datetime64":
        v = np.array(["2020-01-01T00:00:00", "NaT", "1969-12-31T23:59:59", "2038-01-19", "1900-01-01", "2000"],
                     dtype="M8[ns]")
        return "M8[ns]", v, np.datetime64("2001-01-01", "ns")
    if kind == "datetime64-10s":
        return "M8[10s]", np.arange(6).astype("M8[10s]"), np.datetime64(5, "10s")
    if kind == "timedelta64":
        return "m8[ms]", np.array([0, 1, -5, 2**40, -(2**62), 7], dtype="m8[ms]"), np.timedelta64("NaT", "ms")
    if kind == "utf32":
        return "<U6", np.array(["a", "bé", "", "xyz", "uvwxyz", "ü"]), "hi"
    if kind == "null_terminated_bytes":
        return "S4", np.array([b"a", b"\x01\x02", b"", b"xyz", b"wxyz", b"q"]), b"ab"
    if kind == "struct":
        v = np.zeros(6, STRUCT)
        v["x"], v["n"], v["t"] = np.arange(6) / 4, -np.arange(6), np.arange(6).astype("M8[s]")
        return STRUCT, v, np.array((1.5, 3, 7), STRUCT)[()]
    if kind == "struct-nested":
        v = np.zeros(6, NESTED)
        v["p"]["x"], v["v"] = np.arange(6), -np.arange(6)
        return NESTED, v, np.array(((1.0, 2.0), 3.0), NESTED)[()]
    raise AssertionError(kind)


KINDS = ["string", "bytes", "datetime64", "datetime64-10s", "timedelta64", "utf32", "null_terminated_bytes",
         "struct", "struct-nested"]


def _zarr_dtype(dtype: object) -> object:
    return VariableLengthBytes() if dtype == "bytes" else dtype


def _zarr_create(path, dtype, fill=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zarr.create_array(path, shape=(6,), chunks=(4,), dtype=_zarr_dtype(dtype), fill_value=fill,
                                 compressors=None)


def _doc(path) -> dict:
    return json.loads((path / "zarr.json").read_text())


def _equal(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "OT" or b.dtype.kind in "OT":
        assert list(a) == list(b)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_fill", [False, True], ids=["default-fill", "fill"])
def test_metadata_matches_zarr_python(tmp_path, kind, with_fill) -> None:
    dtype, _, fill = _values(kind)
    fill = fill if with_fill else None
    zc.create_array(tmp_path / "ours.zarr", shape=(6,), chunks=(4,), dtype=dtype, fill_value=fill, compressors=None)
    _zarr_create(tmp_path / "theirs.zarr", dtype, fill)
    ours, theirs = _doc(tmp_path / "ours.zarr"), _doc(tmp_path / "theirs.zarr")
    assert ours["data_type"] == theirs["data_type"]
    assert ours["fill_value"] == theirs["fill_value"]
    # the serializer: same codec name (vlen-utf8 / vlen-bytes / bytes)
    assert ours["codecs"][0]["name"] == theirs["codecs"][0]["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_zarrconv_writes_zarr_python_reads(tmp_path, kind) -> None:
    dtype, values, fill = _values(kind)
    a = zc.create_array(tmp_path / "a.zarr", shape=(6,), chunks=(4,), dtype=dtype, fill_value=fill)
    a[:5] = values[:5]  # the last element stays the fill value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.open_array(tmp_path / "a.zarr", mode="r")
        got = z[:]
    expected = np.concatenate([values[:5], np.array([fill], dtype=values.dtype)])
    _equal(got, expected)
    _equal(a[:], expected)


@pytest.mark.parametrize("kind", KINDS)
def test_zarr_python_writes_zarrconv_reads(tmp_path, kind) -> None:
    dtype, values, fill = _values(kind)
    z = _zarr_create(tmp_path / "z.zarr", dtype, fill)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z[:5] = values[:5]
    a = zc.open_array(tmp_path / "z.zarr")
    expected = np.concatenate([values[:5], np.array([fill], dtype=values.dtype)])
    _equal(a[:], expected)
    _equal(a[[5, 0]], expected[[5, 0]])
    assert pickle.loads(pickle.dumps(a)).dtype == a.dtype


@pytest.mark.parametrize("kind", ["string", "bytes"])
def test_vlen_chunks_are_byte_identical_to_zarr_python(tmp_path, kind) -> None:
    dtype, values, _ = _values(kind)
    a = zc.create_array(tmp_path / "a.zarr", shape=(6,), chunks=(4,), dtype=dtype, compressors=None)
    a[:] = values
    z = _zarr_create(tmp_path / "z.zarr", dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z[:] = values
    for key in ("c/0", "c/1"):
        assert (tmp_path / "a.zarr" / key).read_bytes() == (tmp_path / "z.zarr" / key).read_bytes()
    assert _doc(tmp_path / "a.zarr")["codecs"] == _doc(tmp_path / "z.zarr")["codecs"]


@pytest.mark.parametrize("codec", ["vlen-utf8", "vlen-bytes"])
def test_v2_object_arrays_both_ways(tmp_path, codec) -> None:
    values = (np.array(["a", "bé", "", "xyz", "q"], dtype=object) if codec == "vlen-utf8"
              else np.array([b"a", b"\xff", b"", b"xyz", b"q"], dtype=object))
    dtype = str if codec == "vlen-utf8" else VariableLengthBytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(tmp_path / "z.zarr", shape=(5,), chunks=(2,), dtype=dtype, zarr_format=2)
        z[:] = values
    assert json.loads((tmp_path / "z.zarr" / ".zarray").read_text())["filters"] == [{"id": codec}]
    _equal(zc.open_array(tmp_path / "z.zarr")[:], values)
    a = zc.create_array(tmp_path / "a.zarr", shape=(5,), chunks=(2,), dtype=str if codec == "vlen-utf8" else bytes,
                        zarr_format=2)
    assert a.metadata.filters == [{"id": codec}]
    a[:] = values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _equal(zarr.open_array(tmp_path / "a.zarr", mode="r")[:], values)


def test_legacy_structured_name_is_read_and_rewritten_as_struct() -> None:
    t = parse_v3_data_type({"name": "structured", "configuration": {"fields": [["x", "float32"], ["y", "int16"]]}})
    assert t.dtype == np.dtype([("x", "<f4"), ("y", "<i2")])
    assert t.json["name"] == "struct"
    assert t.fill_from_json("AACAPwIA").tolist() == (1.0, 2)  # legacy base64 of packed little-endian bytes
    assert t.fill_to_json(t.fill_from_json({"x": 1.0})) == {"x": 1.0, "y": 0}


def test_nat_and_integer_fill_are_the_same_value() -> None:
    t = parse_v3_data_type({"name": "numpy.datetime64", "configuration": {"unit": "ns", "scale_factor": 1}})
    assert np.isnat(t.fill_from_json("NaT")) and np.isnat(t.fill_from_json(-(2**63)))
    assert t.fill_to_json(t.fill_from_json("NaT")) == -(2**63)
    micro = parse_v3_data_type({"name": "numpy.timedelta64", "configuration": {"unit": "μs", "scale_factor": 2}})
    assert micro.dtype == np.dtype("m8[2us]")


@pytest.mark.parametrize("bad", [
    {"name": "numpy.datetime64", "configuration": {"unit": "fortnight", "scale_factor": 1}},
    {"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 0}},
    {"name": "numpy.datetime64", "configuration": {"unit": "s"}},
    {"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}},
    {"name": "struct", "configuration": {"fields": [{"name": "a", "data_type": "int8"},
                                                    {"name": "a", "data_type": "int8"}]}},
    {"name": "struct", "configuration": {"fields": [{"name": "s", "data_type": "string"}]}},
    {"name": "struct", "configuration": {"fields": []}},
])
def test_invalid_extension_types_raise_metadata_error(bad) -> None:
    with pytest.raises(zc.MetadataError):
        parse_v3_data_type(bad)


@pytest.mark.parametrize(("bad_fill", "dtype"), [
    ("toolong", {"name": "fixed_length_utf32", "configuration": {"length_bytes": 8}}),
    ("not base64!", "variable_length_bytes"),
    (3, "string"),
    ({"nope": 1}, {"name": "struct", "configuration": {"fields": [{"name": "a", "data_type": "int8"}]}}),
    (1.5, {"name": "numpy.timedelta64", "configuration": {"unit": "s", "scale_factor": 1}}),
])
def test_invalid_fill_values_raise_metadata_error(bad_fill, dtype) -> None:
    with pytest.raises(zc.MetadataError):
        parse_v3_data_type(dtype).fill_from_json(bad_fill)


def test_subarray_struct_fields_are_refused() -> None:
    with pytest.raises(zc.MetadataError, match="sub-array"):
        v3_data_type_for(np.dtype([("v", "<f4", (3,))]))


def test_vlen_codec_refuses_non_strings_and_corrupt_chunks(tmp_path) -> None:
    a = zc.create_array(tmp_path / "a.zarr", shape=(2,), chunks=(2,), dtype=str, compressors=None)
    with pytest.raises(zc.CodecError, match="vlen-utf8"):
        a[:] = np.array([1, 2], dtype=object)
    a[:] = ["x", "y"]
    (tmp_path / "a.zarr" / "c" / "0").write_bytes(b"\x05\x00\x00\x00\x01")
    with pytest.raises(zc.CorruptChunkError):
        a[:]
