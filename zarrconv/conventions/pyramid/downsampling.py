"""Downsampling for pyramids, shared by the OME-Zarr and GeoZarr conventions.

Pure array arithmetic (numpy, optionally dask and scipy): no store, no metadata.
:func:`downsample` reduces an array by an integer factor per axis, eagerly for numpy input
and lazily, chunk by chunk, for dask input.

Geometry of a level (all methods)
---------------------------------
With factor ``f`` along an axis, output pixel ``i`` stands for the block of input pixels
``[i*f, min((i+1)*f, n))``; the output length is ``ceil(n / f)``. The last block is
partial when ``n`` is not a multiple of ``f``. The output grid is regular: its pixel size is
``f`` input pixels and its first pixel centre sits at input index ``(f - 1) / 2``, which is
what :func:`~zarrconv.conventions.pyramid.plan.level_transform` writes into the metadata.

Methods
-------
``"mean"``
    Block average; a partial edge block is the average of the pixels it has. Integer
    results are rounded half up; accumulation is exact for integers.
``"gaussian"``
    Gaussian smoothing (``sigma = f / 3`` per axis, like ``skimage.transform.pyramid_reduce``,
    kernel truncated at 4 sigma, edges mirrored) then decimation at the block centres (the
    centre sample for odd ``f``, the mean of the two central samples for even ``f``).
    Uses ``scipy.ndimage`` when installed, otherwise a separable numpy kernel giving the
    same result.
``"nearest"``
    The sample at offset ``f // 2`` inside each block (for a partial block of ``r`` pixels,
    offset ``r // 2``).
``"mode"``
    The most frequent value of each block (ties go to the smallest value); meant for
    label images, where averaging would invent labels.

The output dtype is always the input dtype.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["METHODS", "downsample", "downsampled_shape", "gaussian_sigma", "is_dask_array", "normalize_factors"]

#: The supported downsampling methods.
METHODS: tuple[str, ...] = ("mean", "gaussian", "nearest", "mode")

#: Gaussian kernels are truncated at this many standard deviations.
_TRUNCATE = 4.0


# ----------------------------------------------------------------------------- helpers


def is_dask_array(data: Any) -> bool:
    """Whether ``data`` is a dask array (checked without importing dask): such input is
    processed lazily, chunk by chunk, instead of in memory."""
    return type(data).__module__.startswith("dask.") and hasattr(data, "dask")


def normalize_factors(factors: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    if isinstance(factors, (int, np.integer)):
        out = (int(factors),) * ndim
    else:
        out = tuple(int(f) for f in factors)
    if len(out) != ndim:
        raise ValueError(f"got {len(out)} downsampling factors for an array of {ndim} dimensions")
    if any(f < 1 for f in out):
        raise ValueError(f"downsampling factors must be integers >= 1, got {out}")
    return out


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown downsampling method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def downsampled_shape(shape: Sequence[int], factors: int | Sequence[int]) -> tuple[int, ...]:
    """Shape of ``downsample(x, factors)`` for an array ``x`` of ``shape``: ``ceil(n / f)``."""
    fs = normalize_factors(factors, len(shape))
    return tuple(-(-int(n) // f) for n, f in zip(shape, fs))


def gaussian_sigma(factor: int) -> float:
    """Standard deviation (in input pixels) of the smoothing used by ``method="gaussian"``."""
    return 0.0 if factor <= 1 else factor / 3.0


def _gaussian_radius(factor: int) -> int:
    sigma = gaussian_sigma(factor)
    return int(_TRUNCATE * sigma + 0.5) if sigma > 0 else 0


# ------------------------------------------------------------ block-structured kernels


def _blockwise(x: np.ndarray, factors: tuple[int, ...], kernel: Callable[..., np.ndarray]) -> np.ndarray:
    """Apply ``kernel(x, factors)`` -- which needs every axis divisible by its factor -- to
    an array of any shape, by splitting off the partial edge blocks and giving them their
    own (smaller) factor. Output length per axis is ``ceil(n / f)``."""
    factors = list(factors)
    for ax, f in enumerate(factors):
        n = x.shape[ax]
        if f <= 1 or n == 0:
            continue
        if n < f:
            factors[ax] = n  # the whole axis is one partial block
            continue
        r = n % f
        if r:
            head = [slice(None)] * x.ndim
            tail = [slice(None)] * x.ndim
            head[ax] = slice(0, n - r)
            tail[ax] = slice(n - r, n)
            tail_factors = list(factors)
            tail_factors[ax] = r
            return np.concatenate(
                [
                    _blockwise(x[tuple(head)], tuple(factors), kernel),
                    _blockwise(x[tuple(tail)], tuple(tail_factors), kernel),
                ],
                axis=ax,
            )
    return kernel(x, tuple(factors))


def _block_view(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Reshape to ``(n0/f0, f0, n1/f1, f1, ...)`` (a view for contiguous input)."""
    shape: list[int] = []
    for n, f in zip(x.shape, factors):
        shape += [n // f, f]
    return x.reshape(shape)


def _mean_accumulator(dtype: np.dtype, count: int) -> np.dtype:
    if dtype.kind == "b":
        return np.dtype(np.uint32 if count < 2**31 else np.uint64)
    if dtype.kind == "u":
        if dtype.itemsize <= 2 and count <= 2**15:
            return np.dtype(np.uint32)
        return np.dtype(np.uint64)
    if dtype.kind == "i":
        if dtype.itemsize <= 2 and count <= 2**15:
            return np.dtype(np.int32)
        return np.dtype(np.int64)
    if dtype.kind == "f":
        return np.dtype(np.float64 if dtype.itemsize >= 8 else np.float32)
    if dtype.kind == "c":
        return np.dtype(np.complex128 if dtype.itemsize >= 16 else np.complex64)
    raise TypeError(f"cannot average data of dtype {dtype}; use method='nearest' or 'mode'")


def _mean_kernel(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    count = math.prod(factors)
    if count == 1:
        return x.copy()
    acc_dtype = _mean_accumulator(x.dtype, count)
    # Strided pairwise sums, one axis at a time: each pass reads the (shrinking) data once,
    # several times faster than a multi-axis reduction over a reshaped view.
    acc: np.ndarray = x
    converted = False
    for ax, f in enumerate(factors):
        if f == 1:
            continue
        sl: list[slice] = [slice(None)] * x.ndim
        sl[ax] = slice(0, None, f)
        first = acc[tuple(sl)]
        sl[ax] = slice(1, None, f)
        total = np.add(first, acc[tuple(sl)], dtype=acc_dtype)
        for k in range(2, f):
            sl[ax] = slice(k, None, f)
            total += acc[tuple(sl)]
        acc = total
        converted = True
    assert converted
    if x.dtype.kind in "biu":
        # exact integer rounding, half up: floor((s + c/2) / c)
        acc += count // 2
        if count & (count - 1) == 0:
            acc >>= count.bit_length() - 1
        else:
            acc //= count
        if x.dtype.kind == "b":
            return acc.astype(bool)
        return acc.astype(x.dtype, copy=False)
    acc *= acc.dtype.type(1.0 / count)
    return acc.astype(x.dtype, copy=False)


def _nearest_kernel(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    return x[tuple(slice(f // 2, None, f) for f in factors)].copy()


def _center_kernel(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """Sample at the block centres: the centre sample (odd f) or the mean of the two
    central samples (even f). ``x`` is a float array; the result stays float."""
    out = x
    for ax, f in enumerate(factors):
        if f == 1:
            continue
        lo = (f - 1) // 2
        idx: list[slice] = [slice(None)] * out.ndim
        if f % 2:
            idx[ax] = slice(lo, None, f)
            out = out[tuple(idx)]
        else:
            idx[ax] = slice(lo, None, f)
            a = out[tuple(idx)]
            idx[ax] = slice(lo + 1, None, f)
            b = out[tuple(idx)]
            out = (a + b) * out.dtype.type(0.5)
    return np.ascontiguousarray(out)


def _mode_kernel(x: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    count = math.prod(factors)
    if count == 1:
        return x.copy()
    if count <= 32:
        # Pairwise equality counts between the strided views of the block members:
        # count*(count-1)/2 vectorised comparisons on arrays the size of the output.
        members = [
            x[tuple(slice(o, None, f) for o, f in zip(offs, factors))]
            for offs in itertools.product(*(range(f) for f in factors))
        ]
        counts = [np.zeros(members[0].shape, dtype=np.uint8) for _ in members]
        for j in range(count):
            for k in range(j + 1, count):
                eq = members[j] == members[k]
                counts[j] += eq
                counts[k] += eq
        best_val = members[0].copy()
        best_cnt = counts[0]
        for k in range(1, count):
            cand, cnt = members[k], counts[k]
            better = (cnt > best_cnt) | ((cnt == best_cnt) & (cand < best_val))
            np.copyto(best_val, cand, where=better)
            best_cnt = np.where(better, cnt, best_cnt)
        return best_val
    nd = x.ndim
    view = _block_view(x, factors)
    order = tuple(range(0, 2 * nd, 2)) + tuple(range(1, 2 * nd, 2))
    out_shape = tuple(n // f for n, f in zip(x.shape, factors))
    blocks = view.transpose(order).reshape(out_shape + (count,))
    # Large blocks: sort each block, measure runs of equal values, keep the longest run;
    # the first longest run is the smallest of the tied values.
    s = np.sort(blocks, axis=-1)
    pos = np.arange(count)
    starts = np.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)
    run_len = pos - run_start + 1
    best = np.argmax(run_len, axis=-1)
    return np.take_along_axis(s, best[..., None], axis=-1)[..., 0].astype(x.dtype, copy=False)


# ------------------------------------------------------------------- gaussian smoothing


def _float_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind == "c":
        return np.dtype(np.complex128 if dtype.itemsize >= 16 else np.complex64)
    if dtype.kind == "f" and dtype.itemsize >= 8:
        return np.dtype(np.float64)
    if dtype.kind in "iu" and dtype.itemsize >= 4:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def _gaussian_kernel1d(sigma: float, radius: int) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _smooth_numpy(x: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    """Separable gaussian filter with mirrored edges (``d c b a | a b c d``)."""
    out = x
    for ax, sigma in enumerate(sigmas):
        if sigma <= 0 or out.shape[ax] == 0:
            continue
        radius = int(_TRUNCATE * sigma + 0.5)
        w = _gaussian_kernel1d(sigma, radius).astype(out.dtype)
        n = out.shape[ax]
        pad = [(0, 0)] * out.ndim
        pad[ax] = (radius, radius)
        if radius <= n:
            padded = np.pad(out, pad, mode="symmetric")
        else:  # mirror repeatedly, like scipy.ndimage's "reflect" for tiny axes
            idx = np.arange(-radius, n + radius)
            period = 2 * n
            idx = np.mod(idx, period)
            idx = np.where(idx >= n, period - 1 - idx, idx)
            padded = np.take(out, idx, axis=ax)
        acc = np.zeros(out.shape, dtype=out.dtype)
        for k in range(2 * radius + 1):
            sl = [slice(None)] * out.ndim
            sl[ax] = slice(k, k + n)
            acc += w[k] * padded[tuple(sl)]
        out = acc
    return out


def _smooth_axis(x: np.ndarray, axis: int, sigma: float, work_dtype: np.dtype) -> np.ndarray:
    """Gaussian filter along one axis, in ``work_dtype``, mirrored edges."""
    xf = np.asarray(x).astype(work_dtype, copy=False)
    if sigma <= 0 or xf.shape[axis] == 0:
        return xf
    try:
        from scipy import ndimage
    except ImportError:  # pragma: no cover - exercised only without scipy
        sigmas = [0.0] * xf.ndim
        sigmas[axis] = sigma
        return _smooth_numpy(xf, sigmas)
    if xf.dtype.kind == "c":
        real = ndimage.gaussian_filter1d(xf.real, sigma, axis=axis, mode="reflect", truncate=_TRUNCATE)
        imag = ndimage.gaussian_filter1d(xf.imag, sigma, axis=axis, mode="reflect", truncate=_TRUNCATE)
        return (real + 1j * imag).astype(work_dtype)
    return ndimage.gaussian_filter1d(
        xf, sigma, axis=axis, mode="reflect", truncate=_TRUNCATE, output=work_dtype
    )


def _decimate_axis(x: np.ndarray, axis: int, factor: int) -> np.ndarray:
    factors = [1] * x.ndim
    factors[axis] = factor
    return _blockwise(x, tuple(factors), _center_kernel)


def _cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float results back to ``dtype``: rounded and clipped for integers and booleans."""
    if dtype.kind == "b":
        return values >= 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.rint(values)
        np.clip(values, info.min, info.max, out=values)
        return values.astype(dtype)
    return values.astype(dtype, copy=False)


# ----------------------------------------------------------------------- numpy backend


def _downsample_numpy(x: np.ndarray, factors: tuple[int, ...], method: str) -> np.ndarray:
    x = np.asarray(x)
    if method == "mean":
        return _blockwise(x, factors, _mean_kernel)
    if method == "nearest":
        return _blockwise(x, factors, _nearest_kernel)
    if method == "mode":
        return _blockwise(x, factors, _mode_kernel)
    # gaussian: smooth and decimate one axis at a time (separable, so this equals smoothing
    # everything first, at a fraction of the cost); the dask path runs the same sequence.
    work = _float_dtype(x.dtype)
    out: np.ndarray = x
    for ax, f in enumerate(factors):
        if f > 1:
            out = _decimate_axis(_smooth_axis(out, ax, gaussian_sigma(f), work), ax, f)
    return _cast_like(out.astype(work, copy=False), x.dtype)


# ------------------------------------------------------------------------ dask backend


def _aligned_chunks(chunks: tuple[tuple[int, ...], ...], factors: tuple[int, ...]) -> tuple | None:
    """New chunks where every chunk but the last is a multiple of its factor, or None if
    the given chunks already are."""
    new: list[Any] = []
    changed = False
    for ax_chunks, f in zip(chunks, factors):
        if f <= 1 or all(c % f == 0 for c in ax_chunks[:-1]):
            new.append(ax_chunks)
            continue
        changed = True
        size = max(f, round(ax_chunks[0] / f) * f)
        new.append(size)
    return tuple(new) if changed else None


def _align(x: Any, factors: tuple[int, ...]) -> Any:
    new = _aligned_chunks(x.chunks, factors)
    return x if new is None else x.rechunk(new)


def _downsample_dask(x: Any, factors: tuple[int, ...], method: str) -> Any:
    dtype = np.dtype(x.dtype)
    if all(f == 1 for f in factors):
        return x
    x = _align(x, factors)
    if method == "gaussian":
        work = _float_dtype(dtype)
        out = x
        for ax, f in enumerate(factors):
            if f == 1:
                continue
            sigma = gaussian_sigma(f)
            depth = {i: 0 for i in range(x.ndim)}
            depth[ax] = min(_gaussian_radius(f), max(out.shape[ax] - 1, 0))
            meta = np.empty((0,) * x.ndim, dtype=work)
            out = out.map_overlap(
                _smooth_axis, depth=depth, boundary="reflect", axis=ax, sigma=sigma,
                work_dtype=work, dtype=work, meta=meta,
            )
            out = _align(out, tuple(f if i == ax else 1 for i in range(x.ndim)))
            chunks = tuple(
                tuple(-(-c // f) for c in cs) if i == ax else cs for i, cs in enumerate(out.chunks)
            )
            out = out.map_blocks(_decimate_axis, axis=ax, factor=f, dtype=work, chunks=chunks, meta=meta)
        return out.map_blocks(_cast_like, dtype, dtype=dtype, meta=np.empty((0,) * x.ndim, dtype=dtype))
    out_chunks = tuple(tuple(-(-c // f) for c in cs) for cs, f in zip(x.chunks, factors))
    return x.map_blocks(
        _downsample_numpy,
        factors=factors,
        method=method,
        dtype=dtype,
        chunks=out_chunks,
        meta=np.empty((0,) * x.ndim, dtype=dtype),
    )


# -------------------------------------------------------------------------- public API


def downsample(data: Any, factors: int | Sequence[int], method: str = "mean") -> Any:
    """Reduce ``data`` by an integer factor along each axis.

    Parameters
    ----------
    data
        A numpy array (or anything ``np.asarray`` accepts) or a dask array.
    factors
        One factor for every axis, or one int for all axes; ``1`` leaves an axis alone.
    method
        ``"mean"``, ``"gaussian"``, ``"nearest"`` or ``"mode"`` (see the module docstring).

    Returns
    -------
    An array of shape ``ceil(n / f)`` per axis and the same dtype as ``data``: a numpy
    array for numpy input, a lazy dask array for dask input. Dask input is processed chunk
    by chunk (``map_blocks``; ``map_overlap`` for gaussian): chunks are first re-aligned
    to multiples of the factors when they are not, and each output chunk is
    ``ceil(c / f)`` of its input chunk ``c``.
    """
    _check_method(method)
    ndim = len(data.shape) if hasattr(data, "shape") else np.ndim(data)
    fs = normalize_factors(factors, ndim)
    if is_dask_array(data):
        return _downsample_dask(data, fs, method)
    return _downsample_numpy(np.asarray(data), fs, method)
