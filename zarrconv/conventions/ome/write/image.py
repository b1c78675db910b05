"""Write an OME-Zarr image pyramid: :func:`write_image`.

Groups and arrays are created through zarrconv's core, the levels are written by the shared
pyramid writer (:func:`zarrconv.conventions.pyramid.write_levels`: numpy or dask input), and
the OME metadata is written to the group's attributes last, so an interrupted write never
advertises a half-written pyramid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import zarrconv as zc
from zarrconv.errors import MetadataError

from ...pyramid import METHODS, PyramidLevel, is_dask_array, level_transform, plan_pyramid, write_levels
from ..models import WRITE_VERSIONS, Axis, CoordinateSystem, Dataset, Multiscale, OmeMetadata, Transform, namespaced
from ..ozx import is_ozx_target, write_via_directory
from .axes import coords_geometry, is_dataarray, orient, per_axis, resolve_axes
from .grid import comparable_pixel_sizes, resolve_chunks, resolve_shards
from .omero import omero
from .target import open_target, set_ome_attrs

__all__ = ["write_image"]

#: What zarrconv records as the downsampling function in a multiscale's ``metadata``.
DOWNSAMPLE_FUNCTION = "zarrconv.conventions.pyramid.downsample"


@dataclass
class _ImageInput:
    """What a DataArray tells about the image beside its data: axis names, scale, translation,
    units, channel labels, orientations (from its coordinates) and a name."""

    dims: list[str] | None = None
    scale: dict[str, float] = field(default_factory=dict)
    translation: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    labels: list[str] | None = None
    orientation: dict[str, str] = field(default_factory=dict)
    name: str | None = None

    @classmethod
    def of(cls, data: Any) -> tuple[Any, _ImageInput]:
        """``(array, hints)``: a numpy or dask array, and what a DataArray ``data`` said."""
        hints = cls()
        if is_dataarray(data):
            hints.orientation = {str(k): str(c.attrs["orientation"]) for k, c in data.coords.items()
                                 if "orientation" in c.attrs}
            hints.dims = [str(d) for d in data.dims]
            hints.scale, hints.translation, hints.units, hints.labels = coords_geometry(data)
            hints.name = str(data.name) if data.name is not None else None
            data = data.data
        return (data if is_dask_array(data) else np.asarray(data)), hints


def _downscale_factors(downscale: int | Sequence[int] | Mapping[str, int], axes: list[Axis]) -> list[int]:
    """The factor between levels per axis: ``downscale`` for the space axes, 1 for the others."""
    names = [a.name for a in axes]
    space_mask = [a.type == "space" for a in axes]
    if isinstance(downscale, Mapping):
        return [int(downscale.get(n, 2)) if m else 1 for n, m in zip(names, space_mask)]
    if isinstance(downscale, int):
        return [downscale if m else 1 for m in space_mask]
    return [int(f) if m else 1 for f, m in zip(per_axis(list(downscale), names, "downscale"), space_mask)]


def _multiscale(axes: list[Axis], plan: list[PyramidLevel], paths: list[str], scale: list[float],
                translation: list[float], *, name: str, method: str, factors: list[int],
                coordinate_system: str | None) -> Multiscale:
    """The ``multiscales`` entry of a written pyramid: each level's scale and translation."""
    datasets = []
    for lv, p in zip(plan, paths):
        s_l, t_l = level_transform(scale, translation, lv.cumulative)
        trs = [Transform("scale", s_l)]
        if any(v != 0 for v in t_l):
            trs.append(Transform("translation", t_l))
        datasets.append(Dataset(p, trs))
    return Multiscale(
        axes=axes, datasets=datasets, name=name, type=method,
        coordinate_systems=[CoordinateSystem(coordinate_system, axes)] if coordinate_system is not None else None,
        metadata={
            "description": "downsampled level by level from the previous one; pixel i of a level covers the "
                           "block [i*f, (i+1)*f) of the previous level",
            "method": DOWNSAMPLE_FUNCTION,
            "version": zc.__version__,
            "kwargs": {"method": method, "factors": factors},
        },
    )


def write_image(
    data: Any,
    store: Any,
    *,
    path: str | None = None,
    axes: Any = None,
    scale: Any = None,
    translation: Any = None,
    units: Any = None,
    levels: int | None = None,
    downscale: int | Sequence[int] | Mapping[str, int] = 2,
    method: str = "mean",
    chunks: Any = None,
    shards: Any = None,
    version: str = "0.5",
    name: str | None = None,
    coordinate_system: str = "intrinsic",
    orientation: str | Mapping[str, str] | None = None,
    channels: Sequence[Any] | None = None,
    compressors: Any = "auto",
    fill_value: Any = 0,
    overwrite: bool = False,
    storage_options: dict | None = None,
) -> zc.Group:
    """Write an image pyramid as OME-Zarr.

    Parameters
    ----------
    data
        numpy array, dask array or ``xr.DataArray`` with 2 to 5 dimensions. A DataArray's
        dims name the axes, its evenly spaced 1-D coordinates give scale and translation,
        their ``units`` attributes give the units and string labels on the channel
        dimension give the channel names; explicit arguments override all of these.
    store
        Anything :func:`zarrconv.create_group` accepts, or a zarrconv Group to write into.
    path
        Group path of the image inside ``store``.
    axes
        Axis names (``"czyx"``, ``["c", "y", "x"]``) or axis objects (dicts with name,
        type, unit). Types are inferred from the names (t: time, c: channel, x/y/z: space)
        or the units; the order must be time, channel/custom, space.
    scale, translation
        Pixel size and first-pixel position of the full-resolution level, per axis (a
        sequence, or a mapping by axis name). Defaults 1 and 0.
    units
        Units per axis (sequence or mapping). Checked with pint against the specification's
        lists; aliases such as "um" or "ms" are written as "micrometer"/"millisecond".
    levels
        Total number of levels; None stops once a level fits in one chunk in y and x.
    downscale
        Factor between levels for the space axes (one int, or per space axis by name or
        as a per-axis sequence). Time, channel and custom axes are never downsampled.
        Anisotropic images are reduced along their finest axes first: with z pixels of
        2.0 and y/x pixels of 0.5 micrometer, levels 1 and 2 halve y and x only, and z
        shrinks from level 3 on, once the pixel sizes meet (axes in different units are
        compared in meters).
    method
        "mean", "gaussian", "nearest" or "mode" (see :mod:`zarrconv.conventions.pyramid.downsampling`).
    chunks, shards
        Chunk (and, for 0.5, shard) shape of level 0, per axis or as an int for the space
        axes; smaller levels are clipped to their shape. Default: one plane per chunk
        (``1`` along t, c and z) tiled in y and x with at most 4 MiB per tile (1024 x 1024
        for 16-bit data), or the y/x chunks of dask input.
    version
        "0.5" (Zarr v3, default), "0.4" (Zarr v2) or "0.6" (Zarr v3; written as
        :data:`~zarrconv.conventions.ome.models.V06_TAG`, with a coordinate system named
        ``coordinate_system`` and one transformation per level from the array to it).
    name
        The multiscale's name (default "image").
    coordinate_system
        0.6: the name of the image's intrinsic coordinate system (default "intrinsic").
    orientation
        RFC-4 anatomical orientation of the space axes: "LPS" or "RAS" (for axes named
        x, y, z) or ``{axis name: value}`` with values such as "left-to-right" (see
        :data:`~zarrconv.conventions.ome.models.ANATOMICAL_ORIENTATIONS`). A DataArray's
        coordinates carry theirs in the ``orientation`` attribute, as ``open_image`` gives them.
    channels
        One label (str) or omero channel dict per channel; written as ``omero`` metadata
        (also written, with generated labels, whenever there is a channel axis).
    compressors
        Passed to ``create_array`` ("auto" is zstd).
    fill_value
        Fill value of the arrays (default 0).
    overwrite
        Replace an existing group at ``path``.

    Returns
    -------
    The image group. A local path ending in ``.ozx`` (0.5/0.6) is written as one zipped
    OME-Zarr file (RFC-9, see :func:`~zarrconv.conventions.ome.ozx.write_ozx`), whose root
    group is returned read-only.
    """
    if is_ozx_target(store, path):
        args = {k: v for k, v in locals().items() if k not in ("data", "store")}
        return write_via_directory(store, overwrite, lambda tmp: write_image(data, tmp, **args))
    if version not in WRITE_VERSIONS:
        raise MetadataError(f"cannot write OME-Zarr version {version!r}; choose one of {WRITE_VERSIONS}")
    if method not in METHODS:
        raise MetadataError(f"unknown downsampling method {method!r}; choose one of {METHODS}")
    zarr_format = 3 if namespaced(version) else 2

    data, hints = _ImageInput.of(data)
    name = name if name is not None else hints.name
    shape = tuple(int(n) for n in data.shape)
    ax = resolve_axes(axes, hints.dims, len(shape), units, hints.units)
    orient(ax, orientation if orientation is not None else hints.orientation)
    names = [a.name for a in ax]
    # a mapping may name only some axes: the others keep the DataArray's coordinates or 1 / 0
    sc = [float(v) if v is not None else hints.scale.get(n, 1.0)
          for n, v in zip(names, per_axis(scale, names, "scale", None))]
    tr = [float(v) if v is not None else hints.translation.get(n, 0.0)
          for n, v in zip(names, per_axis(translation, names, "translation", None))]
    if any(not math.isfinite(v) or v == 0 for v in sc):
        raise MetadataError(f"scale must be finite and non-zero, got {sc}")
    if channels is None and hints.labels is not None and any(a.type == "channel" for a in ax):
        channels = hints.labels

    dtype = np.dtype(data.dtype)
    base_chunks = resolve_chunks(chunks, shape, ax, dtype.itemsize, data)
    shard_shape = resolve_shards(shards, ax, base_chunks, zarr_format)
    factors = _downscale_factors(downscale, ax)
    plan = plan_pyramid(shape, base_chunks, downscale=tuple(max(f, 1) for f in factors),
                        axes=[a.type == "space" for a in ax], levels=levels,
                        pixel_sizes=comparable_pixel_sizes(ax, sc))

    group = open_target(store, path, zarr_format, overwrite, storage_options)
    paths = [str(lv.index) for lv in plan]
    smallest = write_levels(
        group, data, dimension_names=names, paths=paths, level_shapes=[lv.shape for lv in plan],
        level_factors=[lv.factors for lv in plan], method=method, chunks=base_chunks, shards=shard_shape,
        compressors=compressors, fill_value=fill_value, overwrite=overwrite,
    )
    ms = _multiscale(ax, plan, paths, sc, tr, name=name or "image", method=method, factors=factors,
                     coordinate_system=coordinate_system if version == "0.6" else None)
    md = OmeMetadata(version=version, multiscales=[ms],
                     omero=omero(ax, smallest, channels, dtype, version) if dtype.kind in "iuf" else None)
    set_ome_attrs(group, md, version)
    return group
