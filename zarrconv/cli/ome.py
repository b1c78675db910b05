"""``zarrconv ome pyramid | transform | upgrade``: OME-Zarr images from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..conventions import ome
from ..conventions.ome.tiff import read_tiff
from ..conventions.ome.upgrade import upgrade
from ..core import open as open_node_at
from ..errors import NodeNotFoundError, ZarrconvError
from .common import EXIT_ERROR, EXIT_OK, is_remote, options_for, parse_shape_option, shape_str


def _read_pyramid_source(src: str, path: str | None,
                         options: dict[str, Any]) -> tuple[Any, tuple[str, ...] | None, dict[str, Any]]:
    """The image to downsample (numpy for a TIFF, dask over the Zarr array otherwise), its
    axis names, and what a TIFF's metadata says: ``scale``/``units`` by axis name, ``channels``."""
    if src.lower().endswith((".tif", ".tiff")) and not is_remote(src):
        image = read_tiff(src)
        found: dict[str, Any] = {"scale": image.scale, "units": image.units}
        if image.channels is not None:
            found["channels"] = image.channels
        return image.data, image.axes, found
    array = open_node_at(src, path, mode="r", storage_options=options_for(src, options))
    if hasattr(array, "members"):
        inner = sorted(k for k, v in array.members(max_depth=None) if not hasattr(v, "members"))
        listed = ", ".join(inner[:6]) + (", ..." if len(inner) > 6 else "") if inner else "none"
        raise NodeNotFoundError(f"{src}{'/' + path if path else ''} is a group, not an array: choose the array "
                                f"to downsample with --path (arrays in it: {listed})")
    names = tuple(array.dimension_names) if array.dimension_names and all(array.dimension_names) else None
    try:  # dask is optional (the [dask] extra): without it the level is read whole
        import dask.array as da
    except ImportError:
        return array[...], names, {}
    return da.from_array(array, chunks=array.shards or array.chunks, asarray=True), names, {}


def cmd_ome_pyramid(args: argparse.Namespace) -> int:
    """``zarrconv ome pyramid SRC DST``."""
    data, names, found = _read_pyramid_source(args.src, args.path, args.storage_options)
    axes = tuple(args.axes) if args.axes else names
    kwargs: dict[str, Any] = {"method": args.method, "version": args.version, "downscale": args.downscale}
    if axes:
        kwargs["axes"] = list(axes)
        # the TIFF's physical sizes and channels; --scale/--units below take precedence
        for key in ("scale", "units"):
            by_axis = {a: v for a, v in found.get(key, {}).items() if a in axes}
            if by_axis:
                kwargs[key] = by_axis
    if "channels" in found:
        kwargs["channels"] = found["channels"]
    if args.levels is not None:
        kwargs["levels"] = args.levels
    if args.scale:
        kwargs["scale"] = [float(s) for s in args.scale.split(",")]
    if args.units:
        kwargs["units"] = [u or None for u in args.units.split(",")]
    if args.chunks:
        kwargs["chunks"] = parse_shape_option(args.chunks, "--chunks")
    if args.shards:
        kwargs["shards"] = parse_shape_option(args.shards, "--shards")
    if args.name:
        kwargs["name"] = args.name
    dst_opts = options_for(args.dst, args.storage_options)
    group = ome.write_image(data, args.dst, overwrite=args.overwrite, storage_options=dst_opts, **kwargs)
    if not args.quiet:
        levels = [(k, v) for k, v in group.members() if not hasattr(v, "members")]
        shapes = ", ".join(f"{k}: {shape_str(v.shape)}" for k, v in levels)
        print(f"wrote OME-Zarr {args.version} pyramid {args.dst} with {len(levels)} levels ({shapes})")
    return EXIT_OK


def cmd_ome_transform(args: argparse.Namespace) -> int:
    """``zarrconv ome transform PATH SOURCE TARGET COORDINATES`` (the RFC-5 conformance
    "dingus" contract): prints ``{"coordinates": [...]}``, or ``{"message": ...}`` and exits
    non-zero when the points cannot be transformed."""
    try:
        points = json.loads(args.coordinates)
        out = ome.transform_coordinates(args.path, args.source, args.target, points,
                                        storage_options=args.storage_options)
    except (ZarrconvError, ValueError) as e:
        print(json.dumps({"message": " ".join(str(e).split())}))
        return EXIT_ERROR
    print(json.dumps({"coordinates": out.tolist()}))
    return EXIT_OK


def cmd_ome_upgrade(args: argparse.Namespace) -> int:
    """``zarrconv ome upgrade PATH --to 0.5|0.6``."""
    done = upgrade(args.path, args.to, storage_options=args.storage_options)
    if not done:
        print(f"{args.path}: already OME-Zarr {args.to}; nothing to do")
    for rel in done:
        print(f"upgraded {args.path.rstrip('/')}/{rel}".rstrip("/") + f" to OME-Zarr {args.to}")
    return EXIT_OK
