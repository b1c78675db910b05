"""OME-Zarr (OME-NGFF 0.4, 0.5 and 0.6): image pyramids, labels, HCS plates, scenes.

Read::

    tree = open_image("image.ome.zarr")          # xr.DataTree, one child per level
    level(tree, 0)["image"]                      # level 0, whatever wrote the image
    plate = open_plate("plate.ome.zarr"); plate.open_field("B/3", 0)

Write::

    write_image(data, "out.ome.zarr", axes="czyx", scale=[1, 0.5, 0.2, 0.2], units={"x": "um", ...})
    write_labels(seg, "out.ome.zarr", "cells")
    write_plate("plate.ome.zarr", {"A/1": [field0, field1]})

Coordinates (0.6)::

    transform_coordinates("scene.ome.zarr", "physical", "world", [[1.0, 2.0]])

Check: ``validate(store, strict=False)`` -> the errors (MUST breaches; empty = valid) as a list,
whose ``.warnings`` lists the SHOULD breaches (errors with ``strict=True``). The attributes read and written are listed in
``conventions/ome/README.md``; the JSON Schemas live next to it.
"""

from .models import (
    READ_VERSIONS,
    WRITE_VERSIONS,
    Axis,
    Multiscale,
    OmeMetadata,
    Plate,
    Well,
    detect_version,
    parse_attrs,
)
from .ozx import ozx_comment, write_ozx
from .read import (
    IMAGE_VARIABLE,
    OmePlate,
    image_coords,
    image_datasets,
    image_datatree,
    is_ome,
    level,
    levels,
    list_series,
    ome_kind,
    open_image,
    open_plate,
    read_metadata,
)
from .scene import build_graph, transform_coordinates, transformation_between
from .transforms import Transformation, TransformGraph, parse_transformation
from .validate import ValidationReport, validate, validate_attrs
from .write import label_color, write_image, write_labels, write_plate, write_scene

__all__ = [
    "IMAGE_VARIABLE",
    "READ_VERSIONS",
    "WRITE_VERSIONS",
    "Axis",
    "Multiscale",
    "OmeMetadata",
    "OmePlate",
    "Plate",
    "TransformGraph",
    "Transformation",
    "Well",
    "build_graph",
    "detect_version",
    "image_coords",
    "image_datasets",
    "image_datatree",
    "is_ome",
    "label_color",
    "level",
    "levels",
    "list_series",
    "ome_kind",
    "open_image",
    "open_plate",
    "ozx_comment",
    "parse_attrs",
    "parse_transformation",
    "read_metadata",
    "transform_coordinates",
    "transformation_between",
    "ValidationReport",
    "validate",
    "validate_attrs",
    "write_image",
    "write_labels",
    "write_ozx",
    "write_plate",
    "write_scene",
]
