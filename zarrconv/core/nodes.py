"""Reading and writing node metadata documents through a store, with consolidated metadata."""

from __future__ import annotations

from typing import Any

from ..errors import MetadataError, NodeNotFoundError
from ..format.metadata import (
    ZARR_JSON,
    ZARRAY,
    ZATTRS,
    ZGROUP,
    ZMETADATA,
    ArrayMetadata,
    GroupMetadata,
    dumps_json,
    loads_json,
    parse_node,
)
from ..store.base import Store

_V2_DOCS = (ZARRAY, ZGROUP, ZATTRS)


def join(*parts: str | None) -> str:
    """Join node path parts with '/', dropping empties."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def doc_key(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def fetch_docs(store: Store, paths: list[str], zarr_format: int | None = None) -> list[dict[str, Any]]:
    """Fetch and JSON-parse the metadata documents of several nodes in one batched request."""
    names = (ZARR_JSON,) if zarr_format == 3 else _V2_DOCS if zarr_format == 2 else (ZARR_JSON, *_V2_DOCS)
    requests = [(doc_key(p, n), None) for p in paths for n in names]
    blobs = store.get_many(requests)
    out = []
    for i, p in enumerate(paths):
        docs: dict[str, Any] = {}
        for j, n in enumerate(names):
            raw = blobs[i * len(names) + j]
            if raw is not None:
                docs[n] = loads_json(raw, store.describe(doc_key(p, n)))
        out.append(docs)
    return out


def parse_docs(store: Store, path: str, docs: dict[str, Any]) -> ArrayMetadata | GroupMetadata:
    """Parse one node's documents; raises :class:`NodeNotFoundError` when there are none."""
    try:
        return parse_node(docs, store.describe(path) if path else store.url)
    except KeyError:
        raise NodeNotFoundError(f"no Zarr array or group at {path or '/'!r} in {store.url}") from None


def read_node(store: Store, path: str, zarr_format: int | None = None) -> ArrayMetadata | GroupMetadata:
    """Read one node's metadata (one batched request)."""
    return parse_docs(store, path, fetch_docs(store, [path], zarr_format)[0])


def write_node(store: Store, path: str, meta: ArrayMetadata | GroupMetadata) -> None:
    """Write a node's metadata documents (each atomically)."""
    store.check_writable(path)
    docs = meta.documents()
    store.set_many({doc_key(path, n): dumps_json(d) for n, d in docs.items()})
    if meta.zarr_format == 2 and ZATTRS not in docs:
        store.delete(doc_key(path, ZATTRS))


def read_consolidated(store: Store, path: str, meta: GroupMetadata) -> dict[str, dict[str, Any]] | None:
    """The consolidated documents below a group, by relative path; None when absent.

    v3: the ``consolidated_metadata`` of the group's ``zarr.json``; v2: ``.zmetadata``.
    """
    if meta.zarr_format == 3:
        if meta.consolidated is None:
            return None
        return {p: {ZARR_JSON: d} for p, d in meta.consolidated.items()}
    raw = store.get(doc_key(path, ZMETADATA))
    if raw is None:
        return None
    doc = loads_json(raw, store.describe(doc_key(path, ZMETADATA)))
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        raise MetadataError(f"{store.describe(doc_key(path, ZMETADATA))}: no 'metadata' object")
    out: dict[str, dict[str, Any]] = {}
    for key, value in doc["metadata"].items():
        node, _, name = key.rpartition("/")
        if name in _V2_DOCS and node:  # the group's own documents ("" node) are not a member
            out.setdefault(node, {})[name] = value
    return out
