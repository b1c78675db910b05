"""Axis units of OME-Zarr: the specification's recommended lists, checked with pint.

The lists live in ``conventions/ome/schemas/common.schema.json`` (``$defs/spaceUnit`` and
``$defs/timeUnit``), the single source of truth shared with the JSON Schemas. pint (if
installed) turns common spellings such as ``"um"``, ``"µm"``, ``"micron"``, ``"s"`` or
``"ms"`` into the spelling the specification wants.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from zarrconv.conventions._schemas import load_json
from zarrconv.conventions.units import unit_parse_errors

__all__ = ["normalize_unit", "space_units", "time_units", "to_meters", "unit_problem"]


@functools.cache
def space_units() -> frozenset[str]:
    """The unit names the specification recommends for axes of type ``space``."""
    return frozenset(load_json("ome", "schemas", "common.schema.json")["$defs"]["spaceUnit"]["enum"])


@functools.cache
def time_units() -> frozenset[str]:
    """The unit names the specification recommends for axes of type ``time``."""
    return frozenset(load_json("ome", "schemas", "common.schema.json")["$defs"]["timeUnit"]["enum"])


def _allowed(axis_type: str | None) -> frozenset[str] | None:
    if axis_type == "space":
        return space_units()
    if axis_type == "time":
        return time_units()
    return None


@functools.cache
def _registry() -> Any:
    try:
        import pint
    except ImportError:  # pragma: no cover - pint is a declared dependency of the units layer
        return None
    return pint.UnitRegistry()


def _pint_equivalent(unit: str, allowed: frozenset[str]) -> str | None:
    """The allowed name that denotes exactly the same unit as ``unit``, using pint."""
    ureg = _registry()
    if ureg is None:
        return None
    from pint.errors import DimensionalityError, OffsetUnitCalculusError

    text = unit.strip().replace("µ", "u").replace("μ", "u")
    try:
        parsed = ureg.parse_units(text)
    except unit_parse_errors():
        return None
    for name in sorted(allowed):
        target = ureg.parse_units(name)
        if parsed.dimensionality != target.dimensionality:
            continue
        try:
            factor = (1 * parsed).to(target).magnitude
        except (DimensionalityError, OffsetUnitCalculusError):
            continue
        if math.isclose(factor, 1.0, rel_tol=1e-9):
            return name
    return None


def normalize_unit(unit: str | None, axis_type: str | None) -> str | None:
    """Return the specification's spelling of ``unit`` for an axis of ``axis_type``.

    ``None`` stays ``None``; units of axes that are neither space nor time are returned
    unchanged. Raises ``ValueError`` when a space or time unit is neither in the list nor
    a pint alias of an entry of it (e.g. ``"pixel"`` or a time unit on a space axis).
    """
    if unit is None:
        return None
    allowed = _allowed(axis_type)
    if allowed is None or unit in allowed:
        return unit
    equivalent = _pint_equivalent(unit, allowed)
    if equivalent is not None:
        return equivalent
    raise ValueError(
        f"unit {unit!r} is not allowed for a {axis_type} axis; use one of: {', '.join(sorted(allowed))}"
    )


def unit_problem(unit: Any, axis_type: str | None) -> str | None:
    """A sentence describing what is wrong with ``unit`` on an axis of ``axis_type``, or
    None when it is one of the recommended units (or the axis has no unit)."""
    if unit is None:
        return None
    if not isinstance(unit, str):
        return f"unit must be a string, got {unit!r}"
    allowed = _allowed(axis_type)
    if allowed is None or unit in allowed:
        return None
    equivalent = _pint_equivalent(unit, allowed)
    if equivalent is not None:
        return f"unit {unit!r} is not spelled as the specification requires; write {equivalent!r}"
    other = _allowed("time" if axis_type == "space" else "space")
    if other is not None and unit in other:
        return f"unit {unit!r} is a {'time' if axis_type == 'space' else 'space'} unit on a {axis_type} axis"
    return f"unit {unit!r} is not one of the {axis_type} units of the specification"


def to_meters(unit: str) -> float | None:
    """How many meters one ``unit`` (a space unit name) is, or None when pint is missing
    or does not know it: used to compare pixel sizes of axes in different units."""
    ureg = _registry()
    if ureg is None:
        return None
    from pint.errors import DimensionalityError, UndefinedUnitError

    try:
        return float((1 * ureg.parse_units(unit)).to("meter").magnitude)
    except (UndefinedUnitError, DimensionalityError):
        return None
