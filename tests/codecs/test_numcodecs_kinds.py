"""numcodecs codecs under their ``numcodecs.<id>`` v3 names, in the place zarr-python puts them.

pcodec and zfpy are array -> bytes (serializers); fixedscaleoffset, quantize, bitround, delta,
astype and packbits are array -> array (filters). Each is written by zarr-python 3.4 and read by
zarrconv, and written by zarrconv and read by zarr-python; data compared with numpy.
"""

from __future__ import annotations

import json

import numcodecs
import numpy as np
import pytest

import zarrconv as zc
from zarrconv.codecs import codec_from_json

zarr = pytest.importorskip("zarr")
pytest.importorskip("pcodec")
pytest.importorskip("zfpy")

SHAPE = (37, 23)
CHUNKS = (16, 10)


def _data(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        return (rng.normal(50, 10, SHAPE)).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.integers(0, 2, SHAPE).astype(bool)
    return rng.integers(0, 100, SHAPE).astype(dtype)


# (case name, dtype, zarr-python filters, serializer, expected read-back: exact or a reference function)
znc = zarr.codecs.numcodecs
CASES = {
    "pcodec-f8": ("float64", None, znc.PCodec(level=8), None),
    "pcodec-i4": ("int32", None, znc.PCodec(), None),
    "zfpy-rate-f4": ("float32", None, znc.ZFPY(mode=2, rate=16), "zfpy"),
    "zfpy-accuracy-f8": ("float64", None, znc.ZFPY(mode=4, tolerance=1e-3), "zfpy"),
    "fixedscaleoffset": ("float64", [znc.FixedScaleOffset(offset=50, scale=10, dtype="<f8", astype="<i2")], None,
                         "fso"),
    "quantize": ("float64", [znc.Quantize(digits=2, dtype="<f8")], None, "quantize"),
    "bitround": ("float32", [znc.BitRound(keepbits=6)], None, "bitround"),
    "delta": ("int32", [znc.Delta(dtype="<i4", astype="<i8")], None, None),
    "astype": ("float64", [znc.AsType(encode_dtype="<f4", decode_dtype="<f8")], None, "astype"),
    "packbits": ("bool", [znc.PackBits()], None, None),
}


def _expected(case: str, x: np.ndarray) -> np.ndarray:
    """What a lossy codec returns for ``x``: numcodecs' own round trip of each chunk region."""
    ref = CASES[case][3]
    if ref is None:
        return x
    if ref == "zfpy":
        return None  # compared with what zarr-python reads (lossy, chunk-dependent)
    doc = CASES[case][1][0].to_dict()
    codec = numcodecs.get_codec({"id": doc["name"].split(".", 1)[1], **doc.get("configuration", {})})
    out = np.empty_like(x)
    for i in range(0, SHAPE[0], CHUNKS[0]):
        for j in range(0, SHAPE[1], CHUNKS[1]):
            block = np.ascontiguousarray(x[i:i + CHUNKS[0], j:j + CHUNKS[1]])
            out[i:i + CHUNKS[0], j:j + CHUNKS[1]] = np.asarray(codec.decode(codec.encode(block))).reshape(block.shape)
    return out


def _zarr_python_array(path, case: str):
    dtype, filters, serializer, _ = CASES[case]
    return zarr.create_array(str(path), shape=SHAPE, chunks=CHUNKS, dtype=dtype, filters=filters or "auto",
                             serializer=serializer or "auto", compressors=None, fill_value=0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_zarr_python_writes_zarrconv_reads(tmp_path, case):
    x = _data(CASES[case][0])
    z = _zarr_python_array(tmp_path / "a.zarr", case)
    z[...] = x
    codecs = json.loads((tmp_path / "a.zarr" / "zarr.json").read_text())["codecs"]
    assert any(c["name"].startswith("numcodecs.") for c in codecs)
    got = zc.open_array(str(tmp_path / "a.zarr"))[...]
    expected = _expected(case, x)
    np.testing.assert_array_equal(got, expected if expected is not None else zarr.open_array(str(tmp_path / "a.zarr"))[...])
    assert got.dtype == np.dtype(CASES[case][0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_zarrconv_writes_zarr_python_reads(tmp_path, case):
    dtype, filters, serializer, _ = CASES[case]
    x = _data(dtype)
    # zarrconv takes the codec documents zarr-python writes; its metadata must name the same chain
    _zarr_python_array(tmp_path / "ref.zarr", case)
    a = zc.create_array(str(tmp_path / "b.zarr"), shape=SHAPE, chunks=CHUNKS, dtype=dtype,
                        filters=[f.to_dict() for f in filters] if filters else None,
                        serializer=serializer.to_dict() if serializer else None, compressors=None, fill_value=0)
    a[...] = x
    ours = json.loads((tmp_path / "b.zarr" / "zarr.json").read_text())["codecs"]
    theirs = json.loads((tmp_path / "ref.zarr" / "zarr.json").read_text())["codecs"]
    assert [c["name"] for c in ours] == [c["name"] for c in theirs]
    got = zarr.open_array(str(tmp_path / "b.zarr"))[...]
    expected = _expected(case, x)
    np.testing.assert_array_equal(got, expected if expected is not None else zc.open_array(str(tmp_path / "b.zarr"))[...])


@pytest.mark.parametrize("cid, kind", [("pcodec", "array_bytes"), ("zfpy", "array_bytes"),
                                       ("fixedscaleoffset", "array_array"), ("packbits", "array_array"),
                                       ("zlib", "bytes_bytes")])
def test_kind_of_each_numcodecs_codec(cid, kind):
    config = {"offset": 0, "scale": 1, "dtype": "<f8"} if cid == "fixedscaleoffset" else {"mode": 4} if cid == "zfpy" else {}
    assert codec_from_json({"name": f"numcodecs.{cid}", "configuration": config}).kind == kind


def test_pcodec_chunk_of_wrong_size_is_corrupt(tmp_path):
    a = zc.create_array(str(tmp_path / "c.zarr"), shape=(8,), chunks=(8,), dtype="float64",
                        serializer={"name": "numcodecs.pcodec"}, compressors=None)
    a[...] = np.arange(8.0)
    (tmp_path / "c.zarr" / "c" / "0").write_bytes(numcodecs.PCodec().encode(np.arange(5.0)))
    with pytest.raises(zc.errors.CorruptChunkError, match="numcodecs.pcodec"):
        a[...]
