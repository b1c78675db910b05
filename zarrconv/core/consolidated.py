"""Consolidated metadata: every node's documents gathered at the root for one-read opening.

v3 uses zarr-python 3's ``consolidated_metadata`` object inside the root ``zarr.json``;
v2 uses ``.zmetadata``. Both are written by :func:`consolidate_metadata`.
"""

from __future__ import annotations

from typing import Any

from ..format.metadata import (
    ZARR_JSON,
    ZATTRS,
    ZMETADATA,
    ArrayMetadata,
    GroupMetadata,
    dumps_json,
)
from ..store.base import Store
from .nodes import doc_key, read_node, write_node


def consolidated_docs(meta: ArrayMetadata | GroupMetadata) -> dict[str, Any]:
    """One node's documents as they appear in a consolidated mapping (by document name)."""
    docs = dict(meta.documents())
    if meta.zarr_format == 3:
        doc = dict(docs[ZARR_JSON])
        doc.pop("consolidated_metadata", None)
        return {ZARR_JSON: doc}
    if ZATTRS not in docs:
        docs[ZATTRS] = {}
    return docs


def consolidate_metadata(store: Any, path: str = "", *, storage_options: dict | None = None) -> Any:
    """Gather the metadata of every node below ``path`` into its group; returns the group.

    After this, opening the group reads one document for the whole hierarchy.
    """
    from ..store import make_store
    from .group import Group

    st: Store = make_store(store, mode="r+", storage_options=storage_options)
    meta = read_node(st, path)
    if not isinstance(meta, GroupMetadata):
        raise TypeError(f"{path or '/'!r} in {st.url} is an array; consolidate a group")
    group = Group(st, path, meta)
    nodes = group.members(max_depth=None)
    entries = {rel: consolidated_docs(node.metadata) for rel, node in nodes.items()}
    write_consolidated(st, path, meta, entries)
    return Group(st, path, read_node(st, path), entries)


def write_consolidated(store: Store, path: str, meta: GroupMetadata, entries: dict[str, dict[str, Any]]) -> None:
    """Write consolidated metadata for a group from node documents by relative path."""
    if meta.zarr_format == 3:
        flat = {rel: docs[ZARR_JSON] for rel, docs in sorted(entries.items())}
        meta.consolidated = flat
        write_node(store, path, meta)
        return
    flat2: dict[str, Any] = {".zgroup": {"zarr_format": 2}}
    if meta.attributes:
        flat2[".zattrs"] = meta.attributes
    for rel, docs in sorted(entries.items()):
        for name, doc in docs.items():
            flat2[f"{rel}/{name}"] = doc
    store.set(doc_key(path, ZMETADATA), dumps_json({"zarr_consolidated_format": 1, "metadata": flat2}))
