"""Write a high-content-screening plate: :func:`write_plate` (each field an image written by
:func:`~zarrconv.conventions.ome.write_image`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import zarrconv as zc
from zarrconv.errors import MetadataError

from ..models import WRITE_VERSIONS, Acquisition, OmeMetadata, Plate, PlateWell, Well, WellImage, namespaced
from .image import write_image
from .target import set_ome_attrs

__all__ = ["write_plate"]


def _natural_key(s: str) -> tuple[Any, ...]:
    return (0, int(s), "") if s.isdigit() else (1, len(s), s)


def write_plate(
    store: Any,
    images: Mapping[str, Any],
    *,
    path: str | None = None,
    rows: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    name: str | None = None,
    acquisitions: Sequence[int | Mapping[str, Any]] | None = None,
    field_acquisitions: Mapping[str, int | Sequence[int]] | None = None,
    version: str = "0.5",
    overwrite: bool = False,
    storage_options: dict | None = None,
    **image_kwargs: Any,
) -> zc.Group:
    """Write a high-content-screening plate.

    Parameters
    ----------
    store, path
        Where to create the plate group.
    images
        ``{"B/3": [field0, field1, ...]}``: the fields of view of each well (a single
        array is one field). Each field is written with :func:`write_image` and
        ``image_kwargs`` into ``<row>/<column>/<index>``.
    rows, columns
        All row and column names of the physical plate (default: those used by the wells,
        in natural order). Names are alphanumeric.
    name
        Plate name.
    acquisitions
        Acquisition ids or acquisition dicts (``id``, ``name``, ``maximumfieldcount``...).
    field_acquisitions
        Acquisition id of the fields of each well (an int for all of a well's fields).
    version
        "0.5" or "0.4".

    Returns
    -------
    The plate group.
    """
    if version not in WRITE_VERSIONS:
        raise MetadataError(f"cannot write OME-Zarr version {version!r}; choose one of {WRITE_VERSIONS}")
    if not images:
        raise MetadataError("a plate needs at least one well with images")
    wells: dict[str, list[Any]] = {}
    for wpath, fields in images.items():
        parts = wpath.split("/")
        if len(parts) != 2 or not all(p.isalnum() and p.isascii() for p in parts):
            raise MetadataError(f"well path {wpath!r} must be '<row>/<column>' with alphanumeric names")
        flist = [fields] if hasattr(fields, "shape") else list(fields)
        if not flist:
            raise MetadataError(f"well {wpath!r} has no images")
        wells[wpath] = flist
    used_rows = sorted({w.split("/")[0] for w in wells}, key=_natural_key)
    used_cols = sorted({w.split("/")[1] for w in wells}, key=_natural_key)
    rows = list(rows) if rows is not None else used_rows
    columns = list(columns) if columns is not None else used_cols
    for kind, names, used in (("row", rows, used_rows), ("column", columns, used_cols)):
        if len(set(names)) != len(names):
            raise MetadataError(f"duplicate {kind} names in {names}")
        bad = [n for n in names if not (n.isalnum() and n.isascii())]
        if bad:
            raise MetadataError(f"{kind} names must be alphanumeric, got {bad}")
        missing = [u for u in used if u not in names]
        if missing:
            raise MetadataError(f"wells use {kind}s {missing} that are not in {kind}s={names}")
    acqs = None if acquisitions is None else [
        Acquisition.parse(a, f"acquisitions[{i}]") if isinstance(a, Mapping) else Acquisition(int(a))
        for i, a in enumerate(acquisitions)]
    acq_ids = {a.id for a in acqs or []}

    zarr_format = 3 if namespaced(version) else 2
    if isinstance(store, zc.Group):
        plate_group = store.create_group(path, overwrite=overwrite) if path else store
    else:
        plate_group = zc.create_group(store, path, zarr_format=zarr_format, overwrite=overwrite,
                                      storage_options=storage_options)
    plate_wells = []
    max_fields = 0
    for wpath in sorted(wells, key=lambda w: (rows.index(w.split("/")[0]), columns.index(w.split("/")[1]))):
        r, c = wpath.split("/")
        row_group = plate_group.get(r)
        if row_group is None:
            row_group = plate_group.create_group(r)
        well_group = row_group.create_group(c, overwrite=overwrite)
        fa = (field_acquisitions or {}).get(wpath)
        fields = wells[wpath]
        fa_list = [fa] * len(fields) if isinstance(fa, int) or fa is None else list(fa)
        if len(fa_list) != len(fields):
            raise MetadataError(f"well {wpath!r}: {len(fa_list)} acquisitions for {len(fields)} fields")
        well_images = []
        for k, (field_data, acq) in enumerate(zip(fields, fa_list)):
            if acq is not None and acqs is not None and acq not in acq_ids:
                raise MetadataError(f"well {wpath!r} field {k}: acquisition {acq} is not in the plate's {sorted(acq_ids)}")
            write_image(field_data, well_group, path=str(k), version=version, **image_kwargs)
            well_images.append(WellImage(str(k), acq))
        set_ome_attrs(well_group, OmeMetadata(version=version, well=Well(well_images)), version)
        plate_wells.append(PlateWell(wpath, rows.index(r), columns.index(c)))
        max_fields = max(max_fields, len(fields))
    plate = Plate(rows=rows, columns=columns, wells=plate_wells, acquisitions=acqs, field_count=max_fields,
                  name=name or "plate")
    set_ome_attrs(plate_group, OmeMetadata(version=version, plate=plate), version)
    return plate_group
