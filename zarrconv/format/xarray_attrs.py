"""xarray's Zarr encoding as pure functions of array metadata: where each format keeps what xarray reads.

xarray's zarr engine stores a variable's dimensions and CF ``_FillValue`` differently in each
format (xarray ``backends/zarr.py``):

* **v2**: dimensions in the ``_ARRAY_DIMENSIONS`` attribute (``[]`` for a 0-d variable); the
  array ``fill_value`` *is* the CF ``_FillValue`` (``null``: nothing is masked), so no
  ``_FillValue`` attribute is written and, when one is present, ``fill_value`` overrides it.
* **v3**: dimensions in ``dimension_names`` (absent for 0-d variables); ``fill_value`` is only
  what a missing chunk holds, and the CF ``_FillValue`` is an attribute: floats as base64 of a
  little-endian float64 (``"AAAAAAAA+H8="`` is NaN), complex as two of those, bytes as base64,
  integers and booleans as JSON numbers and booleans, strings as themselves.

:func:`v3_attributes_from_v2` and :func:`v2_fill_and_attributes_from_v3` translate one array
between the two (the conversion uses them), :func:`xarray_problems` says what in a hierarchy
xarray's engine cannot open. This module sits in the format layer so that both
``zarrconv.convert`` and the xarray backend use one definition.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import MetadataError
from .dtypes import parse_v2_fill
from .metadata import ArrayMetadata

#: The v2 attribute that holds an array's dimension names.
DIMENSION_KEY = "_ARRAY_DIMENSIONS"
#: The CF attribute of the value that marks missing data.
FILL_KEY = "_FillValue"


def _b64_float(value: float) -> str:
    return base64.standard_b64encode(struct.pack("<d", value)).decode()


def encode_fill_attr(value: Any, dtype: np.dtype) -> Any:
    """A CF ``_FillValue`` as the JSON attribute value xarray's zarr engine writes for v3."""
    kind = dtype.kind
    if kind == "S":
        if not isinstance(value, bytes):
            raise MetadataError(f"_FillValue {value!r} must be bytes for a {dtype} variable")
        return base64.standard_b64encode(value).decode()
    if kind == "b":
        return bool(value)
    if kind in "iuf" and not isinstance(value, int | float | np.integer | np.floating):
        raise MetadataError(f"_FillValue {value!r} must be a number for a {dtype} variable")
    if kind in "iu":
        return int(value)
    if kind == "f":
        return _b64_float(float(value))
    if kind == "c":
        c = complex(value)
        return [_b64_float(c.real), _b64_float(c.imag)]
    if kind in "UOT":
        return str(value)
    raise MetadataError(f"cannot store a _FillValue attribute for dtype {dtype}")


def _unpack_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)  # written by another tool as a plain number
    if isinstance(value, str):
        try:
            raw = base64.standard_b64decode(value)
        except ValueError:  # binascii.Error is a ValueError
            raw = b""
        if len(raw) == 8:
            return struct.unpack("<d", raw)[0]
        try:
            return float(value)
        except ValueError:
            pass
    raise MetadataError(f"_FillValue attribute {value!r} is neither base64 of a float64 nor a number")


def decode_fill_attr(value: Any, dtype: np.dtype) -> Any:
    """The CF ``_FillValue`` held in a v3 attribute (inverse of :func:`encode_fill_attr`).

    Lenient where xarray is strict: a float given as a plain JSON number is accepted too
    (:func:`fill_attr_problem` says what xarray's own engine refuses).
    """
    kind = dtype.kind
    if kind in "OT":
        return _b64_bytes(value) if (dtype.metadata or {}).get("vlen") is bytes else str(value)
    if kind == "f":
        return _unpack_float(value)
    if kind == "c":
        if not (isinstance(value, list | tuple) and len(value) == 2):
            raise MetadataError(f"complex _FillValue attribute {value!r} must be a [real, imag] pair")
        return complex(_unpack_float(value[0]), _unpack_float(value[1]))
    if kind == "b":
        return bool(value)
    if kind in "iu":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise MetadataError(f"_FillValue attribute {value!r} must be a number for dtype {dtype}")
        return int(value)
    if kind == "S" and isinstance(value, str):
        return _b64_bytes(value)
    return value


def _b64_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return base64.standard_b64decode(value)
    except (ValueError, TypeError):
        raise MetadataError(f"_FillValue attribute {value!r} must be base64 for a bytes variable") from None


def _is_b64_float(part: Any) -> bool:
    if not isinstance(part, str):
        return False
    try:
        return len(base64.standard_b64decode(part)) == 8
    except ValueError:  # binascii.Error is a ValueError
        return False


def fill_attr_problem(value: Any, dtype: np.dtype) -> str | None:
    """Why xarray's zarr engine cannot decode the v3 ``_FillValue`` attribute ``value``; None when it can."""
    kind = dtype.kind
    if kind == "f" and not _is_b64_float(value):
        return (f"_FillValue {value!r} is not base64 of a little-endian float64, which is how xarray stores "
                f"the fill value of a {dtype} variable in Zarr v3 (NaN is 'AAAAAAAA+H8='); xarray cannot decode it")
    if kind == "c" and not (isinstance(value, list) and len(value) == 2 and all(map(_is_b64_float, value))):
        return f"_FillValue {value!r} of a {dtype} variable must be a pair of base64 float64 strings for xarray"
    if kind in "iu" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"_FillValue {value!r} of a {dtype} variable must be a JSON number for xarray"
    return None


def _v2_attr_value(value: Any, dtype: np.dtype) -> Any:
    """A v2 ``_FillValue`` attribute read as the v2 fill value of ``dtype`` would be ("NaN" is NaN)."""
    try:
        return parse_v2_fill(value, dtype)
    except (MetadataError, TypeError, ValueError):
        return value


def _values_differ(a: Any, b: Any) -> bool:
    if isinstance(a, float | np.floating) and isinstance(b, float | np.floating) and math.isnan(a) and math.isnan(b):
        return False
    try:
        return bool(np.asarray(a != b).any())
    except (TypeError, ValueError):
        return True


def v3_attributes_from_v2(meta: ArrayMetadata) -> tuple[Any, dict, tuple[str, ...] | None]:
    """(v3 fill value or None for the type's default, attributes, dimension names) of a v2 array.

    An xarray variable (it has ``_ARRAY_DIMENSIONS``) keeps its CF ``_FillValue``, which v2
    held in ``fill_value``, as the base64/number attribute xarray's v3 reader decodes.
    """
    attrs = {k: v for k, v in meta.attributes.items() if k != DIMENSION_KEY}
    fill = meta.fill_value
    if DIMENSION_KEY not in meta.attributes:
        return fill, attrs, meta.dimension_names
    cf_fill = fill if fill is not None else attrs.get(FILL_KEY)
    attrs.pop(FILL_KEY, None)
    if cf_fill is not None and _fill_attr_supported(meta.dtype):
        attrs[FILL_KEY] = encode_fill_attr(_python_value(cf_fill), meta.dtype)
    return fill, attrs, meta.dimension_names


def v2_fill_and_attributes_from_v3(meta: ArrayMetadata, in_dataset: bool) -> tuple[Any, dict, tuple | None]:
    """(v2 fill value, attributes, dimension names) of a v3 array.

    An xarray variable (it has ``dimension_names`` or a ``_FillValue`` attribute, or is 0-d in
    a group of xarray variables: ``in_dataset``) gets its CF ``_FillValue`` as the v2
    ``fill_value``; without one ``null`` (the v3 ``fill_value`` only said what missing chunks
    hold; as a v2 fill value xarray would mask it), except NaN, which masks nothing that is not
    already missing. A 0-d one gets ``[]`` dimensions. Other arrays keep their fill value.
    """
    attrs = dict(meta.attributes)
    names = meta.dimension_names
    if names is not None and not all(isinstance(n, str) for n in names):
        names = None  # v2 has no unnamed dimensions
    xarray_var = meta.dimension_names is not None or FILL_KEY in attrs or (meta.ndim == 0 and in_dataset)
    if not xarray_var:
        return meta.fill_value, attrs, names
    fill = meta.fill_value if _is_nan(meta.fill_value) else None  # masking NaN changes no value: keep it
    if FILL_KEY in attrs:
        raw = attrs.pop(FILL_KEY)
        try:
            fill = decode_fill_attr(raw, meta.dtype) if raw is not None else None
        except MetadataError as e:
            raise MetadataError(f"{e}; cannot turn it into a Zarr v2 fill_value") from None
    if meta.ndim == 0:
        names = ()
    return fill, attrs, names


def _is_nan(value: Any) -> bool:
    return isinstance(value, float | np.floating | complex | np.complexfloating) and bool(np.isnan(value))


def _fill_attr_supported(dtype: np.dtype) -> bool:
    return dtype.kind in "SbiufcUOT"


def _python_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_xarray_dataset(arrays: Mapping[str, ArrayMetadata]) -> bool:
    """Whether the arrays of one group carry xarray's dimension information (any of them)."""
    return any(DIMENSION_KEY in m.attributes if m.zarr_format == 2 else m.dimension_names is not None
               for m in arrays.values())


def xarray_problems(arrays: Mapping[str, ArrayMetadata]) -> list[tuple[str, str]]:
    """``(array name, message)`` for what keeps xarray's zarr engine from opening one group's arrays.

    Checked only when the group is an xarray dataset (:func:`is_xarray_dataset`): every v2
    array needs ``_ARRAY_DIMENSIONS`` with one name per dimension, every v3 array of 1 or
    more dimensions ``dimension_names``; a v2 ``_FillValue`` attribute must agree with
    ``fill_value``; a v3 one must be in the encoding xarray decodes.
    """
    if not is_xarray_dataset(arrays):
        return []
    out: list[tuple[str, str]] = []
    for name, m in sorted(arrays.items()):
        if m.zarr_format == 2:
            dims = m.attributes.get(DIMENSION_KEY)
            if dims is None:
                out.append((name, f"no {DIMENSION_KEY} attribute (use [] for a 0-d array) while other arrays of "
                                  "the group have one: xarray's zarr engine cannot open the group"))
            elif not isinstance(dims, list) or len(dims) != m.ndim or not all(isinstance(d, str) for d in dims):
                out.append((name, f"{DIMENSION_KEY} {dims!r} must be a list of {m.ndim} strings for shape {m.shape}"))
            if FILL_KEY in m.attributes and m.fill_value is not None and _values_differ(
                    m.fill_value, _v2_attr_value(m.attributes[FILL_KEY], m.dtype)):
                out.append((name, f"_FillValue attribute {m.attributes[FILL_KEY]!r} contradicts fill_value "
                                  f"{_python_value(m.fill_value)!r}; xarray masks fill_value, in Zarr v2 the "
                                  "fill_value is the CF _FillValue"))
        else:
            if m.ndim and m.dimension_names is None:
                out.append((name, "no dimension_names while other arrays of the group have them: xarray's zarr "
                                  "engine cannot open the group"))
            if FILL_KEY in m.attributes:
                why = fill_attr_problem(m.attributes[FILL_KEY], m.dtype)
                if why:
                    out.append((name, why))
    return out


__all__ = [
    "DIMENSION_KEY", "FILL_KEY", "decode_fill_attr", "encode_fill_attr", "fill_attr_problem", "is_xarray_dataset",
    "v2_fill_and_attributes_from_v3", "v3_attributes_from_v2", "xarray_problems",
]
