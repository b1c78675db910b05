"""Write OME-Zarr images, label images and HCS plates (OME-NGFF 0.4 and 0.5).

Everything goes through zarrconv's core: groups and arrays are created with
``create_group``/``Group.create_array``, pixels are written by array assignment (numpy) or
``dask.array.store`` into the zarrconv Array (dask), and the OME metadata is written to
``Group.attrs`` last, so an interrupted write never advertises a half-written pyramid.

Dask input is written level by level: level 0 from the input graph, every further level
read back from the previous one in blocks of ``factor x`` the write grid, downsampled
chunk by chunk and stored, so that each output chunk is produced by exactly one task and
peak memory stays at a few chunks per worker thread.
"""

from __future__ import annotations

import colorsys
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import zarrconv as zc
from zarrconv.conventions.multiscales import METHODS, downsample, is_dask_array, level_transform, plan_pyramid
from zarrconv.errors import ContainsNodeError, MetadataError, NoTransformPathError

from ._lazy import DaskSource
from ._units import normalize_unit, to_meters
from .models import (
    WRITE_VERSIONS,
    Acquisition,
    Axis,
    Channel,
    CoordinateSystem,
    Dataset,
    ImageLabel,
    LabelColor,
    Multiscale,
    OmeMetadata,
    Omero,
    Plate,
    PlateWell,
    Scene,
    Transform,
    Well,
    WellImage,
    Window,
    _guess_type,
    is_v06,
    namespaced,
    parse_attrs,
)
from .ozx import is_ozx_target, write_via_directory
from .scene import build_graph
from .transforms import Transformation, parse_transformation

__all__ = ["default_axes", "label_color", "write_image", "write_labels", "write_plate", "write_scene"]

#: Target size of a default chunk.
_CHUNK_BYTES = 4 * 2**20
#: At most this many label values get an automatic colour.
_MAX_AUTO_COLORS = 4096
#: The omero display window is computed from the smallest level only if it is this small.
_WINDOW_BYTES = 64 * 2**20
_DEFAULT_COLORS = ("FF0000", "00FF00", "0000FF", "FFFF00", "FF00FF", "00FFFF", "FFFFFF")


# ------------------------------------------------------------------------------- inputs


def _is_dataarray(x: Any) -> bool:
    return type(x).__name__ == "DataArray" and hasattr(x, "dims") and hasattr(x, "coords")


def default_axes(ndim: int) -> list[str]:
    """Axis names used when none are given: the last ``ndim`` of t, c, z, y, x."""
    if not 2 <= ndim <= 5:
        raise MetadataError(f"OME-Zarr images have 2 to 5 dimensions, got {ndim}")
    return ["t", "c", "z", "y", "x"][5 - ndim:]


def _per_axis(value: Any, names: list[str], what: str, default: Any = None) -> list[Any]:
    """A per-axis list from a mapping (by axis name), a sequence, a scalar or None."""
    if value is None:
        return [default] * len(names)
    if isinstance(value, Mapping):
        unknown = set(value) - set(names)
        if unknown:
            raise MetadataError(f"{what} names unknown axes {sorted(unknown)}; axes are {names}")
        return [value.get(n, default) for n in names]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return [value] * len(names)
    value = list(value)
    if len(value) != len(names):
        raise MetadataError(f"{what} has {len(value)} entries for {len(names)} axes {names}")
    return value


def _infer_type(name: str, unit: str | None) -> str | None:
    guess = _guess_type(name)
    if guess is not None:
        return guess
    if unit is not None:
        for t in ("space", "time"):
            try:
                normalize_unit(unit, t)
                return t
            except ValueError:
                pass
    return None


def _resolve_axes(axes: Any, names_hint: list[str] | None, ndim: int, units: Any, coord_units: dict[str, str]) -> list[Axis]:
    if axes is None:
        names = names_hint or default_axes(ndim)
        given: list[Axis | None] = [None] * ndim
    elif isinstance(axes, str):
        names = list(axes)
        given = [None] * len(names)
    else:
        given, names = [], []
        for a in axes:
            if isinstance(a, Axis):
                given.append(a)
                names.append(a.name)
            elif isinstance(a, Mapping):
                ax = Axis.parse(a, "axes")
                given.append(ax)
                names.append(ax.name)
            else:
                given.append(None)
                names.append(str(a))
    if len(names) != ndim:
        raise MetadataError(f"{len(names)} axes {names} for data of {ndim} dimensions")
    if len(set(names)) != len(names):
        raise MetadataError(f"axis names must be unique, got {names}")
    unit_list = _per_axis(units, names, "units")
    out = []
    for i, n in enumerate(names):
        g = given[i]
        unit = unit_list[i] if unit_list[i] is not None else (g.unit if g is not None and g.unit else coord_units.get(n))
        typ = g.type if g is not None and g.type is not None else _infer_type(n, unit)
        try:
            unit = normalize_unit(unit, typ)
        except ValueError as e:
            raise MetadataError(f"axis {n!r}: {e}") from None
        out.append(Axis(n, typ, unit, dict(g.extra) if g is not None else {}, g.orientation if g is not None else None))
    _check_axes(out)
    return out


#: RFC-4's two named conventions, as orientations of the axes x, y and z.
_ORIENTATION_SYSTEMS = {
    "LPS": {"x": "right-to-left", "y": "anterior-to-posterior", "z": "inferior-to-superior"},
    "RAS": {"x": "left-to-right", "y": "posterior-to-anterior", "z": "inferior-to-superior"},
}


def _orient(axes: list[Axis], orientation: str | Mapping[str, str] | None) -> None:
    """Set the RFC-4 anatomical orientation of the named space axes (checked as when read)."""
    if orientation is None or orientation == {}:
        return
    if isinstance(orientation, str):
        if orientation.upper() not in _ORIENTATION_SYSTEMS:
            raise MetadataError(f"orientation {orientation!r}: give 'LPS', 'RAS' or {{axis: value}}")
        orientation = {k: v for k, v in _ORIENTATION_SYSTEMS[orientation.upper()].items()
                       if k in {a.name for a in axes}}
    by_name = {a.name: a for a in axes}
    for name, value in orientation.items():
        if name not in by_name:
            raise MetadataError(f"orientation for {name!r}, which is not one of the axes {list(by_name)}")
        ax = by_name[name]
        check = Axis.parse({"name": name, "type": ax.type, "orientation": {"type": "anatomical", "value": value}},
                           f"orientation of axis {name!r}")
        ax.orientation = check.orientation


def _check_axes(axes: list[Axis]) -> None:
    types = [a.type for a in axes]
    n_space = types.count("space")
    if not 2 <= n_space <= 3:
        raise MetadataError(f"OME-Zarr images need 2 or 3 space axes, got {n_space} in {[a.name for a in axes]}; "
                            "name them x/y/z or give axes=[{'name': ..., 'type': 'space'}, ...]")
    if types.count("time") > 1:
        raise MetadataError("OME-Zarr images have at most one time axis")
    other = [t for t in types if t not in ("space", "time")]
    if len(other) > 1:
        raise MetadataError(f"OME-Zarr images have at most one channel (or custom) axis, got {other}")
    rank = {"time": 0, "space": 2}
    ranks = [rank.get(t or "", 1) for t in types]
    if ranks != sorted(ranks):
        want = sorted(range(len(axes)), key=lambda i: ranks[i])
        raise MetadataError(
            f"OME-Zarr axes must be ordered time, channel/custom, then space; got {[a.name for a in axes]}. "
            f"Transpose the data to {[axes[i].name for i in want]} first"
            " (e.g. data.transpose(...) for a DataArray)")


def _coords_geometry(da_: Any) -> tuple[dict[str, float], dict[str, float], dict[str, str], list[str] | None]:
    """scale, translation, units and channel labels from a DataArray's coordinates."""
    scale: dict[str, float] = {}
    trans: dict[str, float] = {}
    units: dict[str, str] = {}
    labels: list[str] | None = None
    for dim in da_.dims:
        if dim not in da_.coords:
            continue
        c = da_.coords[dim]
        if isinstance(c.attrs.get("units"), str):
            units[dim] = c.attrs["units"]
        vals = np.asarray(c.values)
        if vals.dtype.kind in "iuf" and vals.ndim == 1 and vals.size:
            trans[dim] = float(vals[0])
            if vals.size > 1:
                steps = np.diff(vals.astype(np.float64))
                if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
                    raise MetadataError(f"coordinate {dim!r} is not evenly spaced; OME-Zarr needs a regular grid "
                                        "(a scale and a translation per axis)")
                scale[dim] = float(steps[0])
        elif vals.dtype.kind in "UOS" and vals.ndim == 1:
            labels = [str(v) for v in vals]
    return scale, trans, units, labels


def _default_chunks(shape: tuple[int, ...], axes: list[Axis], itemsize: int, data: Any) -> tuple[int, ...]:
    """One plane per chunk, tiled in y and x: a viewer showing one z plane reads only that
    plane's tiles. Tiles are the largest power-of-two square of at most ``_CHUNK_BYTES``
    (1024 x 1024 for 16-bit data, 2 MiB), or the y/x chunks of dask input when those are
    regular and no larger than 4 x that; a plane smaller than a tile is one chunk (below
    1 MiB for small images: a plane per chunk matters more to viewers than the chunk size)."""
    space = [i for i, a in enumerate(axes) if a.type == "space"]
    planes, tiled = space[:-2], space[-2:]  # z is chunked plane by plane
    out = [1] * len(shape)
    dask_chunks = getattr(data, "chunks", None) if is_dask_array(data) else None
    if dask_chunks is not None and all(len(set(dask_chunks[i][:-1])) <= 1 for i in tiled):
        for i in tiled:
            out[i] = min(dask_chunks[i][0], shape[i])
        if math.prod(out) * itemsize <= 4 * _CHUNK_BYTES:
            return tuple(max(c, 1) for c in out)
    side = int(2 ** math.floor(math.log2((_CHUNK_BYTES / max(itemsize, 1)) ** (1 / len(tiled)))))
    for i in tiled:
        out[i] = max(1, min(side, shape[i]))
    for i in planes:
        out[i] = 1
    return tuple(out)


def _comparable_pixel_sizes(axes: list[Axis], scale: list[float]) -> list[float] | None:
    """Level-0 pixel sizes in one unit across the space axes (the others keep their
    scale; they are never downsampled), for anisotropy-aware pyramids; None when the
    space units cannot be compared (some missing, or unknown to pint)."""
    space_units = {a.unit for a in axes if a.type == "space"}
    if len(space_units) == 1:
        return list(scale)
    if None in space_units:
        return None
    meters = {u: to_meters(u) for u in space_units if u is not None}
    if any(m is None for m in meters.values()):
        return None
    return [s * meters[a.unit] if a.type == "space" and a.unit is not None else s  # type: ignore[operator]
            for a, s in zip(axes, scale)]


def _resolve_chunks(chunks: Any, shape: tuple[int, ...], axes: list[Axis], itemsize: int, data: Any) -> tuple[int, ...]:
    names = [a.name for a in axes]
    if chunks is None or chunks == "auto":
        return _default_chunks(shape, axes, itemsize, data)
    if isinstance(chunks, int):
        base = _default_chunks(shape, axes, itemsize, None)
        return tuple(min(chunks, n) if a.type == "space" else base[i] for i, (a, n) in enumerate(zip(axes, shape)))
    vals = _per_axis(chunks, names, "chunks")
    base = _default_chunks(shape, axes, itemsize, data)
    return tuple(max(1, min(int(v), n)) if v is not None else base[i] for i, (v, n) in enumerate(zip(vals, shape)))


def _level_grid(chunks: tuple[int, ...], shards: tuple[int, ...] | None, shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    c = tuple(max(1, min(ch, n)) for ch, n in zip(chunks, shape))
    if shards is None:
        return c, None
    s = tuple(min(sh, -(-n // ci) * ci) if n else ci for sh, n, ci in zip(shards, shape, c))
    s = tuple(max(ci, (si // ci) * ci) for si, ci in zip(s, c))
    return c, s


# ------------------------------------------------------------------------------ writing


def _open_target(store: Any, path: str | None, zarr_format: int, overwrite: bool,
                 storage_options: dict | None) -> zc.Group:
    if isinstance(store, zc.Group):
        if store.zarr_format != zarr_format:
            raise MetadataError(f"cannot write OME-Zarr for Zarr v{zarr_format} into a Zarr v{store.zarr_format} "
                                f"group ({store.store.url}); 0.4 needs v2, 0.5 needs v3")
        if not path:
            return store
        return store.create_group(path, overwrite=overwrite)
    return zc.create_group(store, path, zarr_format=zarr_format, overwrite=overwrite, storage_options=storage_options)


def _align_to_grid(x: Any, grid: tuple[int, ...]) -> Any:
    """Rechunk a dask array (only where needed) so that every block boundary falls on the
    write grid: then each stored chunk or shard is written by exactly one task."""
    new: list[Any] = []
    changed = False
    for cs, g in zip(x.chunks, grid):
        bounds = np.cumsum(cs)[:-1]
        if np.all(bounds % g == 0):
            new.append(cs)
        else:
            changed = True
            new.append(g * max(1, round(cs[0] / g)))
    return x.rechunk(tuple(new)) if changed else x


def _store_dask(x: Any, arr: Any) -> None:
    import dask.array as da

    da.store(x, arr, lock=False, compute=True)


def _reduce_block(
    block_info: Any = None,
    *,
    src: Any,
    factors: tuple[int, ...],
    method: str,
    step: tuple[int, ...],
) -> np.ndarray:
    """One output chunk of the next level, computed from the previous level one storage
    chunk at a time (so a task holds one output chunk and one input chunk, not the
    ``prod(factors)`` input chunks the output chunk stands for)."""
    loc = block_info[None]["array-location"]
    out = np.empty(tuple(b - a for a, b in loc), dtype=src.dtype)
    lo = [a * f for (a, _), f in zip(loc, factors)]
    hi = [min(b * f, n) for (_, b), f, n in zip(loc, factors, src.shape)]
    ranges = [[(s, min(s + st, h)) for s in range(l0, h, st)] for l0, h, st in zip(lo, hi, step)]
    for box in itertools.product(*ranges):
        reduced = downsample(np.asarray(src[tuple(slice(s, e) for s, e in box)]), factors, method)
        start = [(s - l0) // f for (s, _), l0, f in zip(box, lo, factors)]
        out[tuple(slice(o, o + n) for o, n in zip(start, reduced.shape))] = reduced
    return out


def _next_level(prev_arr: Any, arr: Any, grid: tuple[int, ...], factors: tuple[int, ...], method: str,
                token: str) -> Any:
    """Lazy dask array of the next level, one task per chunk (or shard) of ``arr``."""
    import dask.array as da

    if method == "gaussian":  # needs halos: dask's map_overlap over blocks of factor x the grid
        src = da.from_array(DaskSource(prev_arr), chunks=tuple(g * f for g, f in zip(grid, factors)),
                            lock=False, asarray=True, fancy=False, name=f"zarrconv-ome-src-{token}")
        return downsample(src, factors, method)
    # read the previous level one (inner) chunk at a time -- sharded arrays serve inner
    # chunks by byte range; a chunk length that is not a multiple of the factor (only
    # possible for user-chosen chunks) is read f chunks at a time
    step = tuple(g if g % f == 0 else g * f for g, f in zip(prev_arr.chunks, factors))
    out_chunks = da.core.normalize_chunks(grid, arr.shape)
    return da.map_blocks(
        _reduce_block, dtype=arr.dtype, chunks=out_chunks, meta=np.empty((0,) * arr.ndim, dtype=arr.dtype),
        name=f"zarrconv-ome-level-{token}", src=DaskSource(prev_arr), factors=tuple(factors), method=method,
        step=step,
    )


def _write_pyramid(
    group: zc.Group,
    data: Any,
    *,
    axes: list[Axis],
    paths: list[str],
    level_shapes: list[tuple[int, ...]],
    level_factors: list[tuple[int, ...]],
    method: str,
    chunks: tuple[int, ...],
    shards: tuple[int, ...] | None,
    compressors: Any,
    fill_value: Any,
    overwrite: bool,
) -> Any:
    """Create and fill one array per level; returns the smallest level (numpy for numpy
    input, else the zarrconv Array, so that nothing is read unless needed)."""
    dims = [a.name for a in axes]
    zarr_format = group.zarr_format
    dtype = np.dtype(data.dtype)
    extra: dict[str, Any] = {"chunk_key_encoding": {"name": "v2", "separator": "/"}} if zarr_format == 2 else {}
    prev_arr = None
    prev_np: np.ndarray | None = None
    dask_input = is_dask_array(data)
    for i, (path, shape) in enumerate(zip(paths, level_shapes)):
        c, s = _level_grid(chunks, shards, shape)
        arr = group.create_array(
            path, shape=shape, dtype=dtype, chunks=c, shards=s, compressors=compressors,
            fill_value=fill_value, dimension_names=dims, overwrite=overwrite, zarr_format=zarr_format, **extra,
        )
        grid = s or c
        if i == 0:
            if dask_input:
                _store_dask(_align_to_grid(data, grid), arr)
            else:
                prev_np = np.ascontiguousarray(data)
                arr[...] = prev_np
        else:
            f = level_factors[i]
            if dask_input:
                _store_dask(_next_level(prev_arr, arr, grid, f, method, f"{group.store.url}-{group.path}-{path}"), arr)
            else:
                assert prev_np is not None
                prev_np = downsample(prev_np, f, method)
                arr[...] = prev_np
        prev_arr = arr
    return prev_np if prev_np is not None else prev_arr


def _omero(axes: list[Axis], smallest_level: Any, channels: Any, dtype: np.dtype, version: str) -> Omero | None:
    cidx = next((i for i, a in enumerate(axes) if a.type == "channel"), None)
    if cidx is None and channels is None:
        return None
    n = smallest_level.shape[cidx] if cidx is not None else 1
    # display windows from the smallest level, if it is small enough to read in passing
    small = math.prod(smallest_level.shape) * dtype.itemsize <= _WINDOW_BYTES
    smallest = np.asarray(smallest_level[...]) if small else np.empty((0,) * len(axes), dtype=dtype)
    specs: list[Any] = list(channels) if channels is not None else [None] * n
    if len(specs) != n:
        raise MetadataError(f"{len(specs)} channels given for a channel axis of length {n}")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo_all, hi_all = float(info.min), float(info.max)
    else:
        lo_all = float(np.nanmin(smallest)) if smallest.size and dtype.kind == "f" else 0.0
        hi_all = float(np.nanmax(smallest)) if smallest.size and dtype.kind == "f" else 1.0
    out = []
    for k, spec in enumerate(specs):
        plane = np.take(smallest, k, axis=cidx) if cidx is not None and smallest.size else smallest
        if plane.size and dtype.kind in "iuf":
            start, end = float(np.nanmin(plane)), float(np.nanmax(plane))
        else:
            start, end = lo_all, hi_all
        ch = Channel(label=f"c{k}" if cidx is not None else "c0", color=_DEFAULT_COLORS[k % len(_DEFAULT_COLORS)]
                     if n > 1 else "FFFFFF", window=Window(start, end, min(lo_all, start), max(hi_all, end)),
                     active=True, family="linear", coefficient=1.0, inverted=False)
        if isinstance(spec, str):
            ch.label = spec
        elif isinstance(spec, Mapping):
            parsed = Channel.parse(spec, "channels")
            for key in Channel._KEYS:
                v = getattr(parsed, key)
                if v is not None:
                    setattr(ch, key, v)
            ch.extra.update(parsed.extra)
        elif isinstance(spec, Channel):
            ch = spec
        out.append(ch)
    z = next((i for i, a in enumerate(axes) if a.type == "space" and len([b for b in axes if b.type == "space"]) == 3), None)
    rdefs = {"defaultT": 0, "model": "color" if n > 1 else "greyscale"}
    if z is not None:
        rdefs["defaultZ"] = int(smallest_level.shape[z] // 2)
    return Omero(channels=out, rdefs=rdefs, version=None if namespaced(version) else version)


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
        "mean", "gaussian", "nearest" or "mode" (see :mod:`zarrconv.conventions.multiscales`).
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
    if shards is not None and zarr_format == 2:
        raise MetadataError("shards need OME-Zarr 0.5 (Zarr v3); OME-Zarr 0.4 is Zarr v2")

    dims_hint: list[str] | None = None
    coord_scale: dict[str, float] = {}
    coord_trans: dict[str, float] = {}
    coord_units: dict[str, str] = {}
    coord_labels: list[str] | None = None
    coord_orient: dict[str, str] = {}
    if _is_dataarray(data):
        coord_orient = {str(k): str(c.attrs["orientation"]) for k, c in data.coords.items()
                        if "orientation" in c.attrs}
        dims_hint = [str(d) for d in data.dims]
        coord_scale, coord_trans, coord_units, coord_labels = _coords_geometry(data)
        if name is None and data.name is not None:
            name = str(data.name)
        data = data.data
    if not is_dask_array(data):
        data = np.asarray(data)
    shape = tuple(int(n) for n in data.shape)
    ax = _resolve_axes(axes, dims_hint, len(shape), units, coord_units)
    _orient(ax, orientation if orientation is not None else coord_orient)
    names = [a.name for a in ax]
    # a mapping may name only some axes: the others keep the DataArray's coordinates or 1 / 0
    sc = [float(v) if v is not None else coord_scale.get(n, 1.0)
          for n, v in zip(names, _per_axis(scale, names, "scale", None))]
    tr = [float(v) if v is not None else coord_trans.get(n, 0.0)
          for n, v in zip(names, _per_axis(translation, names, "translation", None))]
    if any(not math.isfinite(v) or v == 0 for v in sc):
        raise MetadataError(f"scale must be finite and non-zero, got {sc}")
    if channels is None and coord_labels is not None and any(a.type == "channel" for a in ax):
        channels = coord_labels

    dtype = np.dtype(data.dtype)
    base_chunks = _resolve_chunks(chunks, shape, ax, dtype.itemsize, data)
    shard_shape: tuple[int, ...] | None = None
    if shards is not None:
        vals = _per_axis(shards, names, "shards") if not isinstance(shards, int) else [
            shards if a.type == "space" else c for a, c in zip(ax, base_chunks)]
        shard_shape = tuple(int(v) if v is not None else c for v, c in zip(vals, base_chunks))
        if any(s % c for s, c in zip(shard_shape, base_chunks)):
            raise MetadataError(f"shards {shard_shape} must be a multiple of chunks {base_chunks}")

    space_mask = [a.type == "space" for a in ax]
    if isinstance(downscale, Mapping):
        factors = [int(downscale.get(n, 2)) if m else 1 for n, m in zip(names, space_mask)]
    elif isinstance(downscale, int):
        factors = [downscale if m else 1 for m in space_mask]
    else:
        factors = [int(f) if m else 1 for f, m in zip(_per_axis(list(downscale), names, "downscale"), space_mask)]
    plan = plan_pyramid(shape, base_chunks, downscale=tuple(max(f, 1) for f in factors), axes=space_mask,
                        levels=levels, pixel_sizes=_comparable_pixel_sizes(ax, sc))

    group = _open_target(store, path, zarr_format, overwrite, storage_options)
    paths = [str(lv.index) for lv in plan]
    smallest = _write_pyramid(
        group, data, axes=ax, paths=paths, level_shapes=[lv.shape for lv in plan],
        level_factors=[lv.factors for lv in plan], method=method, chunks=base_chunks, shards=shard_shape,
        compressors=compressors, fill_value=fill_value, overwrite=overwrite,
    )

    datasets = []
    for lv, p in zip(plan, paths):
        s_l, t_l = level_transform(sc, tr, lv.cumulative)
        trs = [Transform("scale", s_l)]
        if any(v != 0 for v in t_l):
            trs.append(Transform("translation", t_l))
        datasets.append(Dataset(p, trs))
    ms = Multiscale(
        axes=ax, datasets=datasets, name=name or "image", type=method,
        coordinate_systems=[CoordinateSystem(coordinate_system, ax)] if version == "0.6" else None,
        metadata={
            "description": "downsampled level by level from the previous one; pixel i of a level covers the "
                           "block [i*f, (i+1)*f) of the previous level",
            "method": "zarrconv.conventions.multiscales.downsample",
            "version": zc.__version__,
            "kwargs": {"method": method, "factors": factors},
        },
    )
    md = OmeMetadata(version=version, multiscales=[ms],
                     omero=_omero(ax, smallest, channels, dtype, version) if dtype.kind in "iuf" else None)
    _set_ome_attrs(group, md, version)
    return group


def _set_ome_attrs(group: zc.Group, md: OmeMetadata, version: str) -> None:
    """Write the OME attributes, keeping the group's other attributes (and, in 0.5, other
    keys of an existing ``ome`` object)."""
    new = md.to_attrs(version)
    if namespaced(version):
        old = group.attrs.get("ome")
        if isinstance(old, Mapping):
            new = {"ome": {**old, **new["ome"]}}
    group.attrs.update(new)


# ------------------------------------------------------------------------------- labels


def label_color(value: int) -> tuple[int, int, int, int]:
    """Deterministic display colour of a label value: transparent for 0, otherwise a
    saturated hue spread by the golden ratio (neighbouring labels look different)."""
    if value == 0:
        return (0, 0, 0, 0)
    hue = (int(value) * 0.6180339887498949) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return (round(r * 255), round(g * 255), round(b * 255), 255)


def _factors_between(prev: Sequence[int], cur: Sequence[int], where: str) -> tuple[int, ...]:
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


def write_labels(
    labels: Any,
    store: Any,
    name: str,
    *,
    path: str | None = None,
    colors: Mapping[int, Sequence[int]] | Sequence[Mapping[str, Any]] | None = None,
    properties: Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = None,
    method: str = "mode",
    chunks: Any = None,
    shards: Any = None,
    compressors: Any = "auto",
    overwrite: bool = False,
    storage_options: dict | None = None,
) -> zc.Group:
    """Add a label image to an OME-Zarr image.

    The label image is written to ``<image>/labels/<name>`` with the image's axes, the same
    number of levels and the same coordinate transformations, so it overlays the image
    exactly; it is listed in the ``labels`` group. Its dimensions must equal the image's
    (or be 1, e.g. one channel of labels for a multichannel image); data without the
    image's channel axis gets one of length 1.

    Parameters
    ----------
    labels
        Integer numpy array, dask array or ``xr.DataArray``.
    store, path
        The image group (anything :func:`zarrconv.open_group` accepts, or a Group).
    name
        Name of the label image inside ``labels``.
    colors
        ``{label value: (r, g, b, a)}`` or a list of ``{"label-value": v, "rgba": [...]}``.
        Default: one colour per label value present (up to 4096; 0 is transparent).
    properties
        ``{label value: {key: value}}`` or a list of dicts with "label-value".
    method
        Downsampling method for the levels, "mode" by default ("nearest" is faster).

    Returns
    -------
    The label image group.
    """
    if isinstance(store, zc.Group):
        image = store[path] if path else store
    else:
        image = zc.open_group(store, path=path, mode="r+", storage_options=storage_options)
    where = f"{image.store.url.rstrip('/')}/{image.path}"
    md = parse_attrs(image.attrs.asdict(), where)
    if md is None or md.multiscales is None:
        raise MetadataError(f"{where}: labels can only be added to an OME-Zarr image (no 'multiscales' found)")
    version = "0.6" if is_v06(md.version) else md.version
    if version not in WRITE_VERSIONS:
        raise MetadataError(f"{where}: cannot add labels to an OME-Zarr {md.version} image; only 0.4, 0.5 and 0.6")
    ms = md.multiscales[0]
    img_shapes = [tuple(image[d.path].shape) for d in ms.datasets]

    if _is_dataarray(labels):
        labels = labels.data
    if not is_dask_array(labels):
        labels = np.asarray(labels)
    dtype = np.dtype(labels.dtype)
    if dtype.kind not in "iu":
        raise MetadataError(f"label images must hold integers (u)int8..64, got {dtype}; cast with .astype(...)")
    base = img_shapes[0]
    if labels.ndim == len(base) - 1:
        cidx = next((i for i, a in enumerate(ms.axes) if a.type == "channel"), None)
        if cidx is None:
            raise MetadataError(f"labels of shape {labels.shape} do not match the image's {base}")
        labels = labels[(slice(None),) * cidx + (None,)]
    lshape = tuple(int(n) for n in labels.shape)
    if len(lshape) != len(base) or any(n not in (b, 1) for n, b in zip(lshape, base)):
        raise MetadataError(f"labels of shape {lshape} must match the image's level-0 shape {base} "
                            "(or be 1 along an axis)")

    level_factors: list[tuple[int, ...]] = [(1,) * len(base)]
    level_shapes = [lshape]
    for k in range(1, len(img_shapes)):
        f = _factors_between(img_shapes[k - 1], img_shapes[k], where)
        f = tuple(ff if n > 1 else 1 for ff, n in zip(f, level_shapes[-1]))
        level_factors.append(f)
        level_shapes.append(tuple(-(-n // ff) for n, ff in zip(level_shapes[-1], f)))

    zarr_format = image.zarr_format
    labels_group = image.get("labels")
    if labels_group is None:
        labels_group = image.create_group("labels")
    elif not isinstance(labels_group, zc.Group):
        raise ContainsNodeError(f"{where}/labels is an array, not a labels group")
    label_group = labels_group.create_group(name, overwrite=overwrite)

    itemsize = dtype.itemsize
    base_chunks = _resolve_chunks(chunks, lshape, ms.axes, itemsize, labels)
    shard_shape = None
    if shards is not None:
        if zarr_format == 2:
            raise MetadataError("shards need OME-Zarr 0.5 (Zarr v3)")
        vals = _per_axis(shards, ms.axis_names, "shards") if not isinstance(shards, int) else [
            shards if a.type == "space" else c for a, c in zip(ms.axes, base_chunks)]
        shard_shape = tuple(int(v) if v is not None else c for v, c in zip(vals, base_chunks))
    paths = [d.path for d in ms.datasets]
    _write_pyramid(
        label_group, labels, axes=ms.axes, paths=paths, level_shapes=level_shapes, level_factors=level_factors,
        method=method, chunks=base_chunks, shards=shard_shape, compressors=compressors, fill_value=0,
        overwrite=overwrite,
    )

    # colours and properties
    if colors is None:
        lv0 = label_group[paths[0]]
        if is_dask_array(labels):
            import dask.array as da

            values = da.unique(da.from_array(DaskSource(lv0), chunks=lv0.shards or lv0.chunks)).compute()
        else:
            values = np.unique(labels)
        color_list = [LabelColor(int(v), label_color(int(v))) for v in values[:_MAX_AUTO_COLORS]]
    elif isinstance(colors, Mapping):
        color_list = [LabelColor(int(k), tuple(int(c) for c in v)) for k, v in colors.items()]  # type: ignore[misc]
    else:
        color_list = ImageLabel.parse({"colors": list(colors)}, "colors").colors or []
    props: list[dict[str, Any]] | None = None
    if properties is not None:
        if isinstance(properties, Mapping):
            props = [{"label-value": int(k), **dict(v)} for k, v in properties.items()]
        else:
            props = [dict(p) for p in properties]
            if any("label-value" not in p for p in props):
                raise MetadataError("every label property needs a 'label-value'")
    label_ms = Multiscale(
        axes=[Axis(a.name, a.type, a.unit, dict(a.extra)) for a in ms.axes],
        datasets=[Dataset(d.path, list(d.transforms)) for d in ms.datasets],
        transforms=list(ms.transforms), name=name, type=method,
        metadata={"method": "zarrconv.conventions.multiscales.downsample", "version": zc.__version__,
                  "kwargs": {"method": method}},
    )
    lmd = OmeMetadata(version=version, multiscales=[label_ms],
                      image_label=ImageLabel(colors=color_list or None, properties=props,
                                             source={"image": "../../"}))
    _set_ome_attrs(label_group, lmd, version)

    existing = parse_attrs(labels_group.attrs.asdict(), f"{where}/labels")
    names = list(existing.labels or []) if existing is not None else []
    if name not in names:
        names.append(name)
    _set_ome_attrs(labels_group, OmeMetadata(version=version, labels=names), version)
    return label_group


# -------------------------------------------------------------------------------- plate


def _natural_key(s: str) -> tuple[Any, ...]:
    return (0, int(s), "") if s.isdigit() else (1, len(s), s)


def write_plate(
    store: Any,
    images: Mapping[str, Any],
    *,
    path: str | None = None,
    rows: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    name: str | None = None,
    acquisitions: Sequence[int | Mapping[str, Any]] | None = None,
    field_acquisitions: Mapping[str, int | Sequence[int]] | None = None,
    version: str = "0.5",
    overwrite: bool = False,
    storage_options: dict | None = None,
    **image_kwargs: Any,
) -> zc.Group:
    """Write a high-content-screening plate.

    Parameters
    ----------
    store, path
        Where to create the plate group.
    images
        ``{"B/3": [field0, field1, ...]}``: the fields of view of each well (a single
        array is one field). Each field is written with :func:`write_image` and
        ``image_kwargs`` into ``<row>/<column>/<index>``.
    rows, columns
        All row and column names of the physical plate (default: those used by the wells,
        in natural order). Names are alphanumeric.
    name
        Plate name.
    acquisitions
        Acquisition ids or acquisition dicts (``id``, ``name``, ``maximumfieldcount``...).
    field_acquisitions
        Acquisition id of the fields of each well (an int for all of a well's fields).
    version
        "0.5" or "0.4".

    Returns
    -------
    The plate group.
    """
    if version not in WRITE_VERSIONS:
        raise MetadataError(f"cannot write OME-Zarr version {version!r}; choose one of {WRITE_VERSIONS}")
    if not images:
        raise MetadataError("a plate needs at least one well with images")
    wells: dict[str, list[Any]] = {}
    for wpath, fields in images.items():
        parts = wpath.split("/")
        if len(parts) != 2 or not all(p.isalnum() and p.isascii() for p in parts):
            raise MetadataError(f"well path {wpath!r} must be '<row>/<column>' with alphanumeric names")
        flist = [fields] if hasattr(fields, "shape") else list(fields)
        if not flist:
            raise MetadataError(f"well {wpath!r} has no images")
        wells[wpath] = flist
    used_rows = sorted({w.split("/")[0] for w in wells}, key=_natural_key)
    used_cols = sorted({w.split("/")[1] for w in wells}, key=_natural_key)
    rows = list(rows) if rows is not None else used_rows
    columns = list(columns) if columns is not None else used_cols
    for kind, names, used in (("row", rows, used_rows), ("column", columns, used_cols)):
        if len(set(names)) != len(names):
            raise MetadataError(f"duplicate {kind} names in {names}")
        bad = [n for n in names if not (n.isalnum() and n.isascii())]
        if bad:
            raise MetadataError(f"{kind} names must be alphanumeric, got {bad}")
        missing = [u for u in used if u not in names]
        if missing:
            raise MetadataError(f"wells use {kind}s {missing} that are not in {kind}s={names}")
    acqs: list[Acquisition] | None = None
    if acquisitions is not None:
        acqs = []
        for a in acquisitions:
            if isinstance(a, Mapping):
                if not isinstance(a.get("id"), int):
                    raise MetadataError(f"acquisition {a!r} has no integer 'id'")
                acqs.append(Acquisition(**{k: a.get(k) for k in Acquisition._KEYS},
                                        extra={k: v for k, v in a.items() if k not in Acquisition._KEYS}))
            else:
                acqs.append(Acquisition(int(a)))
    acq_ids = {a.id for a in acqs or []}

    zarr_format = 3 if namespaced(version) else 2
    if isinstance(store, zc.Group):
        plate_group = store.create_group(path, overwrite=overwrite) if path else store
    else:
        plate_group = zc.create_group(store, path, zarr_format=zarr_format, overwrite=overwrite,
                                      storage_options=storage_options)
    plate_wells = []
    max_fields = 0
    for wpath in sorted(wells, key=lambda w: (rows.index(w.split("/")[0]), columns.index(w.split("/")[1]))):
        r, c = wpath.split("/")
        row_group = plate_group.get(r)
        if row_group is None:
            row_group = plate_group.create_group(r)
        well_group = row_group.create_group(c, overwrite=overwrite)
        fa = (field_acquisitions or {}).get(wpath)
        fields = wells[wpath]
        fa_list = [fa] * len(fields) if isinstance(fa, int) or fa is None else list(fa)
        if len(fa_list) != len(fields):
            raise MetadataError(f"well {wpath!r}: {len(fa_list)} acquisitions for {len(fields)} fields")
        well_images = []
        for k, (field_data, acq) in enumerate(zip(fields, fa_list)):
            if acq is not None and acqs is not None and acq not in acq_ids:
                raise MetadataError(f"well {wpath!r} field {k}: acquisition {acq} is not in the plate's {sorted(acq_ids)}")
            write_image(field_data, well_group, path=str(k), version=version, **image_kwargs)
            well_images.append(WellImage(str(k), acq))
        _set_ome_attrs(well_group, OmeMetadata(version=version, well=Well(well_images)), version)
        plate_wells.append(PlateWell(wpath, rows.index(r), columns.index(c)))
        max_fields = max(max_fields, len(fields))
    plate = Plate(rows=rows, columns=columns, wells=plate_wells, acquisitions=acqs, field_count=max_fields,
                  name=name or "plate")
    _set_ome_attrs(plate_group, OmeMetadata(version=version, plate=plate), version)
    return plate_group


# ------------------------------------------------------------------------------- scenes


def write_scene(
    store: Any,
    transformations: Sequence[Transformation | Mapping[str, Any]],
    coordinate_systems: Sequence[CoordinateSystem | Mapping[str, Any]] = (),
    *,
    path: str | None = None,
    storage_options: dict | None = None,
) -> zc.Group:
    """Write OME-Zarr 0.6 ``scene`` metadata on the (Zarr v3) group above the images it relates.

    ``transformations`` (objects or their JSON) link coordinate systems of the images below
    (``{"name", "path"}`` with the image's path) or of the scene itself
    (``coordinate_systems``, ``{"name"}`` without a path). Every system they name must exist:
    the scene is checked through the same graph :func:`transform_coordinates` uses, and the
    group's previous attributes are restored if it does not hold. Returns the scene group.
    """
    if isinstance(store, zc.Group):
        node = store[path] if path else store
        if not isinstance(node, zc.Group):
            raise MetadataError(f"{store.store.url}/{path} is an array, not a group for a scene")
        group = node
    else:
        group = zc.open_group(store, path=path, mode="r+", storage_options=storage_options)
    if group.zarr_format != 3:
        raise MetadataError(f"{group.store.url}: an OME-Zarr 0.6 scene needs a Zarr v3 group")
    where = f"{group.store.url}/{group.path} scene".replace("//", "/")
    ts = [t if isinstance(t, Transformation) else parse_transformation(t, f"{where}.coordinateTransformations[{i}]")
          for i, t in enumerate(transformations)]
    css = [c if isinstance(c, CoordinateSystem) else CoordinateSystem.parse(c, f"{where}.coordinateSystems[{i}]")
           for i, c in enumerate(coordinate_systems)]
    old = group.attrs.asdict()
    _set_ome_attrs(group, OmeMetadata(version="0.6", scene=Scene(ts, css)), "0.6")
    try:
        graph = build_graph(group)
        for i, t in enumerate(ts):
            for end in (t.input, t.output):
                if end is None or not end.name:
                    raise MetadataError(f"{where}: transformation {i} needs an input and an output with a name")
                graph.find(end.name, end.path)
    except (MetadataError, NoTransformPathError):
        group.attrs.put(old)
        raise
    return group
