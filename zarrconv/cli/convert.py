"""``zarrconv convert``: copy a store with another format, chunking, sharding or compressor."""

from __future__ import annotations

import argparse
from typing import Any

from ..codecs import codec_from_json
from ..convert import convert
from .common import EXIT_OK, Progress, options_for, parse_shape_option


def parse_compressor_option(value: str | None) -> Any:
    """``zstd``, ``zstd:5`` (level), ``gzip:6``, ``blosc``, ``blosc:9`` or ``none`` as what
    ``zc.convert`` takes as ``compressors``: a codec name, a codec with that level, or no codec."""
    if value is None:
        return None
    name, _, level = value.partition(":")
    name = name.strip().lower()
    if name in ("none", "null", ""):
        return []
    if not level:
        return name
    try:
        lvl = int(level)
    except ValueError:
        raise ValueError(f"compressor level in {value!r} must be an integer") from None
    if name in ("zstd", "gzip", "blosc"):  # the codec class fills in its own defaults for the rest
        return codec_from_json({"name": name, "configuration": {"clevel" if name == "blosc" else "level": lvl}})
    raise ValueError(f"compressor {name!r} takes no level here; use zstd, gzip or blosc with ':LEVEL'")


def convert_store(src_url: str, dst_url: str, *, zarr_format: int = 3, chunks: Any = None, shards: Any = None,
                  compressor: Any = None, overwrite: bool = False, consolidate: bool = True,
                  storage_options: dict[str, Any] | None = None, progress: bool = False) -> int:
    """:func:`zarrconv.convert` with the command's storage options and progress bar.

    Returns the number of blocks copied. ``compressor`` is what ``zc.convert`` takes as
    ``compressors`` (see :func:`parse_compressor_option`).
    """
    options = storage_options or {}
    state = {"done": 0, "total": 0}
    bars: list[Progress] = []

    def report(done: int, total: int) -> None:
        if not bars:  # the first call, before any block is copied, tells the total
            bars.append(Progress(progress, total, "copying", unit="block"))
        bars[0].update(done - state["done"])
        state.update(done=done, total=total)

    try:
        convert(src_url, dst_url, zarr_format=zarr_format, chunks=chunks, shards=shards, compressors=compressor,
                   overwrite=overwrite, consolidated=consolidate, progress=report,
                   storage_options=options_for(src_url, options), dst_storage_options=options_for(dst_url, options))
    finally:
        for bar in bars:
            bar.close()
    return state["total"]


def cmd_convert(args: argparse.Namespace) -> int:
    """``zarrconv convert SRC DST``."""
    n = convert_store(args.src, args.dst, zarr_format=args.zarr_format,
                      chunks=parse_shape_option(args.chunks, "--chunks"),
                      shards=parse_shape_option(args.shards, "--shards"),
                      compressor=parse_compressor_option(args.compressor), overwrite=args.overwrite,
                      consolidate=not args.no_consolidate, storage_options=args.storage_options,
                      progress=not args.quiet)
    if not args.quiet:
        print(f"converted {args.src} -> {args.dst} (Zarr v{args.zarr_format}, {n} blocks copied)")
    return EXIT_OK
