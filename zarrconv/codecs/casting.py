"""Value casting between integer and floating-point types, as the ``cast_value`` codec defines it.

A value exactly representable in the target is kept; otherwise it is rounded by one of the five
rounding modes, and a value still outside the target's range is an error, or is clamped, or (integer
targets) wrapped modulo ``2**bits``. NaN and infinities go only to floats that have them. The
numbers are compared exactly: float sources in float64 (which holds every supported float
exactly), integers as integers, and integers beyond 2**53 one at a time as Python integers.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..errors import CodecError
from ..format.low_precision import bits_of, float_specials, int_range, is_integer

ROUNDING_MODES = ("nearest-even", "towards-zero", "towards-positive", "towards-negative", "nearest-away")
OUT_OF_RANGE_MODES = ("clamp", "wrap")

_INT_ROUND = {
    "nearest-even": np.rint,
    "towards-zero": np.trunc,
    "towards-positive": np.ceil,
    "towards-negative": np.floor,
}


def _round_to_int(f: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == "nearest-away":
        t = np.trunc(f)
        return t + np.sign(f) * (np.abs(f - t) >= 0.5)  # f - t is exact
    return _INT_ROUND[rounding](f)


def _out_of_range_error(value: object, target: np.dtype) -> CodecError:
    return CodecError(f"cast_value: {value!r} is outside the range of {target.name} and the codec has no "
                      "out_of_range mode (clamp or wrap)")


def _to_int_target(values: np.ndarray, target: np.dtype) -> np.ndarray:
    """Exact integers (int64, uint64, float64 or Python ints) known to be in range, as ``target``."""
    if target.kind in "iu":
        return values.astype(target) if values.dtype != object else np.array(values.tolist(), dtype=target)
    return np.asarray(values).astype(np.int64).astype(target)


def to_integer(x: np.ndarray, target: np.dtype, rounding: str, out_of_range: str | None) -> np.ndarray:
    """Cast integers or floats to an integer ``target``."""
    lo, hi = int_range(target)
    if is_integer(x.dtype):
        v = x.astype(np.int64) if x.dtype.kind not in "iu" else x
        outside = (v < lo) | (v > hi)
    else:
        f = x.astype(np.float64)
        bad = ~np.isfinite(f)
        if bad.any():
            raise CodecError(f"cast_value: {f[bad][0].item()!r} has no {target.name} value; map it with scalar_map")
        v = _round_to_int(f, rounding)
        outside = (v < float(lo)) | (v >= float(hi + 1))  # both bounds are powers of two: exact floats
    out = np.empty(v.shape, target)
    inside = ~outside
    out[inside] = _to_int_target(v[inside], target)
    if outside.any():
        if out_of_range is None:
            raise _out_of_range_error(v[outside][0].item(), target)
        big = [int(t) for t in v[outside].tolist()]
        if out_of_range == "clamp":
            fixed = [lo if t < lo else hi for t in big]
        else:
            fixed = [((t - lo) % (1 << bits_of(target))) + lo for t in big]
        out[outside] = _to_int_target(np.array(fixed, dtype=object), target)
    return out


@lru_cache(maxsize=32)
def _grid(target: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Every finite value of a float type of at most 16 bits, ascending (one zero), with the parity of
    each value's last stored bit (what "ties to even" looks at)."""
    patterns = np.arange(1 << bits_of(target), dtype=np.dtype(f"u{target.itemsize}"))
    with np.errstate(invalid="ignore", over="ignore"):
        values = patterns.view(target).astype(np.float64)
    keep = np.isfinite(values) & ~((values == 0) & np.signbit(values))
    values, patterns = values[keep], patterns[keep]
    order = np.argsort(values, kind="stable")
    return values[order], (patterns[order] & 1).astype(bool)


def _neighbours(f: np.ndarray, target: np.dtype) -> tuple[np.ndarray, ...]:
    """For finite ``f``: the representable values ``lo <= f <= hi`` of ``target`` and whether ``lo``'s
    last stored bit is odd. Past either end of the finite range the missing neighbour is a virtual
    one, one step further (``virtual_lo``/``virtual_hi``: choosing it means out of range); values at
    or past a virtual neighbour are out of range whatever the rounding (``beyond``)."""
    if target.itemsize <= 2:
        grid, parity = _grid(target)
        ext = np.concatenate([[2 * grid[0] - grid[1]], grid, [2 * grid[-1] - grid[-2]]])
        ext_parity = np.concatenate([[not parity[0]], parity, [not parity[-1]]])
        i = np.clip(np.searchsorted(ext, f, side="left"), 1, len(ext) - 1)
        exact = ext[i] == f
        i_lo = np.where(exact, i, i - 1)
        beyond = (f >= ext[-1]) | (f <= ext[0])
        return ext[i_lo], ext[i], ext_parity[i_lo], i_lo == 0, i == len(ext) - 1, beyond
    big = float(np.finfo(target).max)
    step = big - float(np.nextafter(target.type(big), target.type(0)))
    with np.errstate(over="ignore"):
        c = f.astype(target)
    c = np.where(np.isinf(c), np.sign(f) * big, c).astype(target)
    back = c.astype(np.float64)
    lo = np.where(back <= f, c, np.nextafter(c, target.type(-np.inf)))
    hi = np.where(back >= f, c, np.nextafter(c, target.type(np.inf)))
    virtual_hi, virtual_lo = f > big, f < -big
    lo64 = np.where(virtual_lo, -big - step, lo.astype(np.float64))
    hi64 = np.where(virtual_hi, big + step, hi.astype(np.float64))
    lo_odd = (lo.view(np.dtype(f"u{target.itemsize}")) & 1).astype(bool) ^ virtual_lo
    beyond = (f >= big + step) | (f <= -big - step)
    return lo64, hi64, lo_odd, virtual_lo, virtual_hi, beyond


def _choose(f: np.ndarray, lo: np.ndarray, hi: np.ndarray, lo_odd: np.ndarray, rounding: str) -> np.ndarray:
    """True where ``hi`` is the rounded value of ``f`` (``lo < f < hi``), else ``lo``."""
    if rounding == "towards-positive":
        return np.ones(f.shape, bool)
    if rounding == "towards-negative":
        return np.zeros(f.shape, bool)
    if rounding == "towards-zero":
        return f < 0
    d_lo, d_hi = f - lo, hi - f  # exact (Sterbenz) for neighbours of f
    tie_hi = lo_odd if rounding == "nearest-even" else f > 0
    return (d_hi < d_lo) | ((d_hi == d_lo) & tie_hi)


def to_float(x: np.ndarray, target: np.dtype, rounding: str, out_of_range: str | None) -> np.ndarray:
    """Cast integers or floats to a float ``target``."""
    has_nan, has_inf = float_specials(target)
    if is_integer(x.dtype):
        v = x.astype(np.int64) if x.dtype.kind not in "iu" else x
        huge = (v > 2**53) | (v < -(2**53))
        f = v.astype(np.float64)
    else:
        f, huge = x.astype(np.float64), np.zeros(x.shape, bool)
    out = np.empty(f.shape, target)
    special = ~np.isfinite(f)
    if special.any():
        s = f[special]
        if (np.isnan(s).any() and not has_nan) or (np.isinf(s).any() and not has_inf):
            raise CodecError(f"cast_value: {s[0].item()!r} has no {target.name} value; map it with scalar_map")
        out[special] = s.astype(target)
    zero = (f == 0) & _has_zero(target)
    out[zero] = f[zero].astype(target)  # keeps the sign of zero where the target has one
    rest = ~special & ~zero & ~huge
    out[rest] = _round_finite(f[rest], target, rounding, out_of_range, has_inf)
    if huge.any():
        out[huge] = [_round_big_int(int(t), target, rounding, out_of_range, has_inf) for t in v[huge].tolist()]
    return out


def _round_finite(f: np.ndarray, target: np.dtype, rounding: str, out_of_range: str | None,
                  has_inf: bool) -> np.ndarray:
    lo, hi, lo_odd, virtual_lo, virtual_hi, beyond = _neighbours(f, target)
    take_hi = np.where(lo == hi, False, _choose(f, lo, hi, lo_odd, rounding))
    chosen = np.where(take_hi, hi, lo)
    over = (take_hi & virtual_hi) | (beyond & (f > 0))
    under = (~take_hi & virtual_lo) | (beyond & (f < 0))
    return _apply_out_of_range(chosen, f, over, under, target, out_of_range, has_inf)


def _apply_out_of_range(chosen: np.ndarray, f: np.ndarray, over: np.ndarray, under: np.ndarray,
                        target: np.dtype, out_of_range: str | None, has_inf: bool) -> np.ndarray:
    if (over | under).any():
        if out_of_range is None:
            raise _out_of_range_error(float(f[over | under][0]), target)
        if out_of_range == "wrap":
            raise CodecError(f"cast_value: out_of_range 'wrap' needs an integer target, not {target.name}")
        grid_max, grid_min = _finite_range(target)
        chosen = np.where(over, np.inf if has_inf else grid_max, chosen)
        chosen = np.where(under, -np.inf if has_inf else grid_min, chosen)
    return chosen.astype(target)


def _has_zero(target: np.dtype) -> bool:
    return target.itemsize > 2 or bool((_grid(target)[0] == 0).any())


def _finite_range(target: np.dtype) -> tuple[float, float]:
    if target.itemsize <= 2:
        grid, _ = _grid(target)
        return float(grid[-1]), float(grid[0])
    finfo = np.finfo(target)
    return float(finfo.max), float(finfo.min)


def _round_big_int(q: int, target: np.dtype, rounding: str, out_of_range: str | None, has_inf: bool) -> object:
    """One integer beyond 2**53, rounded exactly (float64 cannot hold it): the float64 nearest to q
    brackets it between two neighbours in the target, compared with q as exact fractions."""
    fq = Fraction(q)
    f = np.array([float(q)])
    lo, hi, lo_odd, virtual_lo, virtual_hi, beyond = (a[0] for a in _neighbours(f, target))
    if Fraction(float(lo)) > fq:  # q's float64 rounding is a target value just above q: step down
        lo, _, lo_odd, virtual_lo, _, _ = (a[0] for a in _neighbours(np.nextafter(np.array([lo]), -np.inf), target))
    elif Fraction(float(hi)) < fq:
        _, hi, _, _, virtual_hi, _ = (a[0] for a in _neighbours(np.nextafter(np.array([hi]), np.inf), target))
    if Fraction(float(lo)) == fq:
        return np.float64(lo).astype(target)
    if Fraction(float(hi)) == fq:
        return np.float64(hi).astype(target)
    d_lo, d_hi = fq - Fraction(float(lo)), Fraction(float(hi)) - fq
    directed = {"towards-positive": True, "towards-negative": False, "towards-zero": q < 0}
    tie_hi = bool(lo_odd) if rounding == "nearest-even" else q > 0
    take_hi = directed[rounding] if rounding in directed else (d_hi < d_lo or (d_hi == d_lo and tie_hi))
    over = np.array([(take_hi and bool(virtual_hi)) or (bool(beyond) and q > 0)])
    under = np.array([(not take_hi and bool(virtual_lo)) or (bool(beyond) and q < 0)])
    chosen = np.array([hi if take_hi else lo])
    return _apply_out_of_range(chosen, np.array([float(q)]), over, under, target, out_of_range, has_inf)[0]
