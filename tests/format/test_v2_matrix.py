"""Zarr v2 interop with zarr-python: dtypes x compressors x filters x orders x separators.

Every dtype meets every compressor; filters, memory orders and separators rotate over
those pairs so that each appears with many dtypes and compressors. Each case is written
by one implementation and read by both, in both directions.
"""

from __future__ import annotations

import json
import warnings

import numcodecs
import numpy as np
import pytest

import zarrconv as zc

zarr = pytest.importorskip("zarr")

SHAPE = (7, 5)
CHUNKS = (3, 2)
RNG = np.random.default_rng(7)


def _data(dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    n = int(np.prod(SHAPE))
    if dt.kind in "iu":
        info = np.iinfo(dt)
        values = RNG.integers(max(info.min, -1000), min(info.max, 1000), n)
    elif dt.kind == "f":
        values = RNG.normal(size=n) * 100
    elif dt.kind == "c":
        values = RNG.normal(size=n) + 1j * RNG.normal(size=n)
    elif dt.kind == "b":
        values = RNG.integers(0, 2, n).astype(bool)
    elif dt.kind == "M":
        values = np.datetime64("2020-01-01", "ns") + RNG.integers(0, 10**12, n).astype("m8[ns]")
    elif dt.kind == "m":
        values = RNG.integers(-(10**6), 10**6, n).astype("m8[s]")
    elif dt.kind == "U":
        values = np.array([("ab", "é", "", "xyz", "uvwxy")[i % 5] for i in range(n)])
    elif dt.kind == "S":
        values = np.array([(b"ab", b"", b"\x01\x02", b"xyz", b"uvw")[i % 5] for i in range(n)])
    else:
        raise AssertionError(dtype)
    return np.asarray(values).astype(dt).reshape(SHAPE)


DTYPES = ["|u1", "<i2", ">i4", "<u8", "<f4", ">f8", "<c8", "|b1", "<M8[ns]", "<m8[s]", "<U5", "|S3"]


def _compressors() -> list:
    return [
        None,
        numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE),
        numcodecs.Zstd(level=3),
        numcodecs.LZ4(),
        numcodecs.GZip(level=4),
        numcodecs.Zlib(level=2),
        numcodecs.BZ2(level=5),
        numcodecs.LZMA(),
    ]


def _filters(dtype: str) -> list:
    """Filters that make sense for a dtype (always including none)."""
    dt = np.dtype(dtype)
    options: list = [None, [numcodecs.Shuffle(elementsize=dt.itemsize)]]
    if dt.kind in "iu":
        options += [[numcodecs.Delta(dtype=dtype)]]
    if dt.kind == "f":
        options += [
            [numcodecs.Delta(dtype=dtype)],
            [numcodecs.FixedScaleOffset(offset=0, scale=100, dtype=dtype, astype="<i8")],
            [numcodecs.Quantize(digits=3, dtype=dtype)],
            [numcodecs.BitRound(keepbits=8)],
        ]
    if dt.kind == "b":
        options += [[numcodecs.PackBits()]]
    if dt.kind == "U":
        options += [[numcodecs.Categorize(labels=["ab", "é", "", "xyz", "uvwxy"], dtype=dtype, astype="u1")]]
    return options


def _cases() -> list:
    cases = []
    comps = _compressors()
    for i, dtype in enumerate(DTYPES):
        filters = _filters(dtype)
        for j, comp in enumerate(comps):
            k = i + j
            filt = filters[k % len(filters)]
            if isinstance(filt, list) and isinstance(filt[0], numcodecs.BitRound) and dtype == ">f8":
                filt = None  # bitround works on native floats only
            order = "CF"[k % 2]
            sep = "./"[(i // 2 + j) % 2]
            fid = "-".join(f.codec_id for f in filt) if filt else "nofilter"
            cid = comp.codec_id + (f"-{comp.cname}" if comp.codec_id == "blosc" else "") if comp else "raw"
            cases.append(pytest.param(dtype, comp, filt, order, sep, id=f"{dtype}-{cid}-{fid}-{order}-{sep}"))
    return cases


def _lossless(filt: list | None, dtype: str) -> bool:
    lossy = numcodecs.FixedScaleOffset | numcodecs.Quantize | numcodecs.BitRound
    float_delta = isinstance(filt[0], numcodecs.Delta) and np.dtype(dtype).kind == "f" if filt else False
    return not filt or not (isinstance(filt[0], lossy) or float_delta)


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype or (a.dtype.kind == b.dtype.kind and a.dtype.itemsize == b.dtype.itemsize)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("dtype", "compressor", "filters", "order", "sep"), _cases())
def test_zarr_python_writes_zarrconv_reads(tmp_path, dtype, compressor, filters, order, sep) -> None:
    data = _data(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(tmp_path / "a.zarr", shape=SHAPE, chunks=CHUNKS, dtype=dtype, zarr_format=2,
                              compressors=compressor, filters=filters, order=order, fill_value=None,
                              chunk_key_encoding={"name": "v2", "separator": sep})
        z[:] = data
        z[0, 0] = data[0, 0]
        expected = z[:]
    a = zc.open_array(tmp_path / "a.zarr")
    assert a.zarr_format == 2 and a.shape == SHAPE and a.chunks == CHUNKS
    got = a[:]
    _assert_same(got, expected)
    if _lossless(filters, dtype):
        _assert_same(got, data)
    # a selection across chunk borders reads the same too
    _assert_same(a[1:6, 1:4], expected[1:6, 1:4])


@pytest.mark.parametrize(("dtype", "compressor", "filters", "order", "sep"), _cases())
def test_zarrconv_writes_zarr_python_reads(tmp_path, dtype, compressor, filters, order, sep) -> None:
    data = _data(dtype)
    a = zc.create_array(tmp_path / "a.zarr", shape=SHAPE, chunks=CHUNKS, dtype=dtype, zarr_format=2,
                        compressors=compressor, filters=filters, order=order,
                        chunk_key_encoding=sep, attributes={"units": "m"})
    a[:] = data
    doc = json.loads((tmp_path / "a.zarr" / ".zarray").read_text())
    assert doc["order"] == order and doc["dtype"] == np.dtype(dtype).str
    assert doc.get("dimension_separator", ".") == sep
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.open_array(tmp_path / "a.zarr", mode="r")
        expected = z[:]
        assert dict(z.attrs) == {"units": "m"}
    _assert_same(a[:], expected)
    if _lossless(filters, dtype):
        _assert_same(expected, data)


FILLS = [
    ("<f8", np.nan, "NaN"),
    ("<f4", np.inf, "Infinity"),
    ("<f8", -np.inf, "-Infinity"),
    ("<i4", -7, -7),
    ("|S3", b"ab", "YWI="),
    ("|V2", np.void(b"\x01\x02"), "AQI="),
    ("<M8[ns]", np.datetime64("NaT", "ns"), -(2**63)),
    ("|b1", True, True),
    ("<U4", "ok", "ok"),
]


@pytest.mark.parametrize(("dtype", "fill", "encoded"), FILLS, ids=[f"{d}-{e}" for d, _, e in FILLS])
def test_fill_value_encodings_match_zarr_python(tmp_path, dtype, fill, encoded) -> None:
    a = zc.create_array(tmp_path / "c.zarr", shape=(3,), chunks=(2,), dtype=dtype, zarr_format=2, fill_value=fill)
    assert json.loads((tmp_path / "c.zarr" / ".zarray").read_text())["fill_value"] == encoded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(tmp_path / "z.zarr", shape=(3,), chunks=(2,), dtype=dtype, zarr_format=2,
                              fill_value=fill)
        from_zarr = zarr.open_array(tmp_path / "c.zarr", mode="r")[:]
    assert json.loads((tmp_path / "z.zarr" / ".zarray").read_text())["fill_value"] == encoded
    theirs = zc.open_array(tmp_path / "z.zarr")
    _assert_same(theirs[:], z[:])
    _assert_same(a[:], from_zarr)


def test_null_fill_and_v2_structured_dtype(tmp_path) -> None:
    dt = np.dtype([("x", "<f4"), ("y", ">i2"), ("tag", "S2")])
    data = np.zeros(5, dtype=dt)
    data["x"], data["y"], data["tag"] = np.arange(5) / 2, -np.arange(5), b"ok"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = zarr.create_array(tmp_path / "s.zarr", shape=(5,), chunks=(2,), dtype=dt, zarr_format=2)
        z[:] = data
    doc = json.loads((tmp_path / "s.zarr" / ".zarray").read_text())
    assert isinstance(doc["dtype"], list)
    a = zc.open_array(tmp_path / "s.zarr")
    _assert_same(a[:], data)
    b = zc.create_array(tmp_path / "t.zarr", shape=(5,), chunks=(2,), dtype=dt, zarr_format=2)
    b[:] = data
    assert json.loads((tmp_path / "t.zarr" / ".zarray").read_text())["dtype"] == doc["dtype"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(zarr.open_array(tmp_path / "t.zarr", mode="r")[:], data)


def test_bad_v2_documents_raise_clear_errors(tmp_path) -> None:
    a = zc.create_array(tmp_path / "a.zarr", shape=(3,), chunks=(2,), dtype="<i4", zarr_format=2)
    a[:] = 1
    zarray = tmp_path / "a.zarr" / ".zarray"
    good = json.loads(zarray.read_text())
    for field, bad, needle in [("dtype", "<q9", "dtype"), ("dtype", [["x"]], "field"),
                               ("order", "K", "order"), ("compressor", {"id": "nonesuch"}, "nonesuch")]:
        zarray.write_text(json.dumps({**good, field: bad}))
        with pytest.raises(zc.MetadataError, match=needle) as info:
            zc.open_array(tmp_path / "a.zarr")[:]
        assert "a.zarr" in str(info.value) or field == "compressor"


@pytest.mark.parametrize("compressor", ["zstd", "blosc", numcodecs.GZip(level=1), numcodecs.Zlib(), numcodecs.BZ2()],
                         ids=["zstd", "blosc", "gzip", "zlib", "bz2"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_tensorstore_reads_zarrconv_v2(tmp_path, compressor, order) -> None:
    ts = pytest.importorskip("tensorstore")
    data = _data(">i4")
    a = zc.create_array(tmp_path / "t.zarr", shape=SHAPE, chunks=CHUNKS, dtype=">i4", zarr_format=2,
                        compressors=compressor, order=order, chunk_key_encoding="/")
    a[:] = data
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path / "t.zarr")}}
    np.testing.assert_array_equal(ts.open(spec, read=True).result().read().result(), data)
