"""Open an OME-Zarr image as xarray objects: one Dataset per level with physical coordinates
(:func:`image_datasets`), a DataTree with its label images (:func:`open_image`), and the group hook
that opens an image as one DataTree node per level with ``engine="zarrconv"`` (:func:`datatree_levels`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

import zarrconv as zc
from zarrconv.errors import MetadataError, NodeNotFoundError

from .._lazy import lazy_variable
from ..models import Multiscale, OmeMetadata, Omero, is_v06
from ..scene import system_coords
from .groups import as_group, attrs_location, group_location, list_series, read_metadata, select_multiscale

__all__ = [
    "IMAGE_VARIABLE",
    "datatree_levels",
    "image_coords",
    "image_datasets",
    "image_datatree",
    "open_image",
]


#: Name of the data variable of every level Dataset.
IMAGE_VARIABLE = "image"


def _declares_image(attrs: dict) -> bool:
    # OME-NGFF ``multiscales`` is a list; the GeoZarr ``multiscales`` convention is an object
    ome = attrs.get("ome")
    return isinstance(attrs.get("multiscales"), list) or (isinstance(ome, dict) and isinstance(ome.get("multiscales"), list))


def datatree_levels(group: zc.Group) -> dict[str, xr.Dataset]:
    """The group hook of ``engine="zarrconv"`` (:mod:`zarrconv.xarray.hooks`): for a group
    declaring an OME-Zarr image, :func:`image_datasets` (one child node per level); {} for any
    other group."""
    if not _declares_image(group.metadata.attributes):
        return {}
    return image_datasets(group)


def image_coords(
    multiscale: Multiscale,
    level: int,
    shape: tuple[int, ...],
    omero: Omero | None = None,
    *,
    shapes: list[tuple[int, ...]] | None = None,
    where: str = "",
) -> dict[str, xr.Variable]:
    """Physical coordinates of one level of a multiscale image.

    Every axis that is not of type "channel" gets ``translation + scale * index`` (float64)
    with a ``units`` attribute from the axis; the channel axis gets the channel labels from
    ``omero`` when there is one label per channel. ``scale``/``translation`` are the level's
    transformations followed by the multiscale-wide ones (see
    :meth:`Multiscale.level_transform`); ``shapes`` (all level shapes) is only needed for
    images older than 0.4, which have no transformations.
    """
    if len(shape) != len(multiscale.axes):
        raise MetadataError(f"{where}: level {multiscale.datasets[level].path!r} has {len(shape)} dimensions "
                            f"but the multiscale has {len(multiscale.axes)} axes")
    scale, trans = multiscale.level_transform(level, shapes, where)
    coords: dict[str, xr.Variable] = {}
    for i, ax in enumerate(multiscale.axes):
        attrs: dict[str, Any] = {}
        if ax.unit is not None:
            attrs["units"] = ax.unit
        if ax.orientation is not None:
            attrs["orientation"] = ax.orientation
        if ax.type == "channel":
            labels = omero.labels if omero is not None else []
            if len(labels) == shape[i] and all(isinstance(x, str) for x in labels) and len(set(labels)) == len(labels):
                coords[ax.name] = xr.Variable((ax.name,), np.asarray(labels, dtype=object).astype(str), attrs)
            continue
        values = trans[i] + scale[i] * np.arange(shape[i], dtype=np.float64)
        coords[ax.name] = xr.Variable((ax.name,), values, attrs)
    return coords


def image_datasets(
    group: zc.Group,
    *,
    multiscale: int | str = 0,
    chunks: Any = None,
    metadata: OmeMetadata | None = None,
    coordinate_system: str | None = None,
) -> dict[str, xr.Dataset]:
    """One lazy ``xr.Dataset`` per resolution level of the image in ``group``, keyed by
    dataset path (largest first).

    Each Dataset holds the level as the data variable ``"image"`` with the axis names as
    dimensions and the coordinates of :func:`image_coords`. ``chunks`` as in
    :func:`open_image`. ``coordinate_system`` (0.6) names the system the coordinates are
    in (default: the intrinsic one). This is the building block for the xarray backend.
    """
    where = attrs_location(group)
    md = metadata if metadata is not None else read_metadata(group)
    if md is None or md.multiscales is None:
        kind = None if md is None else md.kind
        raise MetadataError(f"{where}: not an OME-Zarr image (kind: {kind}); "
                            + _hint_for(kind))
    _, ms = select_multiscale(md, multiscale, where)
    arrays = []
    for ds in ms.datasets:
        try:
            arr = group[ds.path]
        except NodeNotFoundError:
            raise MetadataError(f"{where}: dataset {ds.path!r} listed in multiscales does not exist") from None
        if not isinstance(arr, zc.Array):
            raise MetadataError(f"{where}: dataset {ds.path!r} is a group, not an array")
        arrays.append(arr)
    shapes = [tuple(a.shape) for a in arrays]
    if len(ms.axes) != len(shapes[0]) and md.version in ("0.1", "0.2"):
        # 0.1/0.2 images have no axes: they are the last n of t, c, z, y, x
        md = read_metadata(group, ndim=len(shapes[0]))
        assert md is not None
        _, ms = select_multiscale(md, multiscale, where)
    dims = ms.axis_names
    out: dict[str, xr.Dataset] = {}
    if coordinate_system is not None and not is_v06(md.version):
        raise MetadataError(f"{where}: coordinate_system= needs an OME-Zarr 0.6 image (this one is {md.version})")
    for level, (ds, arr) in enumerate(zip(ms.datasets, arrays)):
        coords = image_coords(ms, level, tuple(arr.shape), md.omero, shapes=shapes, where=where)
        if coordinate_system is not None and coordinate_system != ms.intrinsic:
            labels = {ax.name: coords[ax.name] for ax in ms.axes if ax.type == "channel" and ax.name in coords}
            coords = {**system_coords(group, ms, level, tuple(arr.shape), coordinate_system, dims), **labels}
        attrs = {k: v for k, v in arr.attrs.items() if k != "_ARRAY_DIMENSIONS"}
        var = lazy_variable(arr, dims, attrs, chunks)
        out[ds.path] = xr.Dataset({IMAGE_VARIABLE: var}, coords=coords)
    return out


def _hint_for(kind: str | None) -> str:
    return {
        "plate": "it is a plate: use zarrconv.conventions.ome.open_plate",
        "well": "it is a well: open one of its fields (open_plate(...).open_field)",
        "labels": "it is a labels group: open one of the label images it lists",
        "bioformats2raw": "it is a bioformats2raw container: pass series=",
        "series": "it is the OME group of a bioformats2raw container: open its parent with series=",
    }.get(kind or "", "it has no 'multiscales' metadata")


def image_datatree(
    group: zc.Group,
    *,
    multiscale: int | str = 0,
    chunks: Any = None,
    labels: bool = True,
    coordinate_system: str | None = None,
) -> xr.DataTree:
    """The image in ``group`` as a DataTree (see :func:`open_image`)."""
    md = read_metadata(group)
    levels = image_datasets(group, multiscale=multiscale, chunks=chunks, metadata=md,
                            coordinate_system=coordinate_system)
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs=group.attrs.asdict())}
    for path, ds in levels.items():
        nodes[path] = ds
    if labels and "labels" not in levels:
        for name, tree_nodes in _label_nodes(group, chunks).items():
            for sub, ds in tree_nodes.items():
                nodes[f"labels/{name}" + (f"/{sub}" if sub != "/" else "")] = ds
        if any(k.startswith("labels/") for k in nodes):
            lg = group["labels"]
            nodes["labels"] = xr.Dataset(attrs=lg.attrs.asdict())
    return xr.DataTree.from_dict(nodes)


def _label_nodes(group: zc.Group, chunks: Any) -> dict[str, dict[str, xr.Dataset]]:
    try:
        lg = group["labels"]
    except NodeNotFoundError:
        return {}
    if not isinstance(lg, zc.Group):
        return {}
    try:
        lmd = read_metadata(lg)
    except MetadataError as e:
        warnings.warn(f"ignoring the labels of {group_location(group)}: {e}", stacklevel=3)
        return {}
    if lmd is None or lmd.labels is None:
        return {}
    out: dict[str, dict[str, xr.Dataset]] = {}
    for name in lmd.labels:
        try:
            sub = lg[name]
            if not isinstance(sub, zc.Group):
                raise MetadataError(f"{group_location(lg)}/{name} is not a group")
            submd = read_metadata(sub)
            levels = image_datasets(sub, chunks=chunks, metadata=submd)
        except (MetadataError, NodeNotFoundError) as e:
            warnings.warn(f"ignoring label image {name!r} of {group_location(group)}: {e}", stacklevel=3)
            continue
        nodes = {"/": xr.Dataset(attrs=sub.attrs.asdict())}
        nodes.update(levels)
        out[name] = nodes
    return out


def open_image(
    store: Any,
    path: str | None = None,
    *,
    multiscale: int | str = 0,
    series: int | str | None = None,
    chunks: Any = None,
    labels: bool = True,
    storage_options: dict | None = None,
    coordinate_system: str | None = None,
) -> xr.DataTree:
    """Open an OME-Zarr image (0.1 to 0.6) as an ``xr.DataTree``.

    The tree has one node per resolution level at its dataset path (reach levels by
    index or path, whatever wrote the image, with :func:`level`/:func:`levels`), each a
    Dataset holding the level as the lazy data variable ``"image"`` with the axis names as
    dimensions and physical coordinates (:func:`image_coords`: ``scale``/``translation`` of
    the level then of the multiscale, ``units`` attributes, channel labels from ``omero``
    as the channel coordinate). The root's attrs are the group's attributes unchanged.
    Label images listed in the image's ``labels`` group appear below ``labels/<name>``
    (``labels=False`` skips them).

    Parameters
    ----------
    store
        Anything :func:`zarrconv.open_group` accepts, or a zarrconv Group.
    path
        Path of the image group inside ``store``.
    multiscale
        Which ``multiscales`` entry (index or name); the first by default.
    series
        For a bioformats2raw container: index into :func:`list_series` or a path. Needed
        when the container holds more than one image.
    chunks
        None (lazy, read on access), ``"auto"``/``{}`` (dask, storage chunks) or a dict of
        dask chunks per dimension.
    coordinate_system
        0.6 only: the coordinate system the coordinates are expressed in (default: the
        multiscale's intrinsic one). Another system of the image is reached through its
        ``coordinateTransformations`` (see :func:`~zarrconv.conventions.ome.scene.system_coords`).
    """
    group = as_group(store, path, storage_options)
    md = read_metadata(group)
    if md is not None and md.multiscales is None and md.bioformats2raw_layout is not None and md.plate is None:
        paths = list_series(group)
        if series is None:
            if len(paths) != 1:
                raise MetadataError(f"{attrs_location(group)}: bioformats2raw container with {len(paths)} images "
                                    f"{paths}; choose one with series=")
            series = 0
        sel = paths[series] if isinstance(series, int) else series
        group = as_group(group, sel)
    elif series is not None:
        raise MetadataError(f"{attrs_location(group)}: series= applies only to a bioformats2raw container "
                            f"(this group's kind: {None if md is None else md.kind})")
    return image_datatree(group, multiscale=multiscale, chunks=chunks, labels=labels,
                          coordinate_system=coordinate_system)
