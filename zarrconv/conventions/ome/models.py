"""OME-Zarr (OME-NGFF) metadata: parse group attributes into dataclasses and back.

One set of dataclasses serves every version; :func:`parse_attrs` reads the attributes of a
group written with OME-NGFF 0.1 to 0.6 and :meth:`OmeMetadata.to_attrs` writes 0.4, 0.5 or 0.6:

* 0.6 (Zarr v3, written as :data:`V06_TAG`): as 0.5, plus named coordinate systems; each
  dataset has one transformation from its array (``input.path``) to the intrinsic system,
  other transformations link systems (:mod:`.transforms`), and a ``scene`` relates images.

* 0.5 (Zarr v3): everything lives in ``attributes["ome"]``, whose ``version`` is "0.5";
  the objects themselves carry no version.
* 0.4 and earlier (Zarr v2, ``.zattrs``): the keys are at the top level and each object
  (``multiscales[i]``, ``image-label``, ``plate``, ``well``, ``omero``) may carry its own
  ``version``.

Parsing is tolerant of what real files contain (missing optional keys, 0.3-style axes as
plain strings, 0.1/0.2 images without axes or transformations) but raises
:class:`~zarrconv.errors.MetadataError` naming the store and key when a document cannot be
interpreted at all. Unknown keys are kept in ``extra`` dicts and written back unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from zarrconv.errors import MetadataError

from .transforms import (
    ArraySource,
    Identity,
    Scale,
    Sequence_,
    SystemRef,
    Transformation,
    Translation,
    parse_transformation,
)

__all__ = [
    "ANATOMICAL_ORIENTATIONS",
    "AXIS_TYPES",
    "READ_VERSIONS",
    "V06_TAG",
    "WRITE_VERSIONS",
    "Acquisition",
    "Axis",
    "Channel",
    "CoordinateSystem",
    "Dataset",
    "ImageLabel",
    "LabelColor",
    "Multiscale",
    "OmeMetadata",
    "Omero",
    "Plate",
    "PlateWell",
    "Scene",
    "Transform",
    "Well",
    "WellImage",
    "Window",
    "is_v06",
    "namespaced",
    "parse_attrs",
]

#: Versions zarrconv reads.
READ_VERSIONS: tuple[str, ...] = ("0.1", "0.2", "0.3", "0.4", "0.5", "0.6")
#: Versions zarrconv writes ("0.6" is written as the tag of the 0.6 text, :data:`V06_TAG`).
WRITE_VERSIONS: tuple[str, ...] = ("0.4", "0.5", "0.6")
#: The ``ome.version`` written for 0.6: the tag of the specification text zarrconv follows
#: (its official JSON Schemas accept only this string).
V06_TAG = "0.6rc0"
#: Axis types named by the specification (others are custom).
AXIS_TYPES: tuple[str, ...] = ("time", "channel", "space")

_DEFAULT_AXES_5D = ("t", "c", "z", "y", "x")


def is_v06(version: str | None) -> bool:
    """Whether ``version`` is 0.6 or one of its pre-release tags ("0.6rc0", "0.6.dev4", ...)."""
    return isinstance(version, str) and version.startswith("0.6")


def namespaced(version: str) -> bool:
    """Whether ``version`` keeps everything under ``attributes["ome"]`` (0.5 and later)
    instead of a version key on each object (0.4 and earlier)."""
    return version == "0.5" or is_v06(version)


def _err(where: str, msg: str) -> MetadataError:
    return MetadataError(f"{where}: {msg}" if where else msg)


def _obj(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _err(where, f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str, what: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _err(where, f"{what} must be a JSON array, got {type(value).__name__}")
    return list(value)


def _str(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str):
        raise _err(where, f"{what} must be a string, got {value!r}")
    return value


def _numbers(value: Any, where: str, what: str) -> list[float]:
    vals = _list(value, where, what)
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _err(where, f"{what} must hold numbers, got {v!r}")
        out.append(float(v))
    return out


def _entries(d: Mapping[str, Any], key: str, where: str, what: str,
             required: str | None = None) -> list[tuple[str, Mapping[str, Any]]]:
    """``(location, object)`` for each element of the array ``d[key]``: each must be a JSON
    object (``what`` names it in errors) and hold the member ``required`` when given."""
    out = []
    for i, value in enumerate(_list(d[key], where, repr(key))):
        w = f"{where}.{key}[{i}]"
        obj = _obj(value, w, what)
        if required is not None and required not in obj:
            raise _err(w, f"{what} has no {required!r}")
        out.append((w, obj))
    return out


def _extra(d: Mapping[str, Any], known: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in known}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _num(v: float) -> int | float:
    """JSON number: integral floats written as ints would change the type for readers
    expecting floats, so floats stay floats."""
    return float(v)


# ------------------------------------------------------------------------------ axes


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
            return cls(value, _guess_type(value))
        d = _obj(value, where, "an axis")
        if "name" not in d:
            raise _err(where, "an axis has no 'name'")
        name = _str(d["name"], where, "axis name")
        typ = d.get("type")
        unit = d.get("unit")
        orientation = _orientation(d.get("orientation"), typ, f"{where}.orientation")
        known = ("name", "type", "unit") if orientation is None else ("name", "type", "unit", "orientation")
        return cls(name, typ if typ is None else str(typ), unit if unit is None else str(unit),
                   _extra(d, known), orientation)

    def to_json(self) -> dict[str, Any]:
        """The axis as a JSON object."""
        d = _drop_none({"name": self.name, "type": self.type, "unit": self.unit})
        if self.orientation is not None:
            d["orientation"] = {"type": "anatomical", "value": self.orientation}
        return {**d, **self.extra}


def _orientation(value: Any, axis_type: Any, where: str) -> str | None:
    """The anatomical orientation value of an RFC-4 ``orientation`` object (None when absent
    or of another, unknown type: such objects stay in ``extra``)."""
    if value is None:
        return None
    d = _obj(value, where, "an orientation")
    if d.get("type") != "anatomical":
        return None
    if axis_type != "space":
        raise _err(where, f"an anatomical orientation is only for space axes, not type {axis_type!r}")
    v = d.get("value")
    if v not in ANATOMICAL_ORIENTATIONS:
        raise _err(where, f"unknown anatomical orientation {v!r}; one of {', '.join(ANATOMICAL_ORIENTATIONS)}")
    return str(v)


def _guess_type(name: str) -> str | None:
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
        d = _obj(value, where, "a coordinate system")
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise _err(where, f"a coordinate system needs a non-empty 'name', got {name!r}")
        if "axes" not in d:
            raise _err(where, f"coordinate system {name!r} has no 'axes'")
        axes = [Axis.parse(a, f"{where}.axes[{i}]") for i, a in enumerate(_list(d["axes"], where, "'axes'"))]
        return cls(name, axes, _extra(d, ("name", "axes")))

    def to_json(self) -> dict[str, Any]:
        """The coordinate system as a JSON object."""
        return {"name": self.name, "axes": [a.to_json() for a in self.axes], **self.extra}


def parse_systems(value: Any, where: str) -> list[CoordinateSystem]:
    """Parse a ``coordinateSystems`` array (names must be unique)."""
    systems = [CoordinateSystem.parse(c, f"{where}[{i}]") for i, c in enumerate(_list(value, where, "'coordinateSystems'"))]
    names = [c.name for c in systems]
    if len(set(names)) != len(names):
        raise _err(where, f"coordinate system names must be unique, got {names}")
    return systems


def parse_transformations(value: Any, where: str, arrays: ArraySource | None = None) -> list[Transformation]:
    """Parse a 0.6 ``coordinateTransformations`` array (``arrays`` reads what is stored by path)."""
    return [parse_transformation(t, f"{where}[{i}]", arrays)
            for i, t in enumerate(_list(value, where, "'coordinateTransformations'"))]


# -------------------------------------------------------------------- transformations


@dataclass
class Transform:
    """A coordinate transformation: ``type`` is "scale", "translation" or "identity";
    ``values`` holds the vector (``path`` is the rarely used binary alternative)."""

    type: str
    values: list[float] | None = None
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> Transform:
        """Parse one ``coordinateTransformations`` entry."""
        d = _obj(value, where, "a coordinate transformation")
        typ = d.get("type")
        if typ not in ("scale", "translation", "identity"):
            raise _err(where, f"unsupported coordinate transformation type {typ!r} "
                              "(OME-Zarr allows only 'scale' and 'translation')")
        if typ == "identity":
            return cls("identity", None, None, _extra(d, ("type",)))
        if typ in d:
            return cls(typ, _numbers(d[typ], where, f"'{typ}'"), None, _extra(d, ("type", typ)))
        if "path" in d:
            return cls(typ, None, _str(d["path"], where, "transformation path"), _extra(d, ("type", "path")))
        raise _err(where, f"a {typ!r} transformation has neither {typ!r} nor 'path'")

    def to_json(self) -> dict[str, Any]:
        """The transformation as a JSON object."""
        d: dict[str, Any] = {"type": self.type}
        if self.values is not None:
            d[self.type] = [_num(v) for v in self.values]
        elif self.path is not None:
            d["path"] = self.path
        return {**d, **self.extra}


def _parse_transforms(value: Any, where: str) -> list[Transform]:
    return [Transform.parse(t, f"{where}[{i}]") for i, t in enumerate(_list(value, where, "coordinateTransformations"))]


def compose(transforms: Sequence[Transform], ndim: int, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Compose a sequence of scale/translation transformations, applied in order, into one
    ``x -> scale * x + translation`` (two float64 vectors of length ``ndim``)."""
    scale = np.ones(ndim)
    trans = np.zeros(ndim)
    for t in transforms:
        if t.type == "identity":
            continue
        if t.values is None:
            raise _err(where, f"{t.type} stored at path {t.path!r} (binary data) is not supported")
        if len(t.values) != ndim:
            raise _err(where, f"{t.type} has {len(t.values)} values for {ndim} axes")
        v = np.asarray(t.values, dtype=np.float64)
        if t.type == "scale":
            scale = scale * v
            trans = trans * v
        else:
            trans = trans + v
    return scale, trans


# -------------------------------------------------------------------------- multiscales


@dataclass
class Dataset:
    """One resolution level: array ``path`` (relative to the image group) and transforms."""

    path: str
    transforms: list[Transform] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    #: 0.6: the level's transformation as stored (input the array, output the intrinsic
    #: system); ``transforms`` holds its scale and translation.
    transformation: Transformation | None = None

    def to_json(self, version: str = "0.5", intrinsic: str = "intrinsic") -> dict[str, Any]:
        """The dataset as a JSON object (0.6: one transformation from the array to ``intrinsic``)."""
        if not is_v06(version):
            return {"path": self.path, "coordinateTransformations": [t.to_json() for t in self.transforms],
                    **self.extra}
        t = self.transformation
        if t is None:
            t = _v06_level_transformation(self.transforms, self.path)
        t = _with_io(t, SystemRef(path=self.path), SystemRef(name=intrinsic))
        return {"path": self.path, "coordinateTransformations": [t.to_json()], **self.extra}


def _with_io(t: Transformation, input: SystemRef, output: SystemRef) -> Transformation:
    return replace(t, input=input, output=output)


def _v06_level_transformation(transforms: Sequence[Transform], where: str) -> Transformation:
    """The 0.6 form of 0.4/0.5 level transformations: one scale, or a sequence of a scale
    and a translation (what the 0.6 text allows inside ``datasets``)."""
    for t in transforms:
        if t.type != "identity" and t.values is None:
            raise _err(where, f"a {t.type} stored as binary data at {t.path!r} cannot be expressed in 0.6")
    ndim = max((len(t.values) for t in transforms if t.values is not None), default=0)
    if ndim == 0:
        return Identity()
    scale, trans = compose(transforms, ndim, where)
    if not np.any(trans):
        return Scale(values=scale)
    return Sequence_(transformations=[Scale(values=scale), Translation(values=trans)])


def _v04_level_transforms(t: Transformation, where: str) -> list[Transform]:
    """The scale/translation list equivalent to a 0.6 dataset transformation."""
    parts = t.transformations if isinstance(t, Sequence_) else [t]
    out = []
    for p in parts:
        if isinstance(p, (Scale, Translation)) and p.values is not None:
            out.append(Transform(p.type, [float(v) for v in p.values]))
        elif not isinstance(p, Identity):
            raise _err(where, f"a dataset transformation must be a scale, an identity or a sequence of a scale "
                              f"and a translation, got {p.type!r}")
    return out


def _descriptive(d: Mapping[str, Any]) -> dict[str, Any]:
    """``name``, ``type`` and ``metadata`` of a multiscales entry (kept as given)."""
    md = d.get("metadata")
    return {"name": None if d.get("name") is None else str(d.get("name")),
            "type": None if d.get("type") is None else str(d.get("type")),
            "metadata": dict(md) if isinstance(md, Mapping) else None}


@dataclass
class Multiscale:
    """One entry of ``multiscales``."""

    axes: list[Axis]
    datasets: list[Dataset]
    transforms: list[Transform] = field(default_factory=list)
    name: str | None = None
    type: str | None = None
    metadata: dict[str, Any] | None = None
    version: str | None = None  # 0.4 and earlier only
    extra: dict[str, Any] = field(default_factory=dict)

    #: 0.6: the coordinate systems of the image (``axes`` are those of the intrinsic one)
    coordinate_systems: list[CoordinateSystem] | None = None
    #: 0.6: transformations between the intrinsic system and other systems of the image
    coordinate_transformations: list[Transformation] = field(default_factory=list)

    @classmethod
    def parse(cls, value: Any, where: str, ndim: int | None = None, version: str | None = None,
              arrays: ArraySource | None = None) -> Multiscale:
        """Parse one ``multiscales`` entry. ``ndim`` (if known) fills in 0.1/0.2 axes;
        ``version`` selects the 0.6 form (coordinate systems, ``input``/``output``), where
        ``arrays`` reads transformation parameters stored by path."""
        d = _obj(value, where, "a multiscales entry")
        if "datasets" not in d:
            raise _err(where, "a multiscales entry has no 'datasets'")
        if is_v06(version):
            return cls._parse_v06(d, where, arrays)
        datasets = []
        for w, ds in _entries(d, "datasets", where, "a dataset", "path"):
            trs = _parse_transforms(ds.get("coordinateTransformations", []), f"{w}.coordinateTransformations")
            datasets.append(Dataset(_str(ds["path"], w, "dataset path"), trs,
                                    _extra(ds, ("path", "coordinateTransformations"))))
        if not datasets:
            raise _err(where, "'datasets' is empty")
        if "axes" in d:
            axes = [Axis.parse(a, f"{where}.axes[{i}]") for i, a in enumerate(_list(d["axes"], where, "'axes'"))]
        else:  # 0.1/0.2: always 5D tczyx
            n = 5 if ndim is None else ndim
            axes = [Axis(a, _guess_type(a)) for a in _DEFAULT_AXES_5D[5 - n:]]
        version = d.get("version")
        return cls(
            axes=axes,
            datasets=datasets,
            transforms=_parse_transforms(d.get("coordinateTransformations", []), f"{where}.coordinateTransformations"),
            version=None if version is None else str(version),
            extra=_extra(d, ("axes", "datasets", "coordinateTransformations", "name", "type", "metadata", "version")),
            **_descriptive(d),
        )

    @classmethod
    def _parse_v06(cls, d: Mapping[str, Any], where: str, arrays: ArraySource | None) -> Multiscale:
        if "coordinateSystems" not in d:
            raise _err(where, "a 0.6 multiscales entry has no 'coordinateSystems'")
        systems = parse_systems(d["coordinateSystems"], f"{where}.coordinateSystems")
        if not systems:
            raise _err(where, "'coordinateSystems' is empty")
        datasets, outputs = [], set()
        for w, ds in _entries(d, "datasets", where, "a dataset", "path"):
            path = _str(ds["path"], w, "dataset path")
            cts = parse_transformations(ds.get("coordinateTransformations", []), f"{w}.coordinateTransformations")
            if len(cts) != 1:
                raise _err(w, f"a 0.6 dataset needs exactly one coordinate transformation, got {len(cts)}")
            t = cts[0]
            if t.output is not None and t.output.name is not None:
                outputs.add(t.output.name)
            datasets.append(Dataset(path, _v04_level_transforms(t, f"{w}.coordinateTransformations[0]"),
                                    _extra(ds, ("path", "coordinateTransformations")), t))
        if not datasets:
            raise _err(where, "'datasets' is empty")
        if len(outputs) > 1:
            raise _err(where, f"the datasets' transformations lead to different systems {sorted(outputs)}; "
                              "they must all output the intrinsic coordinate system")
        names = [c.name for c in systems]
        intrinsic = outputs.pop() if outputs else names[0]
        if intrinsic not in names:
            raise _err(where, f"the datasets' output {intrinsic!r} is not one of the coordinate systems {names}")
        axes = systems[names.index(intrinsic)].axes
        return cls(
            axes=axes, datasets=datasets, coordinate_systems=systems,
            coordinate_transformations=parse_transformations(d.get("coordinateTransformations", []),
                                                             f"{where}.coordinateTransformations", arrays),
            extra=_extra(d, ("coordinateSystems", "datasets", "coordinateTransformations", "name", "type",
                             "metadata")),
            **_descriptive(d),
        )

    @property
    def intrinsic(self) -> str:
        """Name of the intrinsic coordinate system (0.6; "intrinsic" when written from 0.4/0.5)."""
        for ds in self.datasets:
            t = ds.transformation
            if t is not None and t.output is not None and t.output.name:
                return t.output.name
        return self.coordinate_systems[0].name if self.coordinate_systems else "intrinsic"

    def to_json(self, version: str) -> dict[str, Any]:
        """The entry as a JSON object for ``version`` (0.4 adds its own version key; 0.6
        has coordinate systems and one transformation per dataset)."""
        if is_v06(version):
            return self._to_json_v06()
        d: dict[str, Any] = {}
        if self.name is not None:
            d["name"] = self.name
        if not namespaced(version):
            d["version"] = version
        d["axes"] = [a.to_json() for a in self.axes]
        d["datasets"] = [ds.to_json(version) for ds in self.datasets]
        if self.transforms:
            d["coordinateTransformations"] = [t.to_json() for t in self.transforms]
        return self._tail(d)

    def _tail(self, d: dict[str, Any]) -> dict[str, Any]:
        if self.type is not None:
            d["type"] = self.type
        if self.metadata is not None:
            d["metadata"] = self.metadata
        d.update(self.extra)
        return d

    def _to_json_v06(self) -> dict[str, Any]:
        name = self.intrinsic
        if self.transforms:  # 0.4/0.5 multiscale-wide transforms fold into every level
            datasets = [Dataset(ds.path, [*ds.transforms, *self.transforms], ds.extra) for ds in self.datasets]
        else:
            datasets = self.datasets
        systems = self.coordinate_systems or [CoordinateSystem(name, self.axes)]
        d: dict[str, Any] = {}
        if self.name is not None:
            d["name"] = self.name
        d["coordinateSystems"] = [c.to_json() for c in systems]
        d["datasets"] = [ds.to_json("0.6", name) for ds in datasets]
        if self.coordinate_transformations:
            d["coordinateTransformations"] = [t.to_json() for t in self.coordinate_transformations]
        return self._tail(d)

    @property
    def axis_names(self) -> list[str]:
        """Names of the axes, in array order."""
        return [a.name for a in self.axes]

    @property
    def paths(self) -> list[str]:
        """Dataset paths, largest level first."""
        return [ds.path for ds in self.datasets]

    def level_transform(
        self, level: int, shapes: Sequence[Sequence[int]] | None = None, where: str = ""
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scale, translation)`` mapping array indices of ``level`` to physical
        coordinates: the level's transformations followed by the multiscale-wide ones.

        Images older than 0.4 have no transformations; there the scale is derived from the
        level shapes (``shapes[0] / shapes[level]``) if given, else 1.
        """
        nd = len(self.axes)
        ds = self.datasets[level]
        if ds.transforms:
            scale, trans = compose(ds.transforms, nd, where)
        elif shapes is not None:
            scale = np.asarray(shapes[0], dtype=np.float64) / np.maximum(np.asarray(shapes[level], dtype=np.float64), 1)
            trans = np.zeros(nd)
        else:
            scale, trans = np.ones(nd), np.zeros(nd)
        if self.transforms:
            s2, t2 = compose(self.transforms, nd, where)
            scale, trans = scale * s2, trans * s2 + t2
        return scale, trans


# ------------------------------------------------------------------------------ omero


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

    _KEYS = ("label", "color", "window", "active", "family", "coefficient", "inverted")

    @classmethod
    def parse(cls, value: Any, where: str) -> Channel:
        """Parse a channel object (lenient: bad optional values are kept in ``extra``)."""
        d = _obj(value, where, "an omero channel")
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
            extra={**_extra(d, cls._KEYS), **bad_window},
        )

    def to_json(self) -> dict[str, Any]:
        """The channel as a JSON object."""
        d = _drop_none({
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
        d = _obj(value, where, "'omero'")
        chans = d.get("channels", [])
        channels = [Channel.parse(c, f"{where}.channels[{i}]") for i, c in enumerate(_list(chans, where, "'channels'"))]
        rdefs = d.get("rdefs")
        return cls(
            channels=channels,
            id=d.get("id") if isinstance(d.get("id"), int) else None,
            name=d.get("name") if isinstance(d.get("name"), str) else None,
            rdefs=dict(rdefs) if isinstance(rdefs, Mapping) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
            extra=_extra(d, ("channels", "id", "name", "rdefs", "version")),
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


# ----------------------------------------------------------------------------- labels


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
        d = _obj(value, where, "'image-label'")
        colors = None
        if "colors" in d:
            colors = []
            for w, c in _entries(d, "colors", where, "a color", "label-value"):
                rgba = c.get("rgba")
                if isinstance(rgba, (list, tuple)) and len(rgba) == 4 and not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in rgba):
                    raise _err(w, f"rgba {rgba!r} must be four integers 0-255")
                colors.append(LabelColor(
                    c["label-value"],
                    tuple(int(v) for v in rgba) if isinstance(rgba, (list, tuple)) and len(rgba) == 4 else None,
                    _extra(c, ("label-value", "rgba")) | ({} if rgba is None or (isinstance(rgba, (list, tuple)) and len(rgba) == 4) else {"rgba": rgba}),
                ))
        props = None
        if "properties" in d:
            props = [dict(p) for _, p in _entries(d, "properties", where, "a property")]
        src = d.get("source")
        return cls(
            colors=colors,
            properties=props,
            source=dict(src) if isinstance(src, Mapping) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
            extra=_extra(d, ("colors", "properties", "source", "version")),
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


# ------------------------------------------------------------------------------ plate


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

    _KEYS = ("id", "name", "maximumfieldcount", "description", "starttime", "endtime")

    def to_json(self) -> dict[str, Any]:
        """The acquisition as a JSON object."""
        return {**_drop_none({k: getattr(self, k) for k in self._KEYS}), **self.extra}


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
        d = _obj(value, where, "'plate'")
        for key in ("rows", "columns", "wells"):
            if key not in d:
                raise _err(where, f"the plate has no {key!r}")

        rows, columns = ([str(r["name"]) for _, r in _entries(d, key, where, f"a {key[:-1]}", "name")]
                         for key in ("rows", "columns"))
        wells = []
        for ww, w in _entries(d, "wells", where, "a well", "path"):
            path = _str(w["path"], ww, "well path")
            ri, ci = w.get("rowIndex"), w.get("columnIndex")
            if not isinstance(ri, int) or not isinstance(ci, int):  # 0.1-0.3 had no indices
                parts = path.split("/")
                ri = rows.index(parts[0]) if len(parts) == 2 and parts[0] in rows else -1
                ci = columns.index(parts[1]) if len(parts) == 2 and parts[1] in columns else -1
            wells.append(PlateWell(path, ri, ci, _extra(w, ("path", "rowIndex", "columnIndex"))))
        acqs = None
        if "acquisitions" in d:
            acqs = []
            for wa, a in _entries(d, "acquisitions", where, "an acquisition"):
                if not isinstance(a.get("id"), int):
                    raise _err(wa, "an acquisition has no integer 'id'")
                acqs.append(Acquisition(**{k: a.get(k) for k in Acquisition._KEYS}, extra=_extra(a, Acquisition._KEYS)))
        fc = d.get("field_count")
        return cls(
            rows=rows, columns=columns, wells=wells, acquisitions=acqs,
            field_count=fc if isinstance(fc, int) else None,
            name=d.get("name") if isinstance(d.get("name"), str) else None,
            version=d.get("version") if isinstance(d.get("version"), str) else None,
            extra=_extra(d, ("rows", "columns", "wells", "acquisitions", "field_count", "name", "version")),
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
        d = _obj(value, where, "'well'")
        if "images" not in d:
            raise _err(where, "the well has no 'images'")
        images = []
        for wi, im in _entries(d, "images", where, "a well image", "path"):
            acq = im.get("acquisition")
            images.append(WellImage(_str(im["path"], wi, "image path"), acq if isinstance(acq, int) else None,
                                    _extra(im, ("path", "acquisition"))))
        return cls(images, d.get("version") if isinstance(d.get("version"), str) else None,
                   _extra(d, ("images", "version")))

    def to_json(self, version: str) -> dict[str, Any]:
        """The object as JSON (0.4 carries a version)."""
        d: dict[str, Any] = {"images": [im.to_json() for im in self.images]}
        if not namespaced(version):
            d["version"] = version
        d.update(self.extra)
        return d


# ------------------------------------------------------------------- group attributes

_OME_KEYS = ("multiscales", "omero", "labels", "image-label", "plate", "well", "bioformats2raw.layout", "series",
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
        d = _obj(value, where, "'scene'")
        if "coordinateTransformations" not in d:
            raise _err(where, "the scene has no 'coordinateTransformations'")
        return cls(parse_transformations(d["coordinateTransformations"], f"{where}.coordinateTransformations",
                                         arrays),
                   parse_systems(d.get("coordinateSystems", []), f"{where}.coordinateSystems"),
                   _extra(d, ("coordinateTransformations", "coordinateSystems")))

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
    if isinstance(ome, Mapping) and (ome.get("version") is not None or any(k in ome for k in _OME_KEYS)):
        v = ome.get("version")
        return str(v) if v is not None else "0.5"
    if not any(k in attrs for k in _OME_KEYS):
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
        extra = _extra(ns, (*_OME_KEYS, "version"))
    else:
        ns = attrs
        base = where
        extra = {}
    md = OmeMetadata(version=version, extra=extra)

    def w(key: str) -> str:
        return f"{base}.{key}" if base else key

    if "multiscales" in ns:
        ms = _list(ns["multiscales"], w("multiscales"), "'multiscales'")
        if not ms:
            raise _err(w("multiscales"), "'multiscales' is empty")
        md.multiscales = [Multiscale.parse(m, f"{w('multiscales')}[{i}]", ndim, version, arrays) for i, m in enumerate(ms)]
    if ns.get("omero") is not None:  # ome-zarr-models writes "omero": null for "no rendering metadata"
        md.omero = Omero.parse(ns["omero"], w("omero"))
    if "labels" in ns:
        md.labels = [_str(x, w("labels"), "a label path") for x in _list(ns["labels"], w("labels"), "'labels'")]
    if "image-label" in ns:
        md.image_label = ImageLabel.parse(ns["image-label"], w("image-label"))
    if "plate" in ns:
        md.plate = Plate.parse(ns["plate"], w("plate"))
    if "well" in ns:
        md.well = Well.parse(ns["well"], w("well"))
    if "bioformats2raw.layout" in ns:
        layout = ns["bioformats2raw.layout"]
        if isinstance(layout, bool) or not isinstance(layout, (int, float)) or not math.isfinite(layout):
            raise _err(w("bioformats2raw.layout"), f"must be a number, got {layout!r}")
        md.bioformats2raw_layout = int(layout)
    if "scene" in ns:
        md.scene = Scene.parse(ns["scene"], w("scene"), arrays)
    if "series" in ns:
        md.series = [_str(x, w("series"), "a series path") for x in _list(ns["series"], w("series"), "'series'")]
    return md
