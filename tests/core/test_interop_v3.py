"""Interop matrix: data types x codecs x chunk shapes x fill values x orders, both ways.

zarrconv writes -> zarr-python 3 and tensorstore read; zarr-python and tensorstore write
-> zarrconv reads. Every comparison is numpy equality (NaN-aware).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import zarrconv as zc

zarr = pytest.importorskip("zarr")
ts = pytest.importorskip("tensorstore")

DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"]
CODECS = {
    "none": [],
    "zstd": [{"name": "zstd", "configuration": {"level": 3, "checksum": False}}],
    "gzip": [{"name": "gzip", "configuration": {"level": 1}}],
    "blosc": [{"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}}],
    "crc32c+zstd": [{"name": "zstd", "configuration": {"level": 1, "checksum": True}}, {"name": "crc32c"}],
}
SHAPE = (13, 17)
CHUNKS = [(4, 5), (13, 17), (1, 17), (8, 3)]
CASES = [(d, c, CHUNKS[i % len(CHUNKS)], i % 3, "FC"[i % 2])
         for i, (d, c) in enumerate(itertools.product(DTYPES, CODECS))]


def _data(dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, SHAPE).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, SHAPE, dtype=dt, endpoint=True)
    if dt.kind == "f":
        x = rng.normal(0, 100, SHAPE).astype(dt)
        x[0, 0] = np.nan
        x[1, 1] = np.inf
        return x
    return (rng.normal(size=SHAPE) + 1j * rng.normal(size=SHAPE)).astype(dt)


def _fill(dtype: str, kind: int):
    dt = np.dtype(dtype)
    if kind == 0:
        return None
    if dt.kind == "b":
        return True
    if dt.kind in "iu":
        return int(np.iinfo(dt).max) if kind == 1 else 7
    if dt.kind == "f":
        return float("nan") if kind == 1 else -np.inf
    return complex(1.5, -2.0)


def _json_fill(value, dtype):
    dt = np.dtype(dtype)
    if value is None:
        return False if dt.kind == "b" else [0.0, 0.0] if dt.kind == "c" else 0
    if dt.kind == "c":
        return [value.real, value.imag]
    if isinstance(value, float) and (np.isnan(value) or np.isinf(value)):
        return "NaN" if np.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _sparse(x: np.ndarray, fill):
    """Leave one chunk region at the fill value so missing chunks are exercised too."""
    y = x.copy()
    y[:4, :3] = fill if fill is not None else 0
    return y


def _ts_spec(path: str, dtype: str, chunks, codecs, fill, order, create: bool) -> dict:
    chain = []
    if order == "F":
        chain.append({"name": "transpose", "configuration": {"order": [1, 0]}})
    chain.append({"name": "bytes", "configuration": {"endian": "little"}} if np.dtype(dtype).itemsize > 1 else {"name": "bytes"})
    chain += codecs
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}
    if create:
        spec["metadata"] = {"shape": list(SHAPE), "data_type": dtype,
                            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
                            "chunk_key_encoding": {"name": "default"},
                            "codecs": chain, "fill_value": _json_fill(fill, dtype)}
        spec["create"] = True
    return spec


@pytest.mark.parametrize("dtype,codec,chunks,fillkind,order", CASES)
def test_zarrconv_writes_peers_read(tmp_path, dtype, codec, chunks, fillkind, order):
    fill = _fill(dtype, fillkind)
    x = _sparse(_data(dtype, 1), fill)
    path = str(tmp_path / "a.zarr")
    a = zc.create_array(path, shape=SHAPE, dtype=dtype, chunks=chunks, fill_value=fill,
                        compressors=CODECS[codec] or None, order=order)
    a[...] = x
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], x)
    got = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}).result().read().result()
    np.testing.assert_array_equal(got, x)
    assert a.nchunks_initialized <= a.nchunks


@pytest.mark.parametrize("dtype,codec,chunks,fillkind,order", CASES)
def test_peers_write_zarrconv_reads(tmp_path, dtype, codec, chunks, fillkind, order):
    fill = _fill(dtype, fillkind)
    x = _sparse(_data(dtype, 2), fill)
    # zarr-python
    p1 = str(tmp_path / "zp.zarr")
    from zarr.codecs import TransposeCodec

    zp_codecs = [zarr.codecs.ZstdCodec(level=3, checksum=False)] if codec == "zstd" else None
    if codec == "gzip":
        zp_codecs = [zarr.codecs.GzipCodec(level=1)]
    elif codec == "blosc":
        zp_codecs = [zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4)]
    elif codec == "crc32c+zstd":
        zp_codecs = [zarr.codecs.ZstdCodec(level=1, checksum=True), zarr.codecs.Crc32cCodec()]
    z = zarr.create_array(p1, shape=SHAPE, chunks=chunks, dtype=dtype,
                          fill_value=fill if fill is not None else None,
                          compressors=zp_codecs, filters=[TransposeCodec(order=(1, 0))] if order == "F" else None)
    z[...] = x
    b = zc.open_array(p1)
    np.testing.assert_array_equal(b[...], x)
    np.testing.assert_array_equal(b[2:11:3, ::-4], x[2:11:3, ::-4])
    # tensorstore
    p2 = str(tmp_path / "ts.zarr")
    t = ts.open(_ts_spec(p2, dtype, chunks, CODECS[codec], fill, order, True)).result()
    t.write(x).result()
    c = zc.open_array(p2)
    np.testing.assert_array_equal(c[...], x)
    np.testing.assert_array_equal(c.oindex[[12, 0, 5], 3:9], x[[12, 0, 5], 3:9])


def test_raw_bits_and_hex_fill_values(tmp_path):
    path = str(tmp_path / "r.zarr")
    # hex-encoded float fill value and r16 raw bits written by hand, read by zarrconv and zarr-python
    a = zc.create_array(path, "f", shape=(5,), dtype="float32", chunks=(2,), fill_value="0x7fc00000")
    assert np.isnan(a.fill_value)
    assert np.isnan(a[...]).all()
    r = zc.create_array(path, "r", shape=(4,), dtype="V2", chunks=(2,), fill_value=[1, 2])
    assert r.metadata.to_json()["data_type"] == "r16"
    assert r[0].tobytes() == b"\x01\x02"
    vals = np.frombuffer(b"abcdefgh", dtype="V2")
    r[...] = vals
    assert zc.open_array(path, "r")[...].tobytes() == b"abcdefgh"


def test_chunk_key_encodings_interop(tmp_path):
    x = np.arange(60, dtype="i2").reshape(6, 10)
    for i, cke in enumerate([{"name": "default", "separator": "."}, {"name": "v2", "separator": "."},
                             {"name": "v2", "separator": "/"}, {"name": "default", "separator": "/"}]):
        path = str(tmp_path / f"k{i}.zarr")
        a = zc.create_array(path, shape=x.shape, dtype=x.dtype, chunks=(4, 4), chunk_key_encoding=cke)
        a[...] = x
        np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], x)
        spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}
        np.testing.assert_array_equal(ts.open(spec).result().read().result(), x)
        z = zarr.create_array(str(tmp_path / f"z{i}.zarr"), shape=x.shape, dtype=x.dtype, chunks=(4, 4),
                              chunk_key_encoding={"name": cke["name"], "separator": cke["separator"]})
        z[...] = x
        np.testing.assert_array_equal(zc.open_array(str(tmp_path / f"z{i}.zarr"))[...], x)


def test_zero_dim_and_empty_arrays_interop(tmp_path):
    p = str(tmp_path / "s.zarr")
    a = zc.create_array(p, shape=(), dtype="f8", fill_value=1.5)
    assert a[...] == 1.5
    a[...] = 3.25
    assert zarr.open_array(p, mode="r")[...] == 3.25
    assert zc.open_array(p)[()] == 3.25
    e = zc.create_array(str(tmp_path / "e.zarr"), shape=(0, 5), dtype="i4", chunks=(2, 2))
    assert e[...].shape == (0, 5)
    assert zarr.open_array(str(tmp_path / "e.zarr"), mode="r")[...].shape == (0, 5)
