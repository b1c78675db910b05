"""Finding and reading OME-Zarr groups: where a group is, its metadata and kind, the images of a
bioformats2raw container, the multiscale a caller picks.
"""

from __future__ import annotations

from typing import Any

import zarrconv as zc
from zarrconv.errors import MetadataError, NodeNotFoundError

from ..models import Multiscale, OmeMetadata, Well, parse_attrs

__all__ = [
    "as_group",
    "group_location",
    "attrs_location",
    "read_metadata",
    "is_ome",
    "ome_kind",
    "select_multiscale",
    "list_series",
    "read_well",
]


def as_group(store: Any, path: str | None = None, storage_options: dict | None = None) -> zc.Group:
    """A zarrconv Group from a Group (optionally a sub-path of it) or anything
    :func:`zarrconv.open_group` accepts, opened read-only."""
    if isinstance(store, zc.Group):
        if not path:
            return store
        node = store[path]
        if not isinstance(node, zc.Group):
            raise MetadataError(f"{group_location(store)}/{path} is an array, not an OME-Zarr group")
        return node
    return zc.open_group(store, path=path, mode="r", storage_options=storage_options)


def group_location(group: zc.Group) -> str:
    url = group.store.url.rstrip("/")
    return f"{url}/{group.path}" if group.path else url


def attrs_location(group: zc.Group) -> str:
    return f"{group_location(group)}/{'zarr.json' if group.zarr_format == 3 else '.zattrs'}"


def read_metadata(group: zc.Group, *, ndim: int | None = None) -> OmeMetadata | None:
    """Parse the OME metadata of ``group`` (None if it has none).

    Raises :class:`~zarrconv.errors.MetadataError` naming the attributes document when
    the metadata is malformed.
    """
    return parse_attrs(group.attrs.asdict() if hasattr(group.attrs, "asdict") else dict(group.attrs),
                       attrs_location(group), ndim=ndim)


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


def select_multiscale(md: OmeMetadata, multiscale: int | str, where: str) -> tuple[int, Multiscale]:
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


def list_series(store: Any, *, storage_options: dict | None = None) -> list[str]:
    """Paths of the images of a bioformats2raw container: the ``series`` of its ``OME``
    group, else the wells' fields of a plate, else the consecutively numbered groups
    ``0``, ``1``, ... that exist. An image group gives ``[""]`` (itself)."""
    group = as_group(store, storage_options=storage_options)
    md = read_metadata(group)
    if md is None:
        raise MetadataError(f"{attrs_location(group)}: no OME-Zarr metadata")
    if md.multiscales is not None:
        return [""]
    if md.plate is not None:
        wells = [w.path for w in md.plate.wells]
        return [f"{w}/{im.path}" for w in wells for im in read_well(group, wells, w).images]
    if md.bioformats2raw_layout is None:
        raise MetadataError(f"{attrs_location(group)}: not a bioformats2raw container (kind {md.kind})")
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


def read_well(plate_group: zc.Group, wells: list[str], well: str) -> Well:
    """The parsed ``well`` metadata of ``well`` ("B/3") of the plate in ``plate_group``, whose
    metadata lists ``wells``; MetadataError when it is not listed, missing or not a well."""
    if well not in wells:
        raise MetadataError(f"{attrs_location(plate_group)}: the plate has no well {well!r}; wells: {wells}")
    try:
        g = plate_group[well]
    except NodeNotFoundError:
        raise MetadataError(f"{group_location(plate_group)}: well {well!r} listed in the plate does not exist") from None
    md = read_metadata(g) if isinstance(g, zc.Group) else None
    if md is None or md.well is None:
        raise MetadataError(f"{group_location(plate_group)}/{well}: the well group has no 'well' metadata")
    return md.well
