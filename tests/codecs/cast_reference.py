"""A scalar, exact (``fractions.Fraction``) reference of the ``cast_value`` procedure of the
zarr-extensions registry, for property tests: slow and simple, one value at a time."""

from __future__ import annotations

import bisect
import math
from fractions import Fraction
from functools import cache

import numpy as np


class CastFailed(Exception):
    """The spec says the codec must fail for this value."""


def int_bounds(target: np.dtype) -> tuple[int, int, int]:
    bits = {"int2": 2, "int4": 4, "uint2": 2, "uint4": 4}.get(target.name, target.itemsize * 8)
    signed = target.name.startswith("int")
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1, bits) if signed else (0, (1 << bits) - 1, bits)


def _round(q: Fraction, rounding: str) -> int:
    if rounding == "nearest-even":
        return round(q)  # Fraction rounds half to even
    if rounding == "nearest-away":
        return int(math.copysign(math.floor(abs(q) + Fraction(1, 2)), q))
    if rounding == "towards-zero":
        return math.trunc(q)
    return math.ceil(q) if rounding == "towards-positive" else math.floor(q)


def cast_to_int(x: float | int, target: np.dtype, rounding: str, out_of_range: str | None) -> int:
    if isinstance(x, float) and not math.isfinite(x):
        raise CastFailed
    lo, hi, bits = int_bounds(target)
    r = _round(Fraction(x), rounding)
    if lo <= r <= hi:
        return r
    if out_of_range is None:
        raise CastFailed
    if out_of_range == "clamp":
        return lo if r < lo else hi
    return (r - lo) % (1 << bits) + lo


@cache
def float_table(target: np.dtype) -> tuple[list[Fraction], list[int], bool, bool]:
    """Finite values of a float type of at most 16 bits, ascending, each with its last stored bit,
    between two virtual neighbours one step past each end; and whether the type has NaN and infinity."""
    bits = {"float4_e2m1fn": 4, "float6_e2m3fn": 6, "float6_e3m2fn": 6}.get(target.name, target.itemsize * 8)
    patterns = np.arange(1 << bits, dtype=f"u{target.itemsize}")
    with np.errstate(invalid="ignore", over="ignore"):
        floats = patterns.view(target).astype(np.float64)
    pairs: dict[Fraction, int] = {}
    for p, v in zip(patterns.tolist(), floats.tolist()):
        if math.isfinite(v) and not (v == 0 and math.copysign(1, v) < 0):
            pairs.setdefault(Fraction(v), p & 1)
    values = sorted(pairs)
    lsb = [pairs[v] for v in values]
    ext = [2 * values[0] - values[1], *values, 2 * values[-1] - values[-2]]
    return ext, [1 - lsb[0], *lsb, 1 - lsb[-1]], bool(np.isnan(floats).any()), bool(np.isinf(floats).any())


def cast_to_small_float(x: float | int, target: np.dtype, rounding: str, out_of_range: str | None) -> float:
    ext, ext_lsb, has_nan, has_inf = float_table(target)
    if isinstance(x, float) and math.isnan(x):
        if not has_nan:
            raise CastFailed
        return math.nan
    if isinstance(x, float) and math.isinf(x):
        if not has_inf:
            raise CastFailed
        return x
    q = Fraction(x)
    i = bisect.bisect_left(ext, q)
    if 0 < i < len(ext) - 1 and ext[i] == q:
        return float(x) * 0.0 if q == 0 else float(q)
    if q <= ext[0] or q >= ext[-1]:
        chosen = None  # at or past a virtual neighbour: out of range whatever the rounding
    else:
        lo, hi = ext[i - 1], ext[i]
        if rounding in ("nearest-even", "nearest-away"):
            d_lo, d_hi = q - lo, hi - q
            tie_hi = ext_lsb[i - 1] == 1 if rounding == "nearest-even" else q > 0
            take = i if d_hi < d_lo or (d_hi == d_lo and tie_hi) else i - 1
        else:
            take = {"towards-positive": i, "towards-negative": i - 1, "towards-zero": i if q < 0 else i - 1}[rounding]
        chosen = None if take in (0, len(ext) - 1) else float(ext[take])
    if chosen is not None:
        return chosen
    if out_of_range != "clamp":
        raise CastFailed
    if has_inf:
        return math.copysign(math.inf, q)
    # clamp to the type's maximum or minimum by the side the value left the range on (not by its
    # sign: float8_e8m0fnu has no zero, so a tiny positive value clamps to its minimum, 2**-127)
    return float(ext[-2] if q > ext[-2] else ext[1])
