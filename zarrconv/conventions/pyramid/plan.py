"""Planning the levels of a pyramid: their shapes, the factors between them (anisotropic
volumes shrink along their finest axes first) and the pixel size and origin of each.

Shared by the OME-Zarr and GeoZarr writers; pure arithmetic, nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zarrconv.errors import MetadataError

from .downsampling import downsampled_shape, normalize_factors

__all__ = ["PyramidLevel", "factors_between", "follow_levels", "level_transform", "plan_pyramid"]


@dataclass(frozen=True)
class PyramidLevel:
    """One level of a planned pyramid.

    Attributes
    ----------
    index
        0 for the full-resolution level.
    shape
        Array shape of the level.
    factors
        Factors from the previous level to this one (all 1 for level 0).
    cumulative
        Factors from level 0 to this one (product of the ``factors`` so far).
    """

    index: int
    shape: tuple[int, ...]
    factors: tuple[int, ...]
    cumulative: tuple[int, ...]


def plan_pyramid(
    shape: Sequence[int],
    chunks: Sequence[int] | None = None,
    *,
    downscale: int | Sequence[int] = 2,
    axes: Sequence[bool] | Sequence[int] | None = None,
    levels: int | None = None,
    max_levels: int = 64,
    pixel_sizes: Sequence[float] | None = None,
) -> list[PyramidLevel]:
    """Plan the levels of a pyramid.

    Parameters
    ----------
    shape
        Shape of the full-resolution array.
    chunks
        Chunk shape; with ``levels=None`` the pyramid stops at the first level whose
        downsampled axes each fit in one chunk (axes chunked one plane at a time, chunk
        length 1, are left out of that test: they are browsed plane by plane, not read
        whole). Required when ``levels`` is None.
    downscale
        Factor between consecutive levels: one int, or one int per axis.
    axes
        Which axes may be downsampled: a boolean mask or a list of axis indices (default
        all). The others always keep factor 1 (e.g. time and channel in OME-Zarr).
    levels
        Total number of levels including the full-resolution one, or None for "until it
        fits in one chunk". The plan ends early once no axis can shrink any more (every
        downsampled axis has length 1).
    max_levels
        Safety bound for ``levels=None``.
    pixel_sizes
        Physical pixel size of the full-resolution level per axis (same unit on the axes
        compared). When given, a level downsamples only the axes whose pixels are finer
        than the coarsest one (their size times the factor does not exceed it), so an
        anisotropic volume (z 2.0, y and x 0.5) is reduced in y and x until the sizes
        meet, then in all axes together. When no axis qualifies, all shrink. None treats
        every axis alike (all downsampled at every level).

    Returns
    -------
    The list of :class:`PyramidLevel`, level 0 first.
    """
    shape = tuple(int(n) for n in shape)
    nd = len(shape)
    base = normalize_factors(downscale, nd)
    if axes is None:
        mask = [True] * nd
    else:
        axes = list(axes)
        if axes and all(isinstance(a, (bool, np.bool_)) for a in axes):
            if len(axes) != nd:
                raise ValueError(f"axes mask has {len(axes)} entries for {nd} dimensions")
            mask = [bool(a) for a in axes]
        else:
            mask = [False] * nd
            for a in axes:
                mask[int(a)] = True
    base = tuple(f if m else 1 for f, m in zip(base, mask))
    if levels is None and chunks is None:
        raise ValueError("plan_pyramid needs chunks when levels is None")
    if levels is not None and levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    if chunks is not None and len(chunks) != nd:
        raise ValueError(f"chunks {tuple(chunks)} do not match shape {shape}")

    if pixel_sizes is not None and len(pixel_sizes) != nd:
        raise ValueError(f"{len(pixel_sizes)} pixel sizes for {nd} dimensions")

    out = [PyramidLevel(0, shape, (1,) * nd, (1,) * nd)]
    limit = levels if levels is not None else max_levels
    while len(out) < limit:
        cur = out[-1]
        if levels is None and _fits_one_chunk(cur.shape, chunks, mask):  # type: ignore[arg-type]
            break
        step = tuple(f if (f > 1 and n > 1) else 1 for f, n in zip(base, cur.shape))
        if all(f == 1 for f in step):
            break
        if pixel_sizes is not None:
            step = _isotropic_step(step, [abs(float(p)) * c for p, c in zip(pixel_sizes, cur.cumulative)])
        new_shape = downsampled_shape(cur.shape, step)
        out.append(
            PyramidLevel(
                len(out), new_shape, step, tuple(a * b for a, b in zip(cur.cumulative, step))
            )
        )
    return out


def _fits_one_chunk(shape: tuple[int, ...], chunks: Sequence[int], mask: list[bool]) -> bool:
    """Whether the downsampled axes each fit in one chunk, leaving out those chunked one
    plane at a time (unless all are)."""
    pairs = [(n, int(c)) for n, c, m in zip(shape, chunks, mask) if m]
    tiled = [(n, c) for n, c in pairs if c > 1] or pairs
    return all(n <= c for n, c in tiled)


def _isotropic_step(step: tuple[int, ...], sizes: list[float]) -> tuple[int, ...]:
    """Keep the factors of the axes whose pixels stay no coarser than the coarsest axis
    once reduced; all of ``step`` when none does (the sizes have met)."""
    active = [i for i, f in enumerate(step) if f > 1]
    coarsest = max(sizes[i] for i in active)
    keep = {i for i in active if sizes[i] * step[i] <= coarsest * (1 + 1e-9)}
    if not keep:
        return step
    return tuple(f if i in keep else 1 for i, f in enumerate(step))


def level_transform(
    scale: Sequence[float],
    translation: Sequence[float] | None,
    cumulative: Sequence[int],
) -> tuple[list[float], list[float]]:
    """Pixel size and first-pixel position of a level downsampled by ``cumulative``.

    ``scale_l = scale * F`` and ``translation_l = translation + (F - 1) / 2 * scale``: the
    first pixel of the level sits at the centre of the block of full-resolution pixels it
    stands for (see the module docstring), so all levels cover the same physical extent.
    """
    t0 = [0.0] * len(scale) if translation is None else [float(t) for t in translation]
    sc = [float(s) * int(f) for s, f in zip(scale, cumulative)]
    tr = [t + (int(f) - 1) / 2.0 * float(s) for t, s, f in zip(t0, scale, cumulative)]
    return sc, tr



def factors_between(prev: Sequence[int], cur: Sequence[int], where: str) -> tuple[int, ...]:
    """The integer factor per axis that turns a level of shape ``prev`` into one of shape
    ``cur`` (``ceil(p / f) == c``); raises MetadataError, naming ``where``, when there is none."""
    out = []
    for p, c in zip(prev, cur):
        if c <= 0 or p <= 0:
            out.append(1)
            continue
        f = max(1, round(p / c))
        if -(-p // f) != c:
            f = next((k for k in range(1, p + 1) if -(-p // k) == c), 0)
            if not f:
                raise MetadataError(f"{where}: cannot derive an integer downsampling factor from {p} to {c}")
        out.append(f)
    return tuple(out)


def follow_levels(shape: Sequence[int], reference: Sequence[Sequence[int]],
                  where: str) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Shapes and factors of a pyramid over an array of ``shape`` that follows the levels of
    another pyramid (level shapes ``reference``, e.g. the image a label image overlays): each
    level shrinks by the reference's factors, except along axes of length 1. Returns
    ``(level_shapes, level_factors)``, level 0 first (factors all 1)."""
    shape = tuple(int(n) for n in shape)
    level_factors: list[tuple[int, ...]] = [(1,) * len(shape)]
    level_shapes = [shape]
    for k in range(1, len(reference)):
        f = factors_between(reference[k - 1], reference[k], where)
        f = tuple(ff if n > 1 else 1 for ff, n in zip(f, level_shapes[-1]))
        level_factors.append(f)
        level_shapes.append(tuple(-(-n // ff) for n, ff in zip(level_shapes[-1], f)))
    return level_shapes, level_factors
