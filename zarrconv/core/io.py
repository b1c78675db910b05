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
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from operator import floordiv, mod
from typing import Any

import numpy as np

from .. import config
from ..codecs.base import DECODE_ERRORS
from ..errors import CorruptChunkError, ZarrconvError
from ..format.fill import fill_rows, full_chunk, is_fill
from ..store.base import Store, joined
from .indexing import ChunkTask, Plan, gc_paused, ortho_get, ortho_set

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
    """The shared pool of ``workers - 1`` threads (the caller of :func:`run_batches` or
    :func:`run_pipeline` is the last one), rebuilt after fork or when the thread setting changes."""
    global _pool, _pool_key
    key = (os.getpid(), workers)
    if _pool_key != key:
        with _pool_lock:
            if _pool_key != key:
                _pool = ThreadPoolExecutor(max_workers=max(1, workers - 1), thread_name_prefix="zarrconv")
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
            results[i] = _kept(errors, _as_worker, fn, batches[i])

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


_FAILED = object()


def _kept(errors: list[BaseException], fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; if it raises, the error is appended to ``errors`` (for the caller to raise once
    every batch ran: a write stores every chunk it can) and :data:`_FAILED` returned."""
    try:
        return fn(*args)
    except BaseException as e:  # noqa: BLE001 - re-raised by the caller, after every batch ran
        errors.append(e)
        return _FAILED


def run_pipeline(batches: Sequence, prepare: Callable[[Any], Any], work: Callable[[Any], Any],
                 finish: Callable[[Any, Any], None]) -> None:
    """Run every batch through ``prepare`` (on the calling thread), ``work`` (on a pool thread) and
    ``finish`` (on the calling thread again): ``finish(batch, work(prepare(batch)))``.

    For many small chunks, where ``work`` is mostly native code that releases the GIL (decompressing
    a whole batch in one call; or compressing it and creating its files) and ``prepare``/``finish``
    are the Python part (reading files, copying chunks out of or into place). One thread then holds
    the GIL for most of the Python part while the others decode or encode: measured on 2 cores with
    8 KiB chunks, 35-45 % less wall time than
    each thread doing all three steps for its own batches (the threads spent their time handing the
    GIL to each other). Up to ``2 * (threads - 1)`` batches wait for or run in the pool; when that
    many do, the calling thread does the work of the next batch itself, so no core idles when
    ``work`` is the slower part. Batches finish out of order. A failed batch does not stop the
    others; the first error propagates once every batch is done.
    """
    errors: list[BaseException] = []
    threads = int(config.get("threads"))
    with gc_paused():  # the tuples of thousands of chunks are not garbage: no collections for them
        _pipeline(batches, prepare, work, finish, threads, errors)
    if errors:
        raise errors[0]


def _pipeline(batches: Sequence, prepare: Callable[[Any], Any], work: Callable[[Any], Any],
              finish: Callable[[Any, Any], None], threads: int, errors: list[BaseException]) -> None:
    """:func:`run_pipeline` with ``threads`` threads, keeping errors in ``errors``."""
    if threads <= 1 or len(batches) <= 1 or getattr(_local, "worker", False):
        for batch in batches:
            _kept(errors, lambda b: finish(b, work(prepare(b))), batch)
    else:
        pool = _executor(threads)
        depth = 2 * (threads - 1)
        pending: deque = deque()
        try:
            for batch in batches:
                prepared = _kept(errors, prepare, batch)
                while pending and pending[0][1].done():
                    _settle(errors, finish, *pending.popleft())
                if prepared is _FAILED:
                    continue
                if len(pending) < depth:
                    pending.append((batch, pool.submit(_as_worker, work, prepared)))
                else:
                    _kept(errors, lambda b, p: finish(b, work(p)), batch, prepared)
            while pending:
                _settle(errors, finish, *pending.popleft())
        finally:
            wait([f for _, f in pending])  # nothing still runs when an error propagates


def _settle(errors: list[BaseException], finish: Callable[[Any, Any], None], batch: Any, future: Any) -> None:
    """``finish`` a batch whose work ran in the pool (its error, if any, kept like the others)."""
    _kept(errors, lambda: finish(batch, future.result()))


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
        batches = _small_batches(plan.tasks, pipe.spec.nbytes)
        if store.reads_into and batches:  # into reused buffers: no allocation per chunk
            slots = _ReadBuffers(pipe.batch_decode.stored_bound, len(batches[0]))
            _read_small(cio, pipe, batches, out, lambda tasks: slots.fetch(cio, tasks), plan.index_arrays, slots.give)
        else:
            _read_small(cio, pipe, batches, out, lambda tasks: (_fetch(cio, tasks), None), plan.index_arrays)
        return

    def fetch_decode(tasks: list) -> None:
        # one chunk at a time: a thread's file reads then overlap the other threads' decompression
        # (reading a whole batch first, then decoding it, measured ~20% slower on 2 cores)
        for t in tasks:
            key = chunk_key(t.coords)
            _place(cio, pipeline_for(t.coords), t, key, get(key), out, pointwise)

    run_batches(fetch_decode, plan.tasks, _per_worker(cio))


_MANY_MAX = 2**16  # chunks up to this size are decoded (and encoded) a batch at a time, in one native call
_BATCH_BYTES = 2**19  # about this many bytes of chunks per batch: 64 of 8 KiB, 16 of 32 KiB


def _small_direct(pipe: Any, pointwise: bool) -> bool:
    """Whether chunks of this pipeline are small and of native fixed-size items (``direct``): they are
    then encoded a batch at a time (and decoded so, raw or under zstd: ``pipe.batch_decode``)."""
    return not pointwise and pipe is not None and pipe.direct and pipe.spec.nbytes <= _MANY_MAX


def _decodes_many(pipe: Any, pointwise: bool) -> bool:
    """Whether chunks of this pipeline are decoded a batch at a time (small, raw or zstd)."""
    return _small_direct(pipe, pointwise) and pipe.batch_decode is not None


def _small_batches(items: list, nbytes: int) -> list[list]:
    """``items`` (small chunks) cut into batches of about :data:`_BATCH_BYTES` (8 to 64 chunks), and
    into at least 4 batches per thread, so that the last batches leave no core idle for long."""
    per = _per_small_batch(len(items), nbytes)
    return [items[i:i + per] for i in range(0, len(items), per)]


def _per_small_batch(n: int, nbytes: int) -> int:
    """Chunks per batch of :func:`_small_batches`, out of ``n`` chunks of ``nbytes``."""
    per = max(8, min(64, _BATCH_BYTES // max(1, nbytes)))
    return max(1, min(per, math.ceil(n / (4 * max(1, int(config.get("threads")))))))


def _row_batches(tasks: list[ChunkTask], nbytes: int) -> list[list[ChunkTask]]:
    """:func:`_small_batches` of chunks to write, each batch grown (to at most twice its size) to
    the end of its row of chunks, the run of chunks that differ only in the last coordinate. With
    ``/``-separated keys a row is one directory, and a batch holding a whole new directory is
    stored with one rename for all of its files (:meth:`LocalStore.set_many`), where a row split
    between two threads' batches costs a rename per file."""
    per = _per_small_batch(len(tasks), nbytes)
    batches: list[list[ChunkTask]] = []
    batch: list[ChunkTask] = []
    for i, t in enumerate(tasks):
        batch.append(t)
        row_ends = i + 1 == len(tasks) or tasks[i + 1].coords[:-1] != t.coords[:-1]
        if len(batch) >= 2 * per or (len(batch) >= per and row_ends):
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches


class _ReadBuffers:
    """Buffers that batches of small chunks are read into (``Store.read_into``), one per batch in
    flight: taken when a batch is read, given back once it is placed, and kept for this thread's next
    reads. Reading into new bytes objects instead cost ~7 us a chunk in page faults, as the heap grew
    for each batch and was handed back to the system after it."""

    _KEEP = 8 << 20  # bytes of buffers kept per thread between reads (a batch is ~0.5-4 MiB)

    def __init__(self, slot: int, per: int) -> None:
        self.slot, self.size = slot, slot * per
        free = getattr(_local, "read_buffers", None)
        if free is None:
            free = _local.read_buffers = []
        self.free: list[np.ndarray] = free

    def fetch(self, cio: ChunkIO, tasks: list[ChunkTask]) -> tuple[list[tuple[ChunkTask, str, Any]], np.ndarray]:
        """``(task, key, bytes or None)`` of a batch (the bytes: views into the batch's buffer), and the buffer."""
        i = next((i for i, b in enumerate(self.free) if b.nbytes >= self.size), None)
        buf = np.empty(self.size, np.uint8) if i is None else self.free.pop(i)
        keys = [cio.key(t.coords) for t in tasks]
        whole, slot = memoryview(buf), self.slot
        views = [whole[i * slot:(i + 1) * slot] for i in range(len(keys))]
        blobs = [None if n is None else v[:n] if n >= 0 else cio.store.get(k)  # larger than a chunk: as it is
                 for k, v, n in zip(keys, views, cio.store.read_into(keys, views))]
        return list(zip(tasks, keys, blobs)), buf

    def give(self, buf: np.ndarray) -> None:
        """Keep ``buf`` for the next batch (or the next read): up to :attr:`_KEEP` bytes of buffers,
        the smallest dropped first (those too small for the arrays read lately)."""
        self.free.append(buf)
        while len(self.free) > 1 and sum(b.nbytes for b in self.free) > self._KEEP:
            self.free.pop(min(range(len(self.free)), key=lambda i: self.free[i].nbytes))


def _fetch(cio: ChunkIO, tasks: list[ChunkTask]) -> list[tuple[ChunkTask, str, Any]]:
    """``(task, key, bytes or None)`` of a batch of chunks, read in one ``get_many``."""
    keys = [cio.key(t.coords) for t in tasks]
    return list(zip(tasks, keys, cio.store.get_many([(k, None) for k in keys])))


def _read_small(cio: ChunkIO, pipe: Any, batches: list, out: np.ndarray,
                fetch: Callable[[list], tuple[list[tuple[ChunkTask, str, Any]], Any]], index_arrays: bool,
                release: Callable[[Any], None] | None = None) -> None:
    """Read batches of small chunks through :func:`run_pipeline`: this thread reads a batch's bytes
    (``fetch``: the ``(task, key, bytes)`` and a buffer that holds them, handed to ``release`` once
    the batch is placed), checks them and places the decoded chunks; the pool decompresses each batch
    in one native call (``pipe.batch_decode``). ``index_arrays``: :attr:`Plan.index_arrays`."""
    batch = pipe.batch_decode

    def read(tasks: list) -> tuple[list, list, bool, Any]:
        triples, buf = fetch(tasks)
        present = [b for _, _, b in triples if b is not None]
        return triples, present, batch.check(present), buf

    def decode(fetched: tuple[list, list, bool, Any]) -> tuple[list, Any, Any]:
        triples, present, ok, buf = fetched
        return triples, (batch.run(present) if ok and present else None if present else ()), buf

    def place(_: Any, decoded: tuple[list, Any, Any]) -> None:
        triples, chunks, buf = decoded
        _place_many(cio, pipe, triples, chunks, out, index_arrays)
        if release is not None:
            release(buf)

    run_pipeline(batches, read, decode, place)


def _place_many(cio: ChunkIO, pipe: Any, triples: list[tuple[ChunkTask, str, Any]], decoded: Any,
                out: np.ndarray, index_arrays: bool) -> None:
    """Copy a batch of decoded chunks (the present ones of ``triples``, in order) into place, missing
    ones as the fill value. ``decoded`` None: the batch could not be decoded in one call, so it is
    decoded chunk by chunk, which names a bad one."""
    if decoded is None:
        for t, k, b in triples:
            _place(cio, pipe, t, k, b, out, False)
        return
    chunk = pipe.batch_decode.chunk
    present = [t for t, _, b in triples if b is not None]
    if index_arrays:  # numpy's indexing may not be outer indexing
        for i, t in enumerate(present):
            ortho_set(out, t.out_sel, ortho_get(chunk(decoded, i), t.chunk_sel))
    else:  # ints and slices: numpy's own indexing is outer indexing
        for i, t in enumerate(present):
            out[t.out_sel] = chunk(decoded, i)[t.chunk_sel]
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

    if store.prefers_single_batch or len(shards) == 1:  # indexes, then every range in one request
        ready, ranges = _locate_inner(cio, shards)
        blobs = store.get_many([(key, rng) for _, key, rng in ranges]) if ranges else []
        ready.extend((t, key, _check_range(cio, key, rng, blob)) for (t, key, rng), blob in zip(ranges, blobs))
        if many:
            _read_small(cio, pipe, _small_batches(ready, pipe.spec.nbytes), out, lambda triples: (triples, None),
                        plan.index_arrays)
            return

        def decode(triples: list) -> None:
            for t, key, blob in triples:
                _place(cio, pipe, t, key, blob, out, pointwise)

        run_batches(decode, ready, 8)
        return

    # local stores: the indexes first (shards in parallel), then batches of inner chunks, not
    # of whole shards, so that no core idles while another finishes a shard; like read(), each
    # inner chunk is read and then decoded at once
    work: list[tuple[ChunkTask, str, Any, tuple[int, int] | None]] = []
    for ready, ranges in run_batches(lambda batch: _locate_inner(cio, batch), shards):
        work.extend((t, key, blob, None) for t, key, blob in ready)
        work.extend((t, key, None, rng) for t, key, rng in ranges)

    if many:  # small inner chunks: read a batch of byte ranges, then one native decode
        _read_small(cio, pipe, _small_batches(work, pipe.spec.nbytes), out,
                    lambda batch: (_fetch_ranges(cio, batch), None), plan.index_arrays)
        return

    def fetch_decode(batch: list) -> None:
        for t, key, blob, rng in batch:
            if rng is not None:
                blob = _check_range(cio, key, rng, store.get(key, rng))
            _place(cio, pipe, t, key, blob, out, pointwise)

    run_batches(fetch_decode, work, per_worker=32)


def _fetch_ranges(cio: ChunkIO, batch: list) -> list[tuple[ChunkTask, str, Any]]:
    """``(task, key, bytes or None)`` of a batch of inner chunks: ``(task, key, bytes, None)`` as they
    are, ``(task, key, None, range)`` read (consecutive ranges of one shard in one ``get_many``)."""
    ranged = [(key, rng) for _, key, _, rng in batch if rng is not None]
    blobs = iter(cio.store.get_many(ranged) if ranged else ())
    return [(t, key, blob if rng is None else _check_range(cio, key, rng, next(blobs))) for t, key, blob, rng in batch]


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
        tasks = plan.tasks
        if _small_direct(cio.pipeline, pointwise) and any(t.complete for t in tasks):
            _write_small(cio, cio.pipeline, [t for t in tasks if t.complete], value, plan.index_arrays)
            tasks = [t for t in tasks if not t.complete]
        if tasks:
            run_batches(work, tasks, _per_worker(cio))
        return
    partial = [t for t in plan.tasks if not t.complete]
    if len(partial) > 1:  # high latency: one batched read-modify-write instead of two requests a chunk
        _rmw_batched(cio, partial, value, pointwise)
    tasks = [t for t in plan.tasks if t.complete] if len(partial) > 1 else plan.tasks
    run_batches(work, tasks, _remote_write_per_worker(cio, len(tasks), np.asarray(value).nbytes))


def _write_small(cio: ChunkIO, pipe: Any, tasks: list[ChunkTask], value: np.ndarray, index_arrays: bool) -> None:
    """Write whole small chunks through :func:`run_pipeline`: this thread copies a batch of them out
    of ``value`` into one array and finds those equal to the fill value; the pool encodes the batch
    in one native call and stores it. The stores run on the pool's threads, not this one: creating
    files is most of a small write's time, and on a slow file system it is more than the encoding."""
    store = cio.store

    def gather(batch: list[ChunkTask]) -> tuple[list[str], np.ndarray, np.ndarray]:
        chunks = _gather(cio, pipe, batch, value, index_arrays)
        empty = np.zeros(len(batch), bool) if cio.write_empty_chunks else fill_rows(chunks, cio.fill_value)
        return [cio.key(t.coords) for t in batch], chunks, empty

    def encode_put(prepared: tuple[list[str], np.ndarray, np.ndarray]) -> None:
        keys, chunks, empty = prepared
        if not empty.any():
            store.set_many(dict(zip(keys, _encode_many(cio, pipe, keys, chunks))))
            return
        kept = [keys[i] for i in np.flatnonzero(~empty)]
        if kept:
            store.set_many(dict(zip(kept, _encode_many(cio, pipe, kept, chunks[~empty]))))
        store.delete_many([keys[i] for i in np.flatnonzero(empty)])

    run_pipeline(_row_batches(tasks, pipe.spec.nbytes), gather, encode_put, lambda _, __: None)


def _gather(cio: ChunkIO, pipe: Any, tasks: list[ChunkTask], value: np.ndarray, index_arrays: bool) -> np.ndarray:
    """The whole chunks of ``tasks`` copied out of ``value`` into one C-contiguous array (chunk ``k``
    at ``[k]``); an edge chunk's part beyond the array is the fill value."""
    shape = pipe.spec.shape
    chunks = np.empty((len(tasks), *shape), cio.dtype)
    for k, t in enumerate(tasks):
        region = ortho_get(value, t.out_sel) if index_arrays else value[t.out_sel]
        if region.shape == shape:
            chunks[k] = region
        else:  # an edge chunk, or an integer selection that dropped a dimension of the region
            chunks[k] = _merge(cio, pipe, "", None, t, region, shape, False)
    return chunks


def _encode_many(cio: ChunkIO, pipe: Any, keys: list[str], chunks: np.ndarray) -> list:
    """``pipe.encode_many``; when it fails, the chunks are encoded one by one, which names the bad one."""
    try:
        return pipe.encode_many(chunks)
    except ZarrconvError:
        return [_encode_or_none(cio, pipe, key, chunk) for key, chunk in zip(keys, chunks)]


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
