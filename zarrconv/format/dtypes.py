"""Zarr data types, with the registry of v3 extension data types filled with the built-in ones.

The types and the parsers live in :mod:`~zarrconv.format.data_type`; the built-in extension types in
:mod:`~zarrconv.format.extension_types` (strings, bytes, times, structs) and
:mod:`~zarrconv.format.low_precision` (ml_dtypes types). This module registers those, explicitly,
and is the one the rest of zarrconv imports. Add a data type with :func:`register_data_type`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import extension_types, low_precision
from .data_type import (
    V3_EXTENSION_TYPES,
    DataType,
    core_type,
    data_type_from_v2,
    float_from_json,
    float_to_json,
    parse_v2_dtype,
    parse_v2_fill,
    parse_v3_data_type,
    v2_dtype_to_json,
    v2_fill_to_json,
    v3_data_type_for,
)


def register_data_type(name: str, parser: Callable[[Any], DataType]) -> None:
    """Register a v3 extension data type: ``parser(json_or_numpy_dtype) -> DataType``. A parser with a
    ``matches(numpy_dtype) -> bool`` attribute is also what :func:`v3_data_type_for` picks for such dtypes."""
    V3_EXTENSION_TYPES[name] = parser


for _name, _parser in (*extension_types.DATA_TYPES.items(), *low_precision.DATA_TYPES.items()):
    register_data_type(_name, _parser)


__all__ = ["V3_EXTENSION_TYPES", "DataType", "core_type", "data_type_from_v2", "float_from_json", "float_to_json",
           "parse_v2_dtype", "parse_v2_fill", "parse_v3_data_type", "register_data_type", "v2_dtype_to_json",
           "v2_fill_to_json", "v3_data_type_for"]
