"""Read OME-Zarr images, labels, plates and bioformats2raw containers as xarray objects.

All reading goes through zarrconv's core (:func:`zarrconv.open_group`, ``Group.attrs``,
``Array`` slicing); no store key is touched directly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

import zarrconv as zc
from zarrconv.errors import MetadataError, NodeNotFoundError

from ._lazy import lazy_variable
from .models import Multiscale, OmeMetadata, Omero, Plate, Well, is_v06, parse_attrs
from .scene import system_coords

__all__ = [
    "OmePlate",
    "datatree_levels",
    "image_coords",
    "image_datasets",
    "image_datatree",
    "is_ome",
    "level",
    "levels",
    "list_series",
    "ome_kind",
    "open_image",
    "open_plate",
    "read_metadata",
]

#: Name of the data variable of every level Dataset.
IMAGE_VARIABLE = "image"


# ------------------------------------------------------------------------------ helpers


def _as_group(store: Any, path: str | None = None, storage_options: dict | None = None) -> zc.Group:
    """A zarrconv Group from a Group (optionally a sub-path of it) or anything
    :func:`zarrconv.open_group` accepts, opened read-only."""
    if isinstance(store, zc.Group):
        if not path:
            return store
        node = store[path]
        if not isinstance(node, zc.Group):
            raise MetadataError(f"{_where(store)}/{path} is an array, not an OME-Zarr group")
        return node
    return zc.open_group(store, path=path, mode="r", storage_options=storage_options)


def _where(group: zc.Group) -> str:
    url = group.store.url.rstrip("/")
    return f"{url}/{group.path}" if group.path else url


def _attrs_doc(group: zc.Group) -> str:
    return f"{_where(group)}/{'zarr.json' if group.zarr_format == 3 else '.zattrs'}"


def read_metadata(group: zc.Group, *, ndim: int | None = None) -> OmeMetadata | None:
    """Parse the OME metadata of ``group`` (None if it has none).

    Raises :class:`~zarrconv.errors.MetadataError` naming the attributes document when
    the metadata is malformed.
    """
    return parse_attrs(group.attrs.asdict() if hasattr(group.attrs, "asdict") else dict(group.attrs),
                       _attrs_doc(group), ndim=ndim)


def is_ome(group: zc.Group) -> bool:
    """Whether ``group`` carries OME-Zarr metadata of any kind (cheap: attributes only)."""
    try:
        return read_metadata(group) is not None
    except MetadataError:
        return True  # it claims to be OME, just malformed


def ome_kind(group: zc.Group) -> str | None:
    """"image", "label", "labels", "plate", "well", "bioformats2raw", "series" or None."""
    md = read_metadata(group)
    return None if md is None else md.kind


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


def _select_multiscale(md: OmeMetadata, multiscale: int | str, where: str) -> tuple[int, Multiscale]:
    assert md.multiscales is not None
    if isinstance(multiscale, str):
        for i, m in enumerate(md.multiscales):
            if m.name == multiscale:
                return i, m
        raise MetadataError(f"{where}: no multiscale named {multiscale!r}; "
                            f"names: {[m.name for m in md.multiscales]}")
    if not 0 <= multiscale < len(md.multiscales):
        raise MetadataError(f"{where}: multiscale index {multiscale} out of range ({len(md.multiscales)} present)")
    return multiscale, md.multiscales[multiscale]


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
    where = _attrs_doc(group)
    md = metadata if metadata is not None else read_metadata(group)
    if md is None or md.multiscales is None:
        kind = None if md is None else md.kind
        raise MetadataError(f"{where}: not an OME-Zarr image (kind: {kind}); "
                            + _hint_for(kind))
    _, ms = _select_multiscale(md, multiscale, where)
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
        _, ms = _select_multiscale(md, multiscale, where)
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
        warnings.warn(f"ignoring the labels of {_where(group)}: {e}", stacklevel=3)
        return {}
    if lmd is None or lmd.labels is None:
        return {}
    out: dict[str, dict[str, xr.Dataset]] = {}
    for name in lmd.labels:
        try:
            sub = lg[name]
            if not isinstance(sub, zc.Group):
                raise MetadataError(f"{_where(lg)}/{name} is not a group")
            submd = read_metadata(sub)
            levels = image_datasets(sub, chunks=chunks, metadata=submd)
        except (MetadataError, NodeNotFoundError) as e:
            warnings.warn(f"ignoring label image {name!r} of {_where(group)}: {e}", stacklevel=3)
            continue
        nodes = {"/": xr.Dataset(attrs=sub.attrs.asdict())}
        nodes.update(levels)
        out[name] = nodes
    return out


# ---------------------------------------------------------------- bioformats2raw series


def list_series(store: Any, *, storage_options: dict | None = None) -> list[str]:
    """Paths of the images of a bioformats2raw container: the ``series`` of its ``OME``
    group, else the wells' fields of a plate, else the consecutively numbered groups
    ``0``, ``1``, ... that exist. An image group gives ``[""]`` (itself)."""
    group = _as_group(store, storage_options=storage_options)
    md = read_metadata(group)
    if md is None:
        raise MetadataError(f"{_attrs_doc(group)}: no OME-Zarr metadata")
    if md.multiscales is not None:
        return [""]
    if md.plate is not None:
        plate = OmePlate(group, md)
        return [f for w in plate.wells for f in plate.field_paths(w)]
    if md.bioformats2raw_layout is None:
        raise MetadataError(f"{_attrs_doc(group)}: not a bioformats2raw container (kind {md.kind})")
    ome = group.get("OME")
    if isinstance(ome, zc.Group):
        omd = read_metadata(ome)
        if omd is not None and omd.series is not None:
            return list(omd.series)
    out = []
    i = 0
    while isinstance(group.get(str(i)), zc.Group):
        out.append(str(i))
        i += 1
    return out


# ------------------------------------------------------------------------------ opening


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
    group = _as_group(store, path, storage_options)
    md = read_metadata(group)
    if md is not None and md.multiscales is None and md.bioformats2raw_layout is not None and md.plate is None:
        paths = list_series(group)
        if series is None:
            if len(paths) != 1:
                raise MetadataError(f"{_attrs_doc(group)}: bioformats2raw container with {len(paths)} images "
                                    f"{paths}; choose one with series=")
            series = 0
        sel = paths[series] if isinstance(series, int) else series
        group = _as_group(group, sel)
    elif series is not None:
        raise MetadataError(f"{_attrs_doc(group)}: series= applies only to a bioformats2raw container "
                            f"(this group's kind: {None if md is None else md.kind})")
    return image_datatree(group, multiscale=multiscale, chunks=chunks, labels=labels,
                          coordinate_system=coordinate_system)


# ------------------------------------------------------------------------- level access


def _tree_multiscales(tree: xr.DataTree) -> tuple[OmeMetadata, str]:
    where = f"DataTree node {tree.path!r}"
    md = parse_attrs(dict(tree.attrs), where)
    if md is None or md.multiscales is None:
        raise MetadataError(f"{where} is not an OME-Zarr image (its attributes have no 'multiscales'); "
                            "pass the tree open_image returns, or the image's node of a larger tree")
    return md, where


def _level_node(tree: xr.DataTree, path: str) -> xr.Dataset | None:
    """The Dataset of the level stored at dataset ``path``, or None if the tree lacks it."""
    try:
        node = tree[path]
    except KeyError:
        return None
    if not isinstance(node, xr.DataTree) or IMAGE_VARIABLE not in node.data_vars:
        return None
    return node.to_dataset()


def levels(tree: xr.DataTree, *, multiscale: int | str | None = None) -> dict[str, xr.Dataset]:
    """The resolution levels of an opened OME-Zarr image, largest first, keyed by dataset path.

    Works the same whatever wrote the image: level nodes sit at their dataset paths,
    which are ``"0"`` for zarrconv and bioformats2raw, ``"s0"`` for ome-zarr-py,
    ``"scale0/image"`` for ngff-zarr; ``list(levels(tree).values())[i]`` is level ``i``
    in every case. ``tree`` is what :func:`open_image` returns, or the image's node of a
    tree from ``xr.open_datatree(..., engine="zarrconv")``. ``multiscale`` (index or name)
    picks a ``multiscales`` entry; by default the first whose levels are all in the tree.
    """
    md, where = _tree_multiscales(tree)
    assert md.multiscales is not None
    if multiscale is not None:
        candidates = [_select_multiscale(md, multiscale, where)[1]]
    else:
        candidates = md.multiscales
    for ms in candidates:
        found = {path: _level_node(tree, path) for path in ms.paths}
        if all(ds is not None for ds in found.values()):
            return {path: ds for path, ds in found.items() if ds is not None}
    raise MetadataError(f"{where}: no multiscale with all its levels in the tree (dataset paths "
                        f"{[m.paths for m in candidates]}); was it opened with open_image or engine='zarrconv'?")


def level(tree: xr.DataTree, key: int | str = 0, *, multiscale: int | str | None = None) -> xr.Dataset:
    """One resolution level of an opened OME-Zarr image (see :func:`levels`): by index
    (0 is full resolution, -1 the smallest) or by dataset path (``"scale0/image"``).
    The Dataset holds the level as the variable ``"image"`` with physical coordinates."""
    found = levels(tree, multiscale=multiscale)
    if isinstance(key, str):
        if key not in found:
            raise MetadataError(f"DataTree node {tree.path!r}: no level at dataset path {key!r}; "
                                f"paths: {list(found)}")
        return found[key]
    paths = list(found)
    if not -len(paths) <= key < len(paths):
        raise MetadataError(f"DataTree node {tree.path!r}: level {key} out of range ({len(paths)} levels)")
    return found[paths[key]]


@dataclass
class OmePlate:
    """An open HCS plate: layout from the ``plate`` metadata, fields from each ``well``.

    Attributes
    ----------
    group
        The plate group.
    metadata
        The parsed group metadata (``metadata.plate`` is the :class:`Plate`).
    """

    group: zc.Group
    metadata: OmeMetadata
    _wells: dict[str, Well] = field(default_factory=dict, repr=False)

    @property
    def plate(self) -> Plate:
        """The parsed ``plate`` object."""
        assert self.metadata.plate is not None
        return self.metadata.plate

    @property
    def version(self) -> str:
        """OME-Zarr version of the plate."""
        return self.metadata.version

    @property
    def name(self) -> str | None:
        """Plate name, if given."""
        return self.plate.name

    @property
    def rows(self) -> list[str]:
        """Row names, in plate order."""
        return list(self.plate.rows)

    @property
    def columns(self) -> list[str]:
        """Column names, in plate order."""
        return list(self.plate.columns)

    @property
    def wells(self) -> list[str]:
        """Paths ("row/column") of the wells that hold images."""
        return [w.path for w in self.plate.wells]

    @property
    def acquisitions(self) -> list[dict[str, Any]]:
        """The acquisitions as JSON objects ([] if none are declared)."""
        return [a.to_json() for a in self.plate.acquisitions or []]

    def well(self, well: str) -> Well:
        """The parsed ``well`` metadata of ``well`` ("B/3")."""
        if well not in self._wells:
            if well not in self.wells:
                raise MetadataError(f"{_attrs_doc(self.group)}: the plate has no well {well!r}; wells: {self.wells}")
            try:
                g = self.group[well]
            except NodeNotFoundError:
                raise MetadataError(f"{_where(self.group)}: well {well!r} listed in the plate does not exist") from None
            md = read_metadata(g) if isinstance(g, zc.Group) else None
            if md is None or md.well is None:
                raise MetadataError(f"{_where(self.group)}/{well}: the well group has no 'well' metadata")
            self._wells[well] = md.well
        return self._wells[well]

    def fields(self, well: str) -> list[str]:
        """Field-of-view paths of ``well``, relative to the well group."""
        return [im.path for im in self.well(well).images]

    def field_paths(self, well: str) -> list[str]:
        """Field-of-view paths of ``well``, relative to the plate group."""
        return [f"{well}/{p}" for p in self.fields(well)]

    def open_field(self, well: str, field: int | str = 0, **kwargs: Any) -> xr.DataTree:
        """Open one field of view as an image (:func:`open_image` keywords apply)."""
        paths = self.fields(well)
        if isinstance(field, int):
            if not 0 <= field < len(paths):
                raise MetadataError(f"{_where(self.group)}/{well}: field {field} out of range ({len(paths)} fields)")
            field = paths[field]
        elif field not in paths:
            raise MetadataError(f"{_where(self.group)}/{well}: no field {field!r}; fields: {paths}")
        return open_image(self.group, f"{well}/{field}", **kwargs)

    def __repr__(self) -> str:
        return (f"<OmePlate {self.name!r} {len(self.rows)}x{len(self.columns)} wells={len(self.wells)} "
                f"version={self.version} at {_where(self.group)}>")


def open_plate(store: Any, path: str | None = None, *, storage_options: dict | None = None) -> OmePlate:
    """Open an OME-Zarr HCS plate: rows, columns, wells, acquisitions, and each well's
    fields, any of which :meth:`OmePlate.open_field` opens as an image."""
    group = _as_group(store, path, storage_options)
    md = read_metadata(group)
    if md is None or md.plate is None:
        kind = None if md is None else md.kind
        raise MetadataError(f"{_attrs_doc(group)}: not an OME-Zarr plate (kind: {kind})")
    return OmePlate(group, md)
