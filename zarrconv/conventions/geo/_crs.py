"""Coordinate reference systems: parse every encoding, build the CF and ``proj:`` ones.

Encodings read (each from a plain attribute mapping):

* ``proj:`` convention: ``proj:wkt2`` (takes precedence), ``proj:projjson``, ``proj:code``;
* CF grid mapping variable: ``crs_wkt``, ``spatial_ref`` (GDAL/rioxarray), or the CF
  projection parameters (``grid_mapping_name``, ...) through ``pyproj.CRS.from_cf``;
* GDAL's ``_CRS`` object: ``url`` (GDAL's own preference), ``wkt``, ``projjson``;
* a legacy ``crs`` attribute (PROJ string or WKT, as very old rioxarray/xarray wrote).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError

from zarrconv.errors import MetadataError

__all__ = [
    "cf_grid_mapping_attrs",
    "crs_from_cf",
    "crs_from_gdal",
    "crs_from_proj",
    "proj_attrs",
    "to_crs",
]

_CODE_RE = re.compile(r"^[A-Z]+:[0-9]+$")
_OGC_URL_RE = re.compile(r"/def/crs/(?P<auth>[A-Za-z0-9_]+)/[^/]*/(?P<code>[A-Za-z0-9_]+)/?$")


def to_crs(value: Any, *, where: str = "crs") -> CRS:
    """Turn user input (``"EPSG:32633"``, ``4326``, WKT, PROJJSON dict, pyproj/rasterio CRS) into a pyproj CRS.

    Raises
    ------
    MetadataError
        If pyproj cannot make a CRS of ``value``; the message names ``where``.
    """
    if isinstance(value, CRS):
        return value
    if hasattr(value, "to_wkt") and not isinstance(value, (str, bytes, Mapping)):
        value = value.to_wkt()  # rasterio.crs.CRS and friends
    try:
        if isinstance(value, Mapping):
            return CRS.from_json_dict(dict(value))
        return CRS.from_user_input(value)
    except (CRSError, TypeError, ValueError) as exc:
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        raise MetadataError(f"{where}: not a coordinate reference system pyproj understands: {shown} ({exc})") from exc


def crs_from_proj(attrs: Mapping[str, Any], *, where: str = "attributes") -> CRS | None:
    """CRS of the ``proj:`` attributes in ``attrs`` (``None`` if there are none).

    The spec gives ``proj:wkt2`` precedence when representations disagree.
    """
    for key in ("proj:wkt2", "proj:projjson", "proj:code"):
        value = attrs.get(key)
        if value is None:
            continue
        if key == "proj:projjson" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise MetadataError(f"{where}: proj:projjson is not JSON ({exc})") from exc
        return to_crs(value, where=f"{where}: {key}")
    return None


def crs_from_cf(attrs: Mapping[str, Any], *, where: str = "grid mapping") -> CRS | None:
    """CRS of a CF grid-mapping variable's attributes (``None`` if it describes none)."""
    for key in ("crs_wkt", "spatial_ref"):
        value = attrs.get(key)
        if isinstance(value, str) and value.strip():
            return to_crs(value, where=f"{where}: {key}")
    if "grid_mapping_name" in attrs:
        try:
            return CRS.from_cf(dict(attrs))
        except (CRSError, TypeError, ValueError, KeyError) as exc:
            raise MetadataError(
                f"{where}: the CF grid mapping parameters do not define a CRS ({exc})"
            ) from exc
    return None


def crs_from_gdal(value: Any, *, where: str = "_CRS") -> CRS | None:
    """CRS of GDAL's ``_CRS`` attribute (``{"url"|"wkt"|"projjson": ...}``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MetadataError(f"{where}: GDAL's _CRS attribute must be an object with url, wkt or projjson")
    url = value.get("url")
    if isinstance(url, str):
        match = _OGC_URL_RE.search(url)
        if match:
            return to_crs(f"{match['auth']}:{match['code']}", where=f"{where}.url")
    if value.get("wkt") is not None:
        return to_crs(value["wkt"], where=f"{where}.wkt")
    if value.get("projjson") is not None:
        return to_crs(value["projjson"], where=f"{where}.projjson")
    if url is not None:
        return to_crs(url, where=f"{where}.url")
    raise MetadataError(f"{where}: GDAL's _CRS attribute has none of url, wkt, projjson")


def authority_code(crs: CRS) -> str | None:
    """``"AUTH:CODE"`` for ``crs`` when it exactly matches an authority entry, else ``None``."""
    auth = crs.to_authority(min_confidence=100)
    if auth is None:
        return None
    code = f"{auth[0]}:{auth[1]}"
    return code if _CODE_RE.match(code) else None


def proj_attrs(crs: CRS, *, projjson: bool = False) -> dict[str, Any]:
    """The ``proj:`` attributes describing ``crs``: ``proj:code`` (if any) and ``proj:wkt2``."""
    out: dict[str, Any] = {}
    code = authority_code(crs)
    if code is not None:
        out["proj:code"] = code
    out["proj:wkt2"] = crs.to_wkt("WKT2_2019")
    if projjson:
        out["proj:projjson"] = crs.to_json_dict()
    return out


def cf_grid_mapping_attrs(crs: CRS, geotransform: tuple[float, ...] | None = None) -> dict[str, Any]:
    """Attributes of the CF grid-mapping variable for ``crs``.

    ``crs.to_cf()`` (``grid_mapping_name``, projection parameters, ``crs_wkt``) plus the
    ``spatial_ref`` WKT read by GDAL and rioxarray, and GDAL's ``GeoTransform`` string
    (``"c a b f d e"``, GDAL coefficient order) if ``geotransform`` (affine
    ``a, b, c, d, e, f``) is given.
    """
    attrs = dict(crs.to_cf(wkt_version="WKT2_2019"))
    attrs["spatial_ref"] = attrs["crs_wkt"]
    if geotransform is not None:
        a, b, c, d, e, f = geotransform
        attrs["GeoTransform"] = " ".join(repr(float(v)) for v in (c, a, b, f, d, e))
    return attrs


def parse_geotransform(value: Any, *, where: str = "GeoTransform") -> tuple[float, ...]:
    """Affine ``(a, b, c, d, e, f)`` of a GDAL ``GeoTransform`` (string or 6 numbers, GDAL order)."""
    try:
        parts = value.split() if isinstance(value, str) else list(value)
        gt = [float(v) for v in parts]
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"{where}: not six numbers: {value!r}") from exc
    if len(gt) != 6:
        raise MetadataError(f"{where}: expected 6 numbers (GDAL order c a b f d e), got {len(gt)}")
    c, a, b, f, d, e = gt
    return (a, b, c, d, e, f)
