#!/usr/bin/env python
"""Time ``xr.open_dataset`` of a store of many small variables: engine="zarrconv" vs engine="zarr".

One store per Zarr format is written once by xarray's own zarr engine, with consolidated
metadata; both engines then open the same store in the same run (no dask: ``chunks=None``),
alternating, and the median of ``--repeat`` opens is reported. Every open is checked to give
the same Dataset (``xr.testing.assert_identical``) so a fast wrong answer cannot pass.
The bar: zarrconv at least 2x faster. ::

    python benchmarks/bench_xarray_open.py               # 500 variables, 15 opens each
    python benchmarks/bench_xarray_open.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

import zarrconv  # noqa: F401  (registers the engine's accessors; the engine itself is an entry point)


def make_store(path: Path, n_vars: int, zarr_format: int) -> xr.Dataset:
    """``n_vars`` small float/int variables with CF attributes, a time coordinate and an attribute-rich group."""
    rng = np.random.default_rng(0)
    data = {}
    for i in range(n_vars):
        dtype = ("f4", "f8", "i2", "i4")[i % 4]
        values = (rng.standard_normal((4, 3)) * 10).astype(dtype)
        data[f"var{i:04d}"] = (("time", "station"), values, {"units": "m", "long_name": f"variable {i}"})
    ds = xr.Dataset(
        data,
        coords={"time": np.arange(4) * 3600.0, "station": ["a", "b", "c"]},
        attrs={"title": "many small variables"},
    )
    ds["time"].attrs["units"] = "seconds since 2000-01-01"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(path, mode="w", zarr_format=zarr_format, consolidated=True)
    return ds


def time_open(path: Path, engine: str) -> tuple[float, xr.Dataset]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        ds = xr.open_dataset(path, engine=engine, chunks=None, consolidated=True)
        elapsed = time.perf_counter() - t0
    return elapsed, ds


def run(n_vars: int, repeat: int) -> dict:
    results: dict = {"n_vars": n_vars, "repeat": repeat, "formats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for zarr_format in (3, 2):
            path = Path(tmp) / f"many_v{zarr_format}.zarr"
            make_store(path, n_vars, zarr_format)
            times: dict[str, list[float]] = {"zarrconv": [], "zarr": []}
            for engine in times:  # warm up: imports, entry points, caches of both
                time_open(path, engine)
            for _ in range(repeat):
                for engine in times:
                    elapsed, ds = time_open(path, engine)
                    times[engine].append(elapsed)
                    if engine == "zarr":
                        reference = ds
                    else:
                        ours = ds
                xr.testing.assert_identical(ours, reference)
            med = {e: statistics.median(t) for e, t in times.items()}
            results["formats"][f"v{zarr_format}"] = {
                "zarrconv_s": med["zarrconv"], "zarr_s": med["zarr"], "speedup": med["zarr"] / med["zarrconv"],
            }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vars", type=int, default=500, help="number of variables (default 500)")
    parser.add_argument("--repeat", type=int, default=15, help="opens per engine (default 15)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    res = run(args.vars, args.repeat)
    print(f"xr.open_dataset of {res['n_vars']} small variables, consolidated, chunks=None "
          f"(median of {res['repeat']})")
    print(f"{'format':<8}{'zarrconv':>12}{'zarr':>12}{'speedup':>10}")
    ok = True
    for fmt, r in res["formats"].items():
        print(f"{fmt:<8}{r['zarrconv_s'] * 1e3:>10.1f}ms{r['zarr_s'] * 1e3:>10.1f}ms{r['speedup']:>9.2f}x")
        ok = ok and r["speedup"] >= 2.0
    print("bar (>= 2x faster):", "met" if ok else "NOT met")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
