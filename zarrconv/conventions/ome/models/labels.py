"""``image-label`` metadata of a label image: colours, properties, source."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fields import (
    extra_members,
    json_entries,
    json_error,
    json_object,
)
from .versions import namespaced

__all__ = [
    "ImageLabel",
    "LabelColor",
]


@dataclass
class LabelColor:
    """Display colour of one label value."""

    label_value: int | float
    rgba: tuple[int, int, int, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The colour entry as a JSON object."""
        d: dict[str, Any] = {"label-value": self.label_value}
        if self.rgba is not None:
            d["rgba"] = [int(v) for v in self.rgba]
        d.update(self.extra)
        return d


@dataclass
class ImageLabel:
    """``image-label`` metadata of a label image."""

    colors: list[LabelColor] | None = None
    properties: list[dict[str, Any]] | None = None
    source: dict[str, Any] | None = None
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> ImageLabel:
        """Parse an ``image-label`` object."""
        d = json_object(value, where, "'image-label'")
        colors = None
        if "colors" in d:
            colors = []
            for w, c in json_entries(d, "colors", where, "a color", "label-value"):
                rgba = c.get("rgba")
                if isinstance(rgba, (list, tuple)) and len(rgba) == 4 and not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in rgba):
                    raise json_error(w, f"rgba {rgba!r} must be four integers 0-255")
                colors.append(LabelColor(
                    c["label-value"],
                    tuple(int(v) for v in rgba) if isinstance(rgba, (list, tuple)) and len(rgba) == 4 else None,
                    extra_members(c, ("label-value", "rgba")) | ({} if rgba is None or (isinstance(rgba, (list, tuple)) and len(rgba) == 4) else {"rgba": rgba}),
                ))
        props = None
        if "properties" in d:
            props = [dict(p) for _, p in json_entries(d, "properties", where, "a property")]
        src = d.get("source")
        return cls(
            colors=colors,
            properties=props,
            source=dict(src) if isinstance(src, Mapping) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
            extra=extra_members(d, ("colors", "properties", "source", "version")),
        )

    def to_json(self, version: str) -> dict[str, Any]:
        """The object as JSON (0.4 carries a version)."""
        d: dict[str, Any] = {}
        if not namespaced(version):
            d["version"] = version
        if self.colors is not None:
            d["colors"] = [c.to_json() for c in self.colors]
        if self.properties is not None:
            d["properties"] = self.properties
        if self.source is not None:
            d["source"] = self.source
        d.update(self.extra)
        return d

    @property
    def source_image(self) -> str:
        """Relative path of the source image ("../../" when not given)."""
        if self.source and isinstance(self.source.get("image"), str):
            return self.source["image"]
        return "../../"
