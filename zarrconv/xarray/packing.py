"""CF packing written as Zarr codecs: the ``cf_packing="codecs"`` encoding of :func:`zarrconv.to_zarr`.

xarray packs a float variable whose encoding has ``scale_factor``/``add_offset`` and an integer
``dtype`` itself, and stores the integers with those attributes. With ``cf_packing="codecs"`` the
variable stays float in Zarr and the packing becomes the registry's ``scale_offset`` + ``cast_value``
codecs (NaN stored as the ``_FillValue`` when one is given): any Zarr v3 reader that knows those codecs
gets the floats back, and zarrconv shows the stored integers with ``decode_cf=False``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from ..codecs.cf_packing import packing_codecs
from ..errors import MetadataError


def packing_as_codecs(var: Any, name: Hashable, zarr_format: int) -> Any:
    """``var`` with its CF packing encoding turned into codec ``filters`` (unchanged without
    ``cf_packing`` in its encoding)."""
    mode = var.encoding.get("cf_packing")
    if mode is None:
        return var
    if mode != "codecs":
        raise MetadataError(f"variable {name!r}: encoding cf_packing {mode!r} must be 'codecs'")
    if zarr_format != 3:
        raise MetadataError(f"variable {name!r}: cf_packing='codecs' needs Zarr v3 (the codecs are v3 extensions)")
    if var.dtype.kind != "f":
        raise MetadataError(f"variable {name!r}: cf_packing packs floats, not {var.dtype}")
    enc = dict(var.encoding)
    del enc["cf_packing"]
    dtype = enc.pop("dtype", None)
    if dtype is None:
        raise MetadataError(f"variable {name!r}: cf_packing needs the integer dtype to pack into (encoding 'dtype')")
    packed_fill = enc.pop("_FillValue", None)
    codecs = packing_codecs(enc.pop("scale_factor", None), enc.pop("add_offset", None), dtype, packed_fill)
    enc["filters"] = [*codecs, *(enc.get("filters") or [])]
    enc["fill_value"] = var.dtype.type(np.nan if packed_fill is not None else 0)
    out = var.copy(deep=False)
    out.encoding = enc
    return out
