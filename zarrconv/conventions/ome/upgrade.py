"""Upgrade the OME-Zarr metadata of a hierarchy in place: 0.4 -> 0.5 -> 0.6.

Only metadata documents are rewritten; no chunk is read or written.

* 0.4 -> 0.5 (and on to 0.6) is also Zarr v2 -> v3: the hierarchy's documents are migrated
  by :func:`zarrconv.convert.migrate_v2_to_v3` (chunks keep their keys through the ``v2``
  chunk key encoding), then every OME group's attributes move under ``ome`` and each level
  array gets the ``dimension_names`` 0.5 requires.
* 0.5 -> 0.6 turns every multiscale into coordinate systems and one transformation per
  level (multiscale-wide scale/translation folded into each level).

Everything is planned (every OME group parsed and converted) before anything is written,
and what cannot be expressed in the target version is refused with a
:class:`~zarrconv.errors.MetadataError` naming it: binary (``path``) transformations going
to 0.6, versions older than 0.4, downgrades, hierarchies mixing versions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import zarrconv as zc
from zarrconv.convert import migrate_v2_to_v3
from zarrconv.core.nodes import write_node
from zarrconv.errors import MetadataError

from .models import OmeMetadata, is_v06, parse_attrs

__all__ = ["UPGRADE_TARGETS", "upgrade"]

#: The versions :func:`upgrade` writes.
UPGRADE_TARGETS: tuple[str, ...] = ("0.5", "0.6")
_ORDER = {"0.4": 0, "0.5": 1, "0.6": 2}
_OME_TOP_KEYS = ("multiscales", "omero", "labels", "image-label", "plate", "well", "bioformats2raw.layout",
                 "series")


@dataclass
class _Node:
    path: str  # relative to the upgraded group
    md: OmeMetadata
    other_attrs: dict[str, Any]


def _where(group: zc.Group, rel: str = "") -> str:
    url = group.store.url.rstrip("/")
    full = "/".join(p for p in (group.path, rel) if p)
    return f"{url}/{full}" if full else url


def _collect(root: zc.Group) -> list[_Node]:
    """Every group of the hierarchy that carries OME metadata, with its other attributes."""
    groups = {"": root, **{rel: g for rel, g in root.members(max_depth=None) if isinstance(g, zc.Group)}}
    nodes = []
    for rel, g in groups.items():
        attrs = g.attrs.asdict()
        md = parse_attrs(attrs, _where(root, rel))
        if md is None:
            continue
        if isinstance(attrs.get("ome"), dict):
            other = {k: v for k, v in attrs.items() if k != "ome"}
        else:
            other = {k: v for k, v in attrs.items() if k not in _OME_TOP_KEYS}
        nodes.append(_Node(rel, md, other))
    return nodes


def _version_of(nodes: list[_Node], root: zc.Group) -> str:
    versions = {"0.6" if is_v06(n.md.version) else n.md.version for n in nodes}
    if not versions:
        raise MetadataError(f"{_where(root)}: no OME-Zarr metadata to upgrade")
    if len(versions) > 1:
        raise MetadataError(f"{_where(root)}: the hierarchy mixes OME-Zarr versions {sorted(versions)}; "
                            "the specification requires one version throughout")
    (version,) = versions
    if version not in _ORDER:
        raise MetadataError(f"{_where(root)}: OME-Zarr {version} cannot be upgraded here; zarrconv upgrades 0.4 "
                            "and 0.5 (rewrite older images with write_image)")
    return version


def _check_expressible(nodes: list[_Node], root: zc.Group, target: str) -> None:
    if target != "0.6":
        return
    for n in nodes:
        for ms in n.md.multiscales or []:
            for t in [*ms.transforms, *(tr for ds in ms.datasets for tr in ds.transforms)]:
                if t.values is None and t.type != "identity":
                    raise MetadataError(f"{_where(root, n.path)}: a {t.type} transformation stored as binary data "
                                        f"at {t.path!r} cannot be expressed in OME-Zarr 0.6 datasets")


def upgrade(store: Any, to: str = "0.6", *, path: str | None = None,
            storage_options: dict | None = None) -> list[str]:
    """Upgrade the OME-Zarr hierarchy at ``store``/``path`` to version ``to`` ("0.5" or
    "0.6") in place, touching no chunk. Returns the paths of the OME groups rewritten
    (relative to ``path``; empty when the hierarchy is already at ``to``)."""
    if to not in UPGRADE_TARGETS:
        raise MetadataError(f"cannot upgrade to OME-Zarr {to!r}; choose one of {UPGRADE_TARGETS}")
    root = zc.open_group(store, path=path, mode="r+", storage_options=storage_options)
    nodes = _collect(root)
    version = _version_of(nodes, root)
    if _ORDER[version] > _ORDER[to]:
        raise MetadataError(f"{_where(root)} is OME-Zarr {version}; zarrconv does not downgrade to {to}")
    if version == to:
        return []
    _check_expressible(nodes, root, to)
    planned = {n.path: {**n.other_attrs, **n.md.to_attrs(to)} for n in nodes}  # fails before any write
    if version == "0.4":
        migrate_v2_to_v3(root.store, root.path or None)
        root = zc.open_group(root.store, path=root.path or None, mode="r+")
    for n in nodes:
        group = root[n.path] if n.path else root
        assert isinstance(group, zc.Group)
        group.attrs.put(planned[n.path])
        _name_level_dimensions(group, n.md, root)
    return [n.path for n in nodes]


def _name_level_dimensions(group: zc.Group, md: OmeMetadata, root: zc.Group) -> None:
    """Give every level array the ``dimension_names`` of its multiscale's axes (0.5+ requires them)."""
    for ms in md.multiscales or []:
        names = tuple(ms.axis_names)
        for ds in ms.datasets:
            arr = group.get(ds.path)
            if not isinstance(arr, zc.Array):
                raise MetadataError(f"{_where(group)}: dataset {ds.path!r} is not an array")
            if arr.metadata.dimension_names == names:
                continue
            if len(names) != arr.ndim:
                raise MetadataError(f"{_where(group)}/{ds.path}: {arr.ndim} dimensions but {len(names)} axes")
            write_node(arr.store, arr.path, replace(arr.metadata, dimension_names=names))
