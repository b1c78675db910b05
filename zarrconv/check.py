"""Integrity check of a whole hierarchy: parse every node, decode every stored chunk.

``zarrconv.check(store)`` is the library form of ``zarrconv validate --data``. It never
stops at the first problem: every node and every chunk is visited and each failure is
reported with the store key and what went wrong. With a ``crc32c`` codec in the chain
(zarrconv's default shard index has one; add ``compressors=[..., "crc32c"]`` for chunks),
every corrupted chunk is found; without a checksum, corruption that still decompresses
to the right number of bytes cannot be told from data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .core.array import Array
from .core.io import run_batches
from .core.nodes import fetch_docs, join, parse_docs
from .errors import ZarrconvError
from .format.metadata import ArrayMetadata, GroupMetadata
from .store import StoreLike, make_store
from .store.base import Store


@dataclass(frozen=True)
class Problem:
    """One thing found wrong.

    Attributes:
        node: the node path (``"/"`` for the root).
        key: the store key that failed (a chunk, shard or metadata document).
        error: the exception class name (``"ChecksumError"``, ``"CorruptChunkError"``, ...).
        message: the full explanation.
    """

    node: str
    key: str
    error: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: [{self.error}] {self.message}"


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
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


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
    _walk(st, (path or "").strip("/"), report)
    report.problems.sort(key=lambda p: p.key)
    return report


def _walk(store: Store, path: str, report: CheckReport) -> None:
    where = "/" + path
    try:
        docs = fetch_docs(store, [path], None)[0]
        if not docs:
            if not path:
                report.problems.append(Problem(where, path or "zarr.json", "NodeNotFoundError",
                                               f"no Zarr array or group at the root of {store.url}"))
            return
        meta = parse_docs(store, path, docs)
    except ZarrconvError as e:
        doc = next((d for d in ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata") if d in str(e)), "")
        report.problems.append(Problem(where, join(path, doc) or "/", type(e).__name__, str(e)))
        return
    if isinstance(meta, ArrayMetadata):
        _check_array(Array(store, path, meta), report)
        return
    assert isinstance(meta, GroupMetadata)
    _, children = store.list_dir(f"{path}/" if path else "")
    for name in children:
        _walk(store, join(path, name), report)


def _check_array(arr: Array, report: CheckReport) -> None:
    report.arrays_checked += 1
    try:
        keys = list(arr.stored_chunk_keys().items())
        regular = arr.metadata.chunk_grid.is_regular
        if arr._sharding is None:
            arr._pipeline if regular else None  # noqa: B018 - build the chain now: bad codecs are a node problem
    except ZarrconvError as e:
        report.problems.append(Problem(arr.name, arr.path or "/", type(e).__name__, str(e)))
        return

    def decode_one(key: str, coords: tuple[int, ...], blob: Any) -> None:
        if arr._sharding is not None:
            codec = arr._sharding
            parts = codec.split(blob, arr._chunks_per_shard)
            inner = arr._inner_pipeline
            for local, part in parts.items():
                try:
                    inner.decode(part)
                except ZarrconvError as e:
                    raise type(e)(f"inner chunk {local}: {e}") from e
            return
        pipe = arr._pipeline_for(coords)
        pipe.decode(blob)

    def work(batch: list) -> list[Problem]:
        found = []
        blobs = arr.store.get_many([(k, None) for k, _ in batch])
        for (key, coords), blob in zip(batch, blobs):
            if blob is None:  # deleted while checking
                continue
            try:
                decode_one(key, coords, blob)
            except ZarrconvError as e:
                found.append(Problem(arr.name, key, type(e).__name__, f"{arr.store.describe(key)}: {e}"))
            except Exception as e:  # noqa: BLE001 - a checker reports, it does not crash
                found.append(Problem(arr.name, key, "CorruptChunkError",
                                     f"{arr.store.describe(key)}: cannot decode ({type(e).__name__}: {e})"))
        if report.progress is not None:
            report.progress(len(batch))
        return found

    for found in run_batches(work, keys):
        report.problems.extend(found)
    report.chunks_checked += len(keys)


__all__ = ["CheckReport", "Problem", "check"]
