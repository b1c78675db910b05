"""OME-Zarr coordinate transformations (RFC-5, OME-Zarr 0.6): parse, apply, invert, chain.

Every transformation type of the 0.6 text is a small class with :meth:`~Transformation.apply`
(points in, points out: a float64 array of shape ``(n, ndim)``), :meth:`~Transformation.inverse`
(closed form where the text says the type is invertible) and :meth:`~Transformation.to_json`
(always the 0.6 spelling). :func:`parse_transformation` reads both the 0.6 spelling
(``input``/``output`` as ``{"name", "path"}`` objects, ``byDimension`` items as
``{"transformation", "inputAxes", "outputAxes"}``) and the earlier RFC-5 draft spelling the
public conformance scenes use (``input``/``output`` as plain coordinate-system names,
``byDimension`` children carrying ``input_axes``/``output_axes`` themselves, ``inverseOf``).

:class:`TransformGraph` holds coordinate systems as nodes and transformations as edges and finds
a chain between two systems, walking edges backwards through their inverses where those exist.

Parameters and fields stored in Zarr arrays (``path``) are read through an
:class:`ArraySource` given to the parser; this module itself is pure numpy and knows no store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

import numpy as np

from zarrconv.errors import MetadataError, NotInvertibleError, NoTransformPathError

__all__ = [
    "Affine",
    "ArraySource",
    "Bijection",
    "ByDimension",
    "ByDimensionItem",
    "Coordinates",
    "Displacements",
    "Identity",
    "InverseOf",
    "MapAxis",
    "ProjectAxis",
    "Rotation",
    "Scale",
    "Sequence_",
    "SystemKey",
    "SystemRef",
    "TransformGraph",
    "Transformation",
    "Translation",
    "VectorField",
    "as_points",
    "parse_transformation",
]

#: A coordinate system in a hierarchy: (group or array path relative to the root, name).
#: The coordinate system of an array (the input of a multiscale dataset's transformation)
#: has the array's path and the empty name.
SystemKey = tuple[str, str]


def _err(where: str, msg: str) -> MetadataError:
    return MetadataError(f"{where}: {msg}" if where else msg)


def as_points(points: Any, ndim: int | None = None, where: str = "") -> np.ndarray:
    """``points`` (one point or a sequence of points) as a float64 array ``(n, ndim)``."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise _err(where, f"points must be an array of shape (n, ndim), got shape {arr.shape}")
    if ndim is not None and arr.shape[1] != ndim:
        raise _err(where, f"points have {arr.shape[1]} coordinates but {ndim} are expected")
    return arr


# -------------------------------------------------------------------- input / output


@dataclass(frozen=True)
class SystemRef:
    """The ``input`` or ``output`` of a transformation: a coordinate system ``name`` and the
    ``path`` of the group (or array) that defines it (None: the same document)."""

    name: str | None = None
    path: str | None = None

    @classmethod
    def parse(cls, value: Any, where: str) -> SystemRef | None:
        """Parse an ``{"name", "path"}`` object (0.6) or a plain name (earlier drafts)."""
        if value is None:
            return None
        if isinstance(value, str):
            return cls(name=value)
        if not isinstance(value, Mapping):
            raise _err(where, f"input/output must be an object or a name, got {value!r}")
        name, path = value.get("name"), value.get("path")
        for what, v in (("name", name), ("path", path)):
            if v is not None and not isinstance(v, str):
                raise _err(where, f"input/output {what} must be a string, got {v!r}")
        return cls(name=name, path=path)

    def to_json(self) -> dict[str, str]:
        """The 0.6 spelling: an object with ``name`` and/or ``path``."""
        return {k: v for k, v in (("name", self.name), ("path", self.path)) if v is not None}


# -------------------------------------------------------------------- array sources


@dataclass
class VectorField:
    """A coordinate or displacement field: ``data`` has the vector components on its last
    axis; a point ``x`` of the input system sits at array index ``(x - translation) / scale``."""

    data: np.ndarray
    scale: np.ndarray
    translation: np.ndarray

    def sample(self, points: np.ndarray, interpolation: str) -> np.ndarray:
        """The field's vectors at ``points`` (``(n, ndim)`` in the input system), by "nearest"
        or "linear" interpolation; points outside the grid take the nearest edge value."""
        grid = self.data.shape[:-1]
        if points.shape[1] != len(grid):
            raise MetadataError(f"a field over {len(grid)} dimensions cannot take {points.shape[1]}-D points")
        idx = (points - self.translation) / self.scale
        upper = np.asarray(grid, dtype=np.float64) - 1
        idx = np.clip(idx, 0, upper)
        if interpolation == "nearest":
            return self.data[tuple(np.rint(idx).astype(np.int64).T)].astype(np.float64)
        lo = np.floor(idx).astype(np.int64)
        lo = np.minimum(lo, np.maximum(np.asarray(grid) - 2, 0))
        frac = idx - lo
        out = np.zeros((points.shape[0], self.data.shape[-1]))
        for corner in np.ndindex(*(2,) * len(grid)):
            c = np.asarray(corner)
            pos = np.minimum(lo + c, np.asarray(grid) - 1)
            weight = np.prod(np.where(c, frac, 1 - frac), axis=1)
            out += weight[:, None] * self.data[tuple(pos.T)]
        return out


class ArraySource(Protocol):
    """Where transformations read what they store in Zarr arrays (paths relative to the
    root of the hierarchy)."""

    def array(self, path: str) -> np.ndarray:
        """The whole array at ``path`` (matrix or vector parameters)."""

    def vector_field(self, path: str) -> VectorField:
        """The coordinate or displacement field at ``path``."""


# -------------------------------------------------------------------- transformations


@dataclass(kw_only=True)
class Transformation:
    """Base of every transformation: ``name``, ``input``/``output`` and unknown keys."""

    type: ClassVar[str] = ""
    name: str | None = None
    input: SystemRef | None = None
    output: SystemRef | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: whether :meth:`apply` is computable (False for the inverse of a field)
    can_apply: ClassVar[bool] = True

    @property
    def invertible(self) -> bool:
        """Whether :meth:`inverse` has a closed form."""
        return False

    def apply(self, points: Any) -> np.ndarray:
        """Transform ``points`` (``(n, ndim)``) from the input to the output system."""
        raise NotImplementedError

    def inverse(self) -> Transformation:
        """The inverse transformation (input and output swapped)."""
        raise NotInvertibleError(f"a {self.type!r} transformation{self._named()} has no closed-form inverse")

    def params(self) -> dict[str, Any]:
        """The type-specific members of the JSON object."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The transformation in the 0.6 spelling."""
        d: dict[str, Any] = {"type": self.type, **self.params()}
        if self.name is not None:
            d["name"] = self.name
        if self.input is not None:
            d["input"] = self.input.to_json()
        if self.output is not None:
            d["output"] = self.output.to_json()
        return {**d, **self.extra}

    def _named(self) -> str:
        return f" {self.name!r}" if self.name else ""

    def _swapped(self) -> dict[str, Any]:
        return {"input": self.output, "output": self.input,
                "name": None if self.name is None else f"inverse of {self.name}"}


@dataclass(kw_only=True)
class Identity(Transformation):
    """Points unchanged."""

    type: ClassVar[str] = "identity"

    @property
    def invertible(self) -> bool:
        return True

    def apply(self, points: Any) -> np.ndarray:
        return as_points(points).copy()

    def inverse(self) -> Transformation:
        return Identity(**self._swapped())


@dataclass(kw_only=True)
class MapAxis(Transformation):
    """Axis permutation: output axis ``i`` is input axis ``map[i]``."""

    type: ClassVar[str] = "mapAxis"
    map: list[int]

    @property
    def invertible(self) -> bool:
        return sorted(self.map) == list(range(len(self.map)))

    def apply(self, points: Any) -> np.ndarray:
        return as_points(points, len(self.map))[:, self.map]

    def inverse(self) -> Transformation:
        if not self.invertible:
            return super().inverse()
        return MapAxis(map=[int(i) for i in np.argsort(self.map)], **self._swapped())

    def params(self) -> dict[str, Any]:
        return {"mapAxis": list(self.map)}


@dataclass(kw_only=True)
class ProjectAxis(Transformation):
    """Drop the input dimensions ``dropped`` then insert zeros at the output indices ``created``."""

    type: ClassVar[str] = "projectAxis"
    dropped: list[int] = field(default_factory=list)
    created: list[int] = field(default_factory=list)

    @property
    def invertible(self) -> bool:
        return not self.dropped

    def apply(self, points: Any) -> np.ndarray:
        pts = as_points(points)
        keep = [i for i in range(pts.shape[1]) if i not in set(self.dropped)]
        out = pts[:, keep]
        for i in sorted(self.created):
            out = np.insert(out, i, 0.0, axis=1)
        return out

    def inverse(self) -> Transformation:
        if not self.invertible:
            return super().inverse()
        return ProjectAxis(dropped=list(self.created), created=[], **self._swapped())

    def params(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.dropped:
            d["droppedInputs"] = list(self.dropped)
        if self.created:
            d["createdOutputs"] = list(self.created)
        return d


@dataclass(kw_only=True)
class _Parametric(Transformation):
    """A transformation whose numbers are in JSON (``values``) or in a Zarr array (``path``)."""

    values: np.ndarray | None = None
    path: str | None = None

    def _v(self) -> np.ndarray:
        if self.values is None:
            raise MetadataError(f"the {self.type!r} transformation{self._named()} stores its parameters at "
                                f"{self.path!r}; parse it with an ArraySource to read them")
        return self.values

    def params(self) -> dict[str, Any]:
        if self.values is None:
            return {"path": self.path}
        return {self.type: self.values.tolist()}


@dataclass(kw_only=True)
class Translation(_Parametric):
    """``x + translation``."""

    type: ClassVar[str] = "translation"

    @property
    def invertible(self) -> bool:
        return True

    def apply(self, points: Any) -> np.ndarray:
        v = self._v()
        return as_points(points, len(v)) + v

    def inverse(self) -> Transformation:
        return Translation(values=-self._v(), **self._swapped())


@dataclass(kw_only=True)
class Scale(_Parametric):
    """``x * scale``."""

    type: ClassVar[str] = "scale"

    @property
    def invertible(self) -> bool:
        return self.values is not None and bool(np.all(self.values != 0))

    def apply(self, points: Any) -> np.ndarray:
        v = self._v()
        return as_points(points, len(v)) * v

    def inverse(self) -> Transformation:
        if not self.invertible:
            return super().inverse()
        return Scale(values=1.0 / self._v(), **self._swapped())


@dataclass(kw_only=True)
class Affine(_Parametric):
    """``A @ x + b`` from the ``M x (N+1)`` matrix ``[A | b]`` (a full homogeneous
    ``(N+1) x (N+1)`` matrix, as some writers store, is accepted too)."""

    type: ClassVar[str] = "affine"

    def _matrix(self, ndim: int) -> np.ndarray:
        m = self._v()
        if m.ndim == 1 and m.size % (ndim + 1) == 0:  # flattened (an early draft)
            m = m.reshape(-1, ndim + 1)
        if m.ndim != 2 or m.shape[1] != ndim + 1:
            raise MetadataError(f"the affine{self._named()} of shape {m.shape} cannot take {ndim}-D points "
                                f"(it needs {ndim + 1} columns)")
        if m.shape[0] == ndim + 1 and np.array_equal(m[-1], np.eye(ndim + 1)[-1]):
            m = m[:-1]
        return m

    @property
    def invertible(self) -> bool:
        if self.values is None or self.values.ndim != 2:
            return False
        n = self.values.shape[1] - 1
        try:
            m = self._matrix(n)
        except MetadataError:
            return False
        return m.shape[0] == n and abs(np.linalg.det(m[:, :n])) > 1e-300

    def apply(self, points: Any) -> np.ndarray:
        pts = as_points(points)
        m = self._matrix(pts.shape[1])
        return pts @ m[:, :-1].T + m[:, -1]

    def inverse(self) -> Transformation:
        if not self.invertible:
            return super().inverse()
        n = self._v().shape[1] - 1
        m = self._matrix(n)
        a_inv = np.linalg.inv(m[:, :n])
        return Affine(values=np.hstack([a_inv, -(a_inv @ m[:, n])[:, None]]), **self._swapped())


@dataclass(kw_only=True)
class Rotation(_Parametric):
    """``R @ x`` for an ``N x N`` rotation matrix."""

    type: ClassVar[str] = "rotation"

    @property
    def invertible(self) -> bool:
        v = self.values
        return v is not None and v.ndim == 2 and v.shape[0] == v.shape[1] and abs(np.linalg.det(v)) > 1e-300

    def apply(self, points: Any) -> np.ndarray:
        r = self._v()
        if r.ndim != 2 or r.shape[0] != r.shape[1]:
            raise MetadataError(f"the rotation{self._named()} must be a square matrix, got shape {r.shape}")
        return as_points(points, r.shape[1]) @ r.T

    def inverse(self) -> Transformation:
        if not self.invertible:
            return super().inverse()
        # the exact inverse of the stored matrix (its transpose only if it is exactly orthonormal)
        return Rotation(values=np.linalg.inv(self._v()), **self._swapped())


@dataclass(kw_only=True)
class Sequence_(Transformation):
    """The transformations applied in order (named with a trailing underscore so as not to
    shadow :class:`collections.abc.Sequence`)."""

    type: ClassVar[str] = "sequence"
    transformations: list[Transformation]

    @property
    def invertible(self) -> bool:
        return all(t.invertible for t in self.transformations)

    @property
    def can_apply(self) -> bool:  # type: ignore[override]
        return all(t.can_apply for t in self.transformations)

    def apply(self, points: Any) -> np.ndarray:
        pts = as_points(points)
        for t in self.transformations:
            pts = t.apply(pts)
        return pts

    def inverse(self) -> Transformation:
        return Sequence_(transformations=[t.inverse() for t in reversed(self.transformations)], **self._swapped())

    def params(self) -> dict[str, Any]:
        return {"transformations": [t.to_json() for t in self.transformations]}


@dataclass(kw_only=True)
class InverseOf(Transformation):
    """The inverse of ``transformation`` (an earlier RFC-5 draft type): applying it needs the
    inverse of the wrapped transformation; its own inverse is the wrapped one."""

    type: ClassVar[str] = "inverseOf"
    transformation: Transformation

    @property
    def invertible(self) -> bool:
        return self.transformation.can_apply

    @property
    def can_apply(self) -> bool:  # type: ignore[override]
        return self.transformation.invertible

    def apply(self, points: Any) -> np.ndarray:
        return self.transformation.inverse().apply(points)

    def inverse(self) -> Transformation:
        return replace(self.transformation, **self._swapped())

    def params(self) -> dict[str, Any]:
        return {"transformation": self.transformation.to_json()}


@dataclass(kw_only=True)
class Bijection(Transformation):
    """An explicit ``forward`` and its ``inverse``."""

    type: ClassVar[str] = "bijection"
    forward: Transformation
    reverse: Transformation

    @property
    def invertible(self) -> bool:
        return self.reverse.can_apply

    @property
    def can_apply(self) -> bool:  # type: ignore[override]
        return self.forward.can_apply

    def apply(self, points: Any) -> np.ndarray:
        return self.forward.apply(points)

    def inverse(self) -> Transformation:
        return Bijection(forward=self.reverse, reverse=self.forward, **self._swapped())

    def params(self) -> dict[str, Any]:
        return {"forward": self.forward.to_json(), "inverse": self.reverse.to_json()}


@dataclass
class ByDimensionItem:
    """One part of a ``byDimension``: ``transformation`` maps the input axes ``input_axes``
    to the output axes ``output_axes`` (zero-based indices)."""

    transformation: Transformation
    input_axes: list[int]
    output_axes: list[int]


@dataclass(kw_only=True)
class ByDimension(Transformation):
    """Lower-dimensional transformations on subsets of the axes."""

    type: ClassVar[str] = "byDimension"
    items: list[ByDimensionItem]

    @property
    def invertible(self) -> bool:
        return all(it.transformation.invertible for it in self.items)

    @property
    def can_apply(self) -> bool:  # type: ignore[override]
        return all(it.transformation.can_apply for it in self.items)

    def apply(self, points: Any) -> np.ndarray:
        pts = as_points(points)
        ndim_out = 1 + max(i for it in self.items for i in it.output_axes)
        out = np.zeros((pts.shape[0], ndim_out))
        seen: set[int] = set()
        for it in self.items:
            if max(it.input_axes) >= pts.shape[1]:
                raise MetadataError(f"byDimension{self._named()}: input axes {it.input_axes} out of range "
                                    f"for {pts.shape[1]}-D points")
            out[:, it.output_axes] = it.transformation.apply(pts[:, it.input_axes])
            seen.update(it.output_axes)
        if len(seen) != ndim_out:
            raise MetadataError(f"byDimension{self._named()}: output axes {sorted(set(range(ndim_out)) - seen)} "
                                "are produced by no transformation")
        return out

    def inverse(self) -> Transformation:
        return ByDimension(items=[ByDimensionItem(it.transformation.inverse(), list(it.output_axes),
                                                  list(it.input_axes)) for it in self.items], **self._swapped())

    def params(self) -> dict[str, Any]:
        return {"transformations": [{"transformation": it.transformation.to_json(),
                                     "inputAxes": list(it.input_axes), "outputAxes": list(it.output_axes)}
                                    for it in self.items]}


@dataclass(kw_only=True)
class _Field(Transformation):
    """A transformation defined by a vector field stored at ``path``."""

    path: str
    interpolation: str | None = None
    field: VectorField | None = None

    def _field(self) -> VectorField:
        if self.field is None:
            raise MetadataError(f"the {self.type!r} transformation{self._named()} reads its field at "
                                f"{self.path!r}; parse it with an ArraySource to read it")
        return self.field

    def _sample(self, pts: np.ndarray) -> np.ndarray:
        method = self.interpolation or "linear"
        if method not in ("linear", "nearest"):
            raise MetadataError(f"the {self.type!r} transformation{self._named()} asks for {method!r} "
                                "interpolation; zarrconv applies 'linear' and 'nearest'")
        return self._field().sample(pts, method)

    def params(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path}
        if self.interpolation is not None:
            d["interpolation"] = self.interpolation
        return d


@dataclass(kw_only=True)
class Coordinates(_Field):
    """Each input point maps to the (interpolated) position stored in the field."""

    type: ClassVar[str] = "coordinates"

    def apply(self, points: Any) -> np.ndarray:
        return self._sample(as_points(points))


@dataclass(kw_only=True)
class Displacements(_Field):
    """Each input point moves by the (interpolated) displacement stored in the field."""

    type: ClassVar[str] = "displacements"

    def apply(self, points: Any) -> np.ndarray:
        pts = as_points(points)
        vec = self._sample(pts)
        if vec.shape[1] != pts.shape[1]:
            raise MetadataError(f"the displacement field{self._named()} at {self.path!r} has {vec.shape[1]} "
                                f"components for {pts.shape[1]}-D points")
        return pts + vec


# -------------------------------------------------------------------- parsing


_COMMON = ("type", "name", "input", "output")


def _ints(value: Any, where: str, what: str) -> list[int]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise _err(where, f"{what} must be an array of integer axis indices, got {value!r}")
    return [int(v) for v in value]


def _numeric(value: Any, where: str, what: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _err(where, f"{what} must hold numbers, got {value!r}") from None
    if arr.ndim != ndim or arr.size == 0:
        raise _err(where, f"{what} must be a non-empty {'vector' if ndim == 1 else 'matrix'}, got {value!r}")
    return arr


def _parametric(cls: type[_Parametric], d: Mapping[str, Any], where: str, source: ArraySource | None,
                common: dict[str, Any]) -> Transformation:
    key = cls.type
    ndim = 1 if cls in (Scale, Translation) else 2
    extra = {k: v for k, v in d.items() if k not in (*_COMMON, key, "path")}
    if key in d:
        if cls is Affine and np.asarray(d[key]).ndim == 1:  # flattened (an early draft)
            return cls(values=_numeric(d[key], where, repr(key), 1), extra=extra, **common)
        return cls(values=_numeric(d[key], where, repr(key), ndim), extra=extra, **common)
    if "path" in d:
        path = d["path"]
        if not isinstance(path, str):
            raise _err(where, f"'path' must be a string, got {path!r}")
        values = None if source is None else np.asarray(source.array(path), dtype=np.float64)
        if values is not None and cls in (Scale, Translation):
            values = values.reshape(-1)
        return cls(values=values, path=path, extra=extra, **common)
    raise _err(where, f"a {key!r} transformation has neither {key!r} nor 'path'")


def _by_dimension_items(d: Mapping[str, Any], where: str, source: ArraySource | None) -> list[ByDimensionItem]:
    items = []
    for i, it in enumerate(_list(d.get("transformations"), where, "'transformations'")):
        w = f"{where}.transformations[{i}]"
        if not isinstance(it, Mapping):
            raise _err(w, f"a byDimension item must be an object, got {it!r}")
        if "transformation" in it:  # 0.6: a wrapper object
            t = parse_transformation(it["transformation"], f"{w}.transformation", source)
            ia, oa = it.get("inputAxes"), it.get("outputAxes")
        else:  # earlier drafts: the child carries its axes itself
            t = parse_transformation({k: v for k, v in it.items()
                                      if k not in ("input_axes", "output_axes", "inputAxes", "outputAxes")}, w, source)
            ia = it.get("input_axes", it.get("inputAxes"))
            oa = it.get("output_axes", it.get("outputAxes"))
        items.append(ByDimensionItem(t, _ints(ia, w, "inputAxes"), _ints(oa, w, "outputAxes")))
    if not items:
        raise _err(where, "a byDimension transformation has no transformations")
    return items


def _list(value: Any, where: str, what: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _err(where, f"{what} must be an array, got {value!r}")
    return list(value)


def _field(cls: type[_Field], d: Mapping[str, Any], where: str, source: ArraySource | None,
           common: dict[str, Any]) -> Transformation:
    path = d.get("path")
    if not isinstance(path, str):
        raise _err(where, f"a {cls.type!r} transformation needs a 'path' string, got {path!r}")
    interp = d.get("interpolation")
    if interp is not None and not isinstance(interp, str):
        raise _err(where, f"'interpolation' must be a string, got {interp!r}")
    return cls(path=path, interpolation=interp, field=None if source is None else source.vector_field(path),
               extra={k: v for k, v in d.items() if k not in (*_COMMON, "path", "interpolation")}, **common)


_Parser = Callable[[Mapping[str, Any], str, "ArraySource | None", dict[str, Any]], Transformation]


def _wrappers(d: Mapping[str, Any], where: str, source: ArraySource | None,
              common: dict[str, Any]) -> Transformation:
    typ = d["type"]
    if typ == "sequence":
        ts = [parse_transformation(t, f"{where}.transformations[{i}]", source)
              for i, t in enumerate(_list(d.get("transformations"), where, "'transformations'"))]
        if not ts:
            raise _err(where, "a sequence has no transformations")
        return Sequence_(transformations=ts, extra=_rest(d, "transformations"), **common)
    if typ == "inverseOf":
        return InverseOf(transformation=parse_transformation(d.get("transformation"), f"{where}.transformation",
                                                             source), extra=_rest(d, "transformation"), **common)
    if typ == "bijection":
        fwd = parse_transformation(d.get("forward"), f"{where}.forward", source)
        inv = parse_transformation(d.get("inverse"), f"{where}.inverse", source)
        return Bijection(forward=fwd, reverse=inv, extra=_rest(d, "forward", "inverse"), **common)
    return ByDimension(items=_by_dimension_items(d, where, source), extra=_rest(d, "transformations"), **common)


def _rest(d: Mapping[str, Any], *known: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in (*_COMMON, *known)}


def _simple(d: Mapping[str, Any], where: str, source: ArraySource | None,
            common: dict[str, Any]) -> Transformation:
    typ = d["type"]
    if typ == "identity":
        return Identity(extra=_rest(d), **common)
    if typ == "mapAxis":
        return MapAxis(map=_ints(d.get("mapAxis"), where, "'mapAxis'"), extra=_rest(d, "mapAxis"), **common)
    dropped = _ints(d.get("droppedInputs", []), where, "'droppedInputs'")
    created = _ints(d.get("createdOutputs", []), where, "'createdOutputs'")
    return ProjectAxis(dropped=dropped, created=created, extra=_rest(d, "droppedInputs", "createdOutputs"), **common)


_PARSERS: dict[str, _Parser] = {
    "identity": _simple,
    "mapAxis": _simple,
    "projectAxis": _simple,
    "translation": lambda d, w, s, c: _parametric(Translation, d, w, s, c),
    "scale": lambda d, w, s, c: _parametric(Scale, d, w, s, c),
    "affine": lambda d, w, s, c: _parametric(Affine, d, w, s, c),
    "rotation": lambda d, w, s, c: _parametric(Rotation, d, w, s, c),
    "sequence": _wrappers,
    "inverseOf": _wrappers,
    "bijection": _wrappers,
    "byDimension": _wrappers,
    "coordinates": lambda d, w, s, c: _field(Coordinates, d, w, s, c),
    "displacements": lambda d, w, s, c: _field(Displacements, d, w, s, c),
}


def parse_transformation(value: Any, where: str = "", source: ArraySource | None = None) -> Transformation:
    """Parse one coordinate transformation object (0.6 or earlier RFC-5 draft spelling).

    ``source`` reads parameters and fields stored in Zarr arrays (``path``); without it such
    transformations parse but raise :class:`~zarrconv.errors.MetadataError` when applied.
    """
    if not isinstance(value, Mapping):
        raise _err(where, f"a coordinate transformation must be an object, got {value!r}")
    typ = value.get("type")
    parser = _PARSERS.get(typ) if isinstance(typ, str) else None
    if parser is None:
        raise _err(where, f"unknown coordinate transformation type {typ!r} (known: {', '.join(_PARSERS)})")
    name = value.get("name")
    if name is not None and not isinstance(name, str):
        raise _err(where, f"'name' must be a string, got {name!r}")
    common = {"name": name, "input": SystemRef.parse(value.get("input"), f"{where}.input"),
              "output": SystemRef.parse(value.get("output"), f"{where}.output")}
    return parser(value, where, source, common)


# -------------------------------------------------------------------- graph


def _show(key: SystemKey) -> str:
    path, name = key
    if not name:
        return f"array {path!r}"
    return f"{name!r}" + (f" (in {path!r})" if path else "")


@dataclass
class TransformGraph:
    """Coordinate systems (nodes, keyed by :data:`SystemKey`) and transformations (edges).

    :meth:`path` finds the shortest chain of transformations between two systems, using an
    edge backwards only when its transformation is invertible. Only declared systems (a
    ``coordinateSystems`` entry, an array) can be found by name: a transformation naming
    a system nobody defines does not define it.
    """

    ndims: dict[SystemKey, int | None] = field(default_factory=dict)
    edges: list[tuple[SystemKey, SystemKey, Transformation]] = field(default_factory=list)
    declared: set[SystemKey] = field(default_factory=set)

    def add_system(self, key: SystemKey, ndim: int | None = None) -> None:
        """Declare a coordinate system (``ndim``: its number of axes, when known)."""
        self.declared.add(key)
        if self.ndims.get(key) is None:
            self.ndims[key] = ndim

    def add(self, source: SystemKey, target: SystemKey, transformation: Transformation) -> None:
        """Add the edge ``source -> target``."""
        self.ndims.setdefault(source, None)
        self.ndims.setdefault(target, None)
        self.edges.append((source, target, transformation))

    def find(self, name: str, path: str | None = None) -> SystemKey:
        """The key of the system called ``name`` (in ``path``, when given). A name without a
        path means the root's own system if there is one, else the only system of that name."""
        if path is not None:
            key = (path.strip("/"), name)
            if key not in self.declared:
                raise NoTransformPathError(f"no coordinate system {name!r} in {path!r}")
            return key
        if ("", name) in self.declared:
            return ("", name)
        hits = sorted(k for k in self.declared if k[1] == name)
        if len(hits) == 1:
            return hits[0]
        if not hits:
            known = sorted({k[1] for k in self.declared if k[1]})
            raise NoTransformPathError(f"no coordinate system named {name!r} (known: {known})")
        raise NoTransformPathError(f"the name {name!r} is ambiguous: {[_show(k) for k in hits]}; give its path too")

    def path(self, source: SystemKey, target: SystemKey) -> list[Transformation]:
        """The chain of transformations from ``source`` to ``target`` (empty when equal)."""
        for key in (source, target):
            if key not in self.declared:
                raise NoTransformPathError(f"unknown coordinate system {_show(key)}")
        prev: dict[SystemKey, tuple[SystemKey, int, bool] | None] = {source: None}
        queue = deque([source])
        while queue and target not in prev:
            node = queue.popleft()
            for i, (a, b, t) in enumerate(self.edges):
                for here, there, forward in ((a, b, True), (b, a, False)):
                    usable = t.can_apply if forward else t.invertible
                    if here == node and there not in prev and usable:
                        prev[there] = (node, i, forward)
                        queue.append(there)
        if target not in prev:
            raise NoTransformPathError(f"no chain of (invertible) transformations leads from {_show(source)} "
                                       f"to {_show(target)}")
        chain: list[Transformation] = []
        node = target
        while (step := prev[node]) is not None:
            node, i, forward = step
            t = self.edges[i][2]
            chain.append(t if forward else t.inverse())
        return chain[::-1]

    def transformation(self, source: SystemKey, target: SystemKey) -> Transformation:
        """One transformation from ``source`` to ``target`` (a sequence of :meth:`path`)."""
        chain = self.path(source, target)
        src, dst = (SystemRef(k[1] or None, k[0] or None) for k in (source, target))
        if len(chain) == 1:
            return replace(chain[0], input=src, output=dst)
        if not chain:
            return Identity(input=src, output=dst)
        return Sequence_(transformations=chain, input=src, output=dst)

    def transform(self, source: SystemKey, target: SystemKey, points: Any) -> np.ndarray:
        """``points`` of ``source`` expressed in ``target``."""
        ndim = self.ndims.get(source)
        return self.transformation(source, target).apply(as_points(points, ndim))

