"""Write OME-Zarr 0.6 ``scene`` metadata: :func:`write_scene`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import zarrconv as zc
from zarrconv.errors import MetadataError, NoTransformPathError

from ..models import CoordinateSystem, OmeMetadata, Scene
from ..scene import build_graph
from ..transforms import Transformation, parse_transformation
from .target import set_ome_attrs

__all__ = ["write_scene"]


def write_scene(
    store: Any,
    transformations: Sequence[Transformation | Mapping[str, Any]],
    coordinate_systems: Sequence[CoordinateSystem | Mapping[str, Any]] = (),
    *,
    path: str | None = None,
    storage_options: dict | None = None,
) -> zc.Group:
    """Write OME-Zarr 0.6 ``scene`` metadata on the (Zarr v3) group above the images it relates.

    ``transformations`` (objects or their JSON) link coordinate systems of the images below
    (``{"name", "path"}`` with the image's path) or of the scene itself
    (``coordinate_systems``, ``{"name"}`` without a path). Every system they name must exist:
    the scene is checked through the same graph :func:`transform_coordinates` uses, and the
    group's previous attributes are restored if it does not hold. Returns the scene group.
    """
    if isinstance(store, zc.Group):
        node = store[path] if path else store
        if not isinstance(node, zc.Group):
            raise MetadataError(f"{store.store.url}/{path} is an array, not a group for a scene")
        group = node
    else:
        group = zc.open_group(store, path=path, mode="r+", storage_options=storage_options)
    if group.zarr_format != 3:
        raise MetadataError(f"{group.store.url}: an OME-Zarr 0.6 scene needs a Zarr v3 group")
    where = f"{group.store.url}/{group.path} scene".replace("//", "/")
    ts = [t if isinstance(t, Transformation) else parse_transformation(t, f"{where}.coordinateTransformations[{i}]")
          for i, t in enumerate(transformations)]
    css = [c if isinstance(c, CoordinateSystem) else CoordinateSystem.parse(c, f"{where}.coordinateSystems[{i}]")
           for i, c in enumerate(coordinate_systems)]
    old = group.attrs.asdict()
    set_ome_attrs(group, OmeMetadata(version="0.6", scene=Scene(ts, css)), "0.6")
    try:
        graph = build_graph(group)
        for i, t in enumerate(ts):
            for end in (t.input, t.output):
                if end is None or not end.name:
                    raise MetadataError(f"{where}: transformation {i} needs an input and an output with a name")
                graph.find(end.name, end.path)
    except (MetadataError, NoTransformPathError):
        group.attrs.put(old)
        raise
    return group
