"""Axes and coordinate systems (``axes``, ``coordinateSystems``), RFC-4 anatomical orientation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..transforms import (
    ArraySource,
    Transformation,
    parse_transformation,
)
from .fields import (
    drop_none,
    extra_members,
    json_array,
    json_error,
    json_object,
    json_string,
)

__all__ = [
    "ANATOMICAL_ORIENTATIONS",
    "AXIS_TYPES",
    "Axis",
    "CoordinateSystem",
    "guess_axis_type",
    "parse_orientation",
    "parse_systems",
    "parse_transformations",
]


#: Axis types named by the specification (others are custom).
AXIS_TYPES: tuple[str, ...] = ("time", "channel", "space")


#: RFC-4 anatomical orientations: the direction from the lowest to the highest coordinate.
ANATOMICAL_ORIENTATIONS: tuple[str, ...] = (
    "left-to-right", "right-to-left", "anterior-to-posterior", "posterior-to-anterior",
    "inferior-to-superior", "superior-to-inferior", "dorsal-to-ventral", "ventral-to-dorsal",
    "dorsal-to-palmar", "palmar-to-dorsal", "dorsal-to-plantar", "plantar-to-dorsal",
    "rostral-to-caudal", "caudal-to-rostral", "cranial-to-caudal", "caudal-to-cranial",
    "proximal-to-distal", "distal-to-proximal", "superficial-to-deep", "deep-to-superficial",
    "apical-to-basal", "basal-to-apical", "apex-to-base", "base-to-apex",
)


@dataclass
class Axis:
    """One dimension: ``name``, ``type`` (space/time/channel/custom/None), ``unit`` and the
    RFC-4 anatomical ``orientation`` of a space axis (one of :data:`ANATOMICAL_ORIENTATIONS`)."""

    name: str
    type: str | None = None
    unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    orientation: str | None = None

    @classmethod
    def parse(cls, value: Any, where: str) -> Axis:
        """Parse an axis object, or a 0.3-style axis name."""
        if isinstance(value, str):  # 0.3: axes were plain names
            return cls(value, guess_axis_type(value))
        d = json_object(value, where, "an axis")
        if "name" not in d:
            raise json_error(where, "an axis has no 'name'")
        name = json_string(d["name"], where, "axis name")
        typ = d.get("type")
        unit = d.get("unit")
        orientation = parse_orientation(d.get("orientation"), typ, f"{where}.orientation")
        known = ("name", "type", "unit") if orientation is None else ("name", "type", "unit", "orientation")
        return cls(name, typ if typ is None else str(typ), unit if unit is None else str(unit),
                   extra_members(d, known), orientation)

    def to_json(self) -> dict[str, Any]:
        """The axis as a JSON object."""
        d = drop_none({"name": self.name, "type": self.type, "unit": self.unit})
        if self.orientation is not None:
            d["orientation"] = {"type": "anatomical", "value": self.orientation}
        return {**d, **self.extra}


def parse_orientation(value: Any, axis_type: Any, where: str) -> str | None:
    """The anatomical orientation value of an RFC-4 ``orientation`` object (None when absent
    or of another, unknown type: such objects stay in ``extra``)."""
    if value is None:
        return None
    d = json_object(value, where, "an orientation")
    if d.get("type") != "anatomical":
        return None
    if axis_type != "space":
        raise json_error(where, f"an anatomical orientation is only for space axes, not type {axis_type!r}")
    v = d.get("value")
    if v not in ANATOMICAL_ORIENTATIONS:
        raise json_error(where, f"unknown anatomical orientation {v!r}; one of {', '.join(ANATOMICAL_ORIENTATIONS)}")
    return str(v)


def guess_axis_type(name: str) -> str | None:
    n = name.lower()
    if n in ("t", "time"):
        return "time"
    if n in ("c", "ch", "channel", "channels"):
        return "channel"
    if n in ("x", "y", "z"):
        return "space"
    return None


@dataclass
class CoordinateSystem:
    """A named coordinate system (0.6): ``name`` and its ``axes``."""

    name: str
    axes: list[Axis]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> CoordinateSystem:
        """Parse one ``coordinateSystems`` entry."""
        d = json_object(value, where, "a coordinate system")
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise json_error(where, f"a coordinate system needs a non-empty 'name', got {name!r}")
        if "axes" not in d:
            raise json_error(where, f"coordinate system {name!r} has no 'axes'")
        axes = [Axis.parse(a, f"{where}.axes[{i}]") for i, a in enumerate(json_array(d["axes"], where, "'axes'"))]
        return cls(name, axes, extra_members(d, ("name", "axes")))

    def to_json(self) -> dict[str, Any]:
        """The coordinate system as a JSON object."""
        return {"name": self.name, "axes": [a.to_json() for a in self.axes], **self.extra}


def parse_systems(value: Any, where: str) -> list[CoordinateSystem]:
    """Parse a ``coordinateSystems`` array (names must be unique)."""
    systems = [CoordinateSystem.parse(c, f"{where}[{i}]") for i, c in enumerate(json_array(value, where, "'coordinateSystems'"))]
    names = [c.name for c in systems]
    if len(set(names)) != len(names):
        raise json_error(where, f"coordinate system names must be unique, got {names}")
    return systems


def parse_transformations(value: Any, where: str, arrays: ArraySource | None = None) -> list[Transformation]:
    """Parse a 0.6 ``coordinateTransformations`` array (``arrays`` reads what is stored by path)."""
    return [parse_transformation(t, f"{where}[{i}]", arrays)
            for i, t in enumerate(json_array(value, where, "'coordinateTransformations'"))]
