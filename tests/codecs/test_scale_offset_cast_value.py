"""``scale_offset`` and ``cast_value`` both ways with zarr-python 3.4 (its ScaleOffset and CastValue,
cast-value-rs underneath): zarr-python writes, zarrconv reads; zarrconv writes the same metadata,
zarr-python reads; stored chunk bytes are identical; data compared with numpy. Bad configurations
raise errors naming the array."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.errors import CodecError, MetadataError

zarr = pytest.importorskip("zarr")
pytest.importorskip("cast_value_rs")
from zarr.codecs import CastValue, ScaleOffset  # noqa: E402

SHAPE = (11, 9)
CHUNKS = (4, 4)
CF_MAP = {"encode": [("NaN", 0)], "decode": [(0, "NaN")]}

# name: (dtype, fill value, zarr-python filters, data maker)
CASES = {
    "cf-packing-nan": ("float64", np.nan, [ScaleOffset(offset=-10, scale=0.1),
                                           CastValue(data_type="uint8", scalar_map=CF_MAP)],
                       lambda r: np.where(r.random(SHAPE) < 0.1, np.nan, r.uniform(0, 2540, SHAPE))),
    "range-reduction-u16": ("uint16", 1000, [ScaleOffset(offset=1000), CastValue(data_type="uint8")],
                            lambda r: r.integers(1000, 1256, SHAPE).astype("uint16")),
    "scale-only-f4": ("float32", 0.0, [ScaleOffset(offset=5, scale=0.1)],
                      lambda r: r.normal(0, 100, SHAPE).astype("float32")),
    "int-scale-offset": ("int32", 3, [ScaleOffset(offset=3, scale=2)], lambda r: r.integers(-1000, 1000, SHAPE)),
    "numpy-like-wrap": ("float64", 0.0, [CastValue(data_type="uint8", rounding="towards-zero", out_of_range="wrap",
                                                   scalar_map={"encode": [("NaN", 0), ("Infinity", 0),
                                                                          ("-Infinity", 0)]})],
                        lambda r: np.where(r.random(SHAPE) < 0.1, np.inf, r.uniform(-600, 600, SHAPE))),
    "int-wrap": ("int32", 0, [CastValue(data_type="int8", out_of_range="wrap")],
                 lambda r: r.integers(-1000, 1000, SHAPE).astype("int32")),
    "to-float32": ("float64", 0.0, [CastValue(data_type="float32", rounding="towards-negative")],
                   lambda r: r.normal(0, 1e5, SHAPE)),
    **{f"round-{mode}-clamp": ("float64", 0.0, [ScaleOffset(scale=2), CastValue(data_type="int8", rounding=mode,
                                                                                   out_of_range="clamp")],
                               lambda r: np.round(r.uniform(-100, 100, SHAPE) * 4) / 4)
       for mode in ("nearest-even", "towards-zero", "towards-positive", "towards-negative", "nearest-away")},
}


def _chunk_files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and p.name != "zarr.json"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_ways_with_zarr_python(tmp_path, case):
    dtype, fill, filters, make = CASES[case]
    x = make(np.random.default_rng(3)).astype(dtype)
    theirs = zarr.create_array(str(tmp_path / "zp.zarr"), shape=SHAPE, chunks=CHUNKS, dtype=dtype, fill_value=fill,
                               filters=filters, compressors=None)
    theirs[...] = x
    theirs[:4, :4] = fill  # one chunk left at the fill value (not stored)
    expected = theirs[...]
    doc = json.loads((tmp_path / "zp.zarr" / "zarr.json").read_text())
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "zp.zarr"))[...], expected)

    ours = zc.create_array(str(tmp_path / "zc.zarr"), shape=SHAPE, chunks=CHUNKS, dtype=dtype, fill_value=fill,
                           filters=doc["codecs"][:-1], compressors=None)
    ours[...] = x
    ours[:4, :4] = fill
    mine = json.loads((tmp_path / "zc.zarr" / "zarr.json").read_text())
    assert mine["codecs"][:-1] == doc["codecs"][:-1] and mine["fill_value"] == doc["fill_value"]
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "zc.zarr"))[...], expected)
    assert _chunk_files(tmp_path / "zc.zarr") == _chunk_files(tmp_path / "zp.zarr")


def test_sharded_missing_inner_chunks_decode_through_the_chain(tmp_path):
    """The fill value is mapped through scale_offset and cast_value before sharding, so a shard's missing
    inner chunks hold the encoded fill value (0 for NaN here) and decode back to NaN."""
    x = np.linspace(0, 2540, 64).reshape(8, 8)
    filters = [ScaleOffset(offset=-10, scale=0.1), CastValue(data_type="uint8", scalar_map=CF_MAP)]
    z = zarr.create_array(str(tmp_path / "s.zarr"), shape=(8, 8), chunks=(2, 2), shards=(4, 8), dtype="float64",
                          fill_value=np.nan, filters=filters, compressors=None)
    z[:2, :2] = x[:2, :2]
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "s.zarr"))[...], z[...])
    doc = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())
    a = zc.create_array(str(tmp_path / "t.zarr"), shape=(8, 8), chunks=(2, 2), shards=(4, 8), dtype="float64",
                        fill_value=float("nan"), filters=doc["codecs"][0]["configuration"]["codecs"][:2],
                        compressors=None)
    a[:2, :2] = x[:2, :2]
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "t.zarr"))[...], z[...])


def _array_with(tmp_path, codecs: list, dtype: str = "float64", fill=0.0):
    path = tmp_path / "bad.zarr"
    path.mkdir()
    doc = {"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": dtype,
           "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4]}},
           "chunk_key_encoding": {"name": "default"}, "fill_value": fill, "codecs": [*codecs, "bytes"]}
    (path / "zarr.json").write_text(json.dumps(doc))
    return str(path)


@pytest.mark.parametrize("codec, message", [
    ({"name": "cast_value", "configuration": {"data_type": "int8", "rounding": "stochastic"}}, "rounding 'stochastic'"),
    ({"name": "cast_value", "configuration": {"data_type": "int8", "scalar_map": {"encode": [["NaN", "zero"]]}}},
     "scalar_map encode output 'zero'"),
    ({"name": "cast_value", "configuration": {"data_type": "int8", "scalar_map": {"encode": [[1, 2, 3]]}}},
     "list of \\[input, output\\] pairs"),
    ({"name": "cast_value", "configuration": {"data_type": "float32", "out_of_range": "wrap"}}, "needs an integer"),
    ({"name": "cast_value", "configuration": {"data_type": "int8", "extra": 1}}, "invalid configuration"),
    ({"name": "scale_offset", "configuration": {"scale": 0}}, "scale must not be zero"),
    ({"name": "scale_offset", "configuration": {"offset": "ten"}}, "offset 'ten'"),
])
def test_bad_configuration_names_the_array(tmp_path, codec, message):
    path = _array_with(tmp_path, [codec])
    with pytest.raises(MetadataError, match=message) as e:
        zc.open_array(path)[...]
    assert "bad.zarr" in str(e.value)


def test_fill_value_that_cannot_be_cast_is_refused(tmp_path):
    path = _array_with(tmp_path, [{"name": "cast_value", "configuration": {"data_type": "uint8"}}], fill="NaN")
    with pytest.raises(MetadataError, match="fill value nan cannot be cast to uint8: cast_value: nan has no uint8 value"):
        zc.open_array(path)[...]


def test_out_of_range_without_a_mode_fails_the_write_naming_the_array(tmp_path):
    a = zc.create_array(str(tmp_path / "w.zarr"), shape=(4,), chunks=(4,), dtype="float64",
                        filters=[{"name": "cast_value", "configuration": {"data_type": "int8"}}], compressors=None)
    with pytest.raises(CodecError, match=r"w\.zarr|array.*300\.0 is outside the range of int8") as e:
        a[...] = [1.0, 2.0, 300.0, 4.0]
    assert "outside the range of int8" in str(e.value)
