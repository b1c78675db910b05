"""The ``zarrconv`` argument parser and :func:`main`: parse, run the chosen command, map errors to exit codes.

Each command lives in a module of this package (``inspect``: info/tree, ``validate``, ``convert``,
``ome``, ``geo``) and is named here by ``handler=(module, function)``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import ContainsNodeError, ZarrconvError
from .common import EXIT_ERROR, EXIT_OK, parse_storage_options


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage-option", "-S", action="append", default=[], metavar="KEY=VALUE",
                        dest="storage_option",
                        help="fsspec option for remote URLs (repeatable; dotted keys nest, values are JSON "
                             "when they parse: -S anon=true -S client_kwargs.endpoint_url=http://...)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary lines")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``zarrconv`` command."""
    parser = argparse.ArgumentParser(
        prog="zarrconv", description="Inspect, validate and convert Zarr v2/v3 stores (OME-Zarr, GeoZarr).",
        epilog="Exit status: 0 ok, 1 validation problems, 2 errors.")
    parser.add_argument("--version", action="version", version=f"zarrconv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="format, shape, chunks, codecs, sizes and conventions of a node")
    p.add_argument("url", help="path or URL of an array or group")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(handler=("inspect", "cmd_info"))

    p = sub.add_parser("tree", help="the hierarchy with shapes, dtypes and chunks")
    p.add_argument("url")
    _common(p)
    p.set_defaults(handler=("inspect", "cmd_tree"))

    p = sub.add_parser("validate", help="check metadata against the spec and conventions (exit 1 on problems)")
    p.add_argument("url")
    p.add_argument("--data", action="store_true", help="also decode every stored chunk (finds corrupt chunks)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("--strict", action="store_true",
                   help="OME-Zarr: the specification's recommendations (SHOULD) are errors too, not warnings")
    _common(p)
    p.set_defaults(handler=("validate", "cmd_validate"))

    p = sub.add_parser("convert", help="copy with another format, chunking, sharding or compressor")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--zarr-format", type=int, choices=(2, 3), default=3, help="format of the copy (default 3)")
    p.add_argument("--chunks", help="chunk shape such as 64,256,256 (-1: whole axis; default: keep)")
    p.add_argument("--shards", help="shard shape (v3), a multiple of the chunks, or 'auto'")
    p.add_argument("--compressor", help="zstd, zstd:LEVEL, gzip[:LEVEL], blosc[:LEVEL] or none (default: keep)")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    p.add_argument("--no-consolidate", action="store_true", help="do not write consolidated metadata")
    _common(p)
    p.set_defaults(handler=("convert", "cmd_convert"))

    ome = sub.add_parser("ome", help="OME-Zarr (OME-NGFF) images").add_subparsers(
        dest="ome_command", required=True, metavar="COMMAND")
    p = ome.add_parser("pyramid", help="write a multiscale OME-Zarr image from a Zarr array or a TIFF")
    p.add_argument("src", help="a Zarr array (path/URL) or a .tif/.tiff file")
    p.add_argument("dst", help="the OME-Zarr image to write")
    p.add_argument("--path", help="the array inside SRC when SRC is a group")
    p.add_argument("--axes", help="axis names in order, such as czyx (default: the dimension names or the TIFF axes)")
    p.add_argument("--scale", help="physical pixel size per axis, such as 1,0.5,0.25,0.25")
    p.add_argument("--units", help="unit per axis, such as ,micrometer,micrometer,micrometer (empty: none)")
    p.add_argument("--levels", type=int, help="number of levels (default: until a level fits in one chunk)")
    p.add_argument("--downscale", type=int, default=2, help="factor between levels on spatial axes (default 2)")
    p.add_argument("--method", default="mean", choices=("mean", "gaussian", "nearest", "mode"))
    p.add_argument("--chunks", help="chunk shape of every level")
    p.add_argument("--shards", help="shard shape (0.5 / Zarr v3 only)")
    p.add_argument("--version", default="0.5", choices=("0.4", "0.5", "0.6"), help="OME-NGFF version (default 0.5)")
    p.add_argument("--name", help="image name stored in the metadata")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    _common(p)
    p.set_defaults(handler=("ome", "cmd_ome_pyramid"))
    p = ome.add_parser("transform", help="move points between coordinate systems of an OME-Zarr 0.6 hierarchy")
    p.add_argument("path", help="the OME-Zarr hierarchy (its root holds a scene or a multiscale image)")
    p.add_argument("source", help="name of the coordinate system the points are in")
    p.add_argument("target", help="name of the coordinate system to express them in")
    p.add_argument("coordinates", help="the points as a JSON array of arrays, such as '[[1, 2]]'")
    _common(p)
    p.set_defaults(handler=("ome", "cmd_ome_transform"))
    p = ome.add_parser("upgrade", help="rewrite OME-Zarr 0.4/0.5 metadata as 0.5/0.6 in place (chunks untouched)")
    p.add_argument("path", help="the OME-Zarr hierarchy (image, plate, bioformats2raw container)")
    p.add_argument("--to", default="0.6", choices=("0.5", "0.6"), help="target version (default 0.6)")
    _common(p)
    p.set_defaults(handler=("ome", "cmd_ome_upgrade"))

    geo = sub.add_parser("geo", help="georeferenced (GeoZarr / CF) data").add_subparsers(
        dest="geo_command", required=True, metavar="COMMAND")
    p = geo.add_parser("info", help="CRS, bounds and resolution of every georeferenced node")
    p.add_argument("url")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)
    p.set_defaults(handler=("geo", "cmd_geo_info"))
    return parser


def _command(args: argparse.Namespace) -> Callable[[argparse.Namespace], int]:
    """The function that runs the chosen command.

    Each command module imports its library at its top; only the chosen one is imported here, so
    that ``zarrconv info`` does not pay for importing xarray and pyproj (seconds) that ``ome`` and
    ``geo`` need.
    """
    module, function = args.handler
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, ContainsNodeError) and "--overwrite" not in text:
        text += " (on the command line: --overwrite)"
    return f"zarrconv: error: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``zarrconv`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.storage_options = parse_storage_options(args.storage_option)
        return int(_command(args)(args))
    except KeyboardInterrupt:
        print("zarrconv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (ZarrconvError, OSError, ValueError, TypeError, KeyError, ImportError) as e:
        if args.debug:
            traceback.print_exc()
        print(_one_line(e), file=sys.stderr)
        return EXIT_ERROR
