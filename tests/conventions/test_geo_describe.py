"""``geo.describe(tree)``: what ``zarrconv geo info`` prints, computed for a hierarchy with a projected
node, a node with coordinates but no CRS and a node that is not georeferenced; the expected values come
from the coordinates written and from pyproj, not from zarrconv."""

from __future__ import annotations

import numpy as np
import pyproj
import xarray as xr

import zarrconv as zc
from zarrconv.conventions import geo


def test_describe_every_georeferenced_node(tmp_path):
    dx, dy = 250.0, -500.0
    x = 300_125.0 + dx * np.arange(8)
    y = 4_999_750.0 + dy * np.arange(6)
    utm = geo.assign_crs(xr.Dataset({"b1": (("y", "x"), np.ones((6, 8), "u2")),
                                     "flag": (("x",), np.zeros(8, "u1"))}, coords={"x": x, "y": y}),
                         "EPSG:32631")
    lon, lat = 10.0 + 0.5 * np.arange(4), 50.0 - 0.5 * np.arange(3)
    plain = xr.Dataset({"v": (("lat", "lon"), np.zeros((3, 4), "f4"))}, coords={"lon": lon, "lat": lat})
    table = xr.Dataset({"count": (("row",), np.arange(5))})
    store = tmp_path / "scene.zarr"
    zc.to_zarr(utm, store, group="utm")
    zc.to_zarr(plain, store, group="plain", mode="a")
    zc.to_zarr(table, store, group="table", mode="a")

    tree = xr.open_datatree(store, engine="zarrconv")
    facts = {f["path"]: f for f in geo.describe(tree)}
    assert sorted(facts) == ["/plain", "/utm"]  # the root has no data; /table no CRS and no x/y dimensions

    f = facts["/utm"]
    expected_crs = pyproj.CRS.from_epsg(32631)
    assert f["crs"] == expected_crs.name and f["crs_code"] == "EPSG:32631"
    assert f["units"] == expected_crs.axis_info[0].unit_name == "metre"
    assert f["variables"] == ["b1"]  # 1-d variables are not rasters
    assert f["sizes"] == {"y": 6, "x": 8}
    assert f["resolution"] == [abs(dx), abs(dy)]
    assert f["transform"] == [dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2]
    assert f["bounds"] == [x[0] - dx / 2, y[-1] + dy / 2, x[-1] + dx / 2, y[0] - dy / 2]

    p = facts["/plain"]  # regular lon/lat coordinates but no CRS: a transform, no CRS
    assert p["crs"] is None and p["crs_code"] is None and p["units"] is None
    assert p["resolution"] == [0.5, 0.5]
    assert p["bounds"] == [lon[0] - 0.25, lat[-1] - 0.25, lon[-1] + 0.25, lat[0] + 0.25]
