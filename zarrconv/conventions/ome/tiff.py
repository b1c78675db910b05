"""Read a TIFF with its physical metadata, for ``zarrconv ome pyramid vol.tif``.

A microscope TIFF says how large its pixels are in one of three ways, read in this order
(the first that gives a value for an axis wins):

* OME-XML (OME-TIFF): ``Pixels`` attributes ``PhysicalSizeX/Y/Z`` with
  ``PhysicalSize*Unit`` (default micrometer) and ``TimeIncrement`` with its unit (default
  second); ``Channel`` elements give names and colours (a signed 32-bit RGBA integer).
* ImageJ hyperstacks: the ``spacing`` (z) and ``finterval`` (t) entries and the ``unit``
  of the ImageJ description, x and y from the resolution tags in that unit; channel
  colours from the LUTs.
* Baseline TIFF resolution tags: ``XResolution``/``YResolution`` (pixels per unit) with
  ``ResolutionUnit`` inch or centimeter.

Reading needs ``tifffile`` (an optional dependency of the command line).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zarrconv.errors import MetadataError

from ._units import normalize_unit

__all__ = ["TiffImage", "read_tiff"]

#: TIFF ResolutionUnit values and the length of their unit in micrometers.
_RESOLUTION_UNITS = {2: 25400.0, 3: 10000.0}


@dataclass
class TiffImage:
    """The pixels of a TIFF's first series and what it says about them.

    Attributes
    ----------
    data
        The pixels, a numpy array.
    axes
        One lower-case name per dimension in the order t, c, z, y, x (TIFF samples become
        c; the pixels are transposed to that order), or None when the TIFF's axes are not
        all distinct letters of those (the pixels are then as stored).
    scale, units
        Pixel size and unit per axis name, only for the axes the file describes.
    channels
        One ``{"label": ..., "color": "RRGGBB"}`` dict per channel (keys only when known),
        or None when the file names no channel.
    """

    data: np.ndarray
    axes: tuple[str, ...] | None
    scale: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    channels: list[dict[str, Any]] | None = None


def _unit(value: str | None, axis_type: str, where: str) -> str:
    """The specification's spelling of a unit found in a TIFF ("µm", "micron", "um")."""
    try:
        unit = normalize_unit(value, axis_type)
    except ValueError as e:
        raise MetadataError(f"{where}: {e}") from None
    assert unit is not None
    return unit


def _ome_color(value: str) -> str:
    """OME-XML Color (signed 32-bit RGBA integer) as "RRGGBB"."""
    rgba = int(value) & 0xFFFFFFFF
    return f"{rgba >> 24:02X}{(rgba >> 16) & 0xFF:02X}{(rgba >> 8) & 0xFF:02X}"


def _from_ome_xml(xml: str, out: TiffImage, where: str) -> None:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise MetadataError(f"{where}: unreadable OME-XML ({e})") from None
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return
    for axis in "xyz":
        size = pixels.get(f"PhysicalSize{axis.upper()}")
        if size is not None:
            out.scale.setdefault(axis, float(size))
            out.units.setdefault(axis, _unit(pixels.get(f"PhysicalSize{axis.upper()}Unit", "µm"), "space", where))
    if pixels.get("TimeIncrement") is not None:
        out.scale.setdefault("t", float(pixels.get("TimeIncrement", "")))
        out.units.setdefault("t", _unit(pixels.get("TimeIncrementUnit", "s"), "time", where))
    channels = [el for el in pixels if el.tag.rsplit("}", 1)[-1] == "Channel"]
    if channels and any(ch.get("Name") or ch.get("Color") for ch in channels):
        out.channels = []
        for ch in channels:
            spec: dict[str, Any] = {}
            if ch.get("Name"):
                spec["label"] = ch.get("Name")
            if ch.get("Color"):
                spec["color"] = _ome_color(ch.get("Color", ""))
            out.channels.append(spec)


def _resolution(page: Any) -> tuple[float, float] | None:
    """Pixels per unit along x and y from the resolution tags, if both are set."""
    values = []
    for name in ("XResolution", "YResolution"):
        tag = page.tags.get(name)
        if tag is None:
            return None
        num, den = tag.value
        if not num or not den:
            return None
        values.append(num / den)
    return values[0], values[1]


def _from_imagej(meta: dict[str, Any], page: Any, out: TiffImage, where: str) -> None:
    unit_text = meta.get("unit")
    unit = _unit(unit_text, "space", where) if unit_text and unit_text not in ("pixel", "pixels") else None
    if unit is not None:
        res = _resolution(page)
        if res is not None:
            out.scale.setdefault("x", 1.0 / res[0])
            out.scale.setdefault("y", 1.0 / res[1])
            out.units.setdefault("x", unit)
            out.units.setdefault("y", unit)
        if meta.get("spacing"):
            out.scale.setdefault("z", float(meta["spacing"]))
            out.units.setdefault("z", unit)
    if meta.get("finterval"):
        out.scale.setdefault("t", float(meta["finterval"]))
        out.units.setdefault("t", _unit(meta.get("tunit", "s"), "time", where))
    luts = meta.get("LUTs")
    if out.channels is None and luts:
        out.channels = [{"color": "".join(f"{int(v):02X}" for v in np.asarray(lut)[:, -1])} for lut in luts]


def _from_resolution_tags(page: Any, out: TiffImage) -> None:
    tag = page.tags.get("ResolutionUnit")
    microns = _RESOLUTION_UNITS.get(int(tag.value) if tag is not None else 2)
    res = _resolution(page)
    if microns is None or res is None:
        return
    for axis, per_unit in zip("xy", res):
        out.scale.setdefault(axis, microns / per_unit)
        out.units.setdefault(axis, "micrometer")


def read_tiff(path: str) -> TiffImage:
    """The first series of the TIFF at ``path`` with the pixel sizes, units and channels
    its metadata gives (see the module docstring)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data = series.asarray()
        names = tuple("c" if a == "s" else a for a in series.axes.lower())
        out = TiffImage(data, names if set(names) <= set("tczyx") and len(set(names)) == len(names) else None)
        page = series.keyframe
        if tif.is_ome and tif.ome_metadata:
            _from_ome_xml(tif.ome_metadata, out, path)
        if tif.is_imagej and tif.imagej_metadata:
            _from_imagej(tif.imagej_metadata, page, out, path)
        elif not tif.is_ome:
            _from_resolution_tags(page, out)
    if out.axes is not None and list(out.axes) != sorted(out.axes, key="tczyx".index):
        # ImageJ stores t, z, c (and RGB samples last); OME-Zarr wants t, c, z, y, x
        order = sorted(range(len(out.axes)), key=lambda i: "tczyx".index(out.axes[i]))  # type: ignore[index]
        out.data = np.transpose(out.data, order)
        out.axes = tuple(out.axes[i] for i in order)
    if out.channels is not None and out.axes is not None and "c" in out.axes:
        if len(out.channels) != out.data.shape[out.axes.index("c")]:
            out.channels = None  # the metadata describes other channels than the pixels hold
    return out
