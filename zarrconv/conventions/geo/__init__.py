"""GeoZarr and CF georeferencing: CRS, affine transforms, bounds, geospatial pyramids.

Reads every encoding geospatial tools use for Zarr (CF grid mappings as rioxarray and
GDAL write them, the ``proj:``/``spatial:``/``multiscales`` Zarr conventions, GDAL's
``_CRS``) and writes CF + zarr-conventions. The attributes are documented in
``conventions/geo/README.md``.

>>> import zarrconv.conventions.geo as geo  # doctest: +SKIP
>>> ds = geo.assign_crs(ds, "EPSG:32633")  # doctest: +SKIP
>>> geo.crs(ds), geo.transform(ds), geo.bounds(ds)  # doctest: +SKIP
"""

from zarrconv.conventions.geo._read import bounds, crs, transform
from zarrconv.conventions.geo._write import assign_crs
from zarrconv.conventions.geo.describe import describe
from zarrconv.conventions.geo.multiscales import build_multiscales
from zarrconv.conventions.geo.registry import MULTISCALES_UUID, PROJ_UUID, SPATIAL_UUID
from zarrconv.conventions.geo.validate import validate

__all__ = [
    "MULTISCALES_UUID",
    "PROJ_UUID",
    "SPATIAL_UUID",
    "assign_crs",
    "bounds",
    "build_multiscales",
    "crs",
    "describe",
    "transform",
    "validate",
]
