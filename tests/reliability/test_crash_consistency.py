"""Crash consistency on local disk: a writer killed with SIGKILL at random moments.

A writer process runs a known sequence of operations (whole-array writes, unaligned
read-modify-write regions, shard-partial writes, attribute updates) on three arrays (v3,
v3 sharded, v2) and is killed at a random moment. Afterwards the store must open, every
metadata document must be valid JSON, and every chunk must hold the content it had after
*some* operation of the sequence: the old or the new content, never a torn mixture, and
never an undecodable chunk (all chains carry crc32c, and ``zc.check`` must agree).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "fork"), reason="needs fork and SIGKILL"),
    # the parent's idle zarrconv pool threads hold no lock at fork time; io resets the pool in the child
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

SHAPE = (24, 20)
N_OPS = 60
ARRAYS = {
    "v3": {"chunks": (8, 8), "compressors": ["zstd", "crc32c"]},
    "sharded": {"chunks": (4, 4), "shards": (8, 8), "compressors": ["gzip", "crc32c"]},
    "v2": {"chunks": (8, 8), "zarr_format": 2, "compressors": {"id": "zlib", "level": 1}, "filters": [{"id": "crc32c"}]},
}


def op_region(i: int) -> tuple[slice, slice]:
    """The region operation ``i`` writes: everything, or an unaligned rectangle."""
    if i % 3 == 0:
        return (slice(None), slice(None))
    rng = random.Random(i)
    r0, c0 = rng.randrange(SHAPE[0] - 1), rng.randrange(SHAPE[1] - 1)
    return (slice(r0, rng.randrange(r0 + 1, SHAPE[0] + 1)), slice(c0, rng.randrange(c0 + 1, SHAPE[1] + 1)))


def model_states() -> list[np.ndarray]:
    """The array content after 0, 1, ..., N_OPS operations."""
    state = np.zeros(SHAPE, "i4")
    states = [state.copy()]
    for i in range(1, N_OPS + 1):
        state[op_region(i)] = i * 1000 + np.arange(state[op_region(i)].size, dtype="i4").reshape(state[op_region(i)].shape)
        states.append(state.copy())
    return states


STATES = model_states()


def create(root: Path) -> None:
    g = zc.create_group(root, attributes={"ops": 0})
    for name, kw in ARRAYS.items():
        kw = dict(kw)
        fmt = kw.pop("zarr_format", 3)
        arr = g.create_array(name, shape=SHAPE, dtype="i4", zarr_format=fmt, **kw) if fmt == 3 else \
            zc.create_array(root, name, shape=SHAPE, dtype="i4", zarr_format=2, **kw)
        arr[...] = STATES[0]
        arr.attrs["ops"] = 0


def writer(root: Path) -> None:
    """The victim: apply the operations in order, as fast as it can."""
    g = zc.open_group(root, mode="r+")
    arrays = [g[name] for name in ARRAYS]
    for i in range(1, N_OPS + 1):
        for arr in arrays:
            region = op_region(i)
            arr[region] = STATES[i][region]
            arr.attrs["ops"] = i
        g.attrs.update(ops=i, note="x" * (i % 7) * 100)


def chunk_regions(chunks: tuple[int, int]) -> list[tuple[slice, slice]]:
    return [(slice(r, min(r + chunks[0], SHAPE[0])), slice(c, min(c + chunks[1], SHAPE[1])))
            for r in range(0, SHAPE[0], chunks[0]) for c in range(0, SHAPE[1], chunks[1])]


def verify(root: Path) -> int:
    """Check the store a killed writer left; returns the highest operation seen in a chunk."""
    for path in root.rglob("*"):
        if path.name in ("zarr.json", ".zarray", ".zattrs", ".zgroup"):
            json.loads(path.read_bytes())  # every metadata document is complete, valid JSON
    g = zc.open_group(root, mode="r")
    assert 0 <= g.attrs["ops"] <= N_OPS
    highest = 0
    for name, kw in ARRAYS.items():
        arr = g[name]
        assert arr.shape == SHAPE and 0 <= arr.attrs["ops"] <= N_OPS
        for region in chunk_regions(kw["chunks"]):
            got = arr[region]  # decodes (crc32c verified): a torn chunk would raise here
            matches = [k for k, s in enumerate(STATES) if np.array_equal(s[region], got)]
            assert matches, f"{name} chunk at {region} holds content of no state of the sequence"
            highest = max(highest, min(matches))
    report = zc.check(root)
    assert report.ok, str(report)
    return highest


def run_and_kill(root: Path, delay: float) -> None:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: signal readiness, then write until killed
        code = 0
        try:
            os.close(read_fd)
            os.write(write_fd, b"go")
            writer(root)
        except BaseException:  # noqa: BLE001 - the child must never return into pytest
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    os.read(read_fd, 2)
    os.close(read_fd)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0, "the writer failed on its own"


def test_writer_killed_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    template = tmp_path / "template"
    create(template)
    import shutil

    # calibrate: how long does the whole sequence take here? kill uniformly inside it
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    start = time.perf_counter()
    writer(probe)
    duration = time.perf_counter() - start
    assert verify(probe) == N_OPS

    seen = []
    budget = time.monotonic() + 10  # bounded: as many runs as fit (at least 8)
    run = 0
    while run < 8 or (time.monotonic() < budget and run < 60):
        root = tmp_path / f"run{run}"
        shutil.copytree(template, root)
        run_and_kill(root, rng.uniform(0, duration * 1.1))
        seen.append(verify(root))
        shutil.rmtree(root)
        run += 1
    # the kills landed at different points of the sequence, not all before or after it
    assert len(set(seen)) > 2, seen
