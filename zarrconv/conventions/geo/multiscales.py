"""Geospatial multiscale pyramids (``multiscales`` + ``proj:`` + ``spatial:`` conventions).

:func:`build_multiscales` turns a georeferenced Dataset into an ``xr.DataTree``::

    /            zarr_conventions [multiscales, proj, spatial], multiscales {layout, ...},
                 proj:code/proj:wkt2, spatial:dimensions, spatial:bbox
    /0           the full-resolution level (assign_crs'd: CF + proj: + spatial:)
    /1           downsampled by 2 along the horizontal dimensions only, from /0
    ...

Downsampling is zarrconv's shared :func:`zarrconv.conventions.pyramid.downsample`
(lazy, chunk by chunk, for dask-backed data). Level ``k`` has the same origin as level 0
and cells ``factor**k`` times larger; its shape is ``ceil(n / factor)`` of the previous
level's (the last row/column of cells may extend past the original extent).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import xarray as xr

from zarrconv.conventions.cf import spatial_dims
from zarrconv.conventions.geo import affine, registry
from zarrconv.conventions.geo._crs import proj_attrs, to_crs
from zarrconv.conventions.geo._read import crs as read_crs
from zarrconv.conventions.geo._read import grid_mapping_name
from zarrconv.conventions.geo._read import transform as read_transform
from zarrconv.conventions.geo._write import assign_crs, clean_attrs
from zarrconv.conventions.pyramid import METHODS, downsample, plan_pyramid
from zarrconv.errors import MetadataError

__all__ = ["RESAMPLING_NAMES", "build_multiscales"]

#: zarrconv downsampling method -> ``resampling_method`` name written in the layout
#: (GDAL's vocabulary, as the multiscales convention lists it).
RESAMPLING_NAMES: dict[str, str] = {
    "mean": "average",
    "gaussian": "gauss",
    "nearest": "nearest",
    "mode": "mode",
}
_KEEP_ENCODING = ("dtype", "_FillValue", "missing_value", "scale_factor", "add_offset", "units", "calendar")


def _level_encoding(encoding: Mapping[str, Any]) -> dict[str, Any]:
    """Value-encoding keys only: chunking/compression of the source does not fit a level."""
    return {k: v for k, v in encoding.items() if k in _KEEP_ENCODING}


def _downsample_var(
    var: xr.Variable, factors_by_dim: Mapping[Hashable, int], method: str
) -> xr.Variable:
    factors = tuple(factors_by_dim.get(d, 1) for d in var.dims)
    if var.dtype.kind not in "biufc":
        method = "nearest" if method in ("mean", "gaussian") else method
    data = downsample(var.data, factors, method)
    return xr.Variable(var.dims, data, attrs=dict(var.attrs), encoding=_level_encoding(var.encoding))


def _coarsen_level(
    prev: xr.Dataset, y: Hashable, x: Hashable, fy: int, fx: int, method: str, drop: set[Hashable]
) -> xr.Dataset:
    factors = {y: fy, x: fx}
    data_vars = {}
    for name, var in prev.data_vars.items():
        if name in drop:
            continue
        if x in var.dims or y in var.dims:
            data_vars[name] = _downsample_var(var.variable, factors, method)
    coords = {}
    for name, var in prev.coords.items():
        if name in (x, y) or name in drop:
            continue  # x/y are recomputed from the level's transform by assign_crs
        if x in var.dims or y in var.dims:
            coord_method = "mean" if var.dtype.kind in "fc" else "nearest"
            coords[name] = _downsample_var(var.variable, factors, coord_method)
        else:
            coords[name] = var.variable
    return xr.Dataset(data_vars, coords=coords, attrs=dict(prev.attrs))


def build_multiscales(
    ds: xr.Dataset | xr.DataArray,
    *,
    levels: int | None = None,
    method: str = "mean",
    factor: int = 2,
    tile_size: int = 256,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    crs: Any = None,
) -> xr.DataTree:
    """Build a geospatial multiscale pyramid of ``ds`` as an ``xr.DataTree``.

    Only the horizontal (X/Y) dimensions are downsampled; variables without them stay in
    level ``0`` only, coordinates without them are repeated on every level. Each level
    is a child group ``"0"``, ``"1"``, ... georeferenced with :func:`assign_crs` (CF grid
    mapping, coordinates, ``proj:``/``spatial:``); the root carries the ``multiscales``
    layout (``asset``, ``derived_from``, ``transform`` scale/translation,
    ``spatial:shape``, ``spatial:transform``, ``resampling_method`` per level).

    Write it with ``zc.to_zarr(tree, store)`` (or ``tree.to_zarr``); dask-backed input
    stays lazy until then and is processed chunk by chunk.

    Parameters
    ----------
    ds
        Georeferenced data: a CRS in any encoding :func:`crs` reads (or ``crs=``) and a
        transform :func:`transform` reads (regular X/Y coordinates or attributes).
    levels
        Total number of levels including full resolution; by default levels are added
        until both horizontal dimensions fit in ``tile_size``.
    method
        ``"mean"``, ``"gaussian"``, ``"nearest"`` or ``"mode"`` (see
        :func:`zarrconv.conventions.pyramid.downsample`). Non-numeric variables use
        nearest for mean/gaussian.
    factor
        Downsampling factor between consecutive levels.
    tile_size
        Stop criterion when ``levels`` is None.
    x_dim, y_dim
        Horizontal dimensions, when they cannot be detected.
    crs
        CRS to use when ``ds`` carries none (or to override it).

    Raises
    ------
    MetadataError
        No CRS, no transform, or undetectable horizontal dimensions.
    ValueError
        Unknown ``method`` or invalid ``levels``/``factor``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown downsampling method {method!r}; choose one of {', '.join(METHODS)}")
    if int(factor) < 2:
        raise ValueError(f"factor must be an integer >= 2, got {factor!r}")
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name if ds.name is not None else "data")
    y, x = spatial_dims(ds, x_dim=x_dim, y_dim=y_dim)
    c = to_crs(crs, where="crs") if crs is not None else read_crs(ds)
    if c is None:
        raise MetadataError("build_multiscales: the dataset has no CRS; pass crs= or use assign_crs first")
    t0 = read_transform(ds, x_dim=x, y_dim=y)
    if t0 is None:
        raise MetadataError(
            f"build_multiscales: no affine transform: the {x!r}/{y!r} coordinates are missing or "
            "irregular and no spatial:transform/GeoTransform attribute is present"
        )
    height, width = int(ds.sizes[y]), int(ds.sizes[x])
    plan = plan_pyramid((height, width), (tile_size, tile_size), downscale=int(factor), levels=levels)

    gm = grid_mapping_name(ds)
    drop = {gm} if gm is not None else set()
    base = ds.drop_vars([n for n in drop if n in ds.variables])
    base = base.drop_vars([n for n in (x, y) if n in base.coords]).copy(deep=False)
    base.attrs = clean_attrs(dict(ds.attrs))
    for var in base.variables.values():
        var.attrs = {k: v for k, v in clean_attrs(dict(var.attrs)).items() if k != "grid_mapping"}

    resampling = RESAMPLING_NAMES[method]
    nodes: dict[str, xr.Dataset] = {}
    layout: list[dict[str, Any]] = []
    prev = base
    for level in plan:
        if level.index == 0:
            current = base
        else:
            fy, fx = level.factors
            current = _coarsen_level(prev, y, x, fy, fx, method, drop)
        fy_total, fx_total = level.cumulative
        t = affine.scaled(t0, fx_total, fy_total)
        nodes[str(level.index)] = assign_crs(current, c, transform=t, x_dim=x, y_dim=y)
        item: dict[str, Any] = {"asset": str(level.index)}
        if level.index > 0:
            item["derived_from"] = str(level.index - 1)
            item["transform"] = {
                "scale": [float(level.factors[0]), float(level.factors[1])],
                "translation": [0.0, 0.0],
            }
            item["resampling_method"] = resampling
        else:
            item["transform"] = {"scale": [1.0, 1.0], "translation": [0.0, 0.0]}
        item["spatial:shape"] = [int(level.shape[0]), int(level.shape[1])]
        item["spatial:transform"] = list(t)
        layout.append(item)
        prev = current

    root_attrs = dict(base.attrs)
    registry.add_registration(root_attrs, "multiscales", "proj", "spatial")
    root_attrs["multiscales"] = {"layout": layout, "resampling_method": resampling}
    root_attrs.update(proj_attrs(c))
    root_attrs["spatial:dimensions"] = [str(y), str(x)]
    root_attrs["spatial:bbox"] = list(affine.bounds_of(t0, height, width))
    root_attrs["spatial:registration"] = "pixel"
    nodes["/"] = xr.Dataset(attrs=root_attrs)
    return xr.DataTree.from_dict(nodes)
