#!/usr/bin/env python
"""Write an OME-Zarr 0.5 pyramid with zarrconv, ome-zarr-py and ngff-zarr, in one run.

The input is a lazily generated dask array (uint16, 3-D, chunks 64 x 256 x 256; 1 GiB by
default), the output a 5-level 0.5 pyramid with the same chunks, downsampled by 2 along
z, y and x at each level by block averaging (zarrconv "mean", ome-zarr-py "local_mean",
ngff-zarr "itkwasm_bin_shrink") and zstd-compressed. Each implementation runs in a fresh
subprocess that reports its wall time and peak resident memory (``ru_maxrss``); the
parent then checks every output with zarrconv (level shapes, level-0 pixels).

    python benchmarks/bench_ome.py                   # 1 GiB (takes minutes: ask first)
    python benchmarks/bench_ome.py --size 64MiB      # quick check
    python benchmarks/bench_ome.py --only zarrconv --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

CHUNKS = (64, 256, 256)
LEVELS = 5
#: Isotropic voxels, so that every tool halves z, y and x at every level (zarrconv would
#: keep z while it is coarser than y and x).
SCALE = {"z": 0.5, "y": 0.5, "x": 0.5}
TOOLS = ("zarrconv", "ome-zarr-py", "ngff-zarr")


# ------------------------------------------------------------------------------- input


def parse_size(text: str) -> int:
    """"1GiB", "256MiB", "64M", "1e9" -> bytes."""
    m = re.fullmatch(r"\s*([0-9.e+]+)\s*([KMGT]?)(i?B?)\s*", text, flags=re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"cannot parse size {text!r}")
    value = float(m.group(1))
    unit = m.group(2).upper()
    mult = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[unit]
    return int(value * mult)


def image_shape(nbytes: int) -> tuple[int, int, int]:
    """A 3-D uint16 shape of about ``nbytes``: z : y : x = 1 : 2 : 2, whole chunks when
    large (1 GiB gives 512 x 1024 x 1024)."""
    voxels = nbytes // 2
    z = max(1, round((voxels / 4) ** (1 / 3)))
    y = x = max(1, round((voxels / z) ** 0.5))
    return (z, y, x)


_NOISE: dict[str, np.ndarray] = {}


def _noise() -> np.ndarray:
    if "n" not in _NOISE:
        _NOISE["n"] = np.random.default_rng(0).integers(0, 1024, size=CHUNKS, dtype=np.uint16)
    return _NOISE["n"]


def make_input(shape: tuple[int, int, int]) -> Any:
    """Deterministic lazy test image: 10-bit noise (one chunk-sized block, reused) plus a
    different offset per chunk, made chunk by chunk so that generating it costs little
    next to the pyramid (every tool pays the same)."""
    import dask.array as da

    def block(block_info: Any = None) -> np.ndarray:
        info = block_info[None]
        (z0, z1), (y0, y1), (x0, x1) = info["array-location"]
        cz, cy, cx = info["chunk-location"]
        out = _noise()[: z1 - z0, : y1 - y0, : x1 - x0].copy()
        out += np.uint16((cz * 701 + cy * 331 + cx * 97) % 3000)
        return out

    chunks = tuple(min(c, n) for c, n in zip(CHUNKS, shape))
    return da.map_blocks(block, dtype=np.uint16, chunks=da.core.normalize_chunks(chunks, shape))


# ------------------------------------------------------------------------------ writers


def write_zarrconv(x: Any, path: str) -> None:
    from zarrconv.conventions import ome

    ome.write_image(x, path, axes="zyx", levels=LEVELS, chunks=CHUNKS, method="mean", version="0.5",
                    scale=list(SCALE.values()), units=["micrometer"] * 3)


def write_ome_zarr_py(x: Any, path: str) -> None:
    import zarr
    from ome_zarr.format import FormatV05
    from ome_zarr.scale import Methods
    from ome_zarr.writer import write_image

    root = zarr.open_group(path, mode="w", zarr_format=3)
    factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, LEVELS)]
    write_image(x, root, axes="zyx", fmt=FormatV05(), scale_factors=factors, method=Methods.LOCAL_MEAN,
                storage_options={"chunks": CHUNKS}, scale=SCALE,
                axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})


def write_ngff_zarr(x: Any, path: str) -> None:
    import ngff_zarr as nz

    image = nz.to_ngff_image(x, dims=["z", "y", "x"], scale=SCALE,
                             axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})
    ms = nz.to_multiscales(image, scale_factors=[2**k for k in range(1, LEVELS)],
                           method=nz.Methods.ITKWASM_BIN_SHRINK, chunks=CHUNKS)
    nz.to_ngff_zarr(path, ms, version="0.5")


WRITERS = {"zarrconv": write_zarrconv, "ome-zarr-py": write_ome_zarr_py, "ngff-zarr": write_ngff_zarr}


IMPORTS = {"zarrconv": ["zarrconv.conventions.ome"],
           "ome-zarr-py": ["zarr", "ome_zarr.writer", "ome_zarr.scale", "ome_zarr.format"],
           "ngff-zarr": ["ngff_zarr"]}


def child(tool: str, nbytes: int, path: str) -> None:
    """Subprocess body: import the tool (not timed), write, then print one JSON line with
    the measurements."""
    import importlib

    for mod in IMPORTS[tool]:
        importlib.import_module(mod)
    shape = image_shape(nbytes)
    x = make_input(shape)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    WRITERS[tool](x, path)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"tool": tool, "seconds": seconds, "peak_rss_mib": peak / 1024,
                      "rss_before_mib": rss0 / 1024, "shape": shape}))


# ------------------------------------------------------------------------------- parent


def check_output(path: str, nbytes: int) -> dict[str, Any]:
    """Read the pyramid back with zarrconv: level shapes, codecs, level-0 sample."""
    import zarrconv as zc
    from zarrconv.conventions import ome

    g = zc.open_group(path, mode="r")
    md = ome.read_metadata(g)
    ms = md.multiscales[0]
    shapes = [tuple(g[p].shape) for p in ms.paths]
    first = g[ms.paths[0]]
    shape = image_shape(nbytes)
    x = make_input(shape)
    sl = tuple(slice(0, min(64, n)) for n in shape)
    same = bool(np.array_equal(first[sl], x[sl].compute()))
    return {"levels": shapes, "level0_chunks": tuple(first.chunks), "compressors": list(first.compressors),
            "level0_sample_equal": same, "problems": ome.validate(path)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=parse_size, default=2**30, help="input size (default 1GiB)")
    ap.add_argument("--only", choices=TOOLS, action="append", help="run only these tools")
    ap.add_argument("--dir", help="where to write (default: a temporary directory, removed after)")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.size, args.out)
        return 0

    shape = image_shape(args.size)
    nbytes = int(np.prod(shape)) * 2
    tools = args.only or list(TOOLS)
    work = args.dir or tempfile.mkdtemp(prefix="bench_ome_")
    print(f"input: uint16 {shape} = {nbytes / 2**20:.0f} MiB, chunks {CHUNKS}, {LEVELS}-level OME-Zarr 0.5 "
          f"pyramid; {os.cpu_count()} CPUs, Python {platform.python_version()}")
    results = []
    try:
        for tool in tools:
            out = os.path.join(work, f"{tool}.ome.zarr")
            shutil.rmtree(out, ignore_errors=True)
            cmd = [sys.executable, os.path.abspath(__file__), "--child", tool, "--size", str(args.size), "--out", out]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{tool:12s} FAILED\n{proc.stderr[-2000:]}")
                results.append({"tool": tool, "error": proc.stderr[-2000:]})
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res.update(check_output(out, args.size))
            results.append(res)
            ok = "ok" if res["level0_sample_equal"] and len(res["levels"]) == LEVELS else "WRONG"
            print(f"{tool:12s} {res['seconds']:8.2f} s   peak RSS {res['peak_rss_mib']:8.0f} MiB   "
                  f"levels {len(res['levels'])} {ok}   smallest {res['levels'][-1]}   "
                  f"codecs {[c.get('name', c.get('id')) for c in res['compressors']]}"
                  + (f"   validate: {len(res['problems'])} problem(s)" if res["problems"] else ""))
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": shape, "chunks": CHUNKS, "levels": LEVELS, "results": results}, f, indent=2,
                      default=str)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
