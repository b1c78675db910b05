"""Where OME metadata goes: the group an image or plate is written into, and its attributes
(written last, so an interrupted write never advertises a half-written pyramid)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import zarrconv as zc
from zarrconv.errors import MetadataError

from ..models import OmeMetadata, namespaced

__all__ = ["open_target", "set_ome_attrs"]


def open_target(store: Any, path: str | None, zarr_format: int, overwrite: bool,
                storage_options: dict | None) -> zc.Group:
    """The group to write at ``path`` of ``store`` (a Group, or anything ``zc.create_group``
    takes), created for ``zarr_format``."""
    if isinstance(store, zc.Group):
        if store.zarr_format != zarr_format:
            raise MetadataError(f"cannot write OME-Zarr for Zarr v{zarr_format} into a Zarr v{store.zarr_format} "
                                f"group ({store.store.url}); 0.4 needs v2, 0.5 needs v3")
        if not path:
            return store
        return store.create_group(path, overwrite=overwrite)
    return zc.create_group(store, path, zarr_format=zarr_format, overwrite=overwrite, storage_options=storage_options)


def set_ome_attrs(group: zc.Group, md: OmeMetadata, version: str) -> None:
    """Write the OME attributes, keeping the group's other attributes (and, in 0.5, other
    keys of an existing ``ome`` object)."""
    new = md.to_attrs(version)
    if namespaced(version):
        old = group.attrs.get("ome")
        if isinstance(old, Mapping):
            new = {"ome": {**old, **new["ome"]}}
    group.attrs.update(new)
