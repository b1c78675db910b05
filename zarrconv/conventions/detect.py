"""Which conventions a node's attributes follow, told from the attributes alone (nothing is read).

``zarrconv info`` and ``tree`` print these names; ``zarrconv validate`` runs the validators of the
conventions found.
"""

from __future__ import annotations

from typing import Any


def detect_conventions(attrs: dict[str, Any]) -> list[str]:
    """Names of the conventions whose attributes a node carries (OME-Zarr, GeoZarr, CF, GDAL).

    >>> detect_conventions({"ome": {"version": "0.5", "multiscales": []}, "proj:code": "EPSG:4326"})
    ['OME-Zarr 0.5', 'GeoZarr conventions (proj:)']
    """
    found: list[str] = []
    ome = attrs.get("ome")
    if isinstance(ome, dict):
        found.append(f"OME-Zarr {ome.get('version', '?')}")
    elif isinstance(attrs.get("multiscales"), list) and any(
            isinstance(m, dict) and "axes" in m for m in attrs["multiscales"]):
        versions = {m.get("version", "?") for m in attrs["multiscales"] if isinstance(m, dict)}
        found.append("OME-Zarr " + "/".join(sorted(str(v) for v in versions)))
    elif any(k in attrs for k in ("plate", "well", "image-label", "bioformats2raw.layout")):
        found.append("OME-Zarr")
    geo = sorted({k.split(":", 1)[0] + ":" for k in attrs if k.startswith(("proj:", "spatial:"))})
    if "zarr_conventions" in attrs or geo:
        found.append("GeoZarr conventions" + (f" ({', '.join(geo)})" if geo else ""))
    if isinstance(attrs.get("multiscales"), dict):
        found.append("zarr-conventions multiscales")
    if "grid_mapping" in attrs or "grid_mapping_name" in attrs or "crs_wkt" in attrs:
        found.append("CF grid mapping")
    if "_CRS" in attrs:
        found.append("GDAL _CRS")
    return found


__all__ = ["detect_conventions"]
