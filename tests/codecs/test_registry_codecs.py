"""``packbits``, ``bitround``, ``reshape`` and ``zfp`` against their registry specs.

No Python peer writes these (zarr-python 3.4 and tensorstore 0.1.86 refuse them; zarrs writes them but
its Python package runs under zarr-python's metadata, which refuses them too), so the proofs are: the
registry's own bitround sample data (written by zarrs) re-encoded byte for byte, hypothesis tests
against plain-Python readings of each spec, and zfp streams compared with the zfpy binding's own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import zarrconv as zc
from zarrconv.codecs.base import ChunkSpec
from zarrconv.codecs.bitround import BitroundCodec
from zarrconv.codecs.packbits import PackBitsCodec
from zarrconv.codecs.reshape import output_shape
from zarrconv.errors import CorruptChunkError, MetadataError
from zarrconv.format.dtypes import v3_data_type_for

SAMPLES = Path(__file__).parent / "data" / "bitround_sample"
SETTINGS = settings(max_examples=40, deadline=None)


def _spec(x: np.ndarray) -> ChunkSpec:
    return ChunkSpec(x.shape, v3_data_type_for(x.dtype), np.zeros((), x.dtype)[()])


# -- bitround ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, original", [
    ("bitround_uint8", np.array([0, 1, 10, 11, 100, 123, 200, 208, 209, 255], np.uint8)),
    ("bitround_float32", np.array([0.0, 0.1, 1.2, 12.3, 123.4, 1234.5, np.nan, np.inf, -np.inf], np.float32)),
])
def test_bitround_reproduces_the_registry_sample_data(tmp_path, name, original):
    sample = SAMPLES / f"{name}.zarr"
    assert BitroundCodec(3).encode(original, _spec(original)).tobytes() == (sample / "c" / "0").read_bytes()
    shutil.copytree(sample, tmp_path / "s.zarr")
    got = zc.open_array(str(tmp_path / "s.zarr"))[...]
    np.testing.assert_array_equal(got, np.frombuffer((sample / "c" / "0").read_bytes(), original.dtype))
    a = zc.create_array(str(tmp_path / "w.zarr"), shape=original.shape, dtype=original.dtype, compressors=None,
                        filters=json.loads((sample / "zarr.json").read_text())["codecs"][:1])
    a[...] = original
    assert (tmp_path / "w.zarr" / "c" / "0").read_bytes() == (sample / "c" / "0").read_bytes()


def _bitround_int_reference(v: int, keep: int, bits: int) -> int:
    n = v.bit_length()
    if keep >= n:
        return v
    drop = n - keep
    rounded = v + ((v >> drop) & 1) + (1 << (drop - 1)) - 1
    return min(rounded, (1 << bits) - 1) >> drop << drop


@SETTINGS
@given(st.sampled_from(["uint8", "int16", "uint32", "int64"]).flatmap(
    lambda d: hnp.arrays(d, st.integers(1, 12))), st.integers(1, 12))
def test_bitround_integers_match_the_spec(x, keep):
    bits = x.dtype.itemsize * 8
    unsigned = x.view(f"u{x.dtype.itemsize}")
    expected = [_bitround_int_reference(int(v), keep, bits) for v in unsigned]
    out = BitroundCodec(keep).encode(x, _spec(x))
    assert out.view(f"u{x.dtype.itemsize}").tolist() == expected


@SETTINGS
@given(hnp.arrays(np.float32, st.integers(1, 12), elements=st.floats(width=32, allow_nan=False)), st.integers(1, 22))
def test_bitround_float32_agrees_with_numcodecs(x, keep):
    numcodecs = pytest.importorskip("numcodecs")
    expected = np.asarray(numcodecs.BitRound(keepbits=keep).encode(x)).view(np.float32)
    np.testing.assert_array_equal(BitroundCodec(keep).encode(x, _spec(x)), expected)


# -- packbits ------------------------------------------------------------------------------------

def _packbits_reference(x: np.ndarray, first: int, last: int | None, padding: str) -> bytes:
    """The registry text, literally: each component's bits first..last of its little-endian form, in order,
    LSB-first bytes, zero padded, optional padding-count byte."""
    if x.dtype.kind == "b":
        n_bits, words = 1, [int(v) for v in x.reshape(-1)]
    elif x.dtype.name in ("int4", "uint4", "int2", "uint2"):
        n_bits = int(x.dtype.name[-1])
        words = [int(v) & ((1 << n_bits) - 1) for v in x.reshape(-1).view(np.uint8)]
    else:
        n_bits = x.dtype.itemsize * 8
        words = [int.from_bytes(x.reshape(-1)[i:i + 1].tobytes(), "little") for i in range(x.size)]
    last = n_bits - 1 if last is None else last
    bitstring = [(w >> b) & 1 for w in words for b in range(first, last + 1)]
    pad = (-len(bitstring)) % 8
    bitstring += [0] * pad
    data = bytes(sum(bit << j for j, bit in enumerate(bitstring[i:i + 8])) for i in range(0, len(bitstring), 8))
    return bytes([pad]) + data if padding == "first_byte" else data + bytes([pad]) if padding == "last_byte" else data


PACK_TYPES = [np.dtype(bool), np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint2), np.dtype(ml_dtypes.int2),
              np.dtype("int8"), np.dtype("uint16"), np.dtype("int32"), np.dtype("float32")]


@st.composite
def _pack_case(draw):
    dtype = draw(st.sampled_from(PACK_TYPES))
    n = draw(st.integers(1, 30))
    bits = 1 if dtype.kind == "b" else int(dtype.name[-1]) if dtype.name[-1] in "24" and dtype.itemsize == 1 and \
        dtype.name[:-1] in ("int", "uint") else dtype.itemsize * 8
    raw = draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=n, max_size=n))
    if dtype.kind == "b":
        x = np.array(raw, bool)
    elif bits < 8:
        x = np.array(raw, np.uint8).view(dtype)
    else:
        x = np.array(raw, f"u{dtype.itemsize}").view(dtype)
    first = draw(st.integers(0, bits - 1))
    last = draw(st.one_of(st.none(), st.integers(first, bits - 1)))
    return x, first, last, draw(st.sampled_from(["none", "first_byte", "last_byte"]))


@SETTINGS
@given(_pack_case())
def test_packbits_encodes_as_the_spec_says_and_round_trips(case):
    x, first, last, padding = case
    codec = PackBitsCodec(padding, first or None, last)
    enc = codec.encode(x, _spec(x))
    assert enc == _packbits_reference(x, first, last, padding)
    dec = codec.decode(enc, _spec(x))
    assert dec.dtype == x.dtype
    if first == 0 and last is None:
        np.testing.assert_array_equal(dec.view(np.uint8) if x.dtype.itemsize == 1 else dec, x.view(np.uint8)
                                      if x.dtype.itemsize == 1 else x)


def test_packbits_sign_extends_and_stores_int4_in_half_bytes(tmp_path):
    x = np.array([[-8, -1, 0, 7], [3, -3, 5, 1]]).astype(ml_dtypes.int4)
    a = zc.create_array(str(tmp_path / "p.zarr"), shape=x.shape, chunks=(2, 4), dtype=x.dtype,
                        serializer={"name": "packbits", "configuration": {"padding_encoding": "first_byte"}},
                        compressors=None)
    a[...] = x
    assert (tmp_path / "p.zarr" / "c" / "0" / "0").read_bytes() == bytes([0, 0xF8, 0x70, 0xD3, 0x15])
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "p.zarr"))[...].astype(int), x.astype(int))
    signed = PackBitsCodec("none", 0, 2).decode(bytes([0b00_111_101]), _spec(np.zeros(2, np.int8)))
    assert signed.tolist() == [-3, -1]  # 3 stored bits, sign-extended


def test_packbits_refuses_a_truncated_chunk_and_a_wrong_padding_byte():
    spec = _spec(np.zeros(5, bool))
    with pytest.raises(CorruptChunkError, match="packs into 2"):
        PackBitsCodec("first_byte").decode(b"\x03", spec)
    with pytest.raises(CorruptChunkError, match="padding byte says 1 bits, expected 3"):
        PackBitsCodec("first_byte").decode(b"\x01\x1f", spec)
    with pytest.raises(MetadataError, match="last_bit 9 is outside"):
        PackBitsCodec("none", None, 9).resolve(_spec(np.zeros(2, np.uint8)))


# -- reshape -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape_in, conf, expected", [
    ((100, 50, 64, 3), [[0, 1], [2], 3], (5000, 64, 3)),
    ((4, 6), [-1], (24,)),
    ((4, 6), [2, -1, 3], (2, 4, 3)),
    ((4, 6, 5), [[0], 6, [2]], (4, 6, 5)),
    ((4, 6), [[], [0, 1]], (1, 24)),
])
def test_reshape_output_shapes(shape_in, conf, expected):
    assert output_shape(shape_in, conf) == expected


@pytest.mark.parametrize("shape_in, conf, message", [
    ((4, 6), [[1], [0]], "strictly increasing"),
    ((4, 6), [[1, 0]], "strictly increasing"),
    ((4, 6), [-1, -1], "more than one -1"),
    ((4, 6), [5, -1], "cannot hold"),
    ((4, 6), [7], "does not hold"),
    ((4, 6, 5), [5, [1], 4], "does not line up"),
])
def test_reshape_refuses_what_the_spec_forbids(shape_in, conf, message):
    with pytest.raises(MetadataError, match=message):
        output_shape(shape_in, conf)


def test_reshape_and_transpose_chain_round_trips(tmp_path):
    x = np.arange(8 * 6 * 4, dtype="int32").reshape(8, 6, 4)
    codecs = [{"name": "transpose", "configuration": {"order": [2, 0, 1]}},
              {"name": "reshape", "configuration": {"shape": [[0], [1, 2]]}}]
    a = zc.create_array(str(tmp_path / "r.zarr"), shape=x.shape, chunks=(4, 3, 4), dtype=x.dtype, filters=codecs,
                        compressors=None)
    a[...] = x
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "r.zarr"))[...], x)
    first_chunk = np.frombuffer((tmp_path / "r.zarr" / "c" / "0" / "0" / "0").read_bytes(), "<i4")
    np.testing.assert_array_equal(first_chunk, x[:4, :3, :4].transpose(2, 0, 1).reshape(-1))


# -- zfp -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("conf, kwargs", [
    ({"mode": "reversible"}, {}),
    ({"mode": "fixed_accuracy", "tolerance": 0.05}, {"tolerance": 0.05}),
    ({"mode": "fixed_rate", "rate": 10.5}, {"rate": 10.5}),
    ({"mode": "fixed_precision", "precision": 19}, {"precision": 19}),
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_zfp_chunks_are_zfpy_streams_without_header(tmp_path, conf, kwargs, dtype):
    zfpy = pytest.importorskip("zfpy")
    x = (np.random.default_rng(1).normal(size=(6, 5, 4)) * 100).astype(dtype)
    a = zc.create_array(str(tmp_path / "z.zarr"), shape=x.shape, chunks=x.shape, dtype=dtype, compressors=None,
                        serializer={"name": "zfp", "configuration": conf})
    a[...] = x
    stored = (tmp_path / "z.zarr" / "c" / "0" / "0" / "0").read_bytes()
    assert stored == zfpy.compress_numpy(x, write_header=False, **kwargs)
    expected = zfpy.decompress_numpy(zfpy.compress_numpy(x, write_header=True, **kwargs))
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "z.zarr"))[...], expected)
    if conf["mode"] == "reversible":
        np.testing.assert_array_equal(expected, x)


def test_zfp_expert_mode_and_five_dimensions_are_refused(tmp_path):
    with pytest.raises(MetadataError, match="expert mode is not supported"):
        zc.create_array(str(tmp_path / "e.zarr"), shape=(4,), dtype="float32", compressors=None, serializer={
            "name": "zfp", "configuration": {"mode": "expert", "minbits": 1, "maxbits": 13, "maxprec": 19,
                                             "minexp": -2}})
    with pytest.raises(MetadataError, match="at most 4 dimensions"):
        zc.create_array(str(tmp_path / "f.zarr"), shape=(2,) * 5, dtype="float32", compressors=None,
                        serializer={"name": "zfp", "configuration": {"mode": "reversible"}})
