"""The transitional ``omero`` rendering metadata: channels and display windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fields import (
    drop_none,
    extra_members,
    json_array,
    json_object,
)
from .versions import namespaced

__all__ = [
    "Channel",
    "Omero",
    "Window",
]


@dataclass
class Window:
    """Rendering window of a channel."""

    start: float
    end: float
    min: float
    max: float

    def to_json(self) -> dict[str, float]:
        """The window as a JSON object."""
        return {"start": self.start, "end": self.end, "min": self.min, "max": self.max}


@dataclass
class Channel:
    """One entry of ``omero.channels``."""

    label: str | None = None
    color: str | None = None
    window: Window | None = None
    active: bool | None = None
    family: str | None = None
    coefficient: float | None = None
    inverted: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: The members the specification names (the others go to ``extra``).
    KEYS = ("label", "color", "window", "active", "family", "coefficient", "inverted")

    @classmethod
    def parse(cls, value: Any, where: str) -> Channel:
        """Parse a channel object (lenient: bad optional values are kept in ``extra``)."""
        d = json_object(value, where, "an omero channel")
        win = d.get("window")
        window = None
        if isinstance(win, Mapping) and all(isinstance(win.get(k), (int, float)) for k in ("start", "end", "min", "max")):
            window = Window(float(win["start"]), float(win["end"]), float(win["min"]), float(win["max"]))
        bad_window = {"window": win} if (win is not None and window is None) else {}
        label = d.get("label")
        return cls(
            label=None if label is None else str(label),
            color=d.get("color") if isinstance(d.get("color"), str) else None,
            window=window,
            active=d.get("active") if isinstance(d.get("active"), bool) else None,
            family=d.get("family") if isinstance(d.get("family"), str) else None,
            coefficient=d.get("coefficient") if isinstance(d.get("coefficient"), (int, float)) else None,
            inverted=d.get("inverted") if isinstance(d.get("inverted"), bool) else None,
            extra={**extra_members(d, cls.KEYS), **bad_window},
        )

    def update_from(self, other: Channel) -> None:
        """Take the members ``other`` sets (not None) and its ``extra``: a channel given in part
        (say only a label and a colour) over a default one."""
        for key in self.KEYS:
            value = getattr(other, key)
            if value is not None:
                setattr(self, key, value)
        self.extra.update(other.extra)

    def to_json(self) -> dict[str, Any]:
        """The channel as a JSON object."""
        d = drop_none({
            "label": self.label, "color": self.color, "active": self.active, "family": self.family,
            "coefficient": self.coefficient, "inverted": self.inverted,
        })
        if self.window is not None:
            d["window"] = self.window.to_json()
        d.update(self.extra)
        return d


@dataclass
class Omero:
    """Transitional ``omero`` rendering metadata."""

    channels: list[Channel]
    id: int | None = None
    name: str | None = None
    rdefs: dict[str, Any] | None = None
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> Omero:
        """Parse an ``omero`` object."""
        d = json_object(value, where, "'omero'")
        chans = d.get("channels", [])
        channels = [Channel.parse(c, f"{where}.channels[{i}]") for i, c in enumerate(json_array(chans, where, "'channels'"))]
        rdefs = d.get("rdefs")
        return cls(
            channels=channels,
            id=d.get("id") if isinstance(d.get("id"), int) else None,
            name=d.get("name") if isinstance(d.get("name"), str) else None,
            rdefs=dict(rdefs) if isinstance(rdefs, Mapping) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
            extra=extra_members(d, ("channels", "id", "name", "rdefs", "version")),
        )

    def to_json(self, version: str) -> dict[str, Any]:
        """The object as JSON (0.4 carries a version)."""
        d: dict[str, Any] = {}
        if self.id is not None:
            d["id"] = self.id
        if self.name is not None:
            d["name"] = self.name
        if not namespaced(version):
            d["version"] = version
        d["channels"] = [c.to_json() for c in self.channels]
        if self.rdefs is not None:
            d["rdefs"] = self.rdefs
        d.update(self.extra)
        return d

    @property
    def labels(self) -> list[str | None]:
        """Channel labels in order (None where a channel has none)."""
        return [c.label for c in self.channels]
