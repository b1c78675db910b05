"""Writing dask arrays into zarrconv arrays, on any dask scheduler.

Most stores pickle to the workers as they are and ``dask.array.store`` does the job. A
transactional session (icechunk) does not: its writable session may not leave the process.
For those the store is forked (``Store.fork``), every block is written through the fork on
its worker, each task hands its fork back, and the forks are merged into the session
(``Store.merge``) before the caller commits — what icechunk's own xarray writer does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .array import Array


def store_dask(sources: Sequence[Any], targets: Sequence[Array], regions: Sequence[Any], *,
               compute: bool = True) -> Any:
    """``dask.array.store(sources, targets, regions=regions, lock=False)``, forking transactional stores.

    ``regions[i]`` is the tuple of slices of ``targets[i]`` that ``sources[i]`` fills (or None
    for all of it); dask blocks never share a storage chunk (the caller checks alignment), so
    no lock is needed. Returns what ``dask.array.store`` returns (None when computed).
    """
    import dask.array as da

    forks = {id(t.store): t.store.fork() for t in targets}
    if not any(f is not None for f in forks.values()):
        return da.store(list(sources), list(targets), regions=list(regions), lock=False, compute=compute)
    if not compute:
        raise NotImplementedError(
            f"compute=False cannot write into {targets[0].store.url}: its writes must be merged back into the "
            "session before the commit; write with compute=True (it forks the session for the workers)")
    return _forked_store(sources, targets, regions, forks)


def _forked_store(sources: Sequence[Any], targets: Sequence[Array], regions: Sequence[Any], forks: dict) -> None:
    import dask

    tasks, origins = [], []
    for src, target, region in zip(sources, targets, regions):
        fork = forks[id(target.store)]
        if fork is None:  # a target on a store that pickles: written as dask.array.store would
            tasks.append(dask.delayed(_write_block, pure=False)(src, target, region or (slice(None),) * target.ndim))
            origins.append(None)
            continue
        on_fork = Array(fork, target.path, target.metadata, write_empty_chunks=target.write_empty_chunks)
        start = [0 if r.start is None else r.start for r in (region or [slice(None)] * target.ndim)]
        offsets = [np.cumsum((0, *c))[:-1] for c in src.chunks]
        blocks = src.to_delayed()
        for idx in itertools.product(*(range(n) for n in src.numblocks)):
            sel = tuple(slice(s + int(o[i]), s + int(o[i]) + c[i]) for s, o, i, c in zip(start, offsets, idx, src.chunks))
            tasks.append(dask.delayed(_write_block, pure=False)(blocks[idx], on_fork, sel))
            origins.append(target.store)
    written = dask.compute(*tasks)
    merged: dict[int, tuple[Any, list]] = {}
    for origin, store in zip(origins, written):
        if origin is not None:
            merged.setdefault(id(origin), (origin, []))[1].append(store)
    for origin, stores in merged.values():
        origin.merge(list({id(s): s for s in stores}.values()))  # threads share one fork: merge it once


def _write_block(block: Any, target: Array, selection: tuple[slice, ...]) -> Any:
    """Write one dask block; returns the store written through, carrying its changes back."""
    target[selection] = block
    return target.store


__all__ = ["store_dask"]
