"""The transformation graph of an OME-Zarr 0.6 hierarchy, and points moved through it.

A hierarchy's coordinate systems are those of its ``scene`` (root attributes) and of every
multiscale image the scene's transformations reach by ``path`` (or of the image at the root);
the edges are the scene's transformations, each image's multiscale-wide transformations and
each resolution level's transformation from its array to the image's intrinsic system.

:func:`transform_coordinates` is the library side of ``zarrconv ome transform`` (the RFC-5
conformance "dingus" contract). Parameters and fields stored as Zarr arrays are read
through zarrconv's core (:class:`GroupArrays`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

import zarrconv as zc
from zarrconv.errors import MetadataError, NodeNotFoundError, NoTransformPathError

from .models import Multiscale, OmeMetadata, Scene, compose, parse_attrs
from .transforms import SystemKey, SystemRef, Transformation, TransformGraph, VectorField, as_points

__all__ = ["GroupArrays", "build_graph", "system_coords", "transform_coordinates", "transformation_between"]


def _join(*parts: str | None) -> str:
    joined = posixpath.normpath(posixpath.join(*[p for p in parts if p] or [""]))
    return "" if joined == "." else joined.strip("/")


@dataclass
class GroupArrays:
    """Reads transformation parameters and vector fields below ``root`` (an
    :class:`~zarrconv.conventions.ome.transforms.ArraySource`)."""

    root: zc.Group

    def _node(self, path: str) -> zc.Array | zc.Group:
        try:
            return self.root[path.strip("/")]
        except NodeNotFoundError:
            raise MetadataError(f"{self.root.store.url}: a transformation refers to {path!r}, "
                                "which does not exist") from None

    def array(self, path: str) -> np.ndarray:
        """The whole array at ``path`` as float64."""
        node = self._node(path)
        if not isinstance(node, zc.Array):
            raise MetadataError(f"{self.root.store.url}/{path}: transformation parameters must be an array")
        return np.asarray(node[...], dtype=np.float64)

    def vector_field(self, path: str) -> VectorField:
        """A field stored as a multiscale image (its first level; the axis of type
        "coordinate"/"displacement" holds the vectors) or as a bare array (vectors last)."""
        node = self._node(path)
        if isinstance(node, zc.Array):
            data = np.asarray(node[...], dtype=np.float64)
            nd = data.ndim - 1
            return VectorField(data, np.ones(nd), np.zeros(nd))
        md = _metadata(node)
        if md is None or not md.multiscales:
            raise MetadataError(f"{self.root.store.url}/{path}: a field must be an array or a multiscale image")
        ms = md.multiscales[0]
        level = node[ms.datasets[0].path]
        if not isinstance(level, zc.Array):
            raise MetadataError(f"{self.root.store.url}/{path}/{ms.datasets[0].path} is not an array")
        types = [a.type for a in ms.axes]
        vec = next((i for i, t in enumerate(types) if t in ("coordinate", "displacement")), len(types) - 1)
        scale, trans = compose(ms.datasets[0].transforms, len(types), path)
        keep = [i for i in range(len(types)) if i != vec]
        data = np.moveaxis(np.asarray(level[...], dtype=np.float64), vec, -1)
        return VectorField(data, scale[keep], trans[keep])


def _metadata(group: zc.Group, arrays: GroupArrays | None = None) -> OmeMetadata | None:
    where = f"{group.store.url}/{group.path}".rstrip("/")
    return parse_attrs(group.attrs.asdict(), where, arrays=arrays)


@dataclass
class _Builder:
    """Adds the systems and transformations of a hierarchy to a graph, image by image."""

    root: zc.Group | None
    graph: TransformGraph = field(default_factory=TransformGraph)
    loaded: set[str] = field(default_factory=set)

    def key(self, ref: SystemRef | None, base: str, where: str) -> SystemKey:
        if ref is None or not ref.name:
            raise MetadataError(f"{where}: a transformation between coordinate systems needs an input and an "
                                "output with a name")
        key = (_join(base, ref.path), ref.name)
        if ref.path and key[0] not in self.loaded:
            self.image(key[0])
        return key

    def image(self, path: str) -> None:
        """Add the multiscale image at ``path`` (relative to the root), once."""
        self.loaded.add(path)
        if self.root is None:
            return  # a bare scene document: only its own systems exist
        try:
            node = self.root[path] if path else self.root
        except NodeNotFoundError:
            return  # an unknown path: the system it names stays unknown
        md = _metadata(node, GroupArrays(self.root)) if isinstance(node, zc.Group) else None
        if md is not None:
            for ms in md.multiscales or []:
                self.multiscale(ms, path)

    def multiscale(self, ms: Multiscale, base: str) -> None:
        systems = ms.coordinate_systems or []
        for cs in systems:
            self.graph.add_system((base, cs.name), len(cs.axes))
        intrinsic = (base, ms.intrinsic)
        self.graph.add_system(intrinsic, len(ms.axes))
        for ds in ms.datasets:
            if ds.transformation is not None:
                array = (_join(base, ds.path), "")
                self.graph.add_system(array, len(ms.axes))
                self.graph.add(array, intrinsic, ds.transformation)
        for i, t in enumerate(ms.coordinate_transformations):
            w = f"{base or '/'} multiscales coordinateTransformations[{i}]"
            self.graph.add(self.key(t.input, base, w), self.key(t.output, base, w), t)

    def scene(self, scene: Scene, base: str) -> None:
        for cs in scene.coordinate_systems:
            self.graph.add_system((base, cs.name), len(cs.axes))
        for i, t in enumerate(scene.transformations):
            w = f"scene coordinateTransformations[{i}]"
            self.graph.add(self.key(t.input, base, w), self.key(t.output, base, w), t)


def build_graph(source: Any, *, storage_options: dict | None = None) -> TransformGraph:
    """The transformation graph of a hierarchy: ``source`` is anything
    :func:`zarrconv.open_group` accepts (or a Group), or as a dict the attributes of a root
    group, the content of their ``ome`` object or a ``scene`` object (whose paths then lead
    nowhere: only the systems the dict defines exist)."""
    if isinstance(source, Mapping):
        if "ome" in source:
            attrs: Mapping[str, Any] = source
        elif "scene" in source or "multiscales" in source:  # the content of "ome"
            attrs = {"ome": {"version": "0.6", **source}}
        else:  # the scene object itself
            attrs = {"ome": {"version": "0.6", "scene": dict(source)}}
        md = parse_attrs(attrs, "scene")
        builder = _Builder(None)
    else:
        group = source if isinstance(source, zc.Group) else zc.open_group(source, mode="r",
                                                                          storage_options=storage_options)
        md = _metadata(group, GroupArrays(group))
        builder = _Builder(group)
    if md is None:
        raise MetadataError("no OME-Zarr metadata: expected a 0.6 scene or multiscale image")
    builder.loaded.add("")
    for ms in md.multiscales or []:
        builder.multiscale(ms, "")
    if md.scene is not None:
        builder.scene(md.scene, "")
    return builder.graph


def _system(graph: TransformGraph, spec: Any) -> SystemKey:
    if isinstance(spec, str):
        return graph.find(spec)
    if isinstance(spec, Mapping):
        return graph.find(spec.get("name", ""), spec.get("path"))
    if isinstance(spec, tuple) and len(spec) == 2:
        path, name = spec
        return graph.find(name, path)
    raise NoTransformPathError(f"a coordinate system is a name, {{'name', 'path'}} or (path, name), got {spec!r}")


def transform_coordinates(scene_or_path: Any, source: Any, target: Any, points: Any, *,
                          storage_options: dict | None = None) -> np.ndarray:
    """``points`` (``(n, ndim)``) of the coordinate system ``source`` expressed in ``target``.

    ``scene_or_path`` is an OME-Zarr hierarchy (path, URL, store or Group) whose root holds a
    0.6 ``scene`` or multiscale image, or such attributes as a dict. ``source``/``target``
    are coordinate system names (unique in the hierarchy, or the root's own), ``{"name",
    "path"}`` or ``(path, name)``. Transformations are inverted where needed and possible.

    Raises :class:`~zarrconv.errors.NoTransformPathError` when a system is unknown or no
    chain of transformations joins them. ``storage_options`` configure a remote store.
    """
    graph = build_graph(scene_or_path, storage_options=storage_options)
    src, dst = _system(graph, source), _system(graph, target)
    return graph.transform(src, dst, as_points(points))


def transformation_between(scene_or_path: Any, source: Any, target: Any) -> Transformation:
    """The (composed) transformation from ``source`` to ``target`` (see :func:`transform_coordinates`)."""
    graph = build_graph(scene_or_path)
    return graph.transformation(_system(graph, source), _system(graph, target))


# ----------------------------------------------------------------- image coordinates


def _affine_of(f: Callable[[np.ndarray], np.ndarray], ndim: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` with ``f(x) == A @ x + b``, or MetadataError when ``f`` is not affine."""
    b = f(np.zeros((1, ndim)))[0]
    a = (f(np.eye(ndim)) - b).T
    probe = np.array([[1.5 + 2 * i for i in range(ndim)], [-3.0 + i for i in range(ndim)]])
    if not np.allclose(f(probe), probe @ a.T + b, rtol=1e-9, atol=1e-9):
        raise MetadataError(f"{where}: the transformation to this coordinate system is not affine; "
                            "use transform_coordinates for points")
    return a, b


def system_coords(group: zc.Group, ms: Multiscale, level: int, shape: tuple[int, ...], system: str,
                  dims: list[str]) -> dict[str, xr.Variable]:
    """Coordinates of one level of the 0.6 image in ``group`` expressed in its coordinate
    system ``system`` (reached from the intrinsic one through the image's transformations).

    An output axis that depends on one array dimension is a 1-D coordinate along it (a
    dimension coordinate when it has the dimension's name); one that mixes dimensions (a
    rotation, an affine) is an N-D coordinate over them. An output axis whose name is the
    name of another dimension is suffixed with ``_<system>``. Non-affine transformations
    (fields) are refused.
    """
    where = f"{group.store.url}/{group.path}".rstrip("/")
    graph = build_graph(group)
    target = graph.find(system)
    to_system = graph.transformation(("", ms.intrinsic), target)
    scale, trans = ms.level_transform(level)
    a, b = _affine_of(lambda idx: to_system.apply(idx * scale + trans), len(shape), where)
    axes = next((c.axes for c in ms.coordinate_systems or [] if c.name == target[1]), None)
    names = [ax.name for ax in axes] if axes and target[0] == "" else [f"{target[1]}_{j}" for j in range(len(a))]
    coords: dict[str, xr.Variable] = {}
    for j, name in enumerate(names):
        if axes and axes[j].type == "channel":
            continue  # channels are labelled, not measured: the reader keeps the image's labels
        deps = [i for i in range(len(shape)) if a[j, i] != 0]
        if name in dims and deps != [dims.index(name)]:
            name = f"{name}_{system}"
        grids = np.meshgrid(*[np.arange(shape[i], dtype=np.float64) for i in deps], indexing="ij", sparse=True)
        values = b[j] + sum((a[j, i] * g for i, g in zip(deps, grids)), np.zeros(()))
        attrs = {"units": axes[j].unit} if axes and axes[j].unit else {}
        coords[name] = xr.Variable(tuple(dims[i] for i in deps), np.broadcast_to(values, [shape[i] for i in deps]).copy(),
                                   attrs)
    return coords
