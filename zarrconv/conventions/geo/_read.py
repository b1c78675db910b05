"""Read the CRS, affine transform and bounds of xarray objects, whatever encoding they carry."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS

from zarrconv.conventions.cf import spatial_dims
from zarrconv.conventions.geo import affine
from zarrconv.conventions.geo._crs import crs_from_cf, crs_from_gdal, crs_from_proj, parse_geotransform, to_crs
from zarrconv.errors import MetadataError

__all__ = ["bounds", "crs", "grid_mapping_name", "transform"]

GeoObject = xr.Dataset | xr.DataArray | xr.DataTree
_DEFAULT_GRID_MAPPING_NAMES = ("spatial_ref", "crs")


def parse_grid_mapping_attr(value: Any) -> list[str]:
    """Variable names in a CF ``grid_mapping`` attribute (plain or ``"gm: x y gm2: lat lon"`` form)."""
    if not isinstance(value, str) or not value.strip():
        return []
    tokens = value.split()
    if any(t.endswith(":") for t in tokens):
        return [t[:-1] for t in tokens if t.endswith(":")]
    return [tokens[0]]


def grid_mapping_of(var: xr.DataArray | xr.Variable) -> list[str]:
    """The grid-mapping variable names ``var`` refers to (its attribute, else its encoding)."""
    return parse_grid_mapping_attr(var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping"))


def looks_like_grid_mapping(var: xr.DataArray | xr.Variable) -> bool:
    """True for a scalar variable holding a CF grid mapping (a CRS as WKT or CF parameters)."""
    attrs = var.attrs
    return var.ndim == 0 and any(k in attrs for k in ("crs_wkt", "spatial_ref", "grid_mapping_name"))


def grid_mapping_name(obj: xr.Dataset | xr.DataArray) -> Hashable | None:
    """Name of the CF grid-mapping variable ``obj`` refers to (or a conventional one present).

    Raises
    ------
    MetadataError
        If the data variables of a Dataset refer to different grid mappings (select one
        variable first).
    """
    variables: Mapping[Hashable, Any] = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
    if isinstance(obj, xr.DataArray):
        names = grid_mapping_of(obj)
    else:
        names = []
        for var in obj.data_vars.values():
            names.extend(n for n in grid_mapping_of(var) if n not in names)
    if len(names) > 1:
        raise MetadataError(
            f"variables refer to several grid mappings {names}; select one data variable first"
        )
    if names:
        return names[0]
    for name in _DEFAULT_GRID_MAPPING_NAMES:
        if name in variables and looks_like_grid_mapping(variables[name]):
            return name
    return None


def _unique_over_data_vars(obj: xr.Dataset, reader, what: str) -> Any:
    """The one value ``reader(name, var)`` gives over the data variables (None if none)."""
    found = None
    for name, var in obj.data_vars.items():
        value = reader(name, var)
        if value is None:
            continue
        if found is not None and value != found:
            raise MetadataError(f"data variables carry different {what}; select one variable first")
        found = value
    return found


def _array_level_crs(obj: xr.Dataset | xr.DataArray) -> CRS | None:
    """GDAL's ``_CRS`` on the object, or ``proj:``/``_CRS`` of the data variables of a Dataset
    (array-level encodings, as GDAL writes them)."""
    if "_CRS" in obj.attrs:
        return crs_from_gdal(obj.attrs["_CRS"])
    if isinstance(obj, xr.Dataset):
        c = _unique_over_data_vars(obj, lambda n, v: crs_from_proj(v.attrs, where=str(n)), "proj: CRSs")
        if c is not None:
            return c
        return _unique_over_data_vars(
            obj,
            lambda n, v: crs_from_gdal(v.attrs["_CRS"], where=f"{n}: _CRS") if "_CRS" in v.attrs else None,
            "GDAL _CRS",
        )
    return None


def _crs_of(obj: xr.Dataset | xr.DataArray) -> CRS | None:
    c = crs_from_proj(obj.attrs)
    if c is not None:
        return c
    gm = grid_mapping_name(obj)
    if gm is not None:
        variables = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
        if gm in variables:
            c = crs_from_cf(variables[gm].attrs, where=f"grid mapping variable {gm!r}")
            if c is not None:
                return c
    c = _array_level_crs(obj)
    if c is not None:
        return c
    legacy = obj.attrs.get("crs")
    if isinstance(legacy, str) and legacy.strip():
        return to_crs(legacy, where="crs attribute")
    return None


def _tree_chain(node: xr.DataTree) -> list[xr.DataTree]:
    chain = [node]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    return chain


def crs(obj: GeoObject) -> CRS | None:
    """The coordinate reference system of ``obj``, or ``None`` if it carries none.

    Reads, in order: ``proj:wkt2``/``proj:projjson``/``proj:code`` attributes; the CF
    grid-mapping variable (``grid_mapping`` attribute or encoding; ``crs_wkt``,
    ``spatial_ref`` or CF projection parameters); GDAL's ``_CRS`` attribute; a legacy
    ``crs`` attribute. For a DataTree node, ancestors are searched too (group-level
    ``proj:`` of a multiscale pyramid).

    Raises
    ------
    MetadataError
        If an attribute is present but does not define a CRS, or the variables of a
        Dataset disagree.
    """
    if isinstance(obj, xr.DataTree):
        for node in _tree_chain(obj):
            c = _crs_of(node.to_dataset(inherit=True))
            if c is not None:
                return c
        return None
    if not isinstance(obj, (xr.Dataset, xr.DataArray)):
        raise TypeError(f"expected an xarray Dataset, DataArray or DataTree, got {type(obj).__name__}")
    return _crs_of(obj)


def _attr_transform(attrs: Mapping[str, Any], *, where: str) -> affine.Affine6 | None:
    value = attrs.get("spatial:transform")
    if value is None:
        return None
    ttype = attrs.get("spatial:transform_type", "affine")
    if ttype != "affine":
        warnings.warn(
            f"{where}: spatial:transform_type {ttype!r} is not supported; ignoring spatial:transform",
            stacklevel=3,
        )
        return None
    t = affine.as_affine(value, where=f"{where}: spatial:transform")
    if attrs.get("spatial:registration", "pixel") == "node":
        t = affine.node_to_pixel(t)
    return t


def _shape_ok(attrs: Mapping[str, Any], height: int, width: int) -> bool:
    shape = attrs.get("spatial:shape")
    if isinstance(shape, (list, tuple)) and len(shape) == 2:
        return list(shape) == [height, width]
    return True


def coords_transform(obj: xr.Dataset | xr.DataArray, y: Hashable, x: Hashable) -> affine.Affine6 | None:
    """The affine transform the 1-D ``x``/``y`` dimension coordinates imply (None without them)."""
    if x in obj.coords and y in obj.coords and obj[x].ndim == 1 and obj[y].ndim == 1:
        if obj[x].dims == (x,) and obj[y].dims == (y,):
            return affine.from_coords(obj[x].values, obj[y].values)
    return None


def _transform_of(
    obj: xr.Dataset | xr.DataArray,
    extra_attrs: list[Mapping[str, Any]],
    x_dim: Hashable | None,
    y_dim: Hashable | None,
) -> affine.Affine6 | None:
    y, x = spatial_dims(obj, x_dim=x_dim, y_dim=y_dim)
    height, width = int(obj.sizes[y]), int(obj.sizes[x])
    if isinstance(obj, xr.Dataset):
        # array-level spatial: attributes of the gridded data variables (if they agree)
        def spatial_of(name: Hashable, var: xr.DataArray) -> dict | None:
            if x not in var.dims or y not in var.dims or "spatial:transform" not in var.attrs:
                return None
            return {k: v for k, v in var.attrs.items() if k.startswith("spatial:")}

        per_var = _unique_over_data_vars(obj, spatial_of, "spatial:transform")
        if per_var is not None:
            extra_attrs = [*extra_attrs, per_var]
    from_attrs = None
    for attrs in [obj.attrs, *extra_attrs]:
        if _shape_ok(attrs, height, width):
            from_attrs = _attr_transform(attrs, where="attributes")
            if from_attrs is not None:
                break
    if from_attrs is None:
        gm = grid_mapping_name(obj)
        variables = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
        if gm is not None and gm in variables and "GeoTransform" in variables[gm].attrs:
            from_attrs = parse_geotransform(variables[gm].attrs["GeoTransform"], where=f"{gm}: GeoTransform")
    from_coords = coords_transform(obj, y, x)
    if from_coords is not None:
        # Coordinates follow slicing; attributes may be stale after isel/sel.
        if from_attrs is not None and affine.transforms_close(from_attrs, from_coords, rtol=1e-4):
            return from_attrs
        return from_coords
    return from_attrs


def _layout_attrs(node: xr.DataTree) -> list[Mapping[str, Any]]:
    """Per-level ``spatial:`` attributes the parent's ``multiscales`` layout gives ``node``."""
    parent = node.parent
    if parent is None:
        return []
    ms = parent.attrs.get("multiscales")
    if not isinstance(ms, Mapping) or not isinstance(ms.get("layout"), list):
        return []
    out = []
    for item in ms["layout"]:
        if isinstance(item, Mapping) and item.get("asset") == node.name:
            level = {k: v for k, v in item.items() if k.startswith("spatial:")}
            for key in ("spatial:registration", "spatial:transform_type"):
                if key in parent.attrs and key not in level:
                    level[key] = parent.attrs[key]
            out.append(level)
    return out


def transform(
    obj: GeoObject,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
) -> tuple[float, float, float, float, float, float] | None:
    """The affine transform ``(a, b, c, d, e, f)`` of ``obj`` (rasterio/``affine`` order), or ``None``.

    ``x = a*col + b*row + c``, ``y = d*col + e*row + f`` with ``(0, 0)`` the top-left
    corner of the top-left cell (GDAL's GeoTransform is ``(c, a, b, f, d, e)``).

    Sources: ``spatial:transform`` (node registration converted to pixel), GDAL's
    ``GeoTransform`` on the grid-mapping variable, and regular 1-D X/Y coordinates
    (cell centres). When coordinates exist they win over attributes that disagree with
    them (attributes go stale when a Dataset is sliced).
    """
    if isinstance(obj, xr.DataTree):
        ds = obj.to_dataset(inherit=True)
        extra = _layout_attrs(obj)
        if obj.parent is not None and "multiscales" not in obj.parent.attrs:
            extra.append(obj.parent.attrs)  # group-level spatial: defaults for its children
        if not ds.dims:
            return None
        return _transform_of(ds, extra, x_dim, y_dim)
    if not isinstance(obj, (xr.Dataset, xr.DataArray)):
        raise TypeError(f"expected an xarray Dataset, DataArray or DataTree, got {type(obj).__name__}")
    return _transform_of(obj, [], x_dim, y_dim)


def _edges_from_coord(values: np.ndarray) -> tuple[float, float] | None:
    v = np.asarray(values, dtype="float64")
    if v.ndim != 1 or v.size == 0:
        return None
    if v.size == 1:
        return float(v[0]), float(v[0])
    first = v[0] - (v[1] - v[0]) / 2.0
    last = v[-1] + (v[-1] - v[-2]) / 2.0
    return float(min(first, last)), float(max(first, last))


def bounds(
    obj: GeoObject,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
) -> tuple[float, float, float, float] | None:
    """``(xmin, ymin, xmax, ymax)`` of the cell edges of ``obj`` in its CRS, or ``None``.

    From the affine transform and the grid shape; for irregular 1-D coordinates, from
    the coordinates (edges half-way between centres, extrapolated at the ends). An object
    without dimensions (the root group of a pyramid) gives its ``spatial:bbox``.
    """
    ds = obj.to_dataset(inherit=True) if isinstance(obj, xr.DataTree) else obj
    if not ds.dims:  # e.g. the root group of a pyramid: its declared bbox, if any
        bbox = ds.attrs.get("spatial:bbox")
        if isinstance(bbox, (list, tuple)) and len(bbox) == 4:
            return tuple(float(v) for v in bbox)  # type: ignore[return-value]
        return None
    y, x = spatial_dims(ds, x_dim=x_dim, y_dim=y_dim)
    t = transform(obj, x_dim=x, y_dim=y)
    if t is not None:
        return affine.bounds_of(t, int(ds.sizes[y]), int(ds.sizes[x]))
    if x in ds.coords and y in ds.coords and ds[x].ndim == 1 and ds[y].ndim == 1:
        ex, ey = _edges_from_coord(ds[x].values), _edges_from_coord(ds[y].values)
        if ex is not None and ey is not None:
            return (ex[0], ey[0], ex[1], ey[1])
    return None
