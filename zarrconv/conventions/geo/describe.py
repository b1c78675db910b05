"""What ``zarrconv geo info`` prints: the CRS, transform, bounds and resolution of every georeferenced node."""

from __future__ import annotations

from typing import Any

from zarrconv.conventions.geo._read import bounds, crs, transform


def describe(tree: Any) -> list[dict[str, Any]]:
    """One JSON-able record per node of ``tree`` (an ``xarray.DataTree``, every node of it visited) that has
    data variables and a CRS or a regular x/y transform.

    Each record has ``path``, ``variables`` (the 2-d and larger data variables), ``crs`` (its name),
    ``crs_code`` (``"EPSG:..."`` when there is one), ``transform`` (the GDAL-order affine ``a, b, c, d, e,
    f``), ``resolution`` (pixel width and height), ``bounds`` (xmin, ymin, xmax, ymax), ``units`` (of
    the CRS's first axis) and ``sizes`` (of the node's dimensions). Nodes without identifiable x/y
    dimensions have no transform; nodes with neither a CRS nor a transform are left out.
    """
    out = []
    for node in tree.subtree:
        if not node.data_vars:
            continue
        found = crs(node)
        try:
            affine = transform(node)
            box = bounds(node)
        except (ValueError, KeyError):  # no identifiable x/y dimensions
            affine = box = None
        if found is None and affine is None:
            continue
        epsg = found.to_epsg() if found is not None else None
        out.append({
            "path": node.path,
            "variables": sorted(str(v) for v in node.data_vars if node[v].ndim >= 2),
            "crs": found.name if found is not None else None,
            "crs_code": f"EPSG:{epsg}" if epsg else None,
            "transform": list(affine) if affine else None,
            "resolution": [abs(affine[0]), abs(affine[4])] if affine else None,
            "bounds": list(box) if box else None,
            "units": (found.axis_info[0].unit_name if found is not None and found.axis_info else None),
            "sizes": {str(k): int(v) for k, v in node.sizes.items()},
        })
    return out


__all__ = ["describe"]
