"""Validate the georeferencing of a Zarr hierarchy (or an in-memory xarray object).

:func:`validate` lists problems, it does not raise for them: unknown CRS, CRS encodings
that disagree, transforms inconsistent with coordinates or shapes, unparseable units,
conventions declared but malformed (JSON Schemas of ``conventions/geo/schemas``) or
used without being declared, multiscale layouts naming missing levels.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from zarrconv.conventions._schemas import load_json
from zarrconv.conventions.cf import spatial_dims
from zarrconv.conventions.geo import affine, registry
from zarrconv.conventions.geo._crs import crs_from_cf, crs_from_gdal, crs_from_proj, parse_geotransform
from zarrconv.conventions.geo._read import coords_transform, parse_grid_mapping_attr
from zarrconv.conventions.units import is_time_units, parse_units
from zarrconv.errors import MetadataError

__all__ = ["ValidationReport", "validate"]

_SCHEMAS = {
    "zarr_conventions": "zarr-conventions.schema.json",
    "proj": "proj.schema.json",
    "spatial": "spatial.schema.json",
    "multiscales": "multiscales.schema.json",
}


@functools.cache
def _validator(key: str) -> Any:
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ImportError("zarrconv.conventions.geo.validate needs jsonschema: pip install jsonschema") from exc

    schema = load_json("geo", "schemas", _SCHEMAS[key])
    return jsonschema.Draft202012Validator(schema)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _schema_problems(key: str, attrs: Mapping[str, Any]) -> list[str]:
    out = []
    for err in sorted(_validator(key).iter_errors(attrs), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in err.absolute_path) or "attributes"
        out.append(f"{key}: {where}: {err.message}")
    return out


def _used_conventions(attrs: Mapping[str, Any]) -> set[str]:
    used = set()
    if any(k.startswith("proj:") for k in attrs):
        used.add("proj")
    if any(k.startswith("spatial:") for k in attrs):
        used.add("spatial")
    if "multiscales" in attrs:
        used.add("multiscales")
    return used


class ValidationReport(list[str]):
    """The problems found (the list itself, empty when valid) and, in ``warnings``, attributes that
    are not CF but that readers still understand (``units`` given as a number)."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []


class _Report:
    def __init__(self) -> None:
        self.problems = ValidationReport()

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def warn(self, where: str, message: str) -> None:
        self.problems.warnings.append(f"{where}: {message}")


def _check_conventions(where: str, attrs: Mapping[str, Any], report: _Report, *, is_array: bool) -> None:
    """Registration, schema and CRS checks of one node's own attributes."""
    if "zarr_conventions" in attrs:
        if not isinstance(attrs["zarr_conventions"], list):
            report.add(where, "zarr_conventions must be a list of convention metadata objects")
        else:
            for p in _schema_problems("zarr_conventions", attrs):
                report.add(where, p)
    declared = registry.declared_conventions(attrs)
    used = _used_conventions(attrs)
    for key in sorted(used - declared):
        prefix = "multiscales" if key == "multiscales" else f"{key}:"
        report.add(where, f"{prefix} attributes are used but the {key} convention is not declared in zarr_conventions")
    if "multiscales" in declared and is_array:
        report.add(where, "the multiscales convention applies to groups, not arrays")
    for key in sorted(declared | used):
        if key == "spatial" and key not in used:
            continue  # a group may declare spatial: for its children without own properties
        for p in _schema_problems(key, attrs):
            report.add(where, p)
    if "proj" in declared | used:
        _check_proj(where, attrs, report)
    if "_CRS" in attrs:
        try:
            crs_from_gdal(attrs["_CRS"])
        except MetadataError as exc:
            report.add(where, f"unknown CRS: {exc}")


def _check_proj(where: str, attrs: Mapping[str, Any], report: _Report) -> None:
    parsed = {}
    for key in ("proj:wkt2", "proj:projjson", "proj:code"):
        if attrs.get(key) is None:
            continue
        try:
            parsed[key] = crs_from_proj({key: attrs[key]}, where=where)
        except MetadataError as exc:
            report.add(where, f"unknown CRS in {key}: {exc}")
    items = list(parsed.items())
    for key, c in items[1:]:
        if not c.equals(items[0][1], ignore_axis_order=True):
            report.add(where, f"{key} ({c.name}) and {items[0][0]} ({items[0][1].name}) describe different CRSs")


def _effective(attrs: Mapping[str, Any], parent: Mapping[str, Any], key: str) -> Any:
    return attrs[key] if key in attrs else parent.get(key)


def _check_grid(
    where: str,
    attrs: Mapping[str, Any],
    defaults: Mapping[str, Any],
    ds: xr.Dataset,
    dims: tuple[Hashable, ...],
    report: _Report,
) -> None:
    """spatial: consistency of one array (or of a group's arrays) with its dimensions and coordinates."""
    sdims = _effective(attrs, defaults, "spatial:dimensions")
    if not (isinstance(sdims, list) and len(sdims) == 2):
        return
    missing = [d for d in sdims if d not in dims]
    if missing:
        report.add(where, f"spatial:dimensions {sdims} names dimensions {missing} the data does not have {list(dims)}")
        return
    y, x = sdims
    height, width = int(ds.sizes[y]), int(ds.sizes[x])
    shape = _effective(attrs, defaults, "spatial:shape")
    if isinstance(shape, list) and shape != [height, width]:
        report.add(where, f"spatial:shape {shape} does not match the {y!r}/{x!r} sizes [{height}, {width}]")
        return
    value = _effective(attrs, defaults, "spatial:transform")
    if value is None or _effective(attrs, defaults, "spatial:transform_type") not in (None, "affine"):
        return
    try:
        t = affine.as_affine(value, where="spatial:transform")
    except MetadataError as exc:
        report.add(where, str(exc))
        return
    if _effective(attrs, defaults, "spatial:registration") == "node":
        t = affine.node_to_pixel(t)
    from_coords = coords_transform(ds, y, x)
    if from_coords is not None and not affine.transforms_close(t, from_coords, rtol=1e-4):
        report.add(
            where,
            f"spatial:transform {list(t)} is inconsistent with the {x!r}/{y!r} coordinates "
            f"(they imply {list(from_coords)})",
        )
    bbox = _effective(attrs, defaults, "spatial:bbox")
    if isinstance(bbox, list) and len(bbox) == 4:
        expected = affine.bounds_of(t, height, width)
        cell = max(abs(v) for v in t[:2] + t[3:5])
        if any(abs(float(b) - e) > 1e-3 * cell for b, e in zip(bbox, expected)):
            report.add(where, f"spatial:bbox {bbox} does not match the transform and shape (expected {list(expected)})")


def _check_cf(where: str, name: Hashable, var: xr.Variable, ds: xr.Dataset, proj_crs: Any, report: _Report) -> None:
    gm_names = parse_grid_mapping_attr(var.attrs.get("grid_mapping"))
    for gm in gm_names:
        if gm not in ds.variables:
            report.add(where, f"grid_mapping refers to {gm!r}, which does not exist")
            continue
        gm_where = f"{where.rsplit('/', 1)[0] or ''}/{gm}"
        try:
            c = crs_from_cf(ds.variables[gm].attrs, where=gm_where)
        except MetadataError as exc:
            report.add(gm_where, f"unknown CRS: {exc}")
            continue
        if c is None:
            report.add(gm_where, "grid mapping variable has no crs_wkt, spatial_ref or grid_mapping_name")
            continue
        if proj_crs is not None and not c.equals(proj_crs, ignore_axis_order=True):
            report.add(where, f"CF grid mapping CRS ({c.name}) differs from the proj: CRS ({proj_crs.name})")
        gt = ds.variables[gm].attrs.get("GeoTransform")
        if gt is not None:
            try:
                t = parse_geotransform(gt, where=f"{gm_where}: GeoTransform")
            except MetadataError as exc:
                report.add(gm_where, str(exc))
                continue
            try:
                y, x = spatial_dims(ds[name])
            except MetadataError:
                continue
            from_coords = coords_transform(ds, y, x)
            if from_coords is not None and not affine.transforms_close(t, from_coords, rtol=1e-4):
                report.add(
                    gm_where,
                    f"GeoTransform {gt!r} is inconsistent with the {x!r}/{y!r} coordinates of {name!r}",
                )
    if "_CRS" in var.attrs and proj_crs is not None:
        try:
            g = crs_from_gdal(var.attrs["_CRS"])
        except MetadataError:
            return
        if g is not None and not g.equals(proj_crs, ignore_axis_order=True):
            report.add(where, f"GDAL _CRS ({g.name}) differs from the proj: CRS ({proj_crs.name})")


def _check_units(where: str, attrs: Mapping[str, Any], report: _Report) -> None:
    units = attrs.get("units")
    if units is None or is_time_units(units):
        return
    if isinstance(units, int | float) and not isinstance(units, bool):
        # rioxarray and others write units=1 for dimensionless data; CF spells it as the string "1"
        report.warn(where, f"units={units!r} is a number; CF spells it as the string {str(units)!r} (read as that)")
        return
    try:
        parse_units(units, where="units")
    except MetadataError as exc:
        report.add(where, str(exc))


def _proj_crs(attrs: Mapping[str, Any]) -> Any:
    try:
        return crs_from_proj(attrs)
    except MetadataError:
        return None  # reported by _check_proj


def _check_multiscales(where: str, node: xr.DataTree, report: _Report) -> None:
    ms = node.attrs.get("multiscales")
    if not isinstance(ms, Mapping) or not isinstance(ms.get("layout"), list):
        return
    sdims = node.attrs.get("spatial:dimensions")
    for i, item in enumerate(ms["layout"]):
        if not isinstance(item, Mapping) or not isinstance(item.get("asset"), str):
            continue
        for key in ("asset", "derived_from"):
            path = item.get(key)
            if isinstance(path, str) and not _exists(node, path):
                report.add(where, f"multiscales layout[{i}].{key} {path!r} does not exist")
        try:
            target = node[item["asset"]]
        except KeyError:
            continue
        if isinstance(target, xr.DataTree):
            ds = target.to_dataset(inherit=True)
            level_attrs = {k: v for k, v in item.items() if k.startswith("spatial:")}
            defaults = {k: v for k, v in node.attrs.items() if k.startswith("spatial:")}
            if isinstance(sdims, list):
                defaults.setdefault("spatial:dimensions", sdims)
            if "spatial:bbox" not in level_attrs:
                defaults.pop("spatial:bbox", None)  # the group bbox is that of the full-resolution level
            _check_grid(f"{where} layout[{i}] ({item['asset']})", level_attrs, defaults, ds, tuple(ds.dims), report)


def _exists(node: xr.DataTree, path: str) -> bool:
    try:
        node[path]
    except KeyError:
        return False
    return True


def _check_node(node: xr.DataTree, report: _Report) -> None:
    gpath = node.path
    gattrs = _jsonable(dict(node.attrs))
    _check_conventions(gpath, gattrs, report, is_array=False)
    own = node.to_dataset(inherit=False)
    full = node.to_dataset(inherit=True)
    group_crs = _proj_crs(gattrs)
    if "spatial:dimensions" in gattrs and "multiscales" not in gattrs:
        sdims = gattrs["spatial:dimensions"]
        if isinstance(sdims, list) and all(isinstance(d, str) and d in full.dims for d in sdims):
            _check_grid(gpath, gattrs, {}, full, tuple(full.dims), report)
    if "multiscales" in gattrs:
        _check_multiscales(gpath, node, report)
    group_spatial = {k: v for k, v in gattrs.items() if k.startswith("spatial:")}
    for name, var in own.variables.items():
        where = f"{gpath.rstrip('/')}/{name}"
        attrs = _jsonable(dict(var.attrs))
        _check_conventions(where, attrs, report, is_array=True)
        _check_units(where, attrs, report)
        array_crs = _proj_crs(attrs) or group_crs
        _check_cf(where, name, var, full, array_crs, report)
        if "spatial" in _used_conventions(attrs):
            if "spatial:dimensions" not in attrs and "spatial:dimensions" not in gattrs:
                report.add(where, "spatial:dimensions is required on arrays using the spatial convention")
            _check_grid(where, attrs, group_spatial, full, var.dims, report)


def _open(source: Any, engine: str | None, storage_options: Mapping[str, Any] | None) -> xr.DataTree:
    if isinstance(source, xr.DataTree):
        return source
    if isinstance(source, xr.Dataset):
        return xr.DataTree(dataset=source)
    if isinstance(source, xr.DataArray):
        return xr.DataTree(dataset=source.to_dataset(name=source.name if source.name is not None else "data"))
    if engine is None:
        engine = "zarrconv" if "zarrconv" in xr.backends.list_engines() else "zarr"
    kwargs: dict[str, Any] = {"engine": engine, "decode_times": False, "decode_timedelta": False}
    if storage_options:
        kwargs["storage_options"] = dict(storage_options)
    path = os.fspath(source) if isinstance(source, os.PathLike) else source
    return xr.open_datatree(path, **kwargs)


def validate(
    source: Any,
    *,
    engine: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ValidationReport:
    """List the georeferencing problems of a Zarr hierarchy; an empty list means none.

    Parameters
    ----------
    source
        A store (path, URL, anything ``xr.open_datatree`` takes) or an in-memory
        ``DataTree``/``Dataset``/``DataArray`` (check before writing).
    engine
        xarray engine used to open a store (default ``"zarrconv"`` when registered,
        else ``"zarr"``).
    storage_options
        fsspec options for remote stores.

    Returns
    -------
    A list (:class:`ValidationReport`) of one ``"<node path>: <problem>"`` string per problem, for instance
    ``"/0/temperature: spatial:transform [...] is inconsistent with the 'x'/'y' coordinates"``.
    Checked: ``zarr_conventions`` registrations; ``proj:``/``spatial:``/``multiscales``
    against their JSON Schemas and for use without declaration; every CRS encoding
    (``proj:``, CF grid mapping, GDAL ``_CRS``) parses and they agree; ``spatial:``
    shape, transform and bbox against dimensions and coordinates (also per multiscale
    level); GDAL ``GeoTransform`` against coordinates; ``units`` parse (CF/UDUNITS). Its
    ``warnings`` list, in the same form, what is not CF but still understood (numeric ``units``).
    """
    tree = _open(source, engine, storage_options)
    report = _Report()
    for node in tree.subtree:
        _check_node(node, report)
    return report.problems
