"""Read OME-Zarr images, labels, plates and bioformats2raw containers as xarray objects.

All reading goes through zarrconv's core (:func:`zarrconv.open_group`, ``Group.attrs``,
``Array`` slicing); no store key is touched directly.

One module each: :mod:`.groups` (metadata, kind, bioformats2raw series), :mod:`.image`
(levels as Datasets, :func:`open_image`), :mod:`.levels` (level access on an opened tree),
:mod:`.plate`.
"""

from .groups import is_ome, list_series, ome_kind, read_metadata
from .image import IMAGE_VARIABLE, datatree_levels, image_coords, image_datasets, image_datatree, open_image
from .levels import level, levels
from .plate import OmePlate, open_plate

__all__ = [
    "IMAGE_VARIABLE",
    "OmePlate",
    "datatree_levels",
    "image_coords",
    "image_datasets",
    "image_datatree",
    "is_ome",
    "level",
    "levels",
    "list_series",
    "ome_kind",
    "open_image",
    "open_plate",
    "read_metadata",
]
