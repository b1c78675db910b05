"""A group's OME metadata as one object (:class:`OmeMetadata`), its version, and :func:`parse_attrs`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zarrconv.errors import MetadataError

from ..transforms import (
    ArraySource,
    Transformation,
)
from .axes import (
    CoordinateSystem,
    parse_systems,
    parse_transformations,
)
from .fields import (
    extra_members,
    json_array,
    json_error,
    json_object,
    json_string,
)
from .labels import ImageLabel
from .multiscales import Multiscale
from .omero import Omero
from .plate import Plate, Well
from .versions import V06_TAG, WRITE_VERSIONS, is_v06, namespaced

__all__ = [
    "OME_KEYS",
    "OmeMetadata",
    "Scene",
    "detect_version",
    "parse_attrs",
]


OME_KEYS = ("multiscales", "omero", "labels", "image-label", "plate", "well", "bioformats2raw.layout", "series",
             "scene")


@dataclass
class Scene:
    """``scene`` metadata (0.6): coordinate systems of its own and transformations between
    them and the coordinate systems of the images below it (``input``/``output`` paths)."""

    transformations: list[Transformation]
    coordinate_systems: list[CoordinateSystem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str, arrays: ArraySource | None = None) -> Scene:
        """Parse a ``scene`` object (``arrays`` reads what transformations store by path)."""
        d = json_object(value, where, "'scene'")
        if "coordinateTransformations" not in d:
            raise json_error(where, "the scene has no 'coordinateTransformations'")
        return cls(parse_transformations(d["coordinateTransformations"], f"{where}.coordinateTransformations",
                                         arrays),
                   parse_systems(d.get("coordinateSystems", []), f"{where}.coordinateSystems"),
                   extra_members(d, ("coordinateTransformations", "coordinateSystems")))

    def to_json(self) -> dict[str, Any]:
        """The scene as a JSON object."""
        d: dict[str, Any] = {}
        if self.coordinate_systems:
            d["coordinateSystems"] = [c.to_json() for c in self.coordinate_systems]
        d["coordinateTransformations"] = [t.to_json() for t in self.transformations]
        return {**d, **self.extra}


@dataclass
class OmeMetadata:
    """Everything OME-Zarr says about one group.

    ``version`` is the metadata version ("0.5", "0.4", ...). ``kind`` tells what the group
    is: "image", "label" (a label image, which is also an image), "labels" (the container
    of label images), "plate", "well", "bioformats2raw" (a container of images),
    "series" (the ``OME`` group of such a container) or "scene" (0.6: images related by
    coordinate transformations).
    """

    version: str
    multiscales: list[Multiscale] | None = None
    omero: Omero | None = None
    labels: list[str] | None = None
    image_label: ImageLabel | None = None
    plate: Plate | None = None
    well: Well | None = None
    bioformats2raw_layout: int | None = None
    series: list[str] | None = None
    scene: Scene | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The role of the group (see the class docstring)."""
        if self.plate is not None:
            return "plate"
        if self.image_label is not None:
            return "label"
        if self.multiscales is not None:
            return "image"
        if self.well is not None:
            return "well"
        if self.labels is not None:
            return "labels"
        if self.bioformats2raw_layout is not None:
            return "bioformats2raw"
        if self.series is not None:
            return "series"
        if self.scene is not None:
            return "scene"
        return "unknown"

    def to_attrs(self, version: str | None = None) -> dict[str, Any]:
        """The group attributes for ``version`` (default: the parsed version; 0.4, 0.5 or
        0.6, written as :data:`V06_TAG`)."""
        version = version or self.version
        if is_v06(version):
            version = "0.6"
        if version not in WRITE_VERSIONS:
            raise MetadataError(f"cannot write OME-Zarr version {version!r}; choose one of {WRITE_VERSIONS}")
        d: dict[str, Any] = {}
        if self.bioformats2raw_layout is not None:
            d["bioformats2raw.layout"] = self.bioformats2raw_layout
        if self.multiscales is not None:
            d["multiscales"] = [m.to_json(version) for m in self.multiscales]
        if self.omero is not None:
            d["omero"] = self.omero.to_json(version)
        if self.image_label is not None:
            d["image-label"] = self.image_label.to_json(version)
        if self.labels is not None:
            d["labels"] = list(self.labels)
        if self.plate is not None:
            d["plate"] = self.plate.to_json(version)
        if self.well is not None:
            d["well"] = self.well.to_json(version)
        if self.series is not None:
            d["series"] = list(self.series)
        if self.scene is not None:
            if version != "0.6":
                raise MetadataError(f"a scene cannot be written as OME-Zarr {version}; it needs 0.6")
            d["scene"] = self.scene.to_json()
        if namespaced(version):
            return {"ome": {"version": V06_TAG if version == "0.6" else "0.5", **d, **self.extra}}
        return {**d, **self.extra}


def detect_version(attrs: Mapping[str, Any]) -> str | None:
    """The OME-Zarr version of group attributes, or None if they hold no OME metadata."""
    ome = attrs.get("ome")
    if isinstance(ome, Mapping) and (ome.get("version") is not None or any(k in ome for k in OME_KEYS)):
        v = ome.get("version")
        return str(v) if v is not None else "0.5"
    if not any(k in attrs for k in OME_KEYS):
        return None
    candidates: list[Any] = []
    ms = attrs.get("multiscales")
    if isinstance(ms, list):
        candidates += [m.get("version") for m in ms if isinstance(m, Mapping)]
    for key in ("image-label", "plate", "well", "omero"):
        if isinstance(attrs.get(key), Mapping):
            candidates.append(attrs[key].get("version"))
    for v in candidates:
        if isinstance(v, str) and v:
            return v
    return "0.4"


def parse_attrs(
    attrs: Mapping[str, Any], where: str = "", *, ndim: int | None = None, arrays: ArraySource | None = None
) -> OmeMetadata | None:
    """Parse the attributes of a group into :class:`OmeMetadata` (None if not OME).

    ``where`` names the store and node in error messages; ``ndim`` is the dimensionality
    of the first level, used only for 0.1/0.2 images that have no ``axes``; ``arrays``
    reads the parameters and fields 0.6 transformations store in Zarr arrays (without it,
    such transformations parse but cannot be applied).
    """
    version = detect_version(attrs)
    if version is None:
        return None
    if isinstance(attrs.get("ome"), Mapping):
        ns: Mapping[str, Any] = attrs["ome"]
        base = f"{where} attributes['ome']" if where else "attributes['ome']"
        extra = extra_members(ns, (*OME_KEYS, "version"))
    else:
        ns = attrs
        base = where
        extra = {}
    md = OmeMetadata(version=version, extra=extra)

    def w(key: str) -> str:
        return f"{base}.{key}" if base else key

    if "multiscales" in ns:
        ms = json_array(ns["multiscales"], w("multiscales"), "'multiscales'")
        if not ms:
            raise json_error(w("multiscales"), "'multiscales' is empty")
        md.multiscales = [Multiscale.parse(m, f"{w('multiscales')}[{i}]", ndim, version, arrays) for i, m in enumerate(ms)]
    if ns.get("omero") is not None:  # ome-zarr-models writes "omero": null for "no rendering metadata"
        md.omero = Omero.parse(ns["omero"], w("omero"))
    if "labels" in ns:
        md.labels = [json_string(x, w("labels"), "a label path") for x in json_array(ns["labels"], w("labels"), "'labels'")]
    if "image-label" in ns:
        md.image_label = ImageLabel.parse(ns["image-label"], w("image-label"))
    if "plate" in ns:
        md.plate = Plate.parse(ns["plate"], w("plate"))
    if "well" in ns:
        md.well = Well.parse(ns["well"], w("well"))
    if "bioformats2raw.layout" in ns:
        layout = ns["bioformats2raw.layout"]
        if isinstance(layout, bool) or not isinstance(layout, (int, float)) or not math.isfinite(layout):
            raise json_error(w("bioformats2raw.layout"), f"must be a number, got {layout!r}")
        md.bioformats2raw_layout = int(layout)
    if "scene" in ns:
        md.scene = Scene.parse(ns["scene"], w("scene"), arrays)
    if "series" in ns:
        md.series = [json_string(x, w("series"), "a series path") for x in json_array(ns["series"], w("series"), "'series'")]
    return md
