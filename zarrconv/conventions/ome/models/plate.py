"""High-content screening: ``plate`` and ``well`` metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fields import (
    drop_none,
    extra_members,
    json_entries,
    json_error,
    json_object,
    json_string,
)
from .versions import namespaced

__all__ = [
    "Acquisition",
    "Plate",
    "PlateWell",
    "Well",
    "WellImage",
]


@dataclass
class Acquisition:
    """One acquisition of a plate."""

    id: int
    name: str | None = None
    maximumfieldcount: int | None = None
    description: str | None = None
    starttime: int | None = None
    endtime: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: The members the specification names (the others go to ``extra``).
    KEYS = ("id", "name", "maximumfieldcount", "description", "starttime", "endtime")

    @classmethod
    def parse(cls, value: Any, where: str) -> Acquisition:
        """Parse an acquisition object; it must have an integer ``id``."""
        a = json_object(value, where, "an acquisition")
        if not isinstance(a.get("id"), int):
            raise json_error(where, "an acquisition has no integer 'id'")
        return cls(**{k: a.get(k) for k in cls.KEYS}, extra=extra_members(a, cls.KEYS))

    def to_json(self) -> dict[str, Any]:
        """The acquisition as a JSON object."""
        return {**drop_none({k: getattr(self, k) for k in self.KEYS}), **self.extra}


@dataclass
class PlateWell:
    """A well of a plate: ``path`` "row/column" and its indices into rows and columns."""

    path: str
    row_index: int
    column_index: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The well entry as a JSON object."""
        return {"path": self.path, "rowIndex": self.row_index, "columnIndex": self.column_index, **self.extra}


@dataclass
class Plate:
    """``plate`` metadata of a high-content-screening plate."""

    rows: list[str]
    columns: list[str]
    wells: list[PlateWell]
    acquisitions: list[Acquisition] | None = None
    field_count: int | None = None
    name: str | None = None
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> Plate:
        """Parse a ``plate`` object."""
        d = json_object(value, where, "'plate'")
        for key in ("rows", "columns", "wells"):
            if key not in d:
                raise json_error(where, f"the plate has no {key!r}")

        rows, columns = ([str(r["name"]) for _, r in json_entries(d, key, where, f"a {key[:-1]}", "name")]
                         for key in ("rows", "columns"))
        wells = []
        for ww, w in json_entries(d, "wells", where, "a well", "path"):
            path = json_string(w["path"], ww, "well path")
            ri, ci = w.get("rowIndex"), w.get("columnIndex")
            if not isinstance(ri, int) or not isinstance(ci, int):  # 0.1-0.3 had no indices
                parts = path.split("/")
                ri = rows.index(parts[0]) if len(parts) == 2 and parts[0] in rows else -1
                ci = columns.index(parts[1]) if len(parts) == 2 and parts[1] in columns else -1
            wells.append(PlateWell(path, ri, ci, extra_members(w, ("path", "rowIndex", "columnIndex"))))
        acqs = None
        if "acquisitions" in d:
            acqs = []
            for wa, a in json_entries(d, "acquisitions", where, "an acquisition"):
                acqs.append(Acquisition.parse(a, wa))
        fc = d.get("field_count")
        return cls(
            rows=rows, columns=columns, wells=wells, acquisitions=acqs,
            field_count=fc if isinstance(fc, int) else None,
            name=d.get("name") if isinstance(d.get("name"), str) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
            extra=extra_members(d, ("rows", "columns", "wells", "acquisitions", "field_count", "name", "version")),
        )

    def to_json(self, version: str) -> dict[str, Any]:
        """The object as JSON (0.4 carries a version)."""
        d: dict[str, Any] = {}
        if self.acquisitions is not None:
            d["acquisitions"] = [a.to_json() for a in self.acquisitions]
        d["columns"] = [{"name": c} for c in self.columns]
        if self.field_count is not None:
            d["field_count"] = self.field_count
        if self.name is not None:
            d["name"] = self.name
        d["rows"] = [{"name": r} for r in self.rows]
        if not namespaced(version):
            d["version"] = version
        d["wells"] = [w.to_json() for w in self.wells]
        d.update(self.extra)
        return d


@dataclass
class WellImage:
    """A field of view of a well."""

    path: str
    acquisition: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The image entry as a JSON object."""
        d: dict[str, Any] = {"path": self.path}
        if self.acquisition is not None:
            d["acquisition"] = self.acquisition
        return {**d, **self.extra}


@dataclass
class Well:
    """``well`` metadata: the fields of view of one well."""

    images: list[WellImage]
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> Well:
        """Parse a ``well`` object."""
        d = json_object(value, where, "'well'")
        if "images" not in d:
            raise json_error(where, "the well has no 'images'")
        images = []
        for wi, im in json_entries(d, "images", where, "a well image", "path"):
            acq = im.get("acquisition")
            images.append(WellImage(json_string(im["path"], wi, "image path"), acq if isinstance(acq, int) else None,
                                    extra_members(im, ("path", "acquisition"))))
        return cls(images, d.get("version") if isinstance(d.get("version"), str) else None,
                   extra_members(d, ("images", "version")))

    def to_json(self, version: str) -> dict[str, Any]:
        """The object as JSON (0.4 carries a version)."""
        d: dict[str, Any] = {"images": [im.to_json() for im in self.images]}
        if not namespaced(version):
            d["version"] = version
        d.update(self.extra)
        return d
