"""Shared data for the xarray backend/writer tests: datasets covering what xarray's own zarr tests cover."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr


def variety_dataset() -> xr.Dataset:
    """Dtypes, NaN and fill values, times with calendars, strings, attributes, coordinates, scalars."""
    rng = np.random.default_rng(0)
    nx, ny = 7, 5
    f32 = rng.standard_normal((nx, ny)).astype("f4")
    f32[1, 2] = np.nan
    ints = {f"i{n}": (("x",), np.arange(nx, dtype=f"i{n}") - 3) for n in (1, 2, 4, 8)}
    uints = {f"u{n}": (("x",), np.arange(nx, dtype=f"u{n}")) for n in (1, 2, 4, 8)}
    masked = np.arange(nx, dtype="f8")
    masked[3] = np.nan
    ds = xr.Dataset(
        {
            "temperature": (("x", "y"), f32, {"units": "K", "long_name": "air temperature", "valid": [0, 400]}),
            "f8": (("y",), rng.standard_normal(ny)),
            "flag": (("x",), np.array([True, False, True, True, False, False, True])),
            "masked_int": (("x",), masked, {}),
            "packed": (("x",), np.linspace(0, 1, nx)),
            "name": (("x",), np.array(["a", "bé", "", "long string", "x", "y", "z"], dtype=object)),
            "fixed": (("y",), np.array(["ab", "c", "def", "g", "h"])),
            "when": (("x",), pd.date_range("2001-02-03", periods=nx, freq="6h")),
            "step": (("y",), pd.to_timedelta(np.arange(ny), unit="h")),
            "scalar": ((), np.float64(2.5), {"comment": "0-d"}),
            "empty": (("e",), np.zeros(0, "f4")),
            "bytes": (("z",), np.array([b"ab", b"c", b""], dtype="S2")),
            "c8": (("z",), np.array([1 + 2j, 3, np.nan], "c8")),
            "f2": (("z",), np.array([1, np.nan, 3], "f2")),
            "nat": (("z",), np.array(["2000-01-01", "NaT", "2001-01-01"], "M8[ns]")),
            "td_nat": (("z",), np.array([1, "NaT", 3], "m8[s]")),
            "str_none": (("z",), np.array(["a", None, "c"], dtype=object)),
            "obj_bytes": (("z",), np.array([b"a", b"bc", b""], dtype=object)),
            **ints,
            **uints,
        },
        coords={
            "x": np.arange(nx) * 10,
            "y": np.linspace(-1, 1, ny),
            "lat": (("x", "y"), rng.uniform(-90, 90, (nx, ny))),
            "label": (("y",), np.array(["p", "q", "r", "s", "t"], dtype=object)),
        },
        attrs={"title": "variety", "version": 3, "ratio": 0.5, "tags": ["a", "b"], "nested": {"k": [1, 2]}},
    )
    ds["masked_int"].encoding.update({"dtype": "i2", "_FillValue": -99})
    ds["packed"].encoding.update({"dtype": "i2", "scale_factor": 0.01, "add_offset": 0.5, "_FillValue": -1})
    ds["when"].encoding.update({"units": "hours since 2001-01-01", "calendar": "proleptic_gregorian"})
    return ds


def cftime_dataset() -> xr.Dataset:
    """Times in a non-standard calendar (cftime objects)."""
    times = xr.date_range("2000-01-01", periods=4, freq="MS", calendar="noleap", use_cftime=True)
    return xr.Dataset({"v": (("time",), np.arange(4.0))}, coords={"time": times})


def tree() -> xr.DataTree:
    """A DataTree with attributes and variables at several levels."""
    root = xr.Dataset({"a": (("x",), np.arange(3.0))}, coords={"x": [1, 2, 3]}, attrs={"level": "root"})
    child = xr.Dataset({"b": (("y",), np.array([1, 2], "i4"))}, coords={"y": [5, 6]}, attrs={"level": "child"})
    grandchild = xr.Dataset({"c": (("x",), np.array([0.5, np.nan, 1.5]))}, attrs={"level": "grandchild"})
    return xr.DataTree.from_dict({"/": root, "/child": child, "/child/grand": grandchild, "/empty": xr.Dataset()})


def open_zarr_quiet(path: object, **kwargs: object) -> xr.Dataset:
    """``xr.open_zarr`` without zarr-python's warning about v3 consolidated metadata."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.open_zarr(path, **kwargs)


def write_with_xarray(obj: xr.Dataset | xr.DataTree, path: object, zarr_format: int, **kwargs: object) -> None:
    """Write with xarray's own zarr engine (zarr-python), silencing its v3 consolidated-metadata warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj.to_zarr(path, zarr_format=zarr_format, mode="w", **kwargs)
