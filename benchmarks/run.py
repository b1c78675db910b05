#!/usr/bin/env python
"""Time zarrconv against zarr-python (default, fused and zarrs pipelines) and tensorstore.

One command builds the data once, then every implementation reads the same files and
writes the same data with the same codecs, in this one run::

    python benchmarks/run.py            # full run (a few minutes, ~4 GiB of disk)
    python benchmarks/run.py --quick    # small smoke run (seconds)

Reads are timed with the array already open (the metadata read is not counted); writes
include creating the array. Each timing is the best of ``--repeat`` runs (more for cases
shorter than ``--min-time``). Every read result is compared with the source data and every
written array is read back with zarrconv and compared, so a wrong answer shows as ``WRONG``
instead of a fast time. Peak memory of a full read is measured in a fresh subprocess per implementation
(peak resident size, VmHWM, after the read minus the resident size before it).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libs import Layout, Lib, all_libs, lib_by_name  # noqa: E402

ZARR_OWN = ("zarr-default", "zarr-fused")  # zarr-python's own pipelines (zarrs is reported separately)
CASES = ["dense", "many", "one", "tiny", "sharded", "memory", "scaling"]


# -- the cases -----------------------------------------------------------------------------

@dataclass
class Sizes:
    """Array layouts of one run (full or quick)."""

    dense: Layout
    many: Layout
    tiny: Layout
    sharded: Layout
    one_reads: int
    scaling_base: Layout
    scaling_factors: tuple[int, ...]


FULL = Sizes(
    dense=Layout((512, 512, 512), "float32", (4, 512, 512)),  # 512 MiB, 128 chunks of 4 MiB
    many=Layout((2048, 2048), "float64", (64, 64)),  # 1024 chunks of 32 KiB
    tiny=Layout((3200, 3200), "float64", (32, 32)),  # 10,000 chunks of 8 KiB: the per-chunk cost
    sharded=Layout((128, 1024, 1024), "float32", (1, 256, 256), (8, 1024, 1024)),  # 512 MiB, 16 shards
    one_reads=200,
    scaling_base=Layout((1024, 1024), "float64", (32, 32)),  # 1024 chunks of 8 KiB: per-chunk costs dominate
    scaling_factors=(1, 10, 100),
)

QUICK = Sizes(
    dense=Layout((16, 128, 128), "float32", (4, 128, 128)),
    many=Layout((256, 256), "float64", (64, 64)),
    tiny=Layout((320, 320), "float64", (32, 32)),
    sharded=Layout((16, 128, 128), "float32", (1, 32, 32), (8, 64, 64)),
    one_reads=20,
    scaling_base=Layout((128, 128), "float64", (32, 32)),
    scaling_factors=(1, 4),
)


def scaled(layout: Layout, factor: int) -> Layout:
    """The layout with ``factor`` times more chunks (along the first axis)."""
    return Layout((layout.shape[0] * factor, *layout.shape[1:]), layout.dtype, layout.chunks, layout.shards)


def make_data(layout: Layout, seed: int = 0) -> np.ndarray:
    """Moderately compressible data (12 random bits per value), built slab by slab."""
    rng = np.random.default_rng(seed)
    out = np.empty(layout.shape, layout.dtype)
    step = max(1, out.shape[0] // 16)
    for i in range(0, out.shape[0], step):
        block = rng.integers(0, 4096, size=out[i:i + step].shape, dtype=np.int32)
        out[i:i + step] = block * np.asarray(0.125, layout.dtype) + np.asarray(i, layout.dtype)
    return out


# -- timing --------------------------------------------------------------------------------

@dataclass
class Result:
    seconds: float | None = None  #: the best timing
    wrong: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    samples: list[float] = field(default_factory=list)  #: every timing, in the order taken

    @property
    def median(self) -> float | None:
        """The median timing: with the best, it shows how wide this implementation's spread was."""
        return float(np.median(self.samples)) if self.samples else None

    def cell(self) -> str:
        if self.error:
            return "error"
        if self.wrong:
            return "WRONG"
        if self.seconds is None:
            return "-"
        return f"{self.seconds:.3f}" if self.seconds < 100 else f"{self.seconds:.0f}"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call of ``fn`` and its value."""
    gc.collect()
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


class Runner:
    """Times one operation of every implementation, taking turns across repeats.

    The machine may be shared, so the repeats are interleaved (zarrconv, zarr-python, ...,
    zarrconv, ...) and the best time of each implementation is kept: a burst of load
    from elsewhere then hits every implementation alike instead of one of them. Each round
    takes the implementations in another order (:meth:`order`), so that each follows each of
    the others in turn: what one leaves behind then falls on every other, not always on the
    same one. (A 512 MiB sharded read right after tensorstore's took 1.3-1.7 s, with 0.4-1.1 s
    of system time, where the same read after another one took 0.7-1.2 s with 0.14-0.22 s:
    memory that tensorstore freed has to be faulted in again on this virtual machine. Merely
    starting each round one implementation further on, as this runner did before, keeps the
    same neighbours, so one implementation always paid it.) A round is
    repeated at least ``repeat`` times and, for short operations, until every implementation
    has been timed for ``min_time`` seconds (at most :attr:`MAX_ROUNDS` rounds): on a noisy
    machine the best of three 0.1 s reads is a draw, not a best (measured on the 2-vCPU machine of
    ``README.md``: single 64x64 reads of one array spread over 60-120 ms).
    """

    MAX_ROUNDS = 25

    def __init__(self, libs: list[Lib], repeat: int, min_time: float = 0.0) -> None:
        self.libs, self.repeat, self.min_time = libs, repeat, min_time

    def run(self, label: str, prepare: Callable[[Lib], tuple[Callable[[], Any], Callable[[Any], bool]]],
            before: Callable[[Lib], None] | None = None) -> dict[str, Result]:
        """``prepare(lib)`` returns (the timed call, a check of its value); ``before`` runs untimed."""
        print(f"  {label}", file=sys.stderr, flush=True)
        calls: dict[str, Any] = {}
        results = {lib.name: Result() for lib in self.libs}
        for lib in self.libs:
            try:
                with lib.context():
                    calls[lib.name] = prepare(lib)
            except Exception as e:
                results[lib.name] = _failed(lib, e)
        rounds = 0
        while rounds < self.repeat or (rounds < self.MAX_ROUNDS and self._short(results, calls)):
            for lib in self.order(rounds):
                self._time(lib, results, calls, before)
            rounds += 1
        for lib in self.libs:
            res = results[lib.name]
            if lib.name in calls and not res.error:
                try:
                    res.wrong = not calls[lib.name][1](res.value)
                except Exception as e:
                    results[lib.name] = _failed(lib, e)
            results[lib.name].value = None
            r = results[lib.name]
            spread = f" (median {r.median:.3f} of {len(r.samples)})" if r.samples and not r.error else ""
            print(f"    {lib.name:<13} {r.cell()}{spread}", file=sys.stderr, flush=True)
        return results

    def order(self, round_no: int) -> list[Lib]:
        """The implementations in the order of round ``round_no``: from implementation ``round_no``
        on, in steps of ``k``, where ``k`` runs through the steps coprime to their number. With
        step ``k`` each one follows the one ``k`` places before it, so over the rounds each
        follows each of the others (with 5 implementations: all 4 in any 5 rounds)."""
        n = len(self.libs)
        steps = [k for k in range(1, n) if math.gcd(k, n) == 1] or [1]
        k = steps[round_no % len(steps)]
        return [self.libs[(round_no + k * j) % n] for j in range(n)]

    def _short(self, results: dict[str, Result], calls: dict[str, Any]) -> bool:
        """Whether an implementation still running has been timed for less than ``min_time`` seconds."""
        return any(sum(r.samples) < self.min_time for name, r in results.items() if name in calls and not r.error)

    @staticmethod
    def _time(lib: Lib, results: dict[str, Result], calls: dict[str, Any],
              before: Callable[[Lib], None] | None) -> None:
        """One timing of ``lib``'s call, kept in its result (or its failure)."""
        res = results[lib.name]
        if lib.name not in calls or res.error:
            return
        fn, _ = calls[lib.name]
        try:
            with lib.context():
                if before is not None:
                    before(lib)
                secs, value = timed(fn)
            res.samples.append(secs)
            res.seconds = min(res.samples)
            res.value = value
        except Exception as e:
            results[lib.name] = _failed(lib, e)


def _failed(lib: Lib, e: BaseException) -> Result:
    # one failing peer must not stop the whole run
    print(f"    ! {lib.name}: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
    return Result(error=f"{type(e).__name__}: {e}")


def read_op(path: str, data: np.ndarray, selection: Any = Ellipsis, times: int = 1):
    """A prepare function: open once, then time ``times`` reads of ``selection``."""
    expected = data[selection]

    def prepare(lib: Lib) -> tuple[Callable[[], Any], Callable[[Any], bool]]:
        handle = lib.open(path)
        lib.read(handle, selection)  # warm up: imports, thread pools, caches of the implementation

        def call() -> Any:
            got = None
            for _ in range(times):
                got = lib.read(handle, selection)
            return got

        return call, lambda got: np.array_equal(np.asarray(got), expected)

    return prepare


#: arrays of at least this many chunks are deleted only when the run ends (see :func:`discard`)
MANY_FILES = 1000


def discard(path: str, layout: Layout) -> None:
    """Delete a written array now if it has few chunks; one of many chunks stays until the run ends.

    On ext4 without a journal (this machine's system disk), allocating an inode skips, one by one,
    every inode freed in the last 60 seconds, or 300 while its inode table block is unwritten (the
    kernel's ``recently_deleted``). Right after 10,000 chunk files were deleted, creating a file took
    0.3-1 ms instead of ~0.05 (60 % of a create loop's time was in that scan, per ``perf``), and
    whichever implementation wrote next paid for it. So no run deletes thousands of files between
    two timed writes; runs started less than five minutes after one another still pay for the
    deletions at the end of the first (the new files dirty the inode-table blocks of the deleted
    ones, which keeps those in the 300-second window).
    """
    if layout.nchunks < MANY_FILES:
        shutil.rmtree(path, ignore_errors=True)


def write_op(root: str, data: np.ndarray, layout: Layout):
    """``(prepare, before)``: time creating and writing the whole array, into a new directory each
    time; check the last copy by reading it back. Each implementation's previous copy is
    :func:`discard`-ed before its next write."""
    import zarrconv as zc

    written: dict[str, list[str]] = {}

    def prepare(lib: Lib) -> tuple[Callable[[], Any], Callable[[Any], bool]]:
        paths = written.setdefault(lib.name, [])

        def call() -> str:
            paths.append(os.path.join(root, f"out-{lib.name}-{len(paths)}"))
            lib.write(paths[-1], data, layout)
            return paths[-1]

        def check(path: str) -> bool:
            ok = np.array_equal(zc.open_array(path, mode="r")[...], data)
            discard(path, layout)
            return ok

        return call, check

    def before(lib: Lib) -> None:
        for path in written.get(lib.name, []):
            discard(path, layout)

    return prepare, before


# -- peak memory (subprocess) --------------------------------------------------------------

def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM peak).

    VmHWM belongs to the process's own address space, so unlike ``ru_maxrss`` it does not
    inherit the (large) peak of the benchmark process that started this one.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memprobe(lib_name: str, path: str, threads: int | None) -> None:
    """Child process: open, then read ``path`` whole; print the extra peak memory as JSON."""
    lib = lib_by_name(lib_name, threads)
    with lib.context():
        handle = lib.open(path)
        lib.read(handle, tuple(slice(0, 1) for _ in range(3)))  # warm up pools and imports
        gc.collect()
        before = _status_bytes("VmRSS")
        peak_before = _status_bytes("VmHWM")
        got = np.asarray(lib.read(handle))
        peak = _status_bytes("VmHWM")
    print(json.dumps({"extra": peak - before, "peak_before": peak_before, "result": got.nbytes}))


def measure_memory(lib: Lib, path: str, threads: int | None) -> Result:
    extra = ["--threads", str(threads)] if threads else []
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--memprobe", lib.name, path, *extra],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "memprobe failed")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return Result(info["extra"] / info["result"], extra=info)


# -- the run -------------------------------------------------------------------------------

class Table:
    """Rows of results by implementation name."""

    def __init__(self, libs: list[Lib]) -> None:
        self.libs = libs
        self.rows: list[tuple[str, dict[str, Result]]] = []

    def add(self, label: str, results: dict[str, Result]) -> None:
        self.rows.append((label, results))

    def get(self, label: str) -> dict[str, Result]:
        for lab, res in self.rows:
            if lab == label:
                return res
        return {}


def run(args: argparse.Namespace) -> Table:
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (1 if args.quick else 3)
    min_time = 0.0 if args.quick else args.min_time
    libs = [lib for lib in all_libs(args.threads) if lib.available() and (not args.libs or lib.name in args.libs)]
    skipped = [lib.name for lib in all_libs() if not lib.available()]
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}", file=sys.stderr)
    table = Table(libs)
    runner = Runner(libs, repeat, min_time)
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
    root = tempfile.mkdtemp(prefix="zarrconv-bench-", dir=args.dir)
    cases = set(args.cases or CASES)
    zarrconv = lib_by_name("zarrconv", args.threads)
    try:
        def source(name: str, layout: Layout) -> tuple[str, np.ndarray]:
            data = make_data(layout)
            path = os.path.join(root, name)
            zarrconv.write(path, data, layout)  # the shared file every implementation reads
            return path, data

        def rw_case(name: str, title: str, layout: Layout, reads: bool = True, writes: bool = True) -> str:
            path, data = source(name, layout)
            if reads:
                table.add(f"{title} read", runner.run(f"{title} read", read_op(path, data)))
            if writes:
                table.add(f"{title} write", runner.run(f"{title} write", *write_op(root, data, layout)))
            return path

        if "dense" in cases or "memory" in cases:
            d = sizes.dense
            title = f"dense {_mib(d)} {d.dtype} {_shape(d.chunks)} zstd"
            path = rw_case("dense", title, d, reads="dense" in cases, writes="dense" in cases)
            if "memory" in cases:
                label = "memory: peak extra / result size (dense full read)"
                print(f"  {label}", file=sys.stderr, flush=True)
                res = {}
                for lib in libs[:1] if args.quick else libs:  # a subprocess each: only zarrconv when quick
                    try:
                        res[lib.name] = measure_memory(lib, path, args.threads)
                    except Exception as e:
                        res[lib.name] = _failed(lib, e)
                table.add(label, res)
            discard(path, d)
        if "many" in cases or "one" in cases:
            m = sizes.many
            title = f"{m.nchunks} chunks {_shape(m.chunks)} {m.dtype} zstd"
            path, data = source("many", m)
            if "many" in cases:
                label = f"{title} read"
                table.add(label, runner.run(label, read_op(path, data)))
                label = f"{title} write"
                table.add(label, runner.run(label, *write_op(root, data, m)))
            if "one" in cases:
                label = f"{sizes.one_reads} reads of one {_shape(m.chunks)} chunk"
                sel = tuple(slice(0, c) for c in m.chunks)
                table.add(label, runner.run(label, read_op(path, data, sel, sizes.one_reads)))
        if "tiny" in cases:
            t = sizes.tiny
            rw_case("tiny", f"{t.nchunks} chunks {_shape(t.chunks)} {t.dtype} zstd", t)
        if "sharded" in cases:
            s = sizes.sharded
            path = rw_case("sharded", f"sharded {_mib(s)} inner {_shape(s.chunks)} shards {_shape(s.shards)}", s)
            discard(path, s)
        if "scaling" in cases:
            wanted = args.scaling_libs or ["zarrconv", "zarr-zarrs", "tensorstore"]
            runner = Runner([lib for lib in libs if "all" in wanted or lib.name in wanted], min(repeat, 2))
            for f in sizes.scaling_factors:
                lay = scaled(sizes.scaling_base, f)
                rw_case(f"scale{f}", f"scaling x{f}: {lay.nchunks} chunks {_shape(lay.chunks)}", lay)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return table


def _mib(layout: Layout) -> str:
    return f"{layout.nbytes / 2**20:g} MiB"


def _shape(shape: tuple[int, ...] | None) -> str:
    return "x".join(map(str, shape or ()))


# -- reporting -----------------------------------------------------------------------------

def zarr_best(res: dict[str, Result]) -> float | None:
    times = [res[n].seconds for n in ZARR_OWN if n in res and res[n].seconds is not None and not res[n].wrong]
    return min(times) if times else None


def fmt_table(table: Table) -> str:
    names = [lib.name for lib in table.libs]
    lines = ["| case | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, res in table.rows:
        cells = [res[n].cell() if n in res else "-" for n in names]
        unit = "x result" if label.startswith("memory") else "s"
        lines.append(f"| {label} ({unit}) | " + " | ".join(cells) + " |")
    lines += ["", "Ratio: time of each implementation / time of zarrconv (above 1 = zarrconv is faster)", "",
              "| case | " + " | ".join(names[1:]) + " |", "|---|" + "---:|" * (len(names) - 1)]
    for label, res in table.rows:
        if label.startswith("memory"):
            continue
        ours = res.get("zarrconv")
        cells = []
        for n in names[1:]:
            r = res.get(n)
            ok = ours and ours.seconds and r and r.seconds and not r.wrong and not ours.wrong
            cells.append(f"{r.seconds / ours.seconds:.2f}" if ok else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _seconds(res: dict[str, Result], name: str) -> float | None:
    r = res.get(name)
    return None if r is None or r.wrong or r.seconds is None else r.seconds


def _check(out: list[str], what: str, ours: float | None, limit: float | None, factor: float = 1.0,
           peer: str = "", res: dict[str, Result] | None = None, name: str = "") -> None:
    """Append a PASS / NOISE (within 5 %) / MISS line: is ``ours`` (a best time) at most ``limit * factor``?
    With the row's results ``res`` and the peer's ``name``, the line also gives the ratio of the medians."""
    if ours is None or limit is None:
        out.append(f"- n/a   {what}")
        return
    ratio = ours / (limit * factor)
    verdict = "PASS" if ratio <= 1.0 else ("NOISE" if ratio <= 1.05 else "MISS")
    line = f"- {verdict:<5} {what}: zarrconv {ours:.3f}, bar {limit * factor:.3f} ({peer}); zarrconv/bar = {ratio:.2f}"
    ours_r, peer_r = (res or {}).get("zarrconv"), (res or {}).get(name)
    if ours_r and peer_r and ours_r.median and peer_r.median:
        line += f" (of the medians: {ours_r.median / (peer_r.median * factor):.2f})"
    out.append(line)


def bars_issue20(table: Table) -> list[str]:
    """The per-chunk bars of issue 20: small-chunk reads against tensorstore, small-chunk writes and
    sharded reads against zarr-python + zarrs."""
    out: list[str] = []
    t = _seconds
    for label, res in table.rows:
        ours = t(res, "zarrconv")
        if label.startswith("scaling") or "reads of one" in label or "chunks" not in label:
            if label.startswith("sharded") and label.endswith("read"):
                _check(out, f"{label} no slower than zarr-python + zarrs", ours, t(res, "zarr-zarrs"), peer="zarr-zarrs",
                       res=res, name="zarr-zarrs")
            continue
        small = " 32x32 " in label
        if label.endswith("read"):
            factor = 1.5 if small else 1.0
            _check(out, f"{label} within {factor:g}x of tensorstore", ours, t(res, "tensorstore"), factor,
                   f"{factor:g} x tensorstore", res, "tensorstore")
        else:
            _check(out, f"{label} no slower than zarr-python + zarrs", ours, t(res, "zarr-zarrs"), peer="zarr-zarrs",
                   res=res, name="zarr-zarrs")
    return out


def bars(table: Table) -> list[str]:
    """The performance bars of issues 2 and 4, checked against this run."""
    out: list[str] = []
    t = _seconds

    def check(what: str, ours: float | None, limit: float | None, factor: float = 1.0, peer: str = "") -> None:
        _check(out, what, ours, limit, factor, peer)

    for label, res in table.rows:
        ours = t(res, "zarrconv")
        if label.startswith("dense") or (label.startswith("sharded") and label.endswith("write")):
            check(f"{label} no slower than zarr-python", ours, zarr_best(res), peer="best zarr-python pipeline")
        elif label.startswith("sharded") and label.endswith("read"):
            check(f"{label} no slower than zarr-python", ours, zarr_best(res), peer="best zarr-python pipeline")
            check(f"{label} no slower than tensorstore", ours, t(res, "tensorstore"), peer="tensorstore")
        elif "chunks" in label and label.endswith("read") and not label.startswith("scaling") and " 32x32 " not in label:
            check(f"{label} within 1.5x of tensorstore", ours, t(res, "tensorstore"), 1.5, "1.5 x tensorstore")
            check(f"{label} 3x faster than zarr-python default", ours, t(res, "zarr-default"), 1 / 3,
                  "zarr-default / 3")
        elif "reads of one" in label:
            check(f"{label} within 1.5x of tensorstore", ours, t(res, "tensorstore"), 1.5, "1.5 x tensorstore")
        elif label.startswith("memory"):
            r = res.get("zarrconv")
            if r and r.seconds is not None:
                out.append(f"- {'PASS' if r.seconds < 1.5 else 'MISS':<5} {label}: {r.seconds:.2f} (bar < 1.5)")
    scaling = [(lab, res) for lab, res in table.rows if lab.startswith("scaling")]
    for op in ("read", "write"):
        rows = [(lab, res) for lab, res in scaling if lab.endswith(op)]
        if len(rows) < 2:
            continue
        per = []
        for lab, res in rows:
            n = int(lab.split(": ")[1].split()[0])
            s = t(res, "zarrconv")
            per.append((n, None if s is None else s / n * 1e6))
        base = per[0][1]
        curve = ", ".join(f"{n} chunks: {p:.1f} us/chunk" if p is not None else f"{n}: n/a" for n, p in per)
        worst = max((p for _, p in per[1:] if p is not None), default=None)
        if base is None or worst is None:
            out.append(f"- n/a   scaling {op}: {curve}")
        else:
            verdict = "PASS" if worst <= base * 1.1 else "MISS"
            out.append(f"- {verdict:<5} scaling {op} per chunk at most proportional (10% noise allowed): {curve}")
    return out


def machine(threads: int | None = None) -> str:
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), platform.processor())
    except OSError:
        cpu = platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}; {os.cpu_count()} cores; "
            f"{mem:.0f} GiB RAM; load average at start {load:.2f}; Python {platform.python_version()}; "
            f"threads: {threads or 'each implementation default'}")


def versions(libs: list[Lib]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("zarrconv", "zarr", "zarrs", "tensorstore", "numcodecs", "numpy"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            pass
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small arrays, one repeat: a smoke run of a few seconds")
    p.add_argument("--repeat", type=int, default=0, help="timings per case, best kept (default 3, quick 1)")
    p.add_argument("--min-time", type=float, default=1.0,
                   help="repeat short cases until each implementation was timed this many seconds (at most "
                        f"{Runner.MAX_ROUNDS} rounds; default 1; not with --quick)")
    p.add_argument("--cases", nargs="*", choices=CASES, help="run only these cases")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for every implementation (zarrconv's threads setting, zarr-python's "
                        "threading.max_workers, which the zarrs pipeline follows, tensorstore's data_copy_concurrency; "
                        "its file I/O concurrency stays its own); default: each one's own (the core count)")
    p.add_argument("--libs", nargs="*", help="run only these implementations (zarrconv is always needed)")
    p.add_argument("--scaling-libs", nargs="*",
                   help="implementations timed in the scaling case (default: zarrconv zarr-zarrs tensorstore; "
                        "'all' for every one)")
    p.add_argument("--dir", default=None, help="where to put the data (default: the system temp dir)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--memprobe", nargs=2, metavar=("LIB", "PATH"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memprobe:
        memprobe(*args.memprobe, args.threads)
        return 0
    if args.libs and "zarrconv" not in args.libs:
        args.libs = ["zarrconv", *args.libs]
    head = machine(args.threads)
    table = run(args)
    print(f"\n{head}\n{versions(table.libs)}\n")
    print(fmt_table(table))
    print("\nBars (issues 2 and 4):")
    for line in bars(table):
        print(line)
    print("\nBars (issue 20):")
    for line in bars_issue20(table):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": head, "rows": [
                {"case": lab, **{n: {"seconds": r.seconds, "median": r.median, "samples": r.samples,
                                     "wrong": r.wrong, "error": r.error, **r.extra}
                                 for n, r in res.items()}} for lab, res in table.rows]}, f, indent=1)
    wrong = [(lab, n) for lab, res in table.rows for n, r in res.items() if r.wrong]
    if wrong:
        print(f"\nWRONG results: {wrong}", file=sys.stderr)
    errors = [(lab, n) for lab, res in table.rows for n, r in res.items() if n == "zarrconv" and r.error]
    return 1 if wrong or errors else 0


if __name__ == "__main__":
    sys.exit(main())
