"""Physical units through pint, with cf-xarray's CF/UDUNITS-aware unit registry.

``quantify`` turns the CF ``units`` attribute of xarray variables into pint quantities
(numpy or dask data alike), ``dequantify`` does the inverse and writes the units back as
an ASCII UDUNITS string, so unit-aware arithmetic sits between reading and writing Zarr::

    t = zc.units.quantify(ds["temperature"])     # data: pint.Quantity in degC
    t_k = t.copy(data=t.data.to("K"))            # or zc.units.convert(ds["temperature"], "K")
    ds["temperature_k"] = zc.units.dequantify(t_k)   # units attribute "K"

Time units (``"days since 2000-01-01"``) are CF calendar encodings, not physical units;
they are left alone.
"""

from __future__ import annotations

import functools
import tokenize
import warnings
from collections.abc import Hashable
from typing import Any, TypeVar

import xarray as xr

from zarrconv.errors import MetadataError

__all__ = ["convert", "dequantify", "format_units", "is_time_units", "parse_units", "quantify", "registry",
           "unit_parse_errors"]

T = TypeVar("T", xr.Dataset, xr.DataArray)

# UDUNITS accepts these symbols but ASCII spellings travel better (netCDF tools, GDAL).
_ASCII = (("°C", "degC"), ("°F", "degF"), ("°K", "K"), ("°", "degree"), ("Ω", "ohm"), ("µ", "u"))


def registry() -> Any:
    """cf-xarray's pint ``UnitRegistry`` (UDUNITS-2 syntax: ``m s-1``, ``degC``, ``degrees_north``)."""
    try:
        with warnings.catch_warnings():
            # cf-xarray sets up pint's matplotlib support on import and warns when matplotlib is absent:
            # plotting is not what zarrconv needs the registry for.
            warnings.filterwarnings("ignore", message=r"Import\(s\) unavailable to set up matplotlib",
                                    category=UserWarning)
            from cf_xarray.units import units
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ImportError("zarrconv units support needs pint and cf-xarray: pip install 'zarrconv[geo]'") from exc
    return units


def is_time_units(units: Any) -> bool:
    """Whether ``units`` is a CF time encoding (``"<unit> since <date>"``)."""
    return isinstance(units, str) and " since " in f" {units.strip()} "


def parse_units(units: str, *, where: str = "units") -> Any:
    """Parse a CF/UDUNITS units string into a pint ``Unit``.

    Raises
    ------
    MetadataError
        If pint cannot parse it (or it is not a string); the message is ``"<where>: ..."`` and
        names the string.
    """
    if not isinstance(units, str):
        raise MetadataError(f"{where}: must be a string, got {units!r}")
    if is_time_units(units):
        raise MetadataError(f"{where}: {units!r} is a CF time encoding, not a physical unit")
    ureg = registry()
    try:
        return ureg.Unit(units) if units.strip() else ureg.dimensionless
    except unit_parse_errors() as exc:
        raise MetadataError(f"{where}: cannot parse {units!r} ({type(exc).__name__}: {exc})") from exc


@functools.cache
def unit_parse_errors() -> tuple[type[Exception], ...]:
    """What pint's unit parser raises on text that is not a unit: its own errors, and, from its
    tokenizer and expression evaluator, ``TokenError``, ``ValueError``, ``TypeError``,
    ``KeyError``, ``ArithmeticError`` and ``AssertionError`` (all seen on garbage strings such
    as ``"1/"``, ``"m**"`` or ``"(("``). Parsing catches exactly these, never a bug elsewhere."""
    from pint.errors import PintError

    return (PintError, tokenize.TokenError, ValueError, TypeError, KeyError, ArithmeticError, AssertionError)


def format_units(unit: Any) -> str:
    """ASCII CF/UDUNITS spelling of a pint unit (``"m s-1"``, ``"degC"``, ``"1"``)."""
    text = format(unit, "cf")
    for symbol, ascii_name in _ASCII:
        text = text.replace(symbol, ascii_name)
    return text


def _is_quantity(data: Any) -> bool:
    return hasattr(data, "magnitude") and hasattr(data, "units") and hasattr(data, "to")


def _quantify_da(da: xr.DataArray, units: str | None, name: Hashable) -> xr.DataArray:
    if _is_quantity(da.data):
        return da
    text = units if units is not None else da.attrs.get("units")
    if text is None:
        raise MetadataError(f"{name!r} has no 'units' attribute; pass units=")
    unit = parse_units(text, where=f"{name!r} units")
    out = da.copy(data=registry().Quantity(da.data, unit))
    out.attrs = {k: v for k, v in da.attrs.items() if k != "units"}
    return out


def quantify(obj: T, units: str | None = None) -> T:
    """Return ``obj`` with pint-quantity data, from the ``units`` attributes.

    A DataArray must have a ``units`` attribute (or pass ``units``). In a Dataset, every
    data variable with a physical ``units`` attribute is quantified; the others (no
    units, CF time units) are left as they are. The ``units`` attribute moves into the
    quantity. Dask-backed data stays lazy.

    Raises
    ------
    MetadataError
        Unparseable units (naming the variable), or a DataArray without units.
    """
    if isinstance(obj, xr.DataArray):
        return _quantify_da(obj, units, obj.name)
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"quantify takes a Dataset or DataArray, got {type(obj).__name__}")
    if units is not None:
        raise TypeError("units= applies to a DataArray only")
    updates = {}
    for name, var in obj.data_vars.items():
        text = var.attrs.get("units")
        if _is_quantity(var.data) or text is None or is_time_units(text):
            continue
        updates[name] = _quantify_da(var, None, name)
    return obj.assign(updates) if updates else obj


def _dequantify_da(da: xr.DataArray) -> xr.DataArray:
    if not _is_quantity(da.data):
        return da
    q = da.data
    out = da.copy(data=q.magnitude)
    out.attrs = {**da.attrs, "units": format_units(q.units)}
    return out


def dequantify(obj: T) -> T:
    """Inverse of :func:`quantify`: plain (numpy/dask) data and a CF ``units`` attribute."""
    if isinstance(obj, xr.DataArray):
        return _dequantify_da(obj)
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"dequantify takes a Dataset or DataArray, got {type(obj).__name__}")
    updates = {name: _dequantify_da(var) for name, var in obj.data_vars.items() if _is_quantity(var.data)}
    return obj.assign(updates) if updates else obj


def convert(da: xr.DataArray, units: str) -> xr.DataArray:
    """Return ``da`` converted to ``units`` (plain data, ``units`` attribute updated).

    Raises
    ------
    MetadataError
        Unparseable units on either side.
    pint.DimensionalityError
        Incompatible units (e.g. ``"m"`` to ``"K"``).
    """
    q = _quantify_da(da, None, da.name)
    target = parse_units(units, where="target units")
    return _dequantify_da(q.copy(data=q.data.to(target)))
