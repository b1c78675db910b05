"""Add a label image to an OME-Zarr image: :func:`write_labels`, and :func:`label_color`.

The label image follows the image's levels (:func:`zarrconv.conventions.pyramid.follow_levels`)
and is written by the shared pyramid writer, ``"mode"`` downsampling by default.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import zarrconv as zc
from zarrconv.errors import ContainsNodeError, MetadataError

from ...dask_source import DaskSource, storage_chunks
from ...pyramid import follow_levels, is_dask_array, write_levels
from ..models import (
    WRITE_VERSIONS,
    Axis,
    Dataset,
    ImageLabel,
    LabelColor,
    Multiscale,
    OmeMetadata,
    is_v06,
    parse_attrs,
)
from .axes import is_dataarray
from .grid import resolve_chunks, resolve_shards
from .image import DOWNSAMPLE_FUNCTION
from .target import set_ome_attrs

__all__ = ["label_color", "write_labels"]

#: At most this many label values get an automatic colour.
_MAX_AUTO_COLORS = 4096


def label_color(value: int) -> tuple[int, int, int, int]:
    """Deterministic display colour of a label value: transparent for 0, otherwise a
    saturated hue spread by the golden ratio (neighbouring labels look different)."""
    if value == 0:
        return (0, 0, 0, 0)
    hue = (int(value) * 0.6180339887498949) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return (round(r * 255), round(g * 255), round(b * 255), 255)


def _open_image(store: Any, path: str | None, storage_options: dict | None) -> tuple[zc.Group, str, OmeMetadata]:
    """The image group labels are added to, where it is, and its metadata (version checked)."""
    if isinstance(store, zc.Group):
        image = store[path] if path else store
    else:
        image = zc.open_group(store, path=path, mode="r+", storage_options=storage_options)
    where = f"{image.store.url.rstrip('/')}/{image.path}"
    md = parse_attrs(image.attrs.asdict(), where)
    if md is None or md.multiscales is None:
        raise MetadataError(f"{where}: labels can only be added to an OME-Zarr image (no 'multiscales' found)")
    if ("0.6" if is_v06(md.version) else md.version) not in WRITE_VERSIONS:
        raise MetadataError(f"{where}: cannot add labels to an OME-Zarr {md.version} image; only 0.4, 0.5 and 0.6")
    return image, where, md


def _label_data(labels: Any, axes: list[Axis], base: tuple[int, ...]) -> Any:
    """``labels`` as an integer numpy or dask array with the image's axes (a channel axis of
    length 1 added when the labels have none), checked against the image's level-0 ``base``."""
    if is_dataarray(labels):
        labels = labels.data
    if not is_dask_array(labels):
        labels = np.asarray(labels)
    dtype = np.dtype(labels.dtype)
    if dtype.kind not in "iu":
        raise MetadataError(f"label images must hold integers (u)int8..64, got {dtype}; cast with .astype(...)")
    if labels.ndim == len(base) - 1:
        cidx = next((i for i, a in enumerate(axes) if a.type == "channel"), None)
        if cidx is None:
            raise MetadataError(f"labels of shape {labels.shape} do not match the image's {base}")
        labels = labels[(slice(None),) * cidx + (None,)]
    lshape = tuple(int(n) for n in labels.shape)
    if len(lshape) != len(base) or any(n not in (b, 1) for n, b in zip(lshape, base)):
        raise MetadataError(f"labels of shape {lshape} must match the image's level-0 shape {base} "
                            "(or be 1 along an axis)")
    return labels


def _labels_group(image: zc.Group, where: str) -> zc.Group:
    """The image's ``labels`` group, created if missing."""
    labels_group = image.get("labels")
    if labels_group is None:
        return image.create_group("labels")
    if not isinstance(labels_group, zc.Group):
        raise ContainsNodeError(f"{where}/labels is an array, not a labels group")
    return labels_group


def _label_colors(colors: Any, labels: Any, label_group: zc.Group, level0: str) -> list[LabelColor]:
    """``colors`` as LabelColor entries; None: one per value present (read from the written
    level ``level0`` of ``label_group`` for dask input), up to ``_MAX_AUTO_COLORS``."""
    if colors is None:
        if is_dask_array(labels):
            import dask.array as da

            lv0 = label_group[level0]
            values = da.unique(da.from_array(DaskSource(lv0), chunks=storage_chunks(lv0))).compute()
        else:
            values = np.unique(labels)
        return [LabelColor(int(v), label_color(int(v))) for v in values[:_MAX_AUTO_COLORS]]
    if isinstance(colors, Mapping):
        return [LabelColor(int(k), tuple(int(c) for c in v)) for k, v in colors.items()]  # type: ignore[misc]
    return ImageLabel.parse({"colors": list(colors)}, "colors").colors or []


def _label_properties(properties: Any) -> list[dict[str, Any]] | None:
    """``properties`` as the list of dicts with "label-value" the metadata holds."""
    if properties is None:
        return None
    if isinstance(properties, Mapping):
        return [{"label-value": int(k), **dict(v)} for k, v in properties.items()]
    props = [dict(p) for p in properties]
    if any("label-value" not in p for p in props):
        raise MetadataError("every label property needs a 'label-value'")
    return props


def write_labels(
    labels: Any,
    store: Any,
    name: str,
    *,
    path: str | None = None,
    colors: Mapping[int, Sequence[int]] | Sequence[Mapping[str, Any]] | None = None,
    properties: Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = None,
    method: str = "mode",
    chunks: Any = None,
    shards: Any = None,
    compressors: Any = "auto",
    overwrite: bool = False,
    storage_options: dict | None = None,
) -> zc.Group:
    """Add a label image to an OME-Zarr image.

    The label image is written to ``<image>/labels/<name>`` with the image's axes, the same
    number of levels and the same coordinate transformations, so it overlays the image
    exactly; it is listed in the ``labels`` group. Its dimensions must equal the image's
    (or be 1, e.g. one channel of labels for a multichannel image); data without the
    image's channel axis gets one of length 1.

    Parameters
    ----------
    labels
        Integer numpy array, dask array or ``xr.DataArray``.
    store, path
        The image group (anything :func:`zarrconv.open_group` accepts, or a Group).
    name
        Name of the label image inside ``labels``.
    colors
        ``{label value: (r, g, b, a)}`` or a list of ``{"label-value": v, "rgba": [...]}``.
        Default: one colour per label value present (up to 4096; 0 is transparent).
    properties
        ``{label value: {key: value}}`` or a list of dicts with "label-value".
    method
        Downsampling method for the levels, "mode" by default ("nearest" is faster).

    Returns
    -------
    The label image group.
    """
    image, where, md = _open_image(store, path, storage_options)
    version = "0.6" if is_v06(md.version) else md.version
    ms = md.multiscales[0]  # type: ignore[index]
    img_shapes = [tuple(image[d.path].shape) for d in ms.datasets]
    labels = _label_data(labels, ms.axes, img_shapes[0])
    level_shapes, level_factors = follow_levels(labels.shape, img_shapes, where)

    base_chunks = resolve_chunks(chunks, level_shapes[0], ms.axes, np.dtype(labels.dtype).itemsize, labels)
    shard_shape = resolve_shards(shards, ms.axes, base_chunks, image.zarr_format)
    labels_group = _labels_group(image, where)
    label_group = labels_group.create_group(name, overwrite=overwrite)
    paths = [d.path for d in ms.datasets]
    write_levels(
        label_group, labels, dimension_names=ms.axis_names, paths=paths, level_shapes=level_shapes,
        level_factors=level_factors, method=method, chunks=base_chunks, shards=shard_shape,
        compressors=compressors, fill_value=0, overwrite=overwrite,
    )

    label_ms = Multiscale(
        axes=[Axis(a.name, a.type, a.unit, dict(a.extra)) for a in ms.axes],
        datasets=[Dataset(d.path, list(d.transforms)) for d in ms.datasets],
        transforms=list(ms.transforms), name=name, type=method,
        metadata={"method": DOWNSAMPLE_FUNCTION, "version": zc.__version__, "kwargs": {"method": method}},
    )
    image_label = ImageLabel(colors=_label_colors(colors, labels, label_group, paths[0]) or None,
                             properties=_label_properties(properties), source={"image": "../../"})
    set_ome_attrs(label_group, OmeMetadata(version=version, multiscales=[label_ms], image_label=image_label), version)

    existing = parse_attrs(labels_group.attrs.asdict(), f"{where}/labels")
    names = list(existing.labels or []) if existing is not None else []
    if name not in names:
        names.append(name)
    set_ome_attrs(labels_group, OmeMetadata(version=version, labels=names), version)
    return label_group
