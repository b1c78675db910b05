"""OME-Zarr (OME-NGFF) metadata: parse group attributes into dataclasses and back.

One set of dataclasses serves every version; :func:`parse_attrs` reads the attributes of a
group written with OME-NGFF 0.1 to 0.6 and :meth:`OmeMetadata.to_attrs` writes 0.4, 0.5 or 0.6:

* 0.6 (Zarr v3, written as :data:`V06_TAG`): as 0.5, plus named coordinate systems; each
  dataset has one transformation from its array (``input.path``) to the intrinsic system,
  other transformations link systems (:mod:`.transforms`), and a ``scene`` relates images.

* 0.5 (Zarr v3): everything lives in ``attributes["ome"]``, whose ``version`` is "0.5";
  the objects themselves carry no version.
* 0.4 and earlier (Zarr v2, ``.zattrs``): the keys are at the top level and each object
  (``multiscales[i]``, ``image-label``, ``plate``, ``well``, ``omero``) may carry its own
  ``version``.

Parsing is tolerant of what real files contain (missing optional keys, 0.3-style axes as
plain strings, 0.1/0.2 images without axes or transformations) but raises
:class:`~zarrconv.errors.MetadataError` naming the store and key when a document cannot be
interpreted at all. Unknown keys are kept in ``extra`` dicts and written back unchanged.

One module per part of the metadata: :mod:`.versions`, :mod:`.axes` (axes, coordinate
systems), :mod:`.multiscales` (pyramids and their transformations), :mod:`.omero`,
:mod:`.labels` (``image-label``), :mod:`.plate` (``plate``, ``well``) and :mod:`.metadata`
(a group's metadata as one object, :func:`parse_attrs`); :mod:`.fields` reads JSON members.
"""

from .axes import ANATOMICAL_ORIENTATIONS, AXIS_TYPES, Axis, CoordinateSystem, guess_axis_type
from .labels import ImageLabel, LabelColor
from .metadata import OmeMetadata, Scene, detect_version, parse_attrs
from .multiscales import Dataset, Multiscale, Transform, compose
from .omero import Channel, Omero, Window
from .plate import Acquisition, Plate, PlateWell, Well, WellImage
from .versions import READ_VERSIONS, V06_TAG, WRITE_VERSIONS, is_v06, namespaced

__all__ = [
    "ANATOMICAL_ORIENTATIONS",
    "AXIS_TYPES",
    "READ_VERSIONS",
    "V06_TAG",
    "WRITE_VERSIONS",
    "Acquisition",
    "Axis",
    "Channel",
    "CoordinateSystem",
    "Dataset",
    "ImageLabel",
    "LabelColor",
    "Multiscale",
    "OmeMetadata",
    "Omero",
    "Plate",
    "PlateWell",
    "Scene",
    "Transform",
    "Well",
    "WellImage",
    "Window",
    "compose",
    "detect_version",
    "guess_axis_type",
    "is_v06",
    "namespaced",
    "parse_attrs",
]
