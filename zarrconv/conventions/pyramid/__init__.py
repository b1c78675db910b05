"""Pyramids shared by the OME-Zarr and GeoZarr conventions: downsampling (:mod:`.downsampling`),
planning the levels (:mod:`.plan`: shapes, factors, anisotropic reduction, each level's pixel
size and origin) and writing them level by level into a group (:mod:`.write`, numpy or dask).

The conventions' own metadata (OME ``multiscales``, the zarr-conventions ``multiscales``
layout) is written by each convention; nothing here knows either.
"""

from .downsampling import METHODS, downsample, downsampled_shape, gaussian_sigma, is_dask_array
from .plan import PyramidLevel, factors_between, follow_levels, level_transform, plan_pyramid
from .write import level_grid, write_levels

__all__ = [
    "METHODS",
    "PyramidLevel",
    "downsample",
    "downsampled_shape",
    "factors_between",
    "follow_levels",
    "gaussian_sigma",
    "is_dask_array",
    "level_grid",
    "level_transform",
    "plan_pyramid",
    "write_levels",
]
