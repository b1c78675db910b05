"""The registry's small and low-precision data types, held in memory as ``ml_dtypes`` types.

``int2``, ``int4``, ``uint2``, ``uint4``, the ``float8`` family, ``float6_e2m3fn``,
``float6_e3m2fn``, ``float4_e2m1fn`` and ``bfloat16`` (see the zarr-extensions registry,
``data-types/<name>``). ``float8_e4m3fn`` is not a registered name but is what tensorstore writes
for that ml_dtypes type, so it is read and written too.

``ml_dtypes`` is an optional dependency (``pip install zarrconv[lowprec]``): the names are always
registered, and opening or creating such an array without it raises a :class:`MetadataError` that
says what to install.

Sub-byte types take one byte per element under the ``bytes`` codec; the unused upper bits are
ignored on read (:func:`canonical_sub_byte`), as the registry says.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import MetadataError
from .data_type import DataType, float_to_json

#: Registered integer types: name -> bits.
SMALL_INTS = {"int2": 2, "int4": 4, "uint2": 2, "uint4": 4}

#: Float types: name -> (bits, has NaN, has infinities).
SMALL_FLOATS = {
    "bfloat16": (16, True, True),
    "float8_e3m4": (8, True, True),
    "float8_e4m3": (8, True, True),
    "float8_e4m3fn": (8, True, False),
    "float8_e4m3b11fnuz": (8, True, False),
    "float8_e4m3fnuz": (8, True, False),
    "float8_e5m2": (8, True, True),
    "float8_e5m2fnuz": (8, True, False),
    "float8_e8m0fnu": (8, True, False),
    "float6_e2m3fn": (6, False, False),
    "float6_e3m2fn": (6, False, False),
    "float4_e2m1fn": (4, False, False),
}

LOW_PRECISION_NAMES = frozenset(SMALL_INTS) | frozenset(SMALL_FLOATS)


def ml_dtype(name: str) -> np.dtype:
    """The numpy dtype of a low-precision type (``ml_dtypes`` needed: a clear error if missing)."""
    try:
        import ml_dtypes
    except ImportError:
        raise MetadataError(
            f"data type {name!r} needs the optional package ml_dtypes: pip install 'zarrconv[lowprec]'"
        ) from None
    return np.dtype(getattr(ml_dtypes, name))


def bits_of(dtype: np.dtype) -> int:
    """Bits of a value of ``dtype`` (4 for ``int4``, 16 for ``bfloat16``, ``8 * itemsize`` otherwise)."""
    name = dtype.name
    if name in SMALL_INTS:
        return SMALL_INTS[name]
    if name in SMALL_FLOATS:
        return SMALL_FLOATS[name][0]
    return dtype.itemsize * 8


def is_low_precision(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is one of the ml_dtypes types of this module."""
    return dtype.name in LOW_PRECISION_NAMES and dtype.type.__module__.startswith("ml_dtypes")


def int_range(dtype: np.dtype) -> tuple[int, int]:
    """The smallest and largest value of an integer dtype, numpy's or a small one."""
    name = dtype.name
    if name in SMALL_INTS and is_low_precision(dtype):
        bits = SMALL_INTS[name]
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if name.startswith("int") else (0, (1 << bits) - 1)
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def is_integer(dtype: np.dtype) -> bool:
    """Integer dtypes, numpy's and the small ones."""
    return dtype.kind in "iu" or (dtype.name in SMALL_INTS and is_low_precision(dtype))


def is_float(dtype: np.dtype) -> bool:
    """Real floating-point dtypes, numpy's and the low-precision ones."""
    return dtype.kind == "f" or (dtype.name in SMALL_FLOATS and is_low_precision(dtype))


def float_specials(dtype: np.dtype) -> tuple[bool, bool]:
    """Whether a float dtype has NaN and whether it has infinities."""
    if dtype.kind == "f":
        return True, True
    _, nan, inf = SMALL_FLOATS[dtype.name]
    return nan, inf


def canonical_sub_byte(arr: np.ndarray) -> np.ndarray:
    """Clear the unused upper bits of sub-byte values read from storage (the registry says they are
    arbitrary; ml_dtypes keeps them zero, and reads float4/float6 wrongly otherwise). Other dtypes
    are returned as they are."""
    bits = bits_of(arr.dtype)
    if bits >= 8 or not is_low_precision(arr.dtype):
        return arr
    return (arr.view(np.uint8) & np.uint8((1 << bits) - 1)).view(arr.dtype)


def _int_type(name: str) -> DataType:
    dtype = ml_dtype(name)
    lo, hi = int_range(dtype)

    def parse(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise MetadataError(f"fill value {value!r} is not an integer in [{lo}, {hi}] for data type {name}")
        return np.asarray(value).astype(dtype)[()]

    return DataType(name, dtype, parse, int)


def _float_type(name: str) -> DataType:
    dtype = ml_dtype(name)
    has_nan, has_inf = float_specials(dtype)

    def parse(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("0x"):
            raw = value[2:]
            if len(raw) != 2 * dtype.itemsize:
                raise MetadataError(f"hex fill value {value!r} must encode exactly {dtype.itemsize} bytes for {name}")
            return np.frombuffer(int(raw, 16).to_bytes(dtype.itemsize, "little"), dtype)[0]
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if isinstance(value, str) and value in special:
            number = special[value]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            raise MetadataError(f"fill value {value!r} is not a valid {name} number")
        if (math.isnan(number) and not has_nan) or (math.isinf(number) and not has_inf):
            raise MetadataError(f"fill value {value!r}: data type {name} has no such value")
        if number == 0 and name == "float8_e8m0fnu":
            return np.zeros((), dtype)[()]  # no zero: tensorstore writes 0 for the all-zero bits (2**-127)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(number).astype(dtype)[()]

    return DataType(name, dtype, parse, float_to_json)


def _builder(name: str) -> Callable[[Any], DataType]:
    make = _int_type if name in SMALL_INTS else _float_type

    def build(value: Any) -> DataType:
        if isinstance(value, dict) and value.get("configuration"):
            raise MetadataError(f"data type {name!r} takes no configuration, got {value!r}")
        return make(name)

    build.matches = lambda d, n=name: d.name == n and d.type.__module__.startswith("ml_dtypes")  # type: ignore[attr-defined]
    return build


#: The low-precision data types by name, registered by :mod:`zarrconv.format.dtypes`.
DATA_TYPES: dict[str, Callable[[Any], DataType]] = {name: _builder(name) for name in sorted(LOW_PRECISION_NAMES)}
