"""``zarrconv geo info``: CRS, bounds and resolution of every georeferenced node."""

from __future__ import annotations

import argparse
import json
from typing import Any

import xarray as xr

from ..conventions import geo
from .common import EXIT_OK, options_for


def _open_tree(url: str, options: dict[str, Any]) -> Any:
    engine = "zarrconv" if "zarrconv" in xr.backends.list_engines() else "zarr"
    kwargs: dict[str, Any] = {"engine": engine, "decode_times": False}
    if options_for(url, options):
        kwargs["storage_options"] = options_for(url, options)
    return xr.open_datatree(url, **kwargs)


def cmd_geo_info(args: argparse.Namespace) -> int:
    """``zarrconv geo info URL``."""
    facts = geo.describe(_open_tree(args.url, args.storage_options))
    if args.json:
        print(json.dumps({"url": args.url, "nodes": facts}, indent=2))
        return EXIT_OK
    if not facts:
        print(f"{args.url}: no georeferenced variables found (no CRS and no regular x/y coordinates)")
        return EXIT_OK
    for f in facts:
        print(f"{f['path']}  {', '.join(f['variables'])}")
        crs = f["crs"] or "unknown"
        print(f"  crs:         {crs}" + (f" ({f['crs_code']})" if f["crs_code"] else ""))
        if f["resolution"]:
            unit = f" {f['units']}" if f["units"] else ""
            print(f"  resolution:  {f['resolution'][0]:g} x {f['resolution'][1]:g}{unit}")
        if f["bounds"]:
            print("  bounds:      " + ", ".join(f"{b:.10g}" for b in f["bounds"]) + "  (xmin, ymin, xmax, ymax)")
        if f["transform"]:
            print("  transform:   " + ", ".join(f"{t:.10g}" for t in f["transform"]) + "  (a, b, c, d, e, f)")
        print("  size:        " + ", ".join(f"{k}={v}" for k, v in f["sizes"].items()))
    return EXIT_OK
