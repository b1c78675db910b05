"""Open an HCS plate: :func:`open_plate` and its wells and fields of view (:class:`OmePlate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import xarray as xr

import zarrconv as zc
from zarrconv.errors import MetadataError

from ..models import OmeMetadata, Plate, Well
from .groups import as_group, attrs_location, group_location, read_metadata, read_well
from .image import open_image

__all__ = [
    "OmePlate",
    "open_plate",
]


@dataclass
class OmePlate:
    """An open HCS plate: layout from the ``plate`` metadata, fields from each ``well``.

    Attributes
    ----------
    group
        The plate group.
    metadata
        The parsed group metadata (``metadata.plate`` is the :class:`Plate`).
    """

    group: zc.Group
    metadata: OmeMetadata
    _wells: dict[str, Well] = field(default_factory=dict, repr=False)

    @property
    def plate(self) -> Plate:
        """The parsed ``plate`` object."""
        assert self.metadata.plate is not None
        return self.metadata.plate

    @property
    def version(self) -> str:
        """OME-Zarr version of the plate."""
        return self.metadata.version

    @property
    def name(self) -> str | None:
        """Plate name, if given."""
        return self.plate.name

    @property
    def rows(self) -> list[str]:
        """Row names, in plate order."""
        return list(self.plate.rows)

    @property
    def columns(self) -> list[str]:
        """Column names, in plate order."""
        return list(self.plate.columns)

    @property
    def wells(self) -> list[str]:
        """Paths ("row/column") of the wells that hold images."""
        return [w.path for w in self.plate.wells]

    @property
    def acquisitions(self) -> list[dict[str, Any]]:
        """The acquisitions as JSON objects ([] if none are declared)."""
        return [a.to_json() for a in self.plate.acquisitions or []]

    def well(self, well: str) -> Well:
        """The parsed ``well`` metadata of ``well`` ("B/3")."""
        if well not in self._wells:
            self._wells[well] = read_well(self.group, self.wells, well)
        return self._wells[well]

    def fields(self, well: str) -> list[str]:
        """Field-of-view paths of ``well``, relative to the well group."""
        return [im.path for im in self.well(well).images]

    def field_paths(self, well: str) -> list[str]:
        """Field-of-view paths of ``well``, relative to the plate group."""
        return [f"{well}/{p}" for p in self.fields(well)]

    def open_field(self, well: str, field: int | str = 0, **kwargs: Any) -> xr.DataTree:
        """Open one field of view as an image (:func:`open_image` keywords apply)."""
        paths = self.fields(well)
        if isinstance(field, int):
            if not 0 <= field < len(paths):
                raise MetadataError(f"{group_location(self.group)}/{well}: field {field} out of range ({len(paths)} fields)")
            field = paths[field]
        elif field not in paths:
            raise MetadataError(f"{group_location(self.group)}/{well}: no field {field!r}; fields: {paths}")
        return open_image(self.group, f"{well}/{field}", **kwargs)

    def __repr__(self) -> str:
        return (f"<OmePlate {self.name!r} {len(self.rows)}x{len(self.columns)} wells={len(self.wells)} "
                f"version={self.version} at {group_location(self.group)}>")


def open_plate(store: Any, path: str | None = None, *, storage_options: dict | None = None) -> OmePlate:
    """Open an OME-Zarr HCS plate: rows, columns, wells, acquisitions, and each well's
    fields, any of which :meth:`OmePlate.open_field` opens as an image."""
    group = as_group(store, path, storage_options)
    md = read_metadata(group)
    if md is None or md.plate is None:
        kind = None if md is None else md.kind
        raise MetadataError(f"{attrs_location(group)}: not an OME-Zarr plate (kind: {kind})")
    return OmePlate(group, md)
