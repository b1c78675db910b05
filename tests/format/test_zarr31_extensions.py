"""Zarr 3.1 extension rules: short-hand names wherever an extension takes no configuration, and
``must_understand: false`` (tolerated for codecs, storage transformers and extra fields; refused for
data types, chunk grids and chunk key encodings, as the core spec says).

zarr-python 3.4 does not read short-hand names yet, so zarrconv writes full objects (what Zarr 3.0
readers need) and reads both; the tests check the data against the same array written plainly."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.errors import MetadataError, UnknownCodecError

zarr = pytest.importorskip("zarr")

REGULAR = {"name": "regular", "configuration": {"chunk_shape": [4]}}


def _write(path, **fields) -> str:
    path.mkdir()
    doc = {"zarr_format": 3, "node_type": "array", "shape": [10], "data_type": "int16", "chunk_grid": REGULAR,
           "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes"}]}
    doc.update(fields)
    (path / "zarr.json").write_text(json.dumps(doc))
    return str(path)


def _reference(tmp_path, x, **kwargs) -> np.ndarray:
    """The same data written by zarr-python with full objects, read back by zarr-python."""
    z = zarr.create_array(str(tmp_path / "ref.zarr"), shape=x.shape, chunks=(4,), dtype=x.dtype, **kwargs)
    z[...] = x
    return z


def test_short_hand_names_read_like_full_objects(tmp_path):
    x = np.arange(10, dtype="int16") * 3
    ref = _reference(tmp_path, x, compressors=[zarr.codecs.ZstdCodec(level=0)], chunk_key_encoding={"name": "v2"})
    path = _write(tmp_path / "short.zarr", data_type="int16", chunk_key_encoding="v2", codecs=["bytes", "zstd"])
    for key in ("0", "1", "2"):  # the chunks zarr-python wrote, under the v2 key encoding both use
        (tmp_path / "short.zarr" / key).write_bytes((tmp_path / "ref.zarr" / key).read_bytes())
    np.testing.assert_array_equal(zc.open_array(path)[...], ref[...])


def test_zarrconv_writes_full_objects_that_zarr_python_reads(tmp_path):
    a = zc.create_array(str(tmp_path / "w.zarr"), shape=(10,), chunks=(4,), dtype="int16", compressors="zstd",
                        chunk_key_encoding={"name": "default", "separator": "."})
    a[...] = np.arange(10)
    doc = json.loads((tmp_path / "w.zarr" / "zarr.json").read_text())
    assert all(isinstance(c, dict) for c in doc["codecs"]) and isinstance(doc["chunk_key_encoding"], dict)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "w.zarr"))[...], np.arange(10))


def test_regular_chunk_grid_needs_its_configuration(tmp_path):
    with pytest.raises(MetadataError, match="regular chunk_shape None"):
        zc.open_array(_write(tmp_path / "g.zarr", chunk_grid="regular"))


def test_must_understand_false_codec_storage_transformer_and_field_are_skipped(tmp_path):
    x = np.arange(10, dtype="int16")
    path = _write(tmp_path / "mu.zarr",
                  codecs=[{"name": "bytes"}, {"name": "org.example.checker", "must_understand": False,
                                              "configuration": {"level": 1}}],
                  storage_transformers=[{"name": "org.example.cache", "must_understand": False}],
                  **{"org.example.provenance": {"must_understand": False, "by": "test"}})
    a = zc.open_array(path, mode="r+")
    a[...] = x
    np.testing.assert_array_equal(zc.open_array(path)[...], x)
    assert (tmp_path / "mu.zarr" / "c" / "0").read_bytes() == x[:4].astype("<i2").tobytes()  # the codec is skipped
    doc = json.loads((tmp_path / "mu.zarr" / "zarr.json").read_text())
    assert doc["codecs"][1]["name"] == "org.example.checker"  # and kept in the metadata


@pytest.mark.parametrize("field, value, message", [
    ("codecs", [{"name": "bytes"}, {"name": "org.example.checker"}], "unknown codec 'org.example.checker'"),
    ("codecs", [{"name": "bytes"}, {"name": "org.example.checker", "must_understand": True}], "unknown codec"),
    ("storage_transformers", [{"name": "org.example.cache"}], "storage transformer"),
    ("org.example.provenance", {"by": "test"}, "unknown metadata field 'org.example.provenance'"),
])
def test_unknown_extensions_that_must_be_understood_are_refused(tmp_path, field, value, message):
    with pytest.raises((MetadataError, UnknownCodecError), match=message) as e:
        zc.open_array(_write(tmp_path / "u.zarr", **{field: value}))[...]
    assert "u.zarr" in str(e.value)


@pytest.mark.parametrize("field, value", [
    ("data_type", {"name": "int16", "must_understand": False}),
    ("chunk_grid", {**REGULAR, "must_understand": False}),
    ("chunk_key_encoding", {"name": "default", "must_understand": False}),
])
def test_must_understand_false_is_refused_where_the_spec_forbids_it(tmp_path, field, value):
    with pytest.raises(MetadataError, match=f"{field} .* must_understand: false, which Zarr 3.1 does not allow") as e:
        zc.open_array(_write(tmp_path / "s.zarr", **{field: value}))
    assert "s.zarr" in str(e.value)
