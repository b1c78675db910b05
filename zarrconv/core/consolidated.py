"""Consolidated metadata: every node's documents gathered in a group for one-read opening.

v3 uses zarr-python 3's ``consolidated_metadata`` object inside the group's ``zarr.json``
(``{"kind": "inline", "must_understand": false, "metadata": {relative path: zarr.json}}``);
v2 uses ``.zmetadata`` (``{"zarr_consolidated_format": 1, "metadata": {"a/.zarray": ...}}``).

Opening a group reads its consolidated metadata by default, so listing and opening every
node below it costs no further read.

The staleness rule: every metadata write made *through zarrconv* (creating, deleting or
resizing a node, changing attributes) below a group with consolidated metadata updates
that consolidated metadata in the same operation, so it never hides a node zarrconv wrote.
Other writers (zarr-python, tensorstore, hand edits) do not: after writing with them, run
:func:`consolidate_metadata` again, or open with ``consolidated=False``. Looking up a node
by name that the consolidated metadata lacks falls back to the store, so such a node is
still found by ``group["name"]``; only listings rely on the consolidated metadata alone.
"""

from __future__ import annotations

from typing import Any

from ..errors import ContainsNodeError
from ..format.metadata import ZARR_JSON, ZMETADATA, GroupMetadata, dumps_json
from ..store import make_store
from ..store.base import Store
from .group import Group
from .nodes import consolidated_entry, doc_key, read_node, write_docs


def consolidate_metadata(store: Any, path: str | None = None, zarr_format: int | None = None, *,
                         storage_options: dict | None = None) -> Any:
    """Gather the metadata of every node below the group at ``path`` into it; returns the group.

    ``zarr_format`` (as zarr-python's) only checks the group's format when given.
    Reads the hierarchy from the store itself (never from older consolidated metadata).
    After this, opening the group reads one document for the whole hierarchy.
    """
    st: Store = make_store(store, mode="r+", storage_options=storage_options)
    if not st.supports_consolidated:
        raise TypeError(f"{st.url} does not support consolidated metadata (it keeps its own index of the hierarchy)")
    path = path or ""
    meta = read_node(st, path)
    if not isinstance(meta, GroupMetadata):
        raise ContainsNodeError(f"{path or '/'!r} in {st.url} is an array; consolidate the group that holds it")
    if zarr_format is not None and meta.zarr_format != zarr_format:
        raise ContainsNodeError(f"the group {path or '/'!r} in {st.url} is Zarr v{meta.zarr_format}, not v{zarr_format}")
    group = Group(st, path, meta)
    nodes = dict(group.members(max_depth=None))
    entries = {rel: consolidated_entry(node.metadata) for rel, node in nodes.items()}
    write_consolidated(st, path, meta, entries)
    return Group(st, path, read_node(st, path), entries)


def write_consolidated(store: Store, path: str, meta: GroupMetadata, entries: dict[str, dict[str, Any]]) -> None:
    """Write a group's consolidated metadata from node documents by relative path."""
    if meta.zarr_format == 3:
        # v2 nodes inside a v3 hierarchy have no zarr.json: v3 consolidated metadata cannot hold them
        meta.consolidated = {rel: docs[ZARR_JSON] for rel, docs in sorted(entries.items()) if ZARR_JSON in docs}
        write_docs(store, path, meta)
        return
    flat: dict[str, Any] = {".zgroup": {"zarr_format": 2}, ".zattrs": meta.attributes}
    for rel, docs in sorted(entries.items()):
        for name, doc in docs.items():
            flat[f"{rel}/{name}"] = doc
    store.set(doc_key(path, ZMETADATA), dumps_json({"zarr_consolidated_format": 1, "metadata": flat}))


__all__ = ["consolidate_metadata", "write_consolidated"]
