"""Chunk I/O scheduling: fetch, decode and scatter for reads; merge, encode and store for writes.

Work is split into a few batches per worker thread (not one future per chunk: the
per-chunk budget is tens of microseconds). Local stores are read inside the workers, so
file reads and decompression overlap; high-latency stores get one batched request of all
keys first. Sharded arrays fetch shard indexes, then only the inner chunks needed, as
byte ranges in one batch.
"""

from __future__ import annotations

import math
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from operator import floordiv, mod
from typing import Any

import numpy as np

from .. import config
from ..codecs.base import DECODE_ERRORS
from ..errors import CorruptChunkError, ZarrconvError
from ..format.fill import full_chunk, is_fill
from ..store.base import Store, joined
from .indexing import ChunkTask, Plan, ortho_get, ortho_set

#: What decoding a chunk raises for bad bytes: re-raised naming the array, store and key (:func:`chunk_error`);
#: anything else is a bug and surfaces as itself
_CHUNK_ERRORS = (ZarrconvError, *DECODE_ERRORS)


@dataclass(frozen=True, slots=True)
class ShardIO:
    """How the shards of a sharded array split into inner chunks."""

    codec: Any  #: the ``sharding_indexed`` codec (index layout, split, assemble)
    chunks_per_shard: tuple[int, ...]
    inner_grid_shape: tuple[int, ...]  #: the number of inner chunks along each dimension of the array
    pipeline: Any  #: the codec pipeline of the inner chunks


@dataclass(frozen=True, slots=True)
class ChunkIO:
    """Everything chunk I/O needs to know about one array: the seam between :class:`~zarrconv.core.array.Array`
    and this module (and the checker, the conversion and the xarray backend), built once per array
    (``Array.chunk_io``) so that the hot loops look nothing up on the array.

    ``key`` and ``pipeline_for`` map chunk coordinates (shard coordinates for a sharded array) to the
    store key and the codec pipeline of that chunk.
    """

    store: Store
    where: str  #: "array '<path>' in <store url>": how errors name the array
    key: Callable[[tuple[int, ...]], str]
    pipeline_for: Callable[[tuple[int, ...]], Any]
    pipeline: Any  #: the one pipeline of a regular grid's chunks (shards); None for a rectilinear grid
    dtype: np.dtype
    fill_value: Any  #: the metadata's fill value: chunks equal to it are not stored
    fill: Any  #: what a missing chunk reads as (the fill value, or the type's empty value for v2 null)
    sharding: ShardIO | None
    write_empty_chunks: bool  #: store chunks equal to the fill value (else delete them)
    codecs: tuple[dict, ...]  #: the v3 codec chain of each chunk read and written (inner chunks when sharded)

_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] | None = None
_local = threading.local()
_pool_lock = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    """The shared pool, rebuilt after fork or when the thread setting changes."""
    global _pool, _pool_key
    key = (os.getpid(), workers)
    if _pool_key != key:
        with _pool_lock:
            if _pool_key != key:
                _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zarrconv")
                _pool_key = key
    return _pool  # type: ignore[return-value]


def _reset_after_fork() -> None:
    global _pool, _pool_key, _pool_lock
    _pool, _pool_key, _pool_lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _as_worker(fn: Callable[[list], Any], batch: list) -> Any:
    prev = getattr(_local, "worker", False)
    _local.worker = True
    try:
        return fn(batch)
    finally:
        _local.worker = prev


def run_batches(fn: Callable[[list], Any], items: Sequence, per_worker: int = 8) -> list:
    """Run ``fn`` on batches of ``items`` with ``threads`` threads in all: the caller and
    ``threads - 1`` pool threads take batches from one queue until it is empty.

    Results come in batch order. The caller counts as a thread: one more thread than cores
    time-slices long decompression and compression calls (measured ~5-10% slower on 2 cores).
    A failed batch does not stop the others (a write stores every chunk it can); the first error
    propagates once all batches are done.
    Nested calls from inside a worker run inline, so pool work never waits on the pool.
    """
    items = list(items)
    n = len(items)
    if n == 0:
        return []
    workers = int(config.get("threads"))
    if n == 1 or workers <= 1 or getattr(_local, "worker", False):
        return [_as_worker(fn, items)]
    nb = min(n, workers * per_worker)
    size = math.ceil(n / nb)
    batches = [items[i:i + size] for i in range(0, n, size)]
    results: list[Any] = [None] * len(batches)
    queue = iter(range(len(batches)))
    queue_lock = threading.Lock()
    errors: list[BaseException] = []

    def drain() -> None:
        while True:
            with queue_lock:
                i = next(queue, None)
            if i is None:
                return
            try:
                results[i] = _as_worker(fn, batches[i])
            except BaseException as e:  # noqa: BLE001 - re-raised below, after every batch ran
                errors.append(e)

    pool = _executor(workers)
    futures = [pool.submit(drain) for _ in range(min(workers, len(batches)) - 1)]
    try:
        drain()
    finally:
        wait(futures)  # no batch is still running when an error propagates
    for f in futures:
        f.result()
    if errors:
        raise errors[0]
    return results


def _per_worker(cio: ChunkIO) -> int:
    """Batches per worker thread: many for big chunks (no core idles at the end), few for small
    ones (each batch costs a pool hand-off; measured on 2 cores: 4 MiB chunks gain ~15% with
    32, 32 KiB chunks lose ~10% with more than 8)."""
    nbytes = cio.pipeline.spec.nbytes if cio.pipeline is not None else None
    return 32 if nbytes is not None and nbytes >= 2**20 else 8


#: on a high-latency store, about this many bytes of encoded chunks wait in one write batch at most
REMOTE_WRITE_BATCH_BYTES = 64 * 2**20


def _remote_write_per_worker(cio: ChunkIO, n_tasks: int, value_nbytes: int) -> int:
    """Batches per thread for a write to a high-latency store (``prefers_single_batch``). Each batch ends in
    one concurrent ``set_many``, so batches of one chunk leave one request in flight per thread (2 PUTs on
    2 cores, against zarr-python's 10: half its speed in ``benchmarks/bench_obstore.py``). Batches carry
    ``remote_concurrency / threads`` chunks instead, at most :data:`REMOTE_WRITE_BATCH_BYTES` of them."""
    threads = max(1, int(config.get("threads")))
    chunk_bytes = max(1, value_nbytes // max(1, n_tasks))
    per_batch = max(1, min(int(config.get("remote_concurrency")) // threads, REMOTE_WRITE_BATCH_BYTES // chunk_bytes))
    return max(1, min(_per_worker(cio), math.ceil(n_tasks / (threads * per_batch))))


def chunk_error(cio: ChunkIO, key: str, exc: BaseException) -> ZarrconvError:
    """Re-raise a chunk failure naming the array, store and key."""
    where = f"{cio.where}, chunk {key!r}"
    if isinstance(exc, ZarrconvError):
        err = type(exc)(f"{where}: {exc}")
    else:
        err = CorruptChunkError(f"{where}: cannot decode ({type(exc).__name__}: {exc})")
    err.__cause__ = exc
    return err


# -- reading ----------------------------------------------------------------------------------

def _place(cio: ChunkIO, pipe: Any, task: ChunkTask, key: str, blob: Any, out: np.ndarray, pointwise: bool) -> None:
    """Decode one chunk (or fill) into its place in ``out``."""
    osel = task.out_sel
    if blob is None:
        if pointwise:
            out[osel] = cio.fill
        else:
            ortho_set(out, osel, cio.fill)
        return
    try:
        if task.complete and osel and pipe.direct and all(type(s) is slice for s in osel):
            dest = out[osel]  # a view: the chunk decodes straight into its place
            if dest.shape == pipe.spec.shape:
                pipe.decode_into(blob, dest)
                return
        chunk = pipe.decode(blob)
    except _CHUNK_ERRORS as e:
        raise chunk_error(cio, key, e) from None
    if pointwise:
        out[osel] = chunk[task.chunk_sel]
    else:
        ortho_set(out, osel, ortho_get(chunk, task.chunk_sel))


def read(cio: ChunkIO, plan: Plan, out: np.ndarray, pointwise: bool = False) -> None:
    """Fill ``out`` with the selection described by ``plan``."""
    if cio.sharding is not None:
        _read_sharded(cio, plan, out, pointwise)
        return
    store = cio.store
    chunk_key, pipeline_for = cio.key, cio.pipeline_for
    if len(plan.tasks) == 1:  # one chunk: no batches, closures or pool hand-off
        t = plan.tasks[0]
        key = chunk_key(t.coords)
        _place(cio, pipeline_for(t.coords), t, key, store.get_many([(key, None)])[0], out, pointwise)
        return

    if store.prefers_single_batch:  # one request of all keys, then decode in parallel
        keys = [chunk_key(t.coords) for t in plan.tasks]
        blobs = store.get_many([(k, None) for k in keys])

        def decode(batch: list) -> None:
            for t, key, blob in batch:
                _place(cio, pipeline_for(t.coords), t, key, blob, out, pointwise)

        run_batches(decode, list(zip(plan.tasks, keys, blobs)))
        return

    get = store.get
    pipe = cio.pipeline
    if _decodes_many(pipe, pointwise):
        run_batches(lambda tasks: _fetch_decode_many(cio, pipe, tasks, out), plan.tasks, _many_per_worker(plan.tasks))
        return

    def fetch_decode(tasks: list) -> None:
        # one chunk at a time: a thread's file reads then overlap the other threads' decompression
        # (reading a whole batch first, then decoding it, measured ~20% slower on 2 cores)
        for t in tasks:
            key = chunk_key(t.coords)
            _place(cio, pipeline_for(t.coords), t, key, get(key), out, pointwise)

    run_batches(fetch_decode, plan.tasks, _per_worker(cio))


_MANY_MAX = 2**16  # chunks up to this size are decoded a batch at a time, in one native call
_MANY_BATCH = 64  # chunks per batch: a batch's file reads overlap the other threads' decoding


def _decodes_many(pipe: Any, pointwise: bool) -> bool:
    """Whether chunks of this pipeline are decoded a batch at a time (small, zstd or raw, native)."""
    return not pointwise and pipe is not None and pipe.direct and pipe.spec.nbytes <= _MANY_MAX


def _many_per_worker(items: list) -> int:
    """Batches per thread that make batches of about ``_MANY_BATCH`` chunks (at least 8 per thread)."""
    return max(8, len(items) // (int(config.get("threads")) * _MANY_BATCH))


def _fetch_decode_many(cio: ChunkIO, pipe: Any, tasks: list[ChunkTask], out: np.ndarray) -> None:
    """Read a batch of small chunks, then decode and place them (``_decode_many_into``)."""
    key, get = cio.key, cio.store.get
    keys = [key(t.coords) for t in tasks]
    _decode_many_into(cio, pipe, list(zip(tasks, keys, [get(k) for k in keys])), out)


def _decode_many_into(cio: ChunkIO, pipe: Any, triples: list[tuple[ChunkTask, str, Any]], out: np.ndarray) -> None:
    """Decode the ``(task, key, bytes or None)`` of a batch of small chunks in one native call,
    then copy each into place (missing ones: the fill value).

    The Python part of a chunk is then only its file read and one copy (a few us that hold the
    GIL); decompression, most of the CPU time, runs with the GIL released for the whole batch. A
    batch that cannot be decoded that way is decoded chunk by chunk (naming a bad one).
    """
    present = [i for i, tr in enumerate(triples) if tr[2] is not None]
    chunks = pipe.decode_many([triples[i][2] for i in present]) if present else []
    if chunks is None:
        for t, k, b in triples:
            _place(cio, pipe, t, k, b, out, False)
        return
    ndarray = np.ndarray
    if any(type(s) is ndarray for t, _, _ in triples for s in t.out_sel + t.chunk_sel):  # index arrays: outer indexing
        for i, chunk in zip(present, chunks):
            t = triples[i][0]
            ortho_set(out, t.out_sel, ortho_get(chunk, t.chunk_sel))
    else:  # ints and slices: numpy's own indexing is outer indexing
        for i, chunk in zip(present, chunks):
            t = triples[i][0]
            out[t.out_sel] = chunk[t.chunk_sel]
    if len(present) < len(triples):
        for t, _, b in triples:
            if b is None:
                ortho_set(out, t.out_sel, cio.fill)


def _group_by_shard(cio: ChunkIO, tasks: list[ChunkTask]) -> dict[tuple[int, ...], list[tuple[tuple[int, ...], ChunkTask]]]:
    cps = cio.sharding.chunks_per_shard
    groups: dict[tuple[int, ...], list] = defaultdict(list)
    for t in tasks:
        groups[tuple(map(floordiv, t.coords, cps))].append((tuple(map(mod, t.coords, cps)), t))
    return groups


def _inner_in_bounds(cio: ChunkIO, shard: tuple[int, ...]) -> int:
    cps = cio.sharding.chunks_per_shard
    grid = cio.sharding.inner_grid_shape
    n = 1
    for s, k, g in zip(shard, cps, grid):
        n *= max(0, min(k, g - s * k))
    return n


def _locate_inner(cio: ChunkIO, shards: list) -> tuple[list[tuple[ChunkTask, str, Any]], list[tuple[ChunkTask, str, tuple[int, int]]]]:
    """Where the inner chunks these shards' tasks need are: ``(ready, ranges)``.

    ``ready`` has tasks whose bytes are known already (None for an absent shard or inner chunk,
    or a slice of a shard read whole); ``ranges`` has the byte range of every other inner chunk.
    One batched request fetches the indexes. A shard is read whole instead only when every inner
    chunk is needed and requests are expensive (remote stores): on local disk the index plus one
    ``pread`` per inner chunk costs less CPU than one large read (measured: 15 % less for 32 MiB
    shards of 256 KiB inner chunks).
    """
    codec = cio.sharding.codec
    cps = cio.sharding.chunks_per_shard
    store = cio.store
    requests = []
    for shard, lst in shards:
        key = cio.key(shard)
        whole = store.prefers_single_batch and len(lst) == _inner_in_bounds(cio, shard)
        requests.append((key, None if whole else codec.index_range(cps)))
    ready: list[tuple[ChunkTask, str, Any]] = []
    ranges: list[tuple[ChunkTask, str, tuple[int, int]]] = []
    for (_shard, lst), (key, rng), blob in zip(shards, requests, store.get_many(requests)):
        if blob is None:
            ready.extend((t, key, None) for _, t in lst)
            continue
        try:
            if rng is None:
                parts = codec.split(blob, cps)
                ready.extend((t, key, parts.get(local)) for local, t in lst)
                continue
            index = codec.decode_index(blob, cps)
        except _CHUNK_ERRORS as e:
            raise chunk_error(cio, key, e) from None
        for local, t in lst:
            off, n = (int(v) for v in index[local])
            if off == 2**64 - 1 and n == 2**64 - 1:
                ready.append((t, key, None))
            else:
                ranges.append((t, key, (off, off + n)))
    return ready, ranges


def _check_range(cio: ChunkIO, key: str, rng: tuple[int, int], blob: Any) -> Any:
    if blob is None or len(blob) != rng[1] - rng[0]:
        raise chunk_error(cio, key, CorruptChunkError(f"shard index points outside the shard (bytes {rng[0]}-{rng[1]})"))
    return blob


def _read_sharded(cio: ChunkIO, plan: Plan, out: np.ndarray, pointwise: bool) -> None:
    pipe = cio.sharding.pipeline
    store = cio.store
    shards = list(_group_by_shard(cio, plan.tasks).items())

    many = _decodes_many(pipe, pointwise)

    def decode(triples: list) -> None:
        if many:
            _decode_many_into(cio, pipe, triples, out)
            return
        for t, key, blob in triples:
            _place(cio, pipe, t, key, blob, out, pointwise)

    if store.prefers_single_batch or len(shards) == 1:  # indexes, then every range in one request
        ready, ranges = _locate_inner(cio, shards)
        blobs = store.get_many([(key, rng) for _, key, rng in ranges]) if ranges else []
        ready.extend((t, key, _check_range(cio, key, rng, blob)) for (t, key, rng), blob in zip(ranges, blobs))
        run_batches(decode, ready, _many_per_worker(ready) if many else 8)
        return

    # local stores: the indexes first (shards in parallel), then batches of inner chunks, not
    # of whole shards, so that no core idles while another finishes a shard; like read(), each
    # inner chunk is read and then decoded at once
    work: list[tuple[ChunkTask, str, Any, tuple[int, int] | None]] = []
    for ready, ranges in run_batches(lambda batch: _locate_inner(cio, batch), shards):
        work.extend((t, key, blob, None) for t, key, blob in ready)
        work.extend((t, key, None, rng) for t, key, rng in ranges)

    def fetch_decode(batch: list) -> None:
        if many:  # small inner chunks: read the batch, then one native decode
            decode([(t, key, blob if rng is None else _check_range(cio, key, rng, store.get(key, rng)))
                    for t, key, blob, rng in batch])
            return
        for t, key, blob, rng in batch:
            if rng is not None:
                blob = _check_range(cio, key, rng, store.get(key, rng))
            _place(cio, pipe, t, key, blob, out, pointwise)

    run_batches(fetch_decode, work, per_worker=_many_per_worker(work) if many else 32)


# -- writing ----------------------------------------------------------------------------------

def _region(value: np.ndarray, task: ChunkTask, pointwise: bool) -> np.ndarray:
    return value[task.out_sel] if pointwise else ortho_get(value, task.out_sel)


def _merge(cio: ChunkIO, pipe: Any, key: str, existing: Any, task: ChunkTask, region: np.ndarray,
           shape: tuple[int, ...], pointwise: bool) -> np.ndarray:
    """The new content of a chunk: existing (or fill) with the region written in."""
    if task.complete and region.shape == tuple(shape):
        return np.asarray(region)  # a 0-d selection of a 0-d value is a numpy scalar
    if task.complete or existing is None:
        chunk = full_chunk(shape, cio.dtype, cio.fill)
    else:
        try:
            chunk = np.array(pipe.decode(existing), copy=True)
        except _CHUNK_ERRORS as e:
            raise chunk_error(cio, key, e) from None
    if pointwise:
        chunk[task.chunk_sel] = region
    else:
        ortho_set(chunk, task.chunk_sel, region)
    return chunk


def _encode_or_none(cio: ChunkIO, pipe: Any, key: str, chunk: np.ndarray) -> Any:
    """Encoded bytes, or None when the chunk equals the fill value and is not to be stored."""
    if not cio.write_empty_chunks and is_fill(chunk, cio.fill_value):
        return None
    try:
        return pipe.encode(chunk)
    except ZarrconvError as e:
        raise chunk_error(cio, key, e) from None


def write(cio: ChunkIO, plan: Plan, value: np.ndarray, pointwise: bool = False) -> None:
    """Write ``value`` (already shaped like the selection) into the chunks of ``plan``."""
    if cio.sharding is not None:
        _write_sharded(cio, plan, value, pointwise)
        return
    store = cio.store
    chunk_key, pipeline_for = cio.key, cio.pipeline_for

    def work(batch: list) -> None:
        to_set: dict[str, Any] = {}
        to_delete: list[str] = []
        for t in batch:
            key = chunk_key(t.coords)
            pipe = pipeline_for(t.coords)
            shape = pipe.spec.shape
            region = _region(value, t, pointwise)
            if t.complete:
                enc = _encode_or_none(cio, pipe, key, _merge(cio, pipe, key, None, t, region, shape, pointwise))
                if enc is None:
                    to_delete.append(key)
                else:
                    to_set[key] = enc
                continue
            with store.lock(key):  # read-modify-write: serialised per key, across processes on disk
                chunk = _merge(cio, pipe, key, store.get(key), t, region, shape, pointwise)
                enc = _encode_or_none(cio, pipe, key, chunk)
                store.delete(key) if enc is None else store.set(key, enc)
        if to_set:
            store.set_many(to_set)
        if to_delete:
            store.delete_many(to_delete)

    if not store.prefers_single_batch:
        run_batches(work, plan.tasks, _per_worker(cio))
        return
    partial = [t for t in plan.tasks if not t.complete]
    if len(partial) > 1:  # high latency: one batched read-modify-write instead of two requests a chunk
        _rmw_batched(cio, partial, value, pointwise)
    tasks = [t for t in plan.tasks if t.complete] if len(partial) > 1 else plan.tasks
    run_batches(work, tasks, _remote_write_per_worker(cio, len(tasks), np.asarray(value).nbytes))


def _rmw_batched(cio: ChunkIO, tasks: list[ChunkTask], value: np.ndarray, pointwise: bool) -> None:
    """Read-modify-write of partially covered chunks on a high-latency store: every key locked
    at once (``store.lock_many``), one ``get_many`` of all of them, merge and encode in parallel,
    one ``set_many`` (and ``delete_many`` for chunks that became fill)."""
    store = cio.store
    keys = [cio.key(t.coords) for t in tasks]
    with store.lock_many(keys):
        olds = store.get_many([(k, None) for k in keys])

        def merge(batch: list) -> list:
            out = []
            for t, key, old in batch:
                pipe = cio.pipeline_for(t.coords)
                chunk = _merge(cio, pipe, key, old, t, _region(value, t, pointwise), pipe.spec.shape, pointwise)
                out.append((key, _encode_or_none(cio, pipe, key, chunk)))
            return out

        encoded = [r for rs in run_batches(merge, list(zip(tasks, keys, olds))) for r in rs]
        to_set = {k: enc for k, enc in encoded if enc is not None}
        to_delete = [k for k, enc in encoded if enc is None]
        if to_set:
            store.set_many(to_set)
        if to_delete:
            store.delete_many(to_delete)


def _write_sharded(cio: ChunkIO, plan: Plan, value: np.ndarray, pointwise: bool) -> None:
    codec = cio.sharding.codec
    cps = cio.sharding.chunks_per_shard
    pipe = cio.sharding.pipeline
    shape = pipe.spec.shape
    store = cio.store
    groups = _group_by_shard(cio, plan.tasks)
    whole = {s: lst for s, lst in groups.items()
             if all(t.complete for _, t in lst) and len(lst) == _inner_in_bounds(cio, s)}
    partial = [(s, lst) for s, lst in groups.items() if s not in whole]

    # whole shards: inner chunks are encoded in parallel, in shard order; the worker that encodes
    # the last inner chunk of a shard assembles and writes it. Shards are thus written while others
    # are still being encoded, and only the shards in flight are held in memory.
    flat = [(s, local, t) for s, lst in whole.items() for local, t in lst]
    parts: dict[tuple[int, ...], dict] = {s: {} for s in whole}
    remaining = {s: len(lst) for s, lst in whole.items()}
    done_lock = threading.Lock()

    def finish(s: tuple[int, ...]) -> None:
        key = cio.key(s)
        shard = codec.assemble(cps, parts.pop(s))
        if shard is None:
            store.delete(key)
        else:  # the shard's parts, not joined, for stores that write them as they are
            store.set(key, shard if store.writes_parts else joined(shard))

    def encode(batch: list) -> None:
        for s, local, t in batch:
            key = cio.key(s)
            chunk = _merge(cio, pipe, key, None, t, _region(value, t, pointwise), shape, pointwise)
            enc = _encode_or_none(cio, pipe, key, chunk)
            with done_lock:
                if enc is not None:
                    parts[s][local] = enc
                remaining[s] -= 1
                last = remaining[s] == 0
            if last:
                finish(s)

    run_batches(encode, flat)

    # partial shards: read-modify-write under the shard's lock; untouched inner chunks keep their bytes
    def rmw(batch: list) -> None:
        for s, lst in batch:
            key = cio.key(s)
            with store.lock(key):
                old = store.get(key)
                try:
                    existing = dict(codec.split(old, cps)) if old is not None else {}
                except _CHUNK_ERRORS as e:
                    raise chunk_error(cio, key, e) from None
                for local, t in lst:
                    chunk = _merge(cio, pipe, key, existing.get(local), t, _region(value, t, pointwise), shape, pointwise)
                    enc = _encode_or_none(cio, pipe, key, chunk)
                    if enc is None:
                        existing.pop(local, None)
                    else:
                        existing[local] = enc
                new = codec.assemble(cps, existing)
                if new is None:
                    store.delete(key)
                else:
                    store.set(key, new if store.writes_parts else joined(new))

    run_batches(rmw, partial, per_worker=2)
