"""Image pyramids: ``multiscales`` entries, their datasets and (0.4/0.5) coordinate transformations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..transforms import (
    ArraySource,
    Identity,
    Scale,
    Sequence_,
    SystemRef,
    Transformation,
    Translation,
)
from .axes import (
    Axis,
    CoordinateSystem,
    guess_axis_type,
    parse_systems,
    parse_transformations,
)
from .fields import (
    extra_members,
    json_array,
    json_entries,
    json_error,
    json_number,
    json_numbers,
    json_object,
    json_string,
)
from .versions import is_v06, namespaced

__all__ = [
    "Dataset",
    "Multiscale",
    "Transform",
    "compose",
    "parse_transforms",
]


_DEFAULT_AXES_5D = ("t", "c", "z", "y", "x")


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
        d = json_object(value, where, "a coordinate transformation")
        typ = d.get("type")
        if typ not in ("scale", "translation", "identity"):
            raise json_error(where, f"unsupported coordinate transformation type {typ!r} "
                              "(OME-Zarr allows only 'scale' and 'translation')")
        if typ == "identity":
            return cls("identity", None, None, extra_members(d, ("type",)))
        if typ in d:
            return cls(typ, json_numbers(d[typ], where, f"'{typ}'"), None, extra_members(d, ("type", typ)))
        if "path" in d:
            return cls(typ, None, json_string(d["path"], where, "transformation path"), extra_members(d, ("type", "path")))
        raise json_error(where, f"a {typ!r} transformation has neither {typ!r} nor 'path'")

    def to_json(self) -> dict[str, Any]:
        """The transformation as a JSON object."""
        d: dict[str, Any] = {"type": self.type}
        if self.values is not None:
            d[self.type] = [json_number(v) for v in self.values]
        elif self.path is not None:
            d["path"] = self.path
        return {**d, **self.extra}


def parse_transforms(value: Any, where: str) -> list[Transform]:
    return [Transform.parse(t, f"{where}[{i}]") for i, t in enumerate(json_array(value, where, "coordinateTransformations"))]


def compose(transforms: Sequence[Transform], ndim: int, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Compose a sequence of scale/translation transformations, applied in order, into one
    ``x -> scale * x + translation`` (two float64 vectors of length ``ndim``)."""
    scale = np.ones(ndim)
    trans = np.zeros(ndim)
    for t in transforms:
        if t.type == "identity":
            continue
        if t.values is None:
            raise json_error(where, f"{t.type} stored at path {t.path!r} (binary data) is not supported")
        if len(t.values) != ndim:
            raise json_error(where, f"{t.type} has {len(t.values)} values for {ndim} axes")
        v = np.asarray(t.values, dtype=np.float64)
        if t.type == "scale":
            scale = scale * v
            trans = trans * v
        else:
            trans = trans + v
    return scale, trans





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
            raise json_error(where, f"a {t.type} stored as binary data at {t.path!r} cannot be expressed in 0.6")
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
            raise json_error(where, f"a dataset transformation must be a scale, an identity or a sequence of a scale "
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
        d = json_object(value, where, "a multiscales entry")
        if "datasets" not in d:
            raise json_error(where, "a multiscales entry has no 'datasets'")
        if is_v06(version):
            return cls._parse_v06(d, where, arrays)
        datasets = []
        for w, ds in json_entries(d, "datasets", where, "a dataset", "path"):
            trs = parse_transforms(ds.get("coordinateTransformations", []), f"{w}.coordinateTransformations")
            datasets.append(Dataset(json_string(ds["path"], w, "dataset path"), trs,
                                    extra_members(ds, ("path", "coordinateTransformations"))))
        if not datasets:
            raise json_error(where, "'datasets' is empty")
        if "axes" in d:
            axes = [Axis.parse(a, f"{where}.axes[{i}]") for i, a in enumerate(json_array(d["axes"], where, "'axes'"))]
        else:  # 0.1/0.2: always 5D tczyx
            n = 5 if ndim is None else ndim
            axes = [Axis(a, guess_axis_type(a)) for a in _DEFAULT_AXES_5D[5 - n:]]
        version = d.get("version")
        return cls(
            axes=axes,
            datasets=datasets,
            transforms=parse_transforms(d.get("coordinateTransformations", []), f"{where}.coordinateTransformations"),
            version=None if version is None else str(version),
            extra=extra_members(d, ("axes", "datasets", "coordinateTransformations", "name", "type", "metadata", "version")),
            **_descriptive(d),
        )

    @classmethod
    def _parse_v06(cls, d: Mapping[str, Any], where: str, arrays: ArraySource | None) -> Multiscale:
        if "coordinateSystems" not in d:
            raise json_error(where, "a 0.6 multiscales entry has no 'coordinateSystems'")
        systems = parse_systems(d["coordinateSystems"], f"{where}.coordinateSystems")
        if not systems:
            raise json_error(where, "'coordinateSystems' is empty")
        datasets, outputs = [], set()
        for w, ds in json_entries(d, "datasets", where, "a dataset", "path"):
            path = json_string(ds["path"], w, "dataset path")
            cts = parse_transformations(ds.get("coordinateTransformations", []), f"{w}.coordinateTransformations")
            if len(cts) != 1:
                raise json_error(w, f"a 0.6 dataset needs exactly one coordinate transformation, got {len(cts)}")
            t = cts[0]
            if t.output is not None and t.output.name is not None:
                outputs.add(t.output.name)
            datasets.append(Dataset(path, _v04_level_transforms(t, f"{w}.coordinateTransformations[0]"),
                                    extra_members(ds, ("path", "coordinateTransformations")), t))
        if not datasets:
            raise json_error(where, "'datasets' is empty")
        if len(outputs) > 1:
            raise json_error(where, f"the datasets' transformations lead to different systems {sorted(outputs)}; "
                              "they must all output the intrinsic coordinate system")
        names = [c.name for c in systems]
        intrinsic = outputs.pop() if outputs else names[0]
        if intrinsic not in names:
            raise json_error(where, f"the datasets' output {intrinsic!r} is not one of the coordinate systems {names}")
        axes = systems[names.index(intrinsic)].axes
        return cls(
            axes=axes, datasets=datasets, coordinate_systems=systems,
            coordinate_transformations=parse_transformations(d.get("coordinateTransformations", []),
                                                             f"{where}.coordinateTransformations", arrays),
            extra=extra_members(d, ("coordinateSystems", "datasets", "coordinateTransformations", "name", "type",
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
