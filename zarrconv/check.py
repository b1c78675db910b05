"""Integrity checks of a whole hierarchy: the metadata of every node, every stored chunk.

``zarrconv.check(store)`` is the library form of ``zarrconv validate --data``: it parses every
node and decodes every stored chunk. It never stops at the first problem: every node and every
chunk is visited and each failure is reported with the store key and what went wrong. With a
``crc32c`` codec in the chain (zarrconv's default shard index has one; add ``compressors=[...,
"crc32c"]`` for chunks), every corrupted chunk is found; without a checksum, corruption that
still decompresses to the right number of bytes cannot be told from data.

:func:`check_metadata` is what ``zarrconv validate`` checks without ``--data``: every node's own
documents, its codecs, consolidated metadata against the nodes, and what xarray's zarr engine
cannot read. :func:`broken_consolidated_members` is the check ``info`` and ``tree`` make of a
group opened from consolidated metadata. All of them visit the hierarchy with one walker,
:func:`walk`, and report :class:`Problem` s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .codecs import build_pipeline
from .core.array import Array
from .core.group import Group
from .core.io import run_batches
from .core.nodes import consolidated_entry, fetch_docs, join, parse_docs, read_consolidated
from .errors import NodeNotFoundError, ZarrconvError
from .format.metadata import ArrayMetadata, GroupMetadata
from .format.xarray_attrs import xarray_problems
from .store import StoreLike, make_store
from .store.base import Store

#: the metadata documents a node can have, in the order a failure message is searched for one
_DOCUMENTS = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")


@dataclass(frozen=True)
class Problem:
    """One thing found wrong.

    Attributes:
        node: the node path (``"/"`` for the root).
        check: which check found it: ``"spec"`` (metadata that does not parse), ``"codecs"``,
            ``"consolidated"``, ``"xarray"``, ``"data"`` (a stored chunk that does not decode), or a
            convention (``"ome"``, ``"geo"``).
        message: the full explanation.
        key: the store key that failed (a chunk, shard or metadata document); empty when the problem
            is not one object's.
        error: the exception class name (``"ChecksumError"``, ``"CorruptChunkError"``, ...); empty
            when no exception was raised.
    """

    node: str
    check: str
    message: str
    key: str = ""
    error: str = ""

    def __str__(self) -> str:
        return f"{self.node}: [{self.check}] {self.message}"


@dataclass
class CheckReport:
    """What :func:`check` found. Iterating yields the :class:`Problem` s; ``ok`` is true when there are none."""

    url: str
    problems: list[Problem] = field(default_factory=list)
    arrays_checked: int = 0
    chunks_checked: int = 0
    progress: Callable[[int], None] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def corrupted_keys(self) -> list[str]:
        """The keys of every stored object that failed, sorted."""
        return sorted({p.key for p in self.problems})

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def __str__(self) -> str:
        head = (f"{self.url}: {self.arrays_checked} arrays, {self.chunks_checked} stored chunks checked, "
                f"{len(self.problems)} problem(s)")
        return "\n".join([head, *(f"  {p.key}: [{p.error}] {p.message}" for p in self.problems)])


@dataclass
class MetadataReport:
    """What :func:`check_metadata` found: every node's parsed metadata by path, and the problems."""

    url: str
    nodes: dict[str, ArrayMetadata | GroupMetadata] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def arrays(self) -> dict[str, ArrayMetadata]:
        """The arrays among :attr:`nodes`."""
        return {p: m for p, m in self.nodes.items() if isinstance(m, ArrayMetadata)}

    @property
    def ok(self) -> bool:
        return not self.problems


def walk(store: Store, path: str, problems: list[Problem]) -> Iterator[tuple[str, ArrayMetadata | GroupMetadata]]:
    """Every node below ``path`` (itself included), depth first in name order, with its parsed metadata.

    Reads each node's own documents (never consolidated metadata), so that a broken node is
    reported and its siblings are still visited: a node whose documents do not parse becomes a
    ``"spec"`` problem in ``problems`` and is not descended into. Nothing is yielded when there is
    no node at ``path``.
    """
    def parse_one(p: str) -> ArrayMetadata | GroupMetadata | None:
        try:
            docs = fetch_docs(store, [p], None)[0]
            return parse_docs(store, p, docs) if docs else None
        except ZarrconvError as e:
            doc = next((d for d in _DOCUMENTS if d in str(e)), "")
            problems.append(Problem("/" + p, "spec", str(e), key=join(p, doc) or "/", error=type(e).__name__))
            return None

    root = parse_one(path)
    pending = [] if root is None else [(path, root)]
    while pending:
        p, meta = pending.pop()
        yield p, meta
        if isinstance(meta, GroupMetadata):
            _, dirs = store.list_dir(f"{p}/" if p else "")
            for d in sorted(dirs, reverse=True):
                child = parse_one(join(p, d))
                if child is not None:
                    pending.append((join(p, d), child))


def check(store: StoreLike, path: str | None = None, *, storage_options: dict | None = None,
          progress: Callable[[int], None] | None = None) -> CheckReport:
    """Check every node below ``path`` (default the root) and decode every stored chunk.

    Metadata that does not parse and chunks (or shards, or inner chunks of shards) that
    do not decode (bad checksum, truncated, wrong size, bad compression) are reported,
    not raised. The store is opened read-only; nothing is written. ``progress``, when
    given, is called with the number of stored objects checked after each batch (from
    worker threads; the CLI passes a tqdm bar's ``update``).

    Returns:
        A :class:`CheckReport`; ``report.ok`` is true when nothing is wrong.
    """
    st = make_store(store, mode="r", storage_options=storage_options)
    report = CheckReport(st.url, progress=progress)
    path = (path or "").strip("/")
    found = False
    for p, meta in walk(st, path, report.problems):
        found = True
        if isinstance(meta, ArrayMetadata):
            _check_array(Array(st, p, meta), report)
    if not found and not report.problems and not path:
        report.problems.append(Problem("/", "spec", f"no Zarr array or group at the root of {st.url}",
                                       key="zarr.json", error="NodeNotFoundError"))
    report.problems.sort(key=lambda p: p.key)
    return report


def _check_array(arr: Array, report: CheckReport) -> None:
    report.arrays_checked += 1
    try:
        keys = list(arr.stored_chunk_keys().items())
        cio = arr.chunk_io  # builds the chain now: bad codecs are a node problem
    except ZarrconvError as e:
        report.problems.append(Problem(arr.name, "codecs", str(e), key=arr.path or "/", error=type(e).__name__))
        return

    def decode_one(key: str, coords: tuple[int, ...], blob: Any) -> None:
        if cio.sharding is not None:
            parts = cio.sharding.codec.split(blob, cio.sharding.chunks_per_shard)
            inner = cio.sharding.pipeline
            for local, part in parts.items():
                try:
                    inner.decode(part)
                except ZarrconvError as e:
                    raise type(e)(f"inner chunk {local}: {e}") from e
            return
        cio.pipeline_for(coords).decode(blob)

    def work(batch: list) -> list[Problem]:
        found = []
        blobs = arr.store.get_many([(k, None) for k, _ in batch])
        for (key, coords), blob in zip(batch, blobs):
            if blob is None:  # deleted while checking
                continue
            try:
                decode_one(key, coords, blob)
            except ZarrconvError as e:  # the codecs raise these for bytes that do not decode; a bug surfaces
                found.append(Problem(arr.name, "data", f"{arr.store.describe(key)}: {e}", key=key,
                                     error=type(e).__name__))
        if report.progress is not None:
            report.progress(len(batch))
        return found

    for found in run_batches(work, keys):
        report.problems.extend(found)
    report.chunks_checked += len(keys)


def check_metadata(store: StoreLike, path: str | None = None, *,
                   storage_options: dict | None = None) -> MetadataReport:
    """Check the metadata of every node below ``path`` (default the root); no chunk is read.

    Each node's own documents must parse (``"spec"``) and its codecs build (``"codecs"``); a
    group's consolidated metadata must list exactly the nodes below it, with their current
    documents (``"consolidated"``); the attributes of each group's arrays must be readable by
    xarray's zarr engine (``"xarray"``).

    Raises:
        NodeNotFoundError: there is no node at ``path`` (and nothing that failed to parse there).
    """
    st = make_store(store, mode="r", storage_options=storage_options)
    path = (path or "").strip("/")
    report = MetadataReport(st.url)
    report.nodes = dict(walk(st, path, report.problems))
    if not report.nodes and not report.problems:
        raise NodeNotFoundError(f"no Zarr array or group at {path or '/'!r} in {st.url}")
    for p, meta in report.nodes.items():
        if isinstance(meta, ArrayMetadata):
            _check_codecs(p, meta, report.problems)
        else:
            _check_consolidated(st, p, meta, report.nodes, report.problems)
    _check_xarray(report.arrays, report.problems)
    return report


def _check_codecs(path: str, meta: ArrayMetadata, problems: list[Problem]) -> None:
    if not meta.chunk_grid.is_regular:
        return
    try:
        build_pipeline(meta)
    except ZarrconvError as e:
        problems.append(Problem("/" + path, "codecs", str(e), error=type(e).__name__))


def _check_consolidated(store: Store, path: str, meta: GroupMetadata,
                        nodes: dict[str, ArrayMetadata | GroupMetadata], problems: list[Problem]) -> None:
    """Consolidated metadata must list exactly the nodes below the group, with their current documents."""
    where = "/" + path
    try:
        cons = read_consolidated(store, path, meta)
    except ZarrconvError as e:
        problems.append(Problem(where, "consolidated", str(e), error=type(e).__name__))
        return
    if cons is None:
        return
    prefix = f"{path}/" if path else ""
    below = {p[len(prefix):]: m for p, m in nodes.items() if p.startswith(prefix) and p != path}
    for rel in sorted(set(below) - set(cons)):
        problems.append(Problem(where, "consolidated",
                                f"node {rel!r} exists but is missing from the consolidated metadata "
                                "(re-run zarrconv.consolidate_metadata)"))
    broken = {p.node.lstrip("/") for p in problems if p.check == "spec"}
    for rel in sorted(set(cons) - set(below)):
        full = join(path, rel)
        bad = next((b for b in sorted(broken) if full == b or full.startswith(f"{b}/")), None)
        if bad is None:
            what = "which does not exist in the store"
        elif bad == full:
            what = "whose own metadata is broken (see its [spec] problem); readers of the consolidated copy miss that"
        else:
            what = f"below /{bad}, whose own metadata is broken (see its [spec] problem)"
        problems.append(Problem(where, "consolidated", f"consolidated metadata lists {rel!r}, {what}"))
    for rel in sorted(set(cons) & set(below)):
        try:
            listed = consolidated_entry(parse_docs(store, join(path, rel), cons[rel]))
        except ZarrconvError as e:
            problems.append(Problem(where, "consolidated", f"entry {rel!r}: {e}", error=type(e).__name__))
            continue
        if _comparable(listed) != _comparable(consolidated_entry(below[rel])):
            problems.append(Problem(where, "consolidated",
                                    f"consolidated metadata of {rel!r} differs from its own metadata document "
                                    "(stale; re-run zarrconv.consolidate_metadata)"))


def _comparable(docs: dict[str, Any]) -> str:
    cleaned = {}
    for name, doc in docs.items():
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k != "consolidated_metadata"}
            if name == ".zattrs" and not doc:
                continue
        cleaned[name] = doc
    return json.dumps(cleaned, sort_keys=True, default=str)


def _check_xarray(arrays: dict[str, ArrayMetadata], problems: list[Problem]) -> None:
    """Attributes of xarray datasets that xarray's zarr engine cannot read (one group at a time)."""
    by_group: dict[str, dict[str, ArrayMetadata]] = {}
    for path, meta in arrays.items():
        parent, _, name = path.rpartition("/")
        by_group.setdefault(parent, {})[name] = meta
    for parent, group_arrays in sorted(by_group.items()):
        for name, message in xarray_problems(group_arrays):
            problems.append(Problem("/" + "/".join(p for p in (parent, name) if p), "xarray", message))


def broken_consolidated_members(group: Group) -> list[str]:
    """``"/path: what"`` for each member of a group opened from consolidated metadata whose own
    metadata documents do not parse (nothing for a group opened without consolidated metadata).

    ``zarrconv info`` and ``tree`` describe a group from its consolidated metadata (one read); a
    member whose own document is broken looks healthy there while every reader that opens it fails.
    """
    if not group.is_consolidated:
        return []
    paths = [join(group.path, rel) for rel, _ in group.members(max_depth=None)]
    found = []
    try:
        docs: list[Any] = fetch_docs(group.store, paths, group.zarr_format)
    except ZarrconvError:  # some document is not JSON: find which, one node at a time
        docs = []
        for path in paths:
            try:
                docs.append(fetch_docs(group.store, [path], group.zarr_format)[0])
            except ZarrconvError as e:
                found.append(f"/{path}: {e}")
                docs.append(None)
    for path, doc in zip(paths, docs):
        try:
            if doc is not None:
                parse_docs(group.store, path, doc)
        except ZarrconvError as e:
            found.append(f"/{path}: {e}")
    return [f"{f}; only the consolidated metadata describes it as healthy (zarrconv validate checks both)"
            for f in sorted(found)]


__all__ = ["CheckReport", "MetadataReport", "Problem", "broken_consolidated_members", "check", "check_metadata",
           "walk"]
