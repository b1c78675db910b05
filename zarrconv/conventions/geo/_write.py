"""Attach a CRS and affine transform to xarray objects in every encoding readers look for."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from zarrconv.conventions.cf import coordinate_attrs, set_axis_attrs, spatial_dims
from zarrconv.conventions.geo import affine, registry
from zarrconv.conventions.geo._crs import authority_code, cf_grid_mapping_attrs, proj_attrs, to_crs
from zarrconv.conventions.geo._read import grid_mapping_of, looks_like_grid_mapping
from zarrconv.errors import MetadataError

__all__ = ["assign_crs", "geo_attrs"]

T = TypeVar("T", xr.Dataset, xr.DataArray)

# Attributes assign_crs owns: removed from variables before being rewritten.
_SPATIAL_KEYS = (
    "spatial:dimensions",
    "spatial:transform",
    "spatial:transform_type",
    "spatial:shape",
    "spatial:bbox",
    "spatial:registration",
)
_PROJ_KEYS = ("proj:code", "proj:wkt2", "proj:projjson")


def geo_attrs(
    crs: Any,
    transform: Sequence[float] | None,
    *,
    dims: tuple[Hashable, Hashable],
    shape: tuple[int, int],
    projjson: bool = False,
) -> dict[str, Any]:
    """The ``zarr_conventions`` + ``proj:`` + ``spatial:`` attributes of a georeferenced grid.

    ``dims`` and ``shape`` are ``(y, x)``; ``transform`` is ``(a, b, c, d, e, f)`` (no
    ``spatial:`` attributes but ``spatial:dimensions`` are written without one).
    """
    attrs: dict[str, Any] = {}
    keys = ["proj"] if crs is not None else []
    if transform is not None:
        keys.append("spatial")
    registry.add_registration(attrs, *keys)
    if crs is not None:
        attrs.update(proj_attrs(to_crs(crs), projjson=projjson))
    if transform is not None:
        t = affine.as_affine(transform)
        attrs["spatial:dimensions"] = [str(dims[0]), str(dims[1])]
        attrs["spatial:transform"] = list(t)
        attrs["spatial:shape"] = [int(shape[0]), int(shape[1])]
        attrs["spatial:bbox"] = list(affine.bounds_of(t, int(shape[0]), int(shape[1])))
        attrs["spatial:registration"] = "pixel"
    return attrs


def clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` without earlier geo attributes (ours and GDAL's) and our registrations: what
    :func:`assign_crs` and the GeoZarr pyramid start from."""
    out = {k: v for k, v in attrs.items() if k not in _SPATIAL_KEYS and k not in _PROJ_KEYS and k != "_CRS"}
    entries = out.get("zarr_conventions")
    if isinstance(entries, list):
        probe = {"zarr_conventions": []}
        kept = []
        for entry in entries:
            probe["zarr_conventions"] = [entry]
            if not (registry.declared_conventions(probe) & {"proj", "spatial"}):
                kept.append(entry)
        if kept:
            out["zarr_conventions"] = kept
        else:
            del out["zarr_conventions"]
    return out


def _merge_geo(attrs: dict[str, Any], geo: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` without stale geo attributes, plus ``geo`` (registrations appended in order)."""
    out = clean_attrs(attrs)
    declared = registry.declared_conventions(geo)
    keys = [k for k in ("proj", "spatial") if k in declared]
    if keys:
        registry.add_registration(out, *keys)
    out.update({k: v for k, v in geo.items() if k != "zarr_conventions"})
    return out


def _gdal_crs_attr(crs: Any) -> dict[str, Any]:
    c = to_crs(crs)
    out: dict[str, Any] = {"wkt": c.to_wkt("WKT2_2019"), "projjson": c.to_json_dict()}
    code = authority_code(c)
    if code is not None:
        auth, num = code.split(":")
        out["url"] = f"http://www.opengis.net/def/crs/{auth}/0/{num}"
    return out


def assign_crs(
    obj: T,
    crs: Any,
    *,
    transform: Sequence[float] | None = None,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
    grid_mapping: str = "spatial_ref",
    gdal_crs: bool = False,
    projjson: bool = False,
) -> T:
    """Return ``obj`` georeferenced with ``crs`` in the CF, ``proj:`` and ``spatial:`` encodings.

    The result carries:

    * a scalar CF grid-mapping coordinate ``grid_mapping`` (default ``spatial_ref``) with
      ``crs_wkt``, the CF projection parameters, ``spatial_ref`` (WKT) and GDAL's
      ``GeoTransform``, referenced by the ``grid_mapping`` attribute of each data variable
      that has both horizontal dimensions;
    * CF attributes (``standard_name``, ``units``, ``axis``, ``long_name``) on the X/Y
      coordinates (created from ``transform`` as cell centres if missing);
    * ``zarr_conventions`` registrations with ``proj:code``/``proj:wkt2`` and
      ``spatial:dimensions``/``transform``/``shape``/``bbox``/``registration``, on the
      Dataset (group level) and on each georeferenced data variable (array level), or on
      the DataArray itself;
    * with ``gdal_crs=True``, GDAL's ``_CRS`` attribute on each georeferenced variable
      (for GDAL < 3.9, which does not read CF grid mappings).

    ``zc.to_zarr`` (or xarray's ``to_zarr``) then writes it as is.

    Parameters
    ----------
    obj
        Dataset or DataArray with two horizontal dimensions.
    crs
        Anything pyproj understands: ``"EPSG:32633"``, ``4326``, WKT, PROJJSON, a CRS.
    transform
        Affine ``(a, b, c, d, e, f)`` in rasterio order (an ``affine.Affine`` works). By
        default derived from regular 1-D X/Y coordinates (cell centres); with irregular
        coordinates and no transform only the CRS is written.
    x_dim, y_dim
        The horizontal dimensions, when they cannot be detected.
    grid_mapping
        Name of the CF grid-mapping variable.
    gdal_crs
        Also write GDAL's ``_CRS`` attribute.
    projjson
        Also write ``proj:projjson``.

    Raises
    ------
    MetadataError
        Unknown CRS, undetectable dimensions, or a ``transform`` that contradicts
        existing coordinates.
    """
    if not isinstance(obj, (xr.Dataset, xr.DataArray)):
        raise TypeError(f"assign_crs takes a Dataset or DataArray, got {type(obj).__name__}")
    c = to_crs(crs)
    y, x = spatial_dims(obj, x_dim=x_dim, y_dim=y_dim)
    height, width = int(obj.sizes[y]), int(obj.sizes[x])

    from_coords = None
    has_coords = x in obj.coords and y in obj.coords
    if has_coords and obj[x].ndim == 1 and obj[y].ndim == 1:
        from_coords = affine.from_coords(obj[x].values, obj[y].values)
    if transform is not None:
        t = affine.as_affine(transform, where="transform")
        if from_coords is not None and not affine.transforms_close(t, from_coords, rtol=1e-4):
            raise MetadataError(
                f"transform {list(t)} contradicts the {x!r}/{y!r} coordinates "
                f"(they imply {list(from_coords)}); drop the coordinates or fix the transform"
            )
        if has_coords and from_coords is None:
            raise MetadataError(
                f"transform given but the {x!r}/{y!r} coordinates are not a regular grid; "
                "drop the coordinates or the transform"
            )
    else:
        t = from_coords

    out = obj.copy(deep=False)
    # Replace an existing grid mapping (ours or another name) rather than leaving it stale.
    old_names = set()
    variables = out.variables if isinstance(out, xr.Dataset) else out.coords
    referrers = [out] if isinstance(out, xr.DataArray) else list(out.data_vars.values())
    for var in referrers:
        old_names.update(grid_mapping_of(var))
    stale = [n for n in dict.fromkeys([*sorted(old_names), grid_mapping]) if n in variables]
    stale = [n for n in stale if looks_like_grid_mapping(variables[n])]
    if stale:
        out = out.drop_vars(stale)

    # X/Y coordinates: create from the transform if missing, then give them CF attributes.
    if t is not None and not has_coords and t[1] == 0 and t[3] == 0:
        out = out.assign_coords(
            {x: (x, affine.centers(t, width, "x")), y: (y, affine.centers(t, height, "y"))}
        )
    cf_attrs = coordinate_attrs(c)
    out = set_axis_attrs(out, {x: cf_attrs.get("X", {}), y: cf_attrs.get("Y", {})})

    gm_attrs = cf_grid_mapping_attrs(c, t)
    out = out.assign_coords({grid_mapping: xr.Variable((), np.int64(0), gm_attrs)})

    geo = geo_attrs(c, t, dims=(y, x), shape=(height, width), projjson=projjson)
    gdal = _gdal_crs_attr(c) if gdal_crs else None

    def georeference(var: xr.DataArray) -> xr.DataArray:
        var = var.copy(deep=False)
        var.encoding = {k: v for k, v in var.encoding.items() if k != "grid_mapping"}
        attrs = _merge_geo(dict(var.attrs), geo)
        attrs["grid_mapping"] = grid_mapping
        if gdal is not None:
            attrs["_CRS"] = gdal
        var.attrs = attrs
        return var

    if isinstance(out, xr.DataArray):
        return georeference(out)
    updates = {}
    for name, var in out.data_vars.items():
        if x in var.dims and y in var.dims:
            updates[name] = georeference(var)
        elif any(n in old_names or n == grid_mapping for n in grid_mapping_of(var)):
            var = var.copy(deep=False)
            var.attrs = {k: v for k, v in var.attrs.items() if k != "grid_mapping"}
            var.encoding = {k: v for k, v in var.encoding.items() if k != "grid_mapping"}
            updates[name] = var
    out = out.assign(updates)
    out.attrs = _merge_geo(dict(out.attrs), geo)
    return out
