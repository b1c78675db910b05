"""Affine georeferencing transforms as plain 6-tuples ``(a, b, c, d, e, f)``.

``x = a*col + b*row + c`` and ``y = d*col + e*row + f`` with ``(col, row) = (0, 0)`` the
top-left *corner* of the top-left cell (rasterio / ``affine`` / ``spatial:transform``
order; GDAL's GeoTransform is ``(c, a, b, f, d, e)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from zarrconv.errors import MetadataError

__all__ = [
    "Affine6",
    "bounds_of",
    "centers",
    "from_coords",
    "node_to_pixel",
    "regular_step",
    "scaled",
    "transforms_close",
]

Affine6 = tuple[float, float, float, float, float, float]


def as_affine(value: Sequence[float], *, where: str = "transform") -> Affine6:
    """Validate and convert 6 (or 9, last row ``0 0 1``) numbers to an :data:`Affine6`."""
    try:
        vals = [float(v) for v in value]
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"{where}: expected 6 numbers [a, b, c, d, e, f], got {value!r}") from exc
    if len(vals) == 9 and vals[6:] == [0.0, 0.0, 1.0]:
        vals = vals[:6]
    if len(vals) != 6 or not all(math.isfinite(v) for v in vals):
        raise MetadataError(f"{where}: expected 6 finite numbers [a, b, c, d, e, f], got {value!r}")
    if vals[0] * vals[4] - vals[1] * vals[3] == 0:
        raise MetadataError(f"{where}: the affine transform {vals} is singular (zero pixel size)")
    return tuple(vals)  # type: ignore[return-value]


def regular_step(values: np.ndarray, *, rtol: float = 1e-6) -> float | None:
    """The constant spacing of a 1-D coordinate, or ``None`` if it is not regular.

    A single value has no defined step (``None``).
    """
    values = np.asarray(values)
    if values.ndim != 1 or values.size < 2 or not np.issubdtype(values.dtype, np.number):
        return None
    v = values.astype("float64")
    diffs = np.diff(v)
    step = (v[-1] - v[0]) / (v.size - 1)
    if step == 0 or not np.isfinite(step):
        return None
    # Allow for the precision the stored dtype has at the coordinates' magnitude
    # (float32 eastings of ~5e6 m are only exact to ~0.5 m).
    eps = float(np.finfo(values.dtype).eps) if np.issubdtype(values.dtype, np.floating) else 0.0
    tol = rtol * abs(step) + 4.0 * eps * float(np.max(np.abs(v)))
    if float(np.max(np.abs(diffs - step))) > tol:
        return None
    return float(step)


def from_coords(x: np.ndarray, y: np.ndarray, *, rtol: float = 1e-6) -> Affine6 | None:
    """Transform of a grid whose 1-D ``x``/``y`` coordinates are regular cell centres.

    Returns ``None`` if either coordinate is irregular or has fewer than 2 values.
    """
    dx = regular_step(x, rtol=rtol)
    dy = regular_step(y, rtol=rtol)
    if dx is None or dy is None:
        return None
    x0 = float(np.asarray(x, dtype="float64")[0])
    y0 = float(np.asarray(y, dtype="float64")[0])
    dx, dy = _tidy(dx, dx), _tidy(dy, dy)
    return (dx, 0.0, _tidy(x0 - dx / 2.0, dx), 0.0, dy, _tidy(y0 - dy / 2.0, dy))


def _tidy(value: float, step: float) -> float:
    """Drop floating-point noise from a value derived from coordinates (0.10000000000000002 -> 0.1):
    round to 12 significant digits if that moves it by no more than rounding noise."""
    rounded = float(f"{value:.12g}")
    return rounded if abs(rounded - value) <= 1e-13 * abs(step) + 4e-16 * abs(value) else value


def centers(transform: Affine6, n: int, axis: str) -> np.ndarray:
    """Cell-centre coordinates along ``axis`` (``"x"`` or ``"y"``) of a non-rotated transform."""
    a, b, c, d, e, f = transform
    idx = np.arange(n, dtype="float64") + 0.5
    if axis == "x":
        return c + a * idx
    return f + e * idx


def scaled(transform: Affine6, sx: float, sy: float) -> Affine6:
    """The transform of the same grid origin with cells ``sx`` by ``sy`` times larger."""
    a, b, c, d, e, f = transform
    return (a * sx, b * sy, c, d * sx, e * sy, f)


def node_to_pixel(transform: Affine6) -> Affine6:
    """Convert a node-registered transform (maps indices to cell centres) to pixel registration."""
    a, b, c, d, e, f = transform
    return (a, b, c - (a + b) / 2.0, d, e, f - (d + e) / 2.0)


def bounds_of(transform: Affine6, height: int, width: int) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of the cell edges of a ``height`` x ``width`` grid."""
    a, b, c, d, e, f = transform
    xs, ys = [], []
    for col, row in ((0, 0), (width, 0), (0, height), (width, height)):
        xs.append(a * col + b * row + c)
        ys.append(d * col + e * row + f)
    return (min(xs), min(ys), max(xs), max(ys))


def transforms_close(t1: Sequence[float], t2: Sequence[float], *, rtol: float = 1e-6) -> bool:
    """Whether two transforms agree to ``rtol`` of a cell size (origins) and of the scale."""
    a1, b1, c1, d1, e1, f1 = (float(v) for v in t1)
    a2, b2, c2, d2, e2, f2 = (float(v) for v in t2)
    cell = max(abs(a1), abs(b1), abs(d1), abs(e1))
    tol = rtol * cell + 1e-12
    scale_ok = all(abs(p - q) <= tol for p, q in ((a1, a2), (b1, b2), (d1, d2), (e1, e2)))
    origin_tol = max(tol, 1e-3 * cell) if cell else tol
    return scale_ok and abs(c1 - c2) <= origin_tol and abs(f1 - f2) <= origin_tol
