"""The ``omero`` rendering metadata written with an image: channel labels, colours and
display windows (from the smallest level, when it is small enough to read in passing)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from zarrconv.errors import MetadataError

from ..models import Axis, Channel, Omero, Window, namespaced

__all__ = ["omero"]

#: The omero display window is computed from the smallest level only if it is this small.
_WINDOW_BYTES = 64 * 2**20
_DEFAULT_COLORS = ("FF0000", "00FF00", "0000FF", "FFFF00", "FF00FF", "00FFFF", "FFFFFF")


def _channel(spec: Any, default: Channel) -> Channel:
    """The channel ``spec`` (a label, a channel dict or a Channel) describes, over ``default``."""
    if isinstance(spec, str):
        default.label = spec
    elif isinstance(spec, Mapping):
        default.update_from(Channel.parse(spec, "channels"))
    elif isinstance(spec, Channel):
        return spec
    return default


def omero(axes: list[Axis], smallest_level: Any, channels: Any, dtype: np.dtype, version: str) -> Omero | None:
    """The ``omero`` metadata of an image whose smallest level is ``smallest_level`` (numpy or a
    zarrconv Array), with ``channels`` (labels or channel dicts, one per channel); None for an
    image without a channel axis when no channels are given."""
    cidx = next((i for i, a in enumerate(axes) if a.type == "channel"), None)
    if cidx is None and channels is None:
        return None
    n = smallest_level.shape[cidx] if cidx is not None else 1
    # display windows from the smallest level, if it is small enough to read in passing
    small = math.prod(smallest_level.shape) * dtype.itemsize <= _WINDOW_BYTES
    smallest = np.asarray(smallest_level[...]) if small else np.empty((0,) * len(axes), dtype=dtype)
    specs: list[Any] = list(channels) if channels is not None else [None] * n
    if len(specs) != n:
        raise MetadataError(f"{len(specs)} channels given for a channel axis of length {n}")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo_all, hi_all = float(info.min), float(info.max)
    else:
        lo_all = float(np.nanmin(smallest)) if smallest.size and dtype.kind == "f" else 0.0
        hi_all = float(np.nanmax(smallest)) if smallest.size and dtype.kind == "f" else 1.0
    out = []
    for k, spec in enumerate(specs):
        plane = np.take(smallest, k, axis=cidx) if cidx is not None and smallest.size else smallest
        if plane.size and dtype.kind in "iuf":
            start, end = float(np.nanmin(plane)), float(np.nanmax(plane))
        else:
            start, end = lo_all, hi_all
        ch = Channel(label=f"c{k}" if cidx is not None else "c0", color=_DEFAULT_COLORS[k % len(_DEFAULT_COLORS)]
                     if n > 1 else "FFFFFF", window=Window(start, end, min(lo_all, start), max(hi_all, end)),
                     active=True, family="linear", coefficient=1.0, inverted=False)
        out.append(_channel(spec, ch))
    z = next((i for i, a in enumerate(axes) if a.type == "space" and len([b for b in axes if b.type == "space"]) == 3), None)
    rdefs = {"defaultT": 0, "model": "color" if n > 1 else "greyscale"}
    if z is not None:
        rdefs["defaultZ"] = int(smallest_level.shape[z] // 2)
    return Omero(channels=out, rdefs=rdefs, version=None if namespaced(version) else version)
