"""Property tests of ``cast_value`` and ``scale_offset`` against references of their registry specs.

``cast_reference`` is a scalar, exact (Fraction) reading of the cast_value procedure; zarrconv's
vectorised casting must agree with it for every rounding mode and out_of_range mode. For numpy
types the second oracle is cast-value-rs, the implementation zarr-python 3.4 uses.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from cast_reference import CastFailed, cast_to_int, cast_to_small_float
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrconv.codecs.base import ChunkSpec
from zarrconv.codecs.casting import OUT_OF_RANGE_MODES, ROUNDING_MODES, to_float, to_integer
from zarrconv.codecs.scale_offset import ScaleOffsetCodec
from zarrconv.errors import CodecError
from zarrconv.format.dtypes import v3_data_type_for

INT_TARGETS = [np.dtype(t) for t in ("int8", "uint8", "int16", "uint16", "int32", "uint64", "int64")] + [
    np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint2)]
FLOAT_TARGETS = [np.dtype(np.float16), *(np.dtype(getattr(ml_dtypes, n)) for n in (
    "bfloat16", "float8_e4m3", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e8m0fnu",
    "float8_e3m4", "float6_e2m3fn", "float4_e2m1fn"))]
SETTINGS = settings(max_examples=60, deadline=None)

finite_or_special = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-600, max_value=600),  # where the small types live
    st.integers(-300, 300).map(lambda i: i / 2),  # exact ties
)
modes = st.sampled_from(ROUNDING_MODES)
ranges = st.sampled_from([None, *OUT_OF_RANGE_MODES])


def _ours(values: list, cast, target, rounding, oor) -> list:
    out = []
    for v in values:  # one at a time: an error for one value must not hide the others
        try:
            out.append(cast(np.array([v]), target, rounding, oor)[0])
        except CodecError:
            out.append(CastFailed)
    return out


def _ref(values: list, ref, target, rounding, oor) -> list:
    out = []
    for v in values:
        try:
            out.append(ref(v, target, rounding, oor))
        except CastFailed:
            out.append(CastFailed)
    return out


@SETTINGS
@given(st.lists(finite_or_special, min_size=1, max_size=8), st.sampled_from(INT_TARGETS), modes, ranges)
def test_float_to_integer_matches_reference(values, target, rounding, oor):
    ours = _ours(values, to_integer, target, rounding, oor)
    ref = _ref(values, cast_to_int, target, rounding, oor)
    assert [o if o is CastFailed else int(o) for o in ours] == ref


@SETTINGS
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=8), st.sampled_from(INT_TARGETS), ranges)
def test_integer_to_integer_matches_reference(values, target, oor):
    ours = _ours(values, to_integer, target, "nearest-even", oor)
    assert [o if o is CastFailed else int(o) for o in ours] == _ref(values, cast_to_int, target, "nearest-even", oor)


@pytest.mark.slow
@SETTINGS
@given(st.lists(finite_or_special, min_size=1, max_size=8), st.sampled_from(FLOAT_TARGETS), modes,
       st.sampled_from([None, "clamp"]))
def test_float_to_small_float_matches_reference(values, target, rounding, oor):
    ours = _ours(values, to_float, target, rounding, oor)
    ref = _ref(values, cast_to_small_float, target, rounding, oor)
    for o, r in zip(ours, ref):
        if r is CastFailed or o is CastFailed:
            assert o is r
        elif math.isnan(r):
            assert math.isnan(float(o))
        else:
            assert float(o) == r


@SETTINGS
@given(st.lists(st.integers(-(2**64), 2**64), min_size=1, max_size=6), modes)
def test_big_integers_to_float_round_exactly(values, rounding):
    values = [v for v in values if -(2**63) <= v < 2**63] or [2**63 - 1]
    ours = to_float(np.array(values, np.int64), np.dtype(np.float16), rounding, "clamp")
    ref = [cast_to_small_float(v, np.dtype(np.float16), rounding, "clamp") for v in values]
    assert [float(o) for o in ours] == ref


@SETTINGS
@given(st.lists(st.floats(width=64, allow_nan=True), min_size=1, max_size=16),
       st.sampled_from(["int8", "uint8", "int16", "uint32", "int64", "float32", "float16"]), modes,
       st.sampled_from(["clamp", "wrap"]))
def test_numpy_targets_agree_with_cast_value_rs(values, target, rounding, oor):
    cvr = pytest.importorskip("cast_value_rs")
    target = np.dtype(target)
    if target.kind == "f":
        oor = "clamp"
    x = np.array(values, np.float64)
    if target.kind in "iu":
        x = x[np.isfinite(x)]
    cast = to_integer if target.kind in "iu" else to_float
    ours = cast(x, target, rounding, oor)
    theirs = cvr.cast_array(x, target_dtype=target, rounding_mode=rounding, out_of_range_mode=oor,
                            scalar_map_entries=None)
    np.testing.assert_array_equal(ours, theirs)


# -- scale_offset --------------------------------------------------------------------------------

def _spec(dtype, n: int) -> ChunkSpec:
    return ChunkSpec((n,), v3_data_type_for(np.dtype(dtype)), np.zeros((), dtype)[()])


@SETTINGS
@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=20), st.floats(-1e3, 1e3, width=32),
       st.floats(0.125, 1e3, width=32))
def test_scale_offset_float_is_the_formula_in_the_array_type(values, offset, scale):
    x = np.array(values, np.float32)
    codec = ScaleOffsetCodec(offset=offset, scale=scale)
    spec = _spec("float32", len(values))
    enc = codec.encode(x, spec)
    assert enc.dtype == np.float32
    np.testing.assert_array_equal(enc, (x - np.float32(offset)) * np.float32(scale))
    np.testing.assert_array_equal(codec.decode(enc, spec), enc / np.float32(scale) + np.float32(offset))


@SETTINGS
@given(st.lists(st.integers(-(2**15), 2**15 - 1), min_size=1, max_size=20), st.integers(-100, 100),
       st.integers(-5, 5).filter(bool))
def test_scale_offset_integers_are_exact_or_refused(values, offset, scale):
    x = np.array(values, np.int16)
    codec = ScaleOffsetCodec(offset=offset, scale=scale)
    spec = _spec("int16", len(values))
    exact = [(v - offset) * scale for v in values]
    if all(-(2**15) <= e < 2**15 for e in exact):
        enc = codec.encode(x, spec)
        assert enc.tolist() == exact
        np.testing.assert_array_equal(codec.decode(enc, spec), x)
    else:
        with pytest.raises(CodecError, match="outside the range"):
            codec.encode(x, spec)


def test_scale_offset_integer_decode_refuses_a_remainder():
    spec = _spec("int32", 2)
    with pytest.raises(CodecError, match="not a multiple of the scale 4"):
        ScaleOffsetCodec(offset=0, scale=4).decode(np.array([8, 9], np.int32), spec)
