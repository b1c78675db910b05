"""Pyramid levels of an opened image by index or dataset path, whatever wrote it (zarrconv ``0``,
ome-zarr-py ``s0``, ngff-zarr ``scale0/image``).
"""

from __future__ import annotations

import xarray as xr

from zarrconv.errors import MetadataError

from ..models import OmeMetadata, parse_attrs
from .groups import select_multiscale
from .image import IMAGE_VARIABLE

__all__ = [
    "levels",
    "level",
]


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
        candidates = [select_multiscale(md, multiscale, where)[1]]
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
