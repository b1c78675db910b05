"""Conventions over Zarr: OME-Zarr (:mod:`.ome`), GeoZarr and CF georeferencing (:mod:`.geo`),
CF axes (:mod:`.cf`), physical units (:mod:`.units`), and the pyramid machinery they share.

Importing this package is cheap: it registers the conventions' xarray group hooks by
reference (:mod:`zarrconv.xarray.hooks`), so ``xr.open_datatree(..., engine="zarrconv")`` opens
an OME-Zarr image as one node per resolution level; the convention modules themselves are
imported on first use.
"""

from zarrconv.xarray.hooks import register_group_hook

register_group_hook("zarrconv.conventions.ome.read.image:datatree_levels")
