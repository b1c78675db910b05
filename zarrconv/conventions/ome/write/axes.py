"""The axes of an image to write: names, types, units and orientation from the arguments of
:func:`~zarrconv.conventions.ome.write_image` and a DataArray's dimensions and coordinates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zarrconv.errors import MetadataError

from .._units import normalize_unit
from ..models import Axis, guess_axis_type

__all__ = ["check_axes", "coords_geometry", "default_axes", "is_dataarray", "orient", "per_axis", "resolve_axes"]

#: RFC-4's two named conventions, as orientations of the axes x, y and z.
_ORIENTATION_SYSTEMS = {
    "LPS": {"x": "right-to-left", "y": "anterior-to-posterior", "z": "inferior-to-superior"},
    "RAS": {"x": "left-to-right", "y": "posterior-to-anterior", "z": "inferior-to-superior"},
}


def is_dataarray(x: Any) -> bool:
    """Whether ``x`` is an ``xr.DataArray`` (told without importing xarray)."""
    return type(x).__name__ == "DataArray" and hasattr(x, "dims") and hasattr(x, "coords")


def default_axes(ndim: int) -> list[str]:
    """Axis names used when none are given: the last ``ndim`` of t, c, z, y, x."""
    if not 2 <= ndim <= 5:
        raise MetadataError(f"OME-Zarr images have 2 to 5 dimensions, got {ndim}")
    return ["t", "c", "z", "y", "x"][5 - ndim:]


def per_axis(value: Any, names: list[str], what: str, default: Any = None) -> list[Any]:
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
    guess = guess_axis_type(name)
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


def _given_axes(axes: Any, names_hint: list[str] | None, ndim: int) -> tuple[list[str], list[Axis | None]]:
    """Axis names and the axis objects given for them (None where only a name was)."""
    if axes is None:
        return names_hint or default_axes(ndim), [None] * ndim
    if isinstance(axes, str):
        return list(axes), [None] * len(axes)
    given: list[Axis | None] = []
    names: list[str] = []
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
    return names, given


def resolve_axes(axes: Any, names_hint: list[str] | None, ndim: int, units: Any,
                 coord_units: dict[str, str]) -> list[Axis]:
    """The checked axes of an image of ``ndim`` dimensions: ``axes`` as given (names, dicts or
    Axis objects; default the DataArray's dims ``names_hint``, else t, c, z, y, x), types inferred
    from names or units, units normalized to the specification's spelling."""
    names, given = _given_axes(axes, names_hint, ndim)
    if len(names) != ndim:
        raise MetadataError(f"{len(names)} axes {names} for data of {ndim} dimensions")
    if len(set(names)) != len(names):
        raise MetadataError(f"axis names must be unique, got {names}")
    unit_list = per_axis(units, names, "units")
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
    check_axes(out)
    return out


def orient(axes: list[Axis], orientation: str | Mapping[str, str] | None) -> None:
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


def check_axes(axes: list[Axis]) -> None:
    """Raise MetadataError unless ``axes`` are what an OME-Zarr image may have: 2 or 3 space
    axes, at most one time and one channel/custom axis, in the order time, channel, space."""
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


def coords_geometry(da_: Any) -> tuple[dict[str, float], dict[str, float], dict[str, str], list[str] | None]:
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
