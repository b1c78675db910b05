"""Write OME-Zarr: images (:mod:`.image`), label images (:mod:`.labels`), HCS plates
(:mod:`.plate`) and 0.6 scenes (:mod:`.scene`).

The helpers they share: the axes of an image from the arguments and a DataArray (:mod:`.axes`),
its chunk and shard shapes (:mod:`.grid`), its ``omero`` metadata (:mod:`.omero`) and the group
and attributes written (:mod:`.target`). The levels are written by
:mod:`zarrconv.conventions.pyramid`.
"""

from .axes import default_axes
from .image import write_image
from .labels import label_color, write_labels
from .plate import write_plate
from .scene import write_scene

__all__ = ["default_axes", "label_color", "write_image", "write_labels", "write_plate", "write_scene"]
