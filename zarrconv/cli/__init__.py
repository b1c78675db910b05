"""The ``zarrconv`` command: inspect, validate, convert Zarr stores and build OME / geo products.

Subcommands::

    zarrconv info URL              what a node is: format, shape, chunks, codecs, sizes, conventions
    zarrconv tree URL              the hierarchy with shapes, dtypes and chunks
    zarrconv validate URL          spec and convention checks (--data decodes every chunk; --strict:
                                   OME-Zarr recommendations are errors, not warnings)
    zarrconv convert SRC DST       copy, rechunk, re-shard, re-compress, v2 <-> v3
    zarrconv ome pyramid SRC DST   an OME-Zarr multiscale image from a Zarr array or a TIFF
    zarrconv ome upgrade PATH --to V   OME-Zarr metadata 0.4 -> 0.5 -> 0.6 in place (no chunk touched)
    zarrconv ome transform PATH SOURCE TARGET COORDINATES
                                   points moved between coordinate systems (OME-Zarr 0.6)
    zarrconv geo info URL          CRS, bounds and resolution of every georeferenced node

Exit status: 0 on success, 1 when ``validate`` finds problems (or ``info`` / ``tree`` a member
whose own metadata is broken behind consolidated metadata), 2 on an error (one readable line on
stderr; ``--debug`` prints the traceback too).

Layout: ``main`` (the parser, dispatch, errors to exit codes), ``common`` (what commands share), and
one thin module per command group over library functions: ``inspect`` (info, tree), ``validate``,
``convert``, ``ome`` (pyramid, transform, upgrade), ``geo`` (info).
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
