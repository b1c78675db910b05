"""CF conventions glue over cf-xarray: axis and coordinate detection, cell bounds.

Everything here works on xarray objects (``Dataset``/``DataArray``) whatever engine
opened them. cf-xarray does the CF interpretation (``axis``, ``standard_name``,
``units``, ``positive`` attributes and its name heuristics); these helpers add the
decisions zarrconv needs on top (which dimensions are the horizontal X/Y axes of a
grid, CF attributes of projected/geographic coordinates).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import xarray as xr

from zarrconv.errors import MetadataError

__all__ = [
    "add_bounds",
    "axes",
    "coordinate_attrs",
    "spatial_dims",
]

# Dimension names recognised as horizontal axes when no attribute says so
# (GDAL writes X/Y, rioxarray x/y; CF datasets lon/lat; some tools easting/northing).
_X_NAMES = ("x", "lon", "longitude", "easting", "rlon", "xc", "projection_x_coordinate")
_Y_NAMES = ("y", "lat", "latitude", "northing", "rlat", "yc", "projection_y_coordinate")


def _cf():
    try:
        import cf_xarray  # noqa: F401  (registers the .cf accessor)
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ImportError("zarrconv CF support needs cf-xarray: pip install 'zarrconv[geo]'") from exc


def axes(obj: xr.Dataset | xr.DataArray, *, guess: bool = True) -> dict[str, list[Hashable]]:
    """CF axes of ``obj``: ``{"X": [...], "Y": [...], "Z": [...], "T": [...]}`` (only those found).

    Uses the ``axis``/``standard_name``/``units`` attributes through cf-xarray, and when
    ``guess`` is true also cf-xarray's name heuristics (``guess_coord_axis``) and the
    ``longitude``/``latitude`` coordinate criteria. ``obj`` itself is not modified.
    """
    _cf()
    found: dict[str, list[Hashable]] = {k: list(v) for k, v in obj.cf.axes.items()}
    if guess:
        guessed = obj.cf.guess_coord_axis()
        for key, names in guessed.cf.axes.items():
            found.setdefault(key, list(names))
        coords = guessed.cf.coordinates
        for axis, std in (("X", "longitude"), ("Y", "latitude")):
            if axis not in found and std in coords:
                found[axis] = list(coords[std])
    return found


def spatial_dims(
    obj: xr.Dataset | xr.DataArray,
    *,
    x_dim: Hashable | None = None,
    y_dim: Hashable | None = None,
) -> tuple[Hashable, Hashable]:
    """The ``(y_dim, x_dim)`` dimension names of the horizontal grid of ``obj``.

    In order: the explicit arguments; the ``spatial:dimensions`` attribute (``[y, x]``);
    1-D coordinates that CF/cf-xarray identify as the X/Y axes (or longitude/latitude);
    well-known dimension names (``x``/``y``, ``X``/``Y``, ``lon``/``lat``, ...).

    Raises
    ------
    MetadataError
        If no unambiguous pair is found; pass ``x_dim``/``y_dim``.
    """
    dims = list(obj.dims)
    if x_dim is not None and y_dim is not None:
        for d in (x_dim, y_dim):
            if d not in dims:
                raise MetadataError(f"dimension {d!r} is not one of {dims}")
        return y_dim, x_dim
    sd = obj.attrs.get("spatial:dimensions")
    if (
        isinstance(sd, (list, tuple))
        and len(sd) == 2
        and all(isinstance(d, str) and d in dims for d in sd)
    ):
        return (y_dim or sd[0]), (x_dim or sd[1])
    ax = axes(obj)

    def pick(axis: str, explicit: Hashable | None, names: Iterable[str]) -> Hashable | None:
        if explicit is not None:
            return explicit
        candidates = []
        for name in ax.get(axis, []):
            if name in dims:
                candidates.append(name)
            elif name in obj.coords and obj[name].ndim == 1 and obj[name].dims[0] in dims:
                candidates.append(obj[name].dims[0])
        candidates = list(dict.fromkeys(candidates))
        if len(candidates) == 1:
            return candidates[0]
        lowered = {str(d).lower(): d for d in dims}
        for n in names:
            if n in lowered:
                return lowered[n]
        return None

    x = pick("X", x_dim, _X_NAMES)
    y = pick("Y", y_dim, _Y_NAMES)
    if x is None or y is None or x == y:
        raise MetadataError(
            f"cannot tell which dimensions of {dims} are the horizontal X/Y axes; "
            "give them CF 'axis' attributes or pass x_dim=/y_dim="
        )
    return y, x


def coordinate_attrs(crs: Any) -> dict[str, dict[str, str]]:
    """CF attributes of the X and Y coordinates of ``crs`` (a pyproj CRS).

    ``{"X": {"standard_name": "projection_x_coordinate", "units": "metre", "axis": "X",
    "long_name": ...}, "Y": {...}}`` for a projected CRS; ``longitude``/``latitude`` with
    ``degrees_east``/``degrees_north`` for a geographic one (pyproj's ``cs_to_cf``).
    """
    out: dict[str, dict[str, str]] = {}
    for entry in crs.cs_to_cf():
        axis = entry.get("axis")
        if axis in ("X", "Y") and axis not in out:
            out[axis] = {k: v for k, v in entry.items() if isinstance(v, str)}
    return out


def add_bounds(
    obj: xr.Dataset | xr.DataArray,
    keys: str | Iterable[Hashable] | None = None,
    *,
    dim: Hashable | None = None,
) -> xr.Dataset:
    """Add CF cell-boundary variables (``<name>_bounds``) for coordinates of ``obj``.

    ``keys`` are coordinate names or CF keys (``"X"``, ``"latitude"``...); by default the
    horizontal X/Y coordinates. Each coordinate gets a ``bounds`` attribute naming its
    ``(n, 2)`` boundary variable (cf-xarray's ``add_bounds``), which xarray writes to Zarr
    as an ordinary array. Returns a Dataset (a DataArray is converted first).
    """
    _cf()
    ds = obj.to_dataset(name=obj.name or "data") if isinstance(obj, xr.DataArray) else obj
    if keys is None:
        y, x = spatial_dims(ds)
        keys = [k for k in (x, y) if k in ds.coords]
    elif isinstance(keys, str):
        keys = [keys]
    keys = list(keys)
    if not keys:
        raise MetadataError("add_bounds: no coordinates to bound")
    kwargs: dict[str, Any] = {}
    if dim is not None:
        kwargs["dim"] = dim
    return ds.cf.add_bounds(keys, **kwargs)


def set_axis_attrs(
    obj: xr.Dataset | xr.DataArray,
    attrs_by_name: Mapping[Hashable, Mapping[str, str]],
) -> xr.Dataset | xr.DataArray:
    """Return ``obj`` with CF attributes set on the named coordinates (others untouched).

    ``standard_name`` and ``axis`` are overwritten (they must match the CRS); ``units``
    and ``long_name`` are only added when missing.
    """
    updates = {}
    for name, attrs in attrs_by_name.items():
        if name not in obj.coords:
            continue
        var = obj.coords[name].variable.copy(deep=False)
        new = dict(var.attrs)
        for key, value in attrs.items():
            if key in ("standard_name", "axis") or key not in new:
                new[key] = value
        var.attrs = new
        updates[name] = var
    return obj.assign_coords(updates) if updates else obj
