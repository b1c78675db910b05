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


def fetch_docs(store: Store, paths: list[str], zarr_format: int | None = None, *,
               consolidated: bool = False) -> list[dict[str, Any]]:
    """Fetch and JSON-parse the metadata documents of several nodes in one batched request.

    ``consolidated=True`` also fetches v2 ``.zmetadata`` in the same request, so that a
    hierarchy with consolidated metadata of either format opens with one read.
    """
    names = (ZARR_JSON,) if zarr_format == 3 else _V2_DOCS if zarr_format == 2 else (ZARR_JSON, *_V2_DOCS)
    if consolidated and zarr_format != 3:
        names = (*names, ZMETADATA)
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
    """Write a node's metadata documents (each atomically), keeping consolidated metadata current.

    The rule: every metadata write made through zarrconv updates the consolidated metadata
    of each ancestor group that has some (see :func:`update_consolidated`). A v3 group
    document written with consolidated metadata keeps the consolidated metadata that is in
    the store (it is the authoritative, up-to-date copy).
    """
    store.check_writable(path)
    if isinstance(meta, GroupMetadata) and meta.zarr_format == 3 and meta.consolidated is not None:
        raw = store.get(doc_key(path, ZARR_JSON))
        stored = loads_json(raw, store.describe(doc_key(path, ZARR_JSON))) if raw is not None else None
        cm = stored.get("consolidated_metadata") if isinstance(stored, dict) else None
        if isinstance(cm, dict) and isinstance(cm.get("metadata"), dict):
            meta.consolidated = cm["metadata"]
    write_docs(store, path, meta)
    update_consolidated(store, path, meta)


def write_docs(store: Store, path: str, meta: ArrayMetadata | GroupMetadata) -> None:
    """Write a node's documents exactly as given (no consolidated bookkeeping)."""
    docs = meta.documents()
    store.set_many({doc_key(path, n): dumps_json(d) for n, d in docs.items()})
    if meta.zarr_format == 2 and ZATTRS not in docs:
        store.delete(doc_key(path, ZATTRS))


def consolidated_entry(meta: ArrayMetadata | GroupMetadata) -> dict[str, Any]:
    """One node's documents as they appear in a consolidated mapping (by document name)."""
    docs = dict(meta.documents())
    if meta.zarr_format == 3:
        doc = dict(docs[ZARR_JSON])
        doc.pop("consolidated_metadata", None)
        return {ZARR_JSON: doc}
    if ZATTRS not in docs:
        docs[ZATTRS] = {}
    return docs


def node_exists(store: Store, path: str) -> bool:
    """Whether an array or group of either format exists at ``path``."""
    return bool(fetch_docs(store, [path], None)[0])


def clear_node(store: Store, path: str) -> None:
    """Delete a node's documents and everything below it (and its entry in its ancestors' consolidated metadata)."""
    store.check_writable(path)
    for name in (ZARR_JSON, ZARRAY, ZGROUP, ZATTRS, ZMETADATA):
        store.delete(doc_key(path, name))
    store.delete_prefix(f"{path}/" if path else "")
    update_consolidated(store, path, None)


def create_parents(store: Store, path: str, zarr_format: int, below: str | None = None) -> list[tuple[str, GroupMetadata]]:
    """Write an empty group at each ancestor of ``path`` that holds no node: every ancestor, the root included,
    or with ``below``, only those under the group at ``below``. Returns the groups written, outermost first."""
    parts = path.split("/")[:-1]
    start = 0 if below is None else (below.count("/") + 2 if below else 1)
    written = []
    for i in range(start, len(parts) + 1):
        p = "/".join(parts[:i])
        if not node_exists(store, p):
            meta = GroupMetadata(zarr_format)
            write_node(store, p, meta)
            written.append((p, meta))
    return written


def _ancestors(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[:i]) for i in range(len(parts))]


def update_consolidated(store: Store, path: str, meta: ArrayMetadata | GroupMetadata | None) -> None:
    """Bring the consolidated metadata of ``path``'s ancestors in step with a write at ``path``.

    ``meta=None`` records that the node (and everything below it) was deleted. Costs one
    batched read of the ancestors' documents, and one write per ancestor that has
    consolidated metadata. Writers other than zarrconv do not do this: after writing
    with them, run :func:`zarrconv.consolidate_metadata` again.
    """
    ancestors = _ancestors(path)
    own_v2 = isinstance(meta, GroupMetadata) and meta.zarr_format == 2  # its .zmetadata holds its .zattrs
    if not ancestors and not own_v2:
        return
    requests = [(doc_key(a, n), None) for a in ancestors for n in (ZARR_JSON, ZMETADATA)]
    if own_v2:
        requests.append((doc_key(path, ZMETADATA), None))
    blobs = store.get_many(requests)
    if own_v2 and blobs[-1] is not None:
        key = doc_key(path, ZMETADATA)
        with store.lock(key):
            doc = loads_json(store.get(key) or blobs[-1], store.describe(key))
            if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
                doc["metadata"][ZATTRS] = meta.attributes  # type: ignore[union-attr]
                store.set(key, dumps_json(doc))
    for i, anc in enumerate(ancestors):
        rel = path[len(anc):].lstrip("/") if anc else path
        v3_raw, v2_raw = blobs[2 * i], blobs[2 * i + 1]
        if v3_raw is not None and (meta is None or meta.zarr_format == 3):
            key = doc_key(anc, ZARR_JSON)
            with store.lock(key):
                doc = loads_json(store.get(key) or v3_raw, store.describe(key))
                cm = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
                if not (isinstance(cm, dict) and isinstance(cm.get("metadata"), dict)):
                    continue
                entries = {k: v for k, v in cm["metadata"].items() if k != rel and not k.startswith(rel + "/")} \
                    if meta is None else dict(cm["metadata"])
                if meta is not None:
                    entries[rel] = consolidated_entry(meta)[ZARR_JSON]
                cm["metadata"] = dict(sorted(entries.items()))
                store.set(key, dumps_json(doc))
        if v2_raw is not None and (meta is None or meta.zarr_format == 2):
            key = doc_key(anc, ZMETADATA)
            with store.lock(key):
                doc = loads_json(store.get(key) or v2_raw, store.describe(key))
                if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
                    continue
                flat = {k: v for k, v in doc["metadata"].items()
                        if k.rpartition("/")[0] != rel and not (meta is None and k.startswith(rel + "/"))}
                if meta is not None:
                    flat.update({f"{rel}/{n}": d for n, d in consolidated_entry(meta).items()})
                doc["metadata"] = flat
                store.set(key, dumps_json(doc))


def read_consolidated(store: Store, path: str, meta: GroupMetadata,
                      docs: dict[str, Any] | None = None) -> dict[str, dict[str, Any]] | None:
    """The consolidated documents below a group, by relative path; None when absent.

    v3: the ``consolidated_metadata`` of the group's ``zarr.json``; v2: ``.zmetadata``
    (taken from ``docs`` when given: the documents :func:`fetch_docs` fetched with
    ``consolidated=True``, so no further read is made).
    """
    if meta.zarr_format == 3:
        if meta.consolidated is None:
            return None
        return {p: {ZARR_JSON: d} for p, d in meta.consolidated.items()}
    if docs is not None:
        doc = docs.get(ZMETADATA)
        if doc is None:
            return None
    else:
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
