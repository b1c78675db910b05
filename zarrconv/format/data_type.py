"""Zarr data types: JSON names <-> numpy dtypes, and fill-value JSON encodings.

v3 data types carry no byte order (the ``bytes`` codec does); in memory zarrconv always
uses native byte order for them. v2 data types are numpy ``typestr``s with byte order.
The registry of extension data types (:data:`V3_EXTENSION_TYPES`) is defined here and filled with
the built-in ones by :mod:`zarrconv.format.dtypes`, the module the rest of zarrconv imports: the
extension types parse their fields with :func:`parse_v3_data_type`, so they import this module
and this module imports none of them.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MetadataError
from .extensions import must_understand

_CORE = {
    "bool": "?",
    "int8": "i1", "int16": "i2", "int32": "i4", "int64": "i8",
    "uint8": "u1", "uint16": "u2", "uint32": "u4", "uint64": "u8",
    "float16": "f2", "float32": "f4", "float64": "f8",
    "complex64": "c8", "complex128": "c16",
}
_CORE_BY_DTYPE = {np.dtype(v): k for k, v in _CORE.items()}


@dataclass(frozen=True)
class DataType:
    """One Zarr data type.

    Attributes:
        json: the metadata form (``"float32"``, ``"r16"``, or an extension's dict).
        dtype: the in-memory numpy dtype of decoded chunks.
        fill_from_json: parses a fill value of this type from JSON.
        fill_to_json: encodes a fill value to JSON.
        fixed_size: False for variable-length types (strings, bytes) held as objects.
    """

    json: Any
    dtype: np.dtype
    fill_from_json: Callable[[Any], Any] = field(repr=False, compare=False)
    fill_to_json: Callable[[Any], Any] = field(repr=False, compare=False)
    fixed_size: bool = True

    @property
    def name(self) -> str:
        return self.json if isinstance(self.json, str) else self.json.get("name", "?")

    def __reduce__(self) -> tuple:
        # closures do not pickle: rebuild from the JSON form (dask workers receive arrays by pickle)
        return (_rebuild_data_type, (self.json, self.dtype, self.fixed_size))

    def default_fill(self) -> Any:
        """The fill value used when metadata gives none (zero of the type)."""
        if self.dtype.kind == "O":
            return b"" if self.dtype.metadata and self.dtype.metadata.get("vlen") is bytes else ""
        if self.dtype.kind in "mM":
            return np.array("NaT", dtype=self.dtype)[()]  # as zarr-python 3 does
        return np.zeros((), dtype=self.dtype)[()]


# -- fill-value encodings -----------------------------------------------------------------

def float_from_json(value: Any, dtype: np.dtype) -> Any:
    """Parse a float fill value: a number, "NaN", "Infinity", "-Infinity" or "0x..." bits."""
    if isinstance(value, bool):
        raise MetadataError(f"fill value {value!r} is not a valid {dtype} number")
    if isinstance(value, int | float):
        return dtype.type(value)
    if isinstance(value, str):
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if value in special:
            return dtype.type(special[value])
        if value.startswith("0x"):
            raw = bytes.fromhex(value[2:]) if len(value) - 2 == 2 * dtype.itemsize else None
            if raw is None:
                raise MetadataError(
                    f"hex fill value {value!r} must encode exactly {dtype.itemsize} bytes for {dtype}"
                )
            return np.frombuffer(raw, dtype=dtype.newbyteorder(">"))[0].astype(dtype)
    raise MetadataError(f"fill value {value!r} is not a valid {dtype} number")


def float_to_json(value: Any) -> Any:
    """Encode a float fill value as the spec asks: NaN and infinities as strings."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _int_from_json(dtype: np.dtype) -> Callable[[Any], Any]:
    info = np.iinfo(dtype)

    def parse(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MetadataError(f"fill value {value!r} is not an integer for data type {dtype}")
        if not info.min <= value <= info.max:
            raise MetadataError(f"fill value {value} is out of range for data type {dtype}")
        return dtype.type(value)

    return parse


def _bool_from_json(value: Any) -> Any:
    if not isinstance(value, bool):
        raise MetadataError(f"fill value {value!r} is not a boolean")
    return np.bool_(value)


def _complex_from_json(dtype: np.dtype) -> Callable[[Any], Any]:
    part = np.dtype(f"f{dtype.itemsize // 2}")

    def parse(value: Any) -> Any:
        if not (isinstance(value, list | tuple) and len(value) == 2):
            raise MetadataError(f"complex fill value {value!r} must be a [real, imag] pair")
        return dtype.type(complex(float_from_json(value[0], part), float_from_json(value[1], part)))

    return parse


def _complex_to_json(value: Any) -> Any:
    c = complex(value)
    return [float_to_json(c.real), float_to_json(c.imag)]


def _raw_type(bits: int) -> DataType:
    nbytes = bits // 8
    dtype = np.dtype(f"V{nbytes}")

    def parse(value: Any) -> Any:
        if isinstance(value, list) and len(value) == nbytes and all(
            isinstance(b, int) and 0 <= b < 256 for b in value
        ):
            return np.frombuffer(bytes(value), dtype=dtype)[0]
        if isinstance(value, str) and value.startswith("0x") and len(value) == 2 + 2 * nbytes:
            return np.frombuffer(bytes.fromhex(value[2:]), dtype=dtype)[0]
        if isinstance(value, int) and value == 0:
            return np.zeros((), dtype=dtype)[()]
        raise MetadataError(f"fill value {value!r} is not a list of {nbytes} byte values for r{bits}")

    return DataType(f"r{bits}", dtype, parse, lambda v: list(np.asarray(v).tobytes()))


def core_type(name: str) -> DataType:
    """The :class:`DataType` of a core v3 name such as ``"int16"`` or ``"r24"``."""
    if name in _CORE:
        dtype = np.dtype(_CORE[name])
        if dtype.kind == "f":
            return DataType(name, dtype, lambda v, d=dtype: float_from_json(v, d), float_to_json)
        if dtype.kind == "c":
            return DataType(name, dtype, _complex_from_json(dtype), _complex_to_json)
        if dtype.kind == "b":
            return DataType(name, dtype, _bool_from_json, bool)
        return DataType(name, dtype, _int_from_json(dtype), int)
    if name.startswith("r") and name[1:].isdigit() and int(name[1:]) % 8 == 0 and int(name[1:]) > 0:
        return _raw_type(int(name[1:]))
    raise KeyError(name)


#: Parsers for v3 extension data types, by name: ``parser(json) -> DataType``.
V3_EXTENSION_TYPES: dict[str, Callable[[Any], DataType]] = {}


def parse_v3_data_type(value: Any) -> DataType:
    """Parse the ``data_type`` of a v3 ``zarr.json``; unknown types raise :class:`MetadataError`."""
    name = value if isinstance(value, str) else value.get("name") if isinstance(value, dict) else None
    if not isinstance(name, str):
        raise MetadataError(f"data_type {value!r} is neither a name nor an object with a name")
    must_understand(value, "data_type")
    try:
        return core_type(name)
    except KeyError:
        pass
    parser = V3_EXTENSION_TYPES.get(name)
    if parser is None:
        raise MetadataError(
            f"unknown data type {name!r}; zarrconv knows {sorted(_CORE)} + r<bits> + "
            f"{sorted(V3_EXTENSION_TYPES)}"
        )
    return parser(value)


def v3_data_type_for(dtype: Any) -> DataType:
    """The v3 :class:`DataType` zarrconv writes for a numpy dtype (or dtype-like)."""
    if isinstance(dtype, DataType):
        return dtype
    if isinstance(dtype, str) and dtype in V3_EXTENSION_TYPES:
        return V3_EXTENSION_TYPES[dtype](dtype)
    if dtype is str or dtype in ("str", "T") or getattr(dtype, "kind", None) == "T":
        return V3_EXTENSION_TYPES["string"]("string")
    if dtype is bytes:
        return V3_EXTENSION_TYPES["variable_length_bytes"]("variable_length_bytes")
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as e:
        raise MetadataError(f"{dtype!r} is not a data type zarrconv can store") from e
    native = np_dtype.newbyteorder("=") if np_dtype.byteorder not in "|=" else np_dtype
    if native in _CORE_BY_DTYPE:
        return core_type(_CORE_BY_DTYPE[native])
    for parser in V3_EXTENSION_TYPES.values():
        matcher = getattr(parser, "matches", None)
        if matcher is not None and matcher(native):
            return parser(native)
    if native.kind == "V" and native.fields is None:
        return core_type(f"r{native.itemsize * 8}")
    raise MetadataError(f"numpy dtype {np_dtype} has no Zarr v3 data type known to zarrconv")


# -- v2 -------------------------------------------------------------------------------------

def parse_v2_fill(value: Any, dtype: np.dtype) -> Any:
    """Parse a v2 ``fill_value`` (null, number, "NaN"/"Infinity", base64 for bytes types)."""
    if value is None:
        return None
    kind = dtype.kind
    try:
        if kind == "f":
            return float_from_json(value, dtype)
        if kind == "c":
            if isinstance(value, list):
                return _complex_from_json(dtype)(value)
            return dtype.type(value)
        if kind in "iu":
            return _int_from_json(dtype)(value)
        if kind == "b":
            return np.bool_(bool(value))
        if kind in "SV":
            if isinstance(value, str):
                raw = base64.standard_b64decode(value)
                return np.frombuffer(raw.ljust(dtype.itemsize, b"\0")[: dtype.itemsize], dtype=dtype)[0]
            if isinstance(value, int) and value == 0:
                return np.zeros((), dtype=dtype)[()]
        if kind == "U":
            if isinstance(value, str):
                return np.str_(value)
            if isinstance(value, int) and value == 0:
                return np.str_("")
        if kind in "mM":
            if isinstance(value, str) and value == "NaT":
                return np.array("NaT", dtype=dtype)[()]
            return np.array(value, dtype="i8").view(dtype)[()]
        if kind == "O":
            return value
    except (ValueError, TypeError, struct.error, base64.binascii.Error) as e:
        raise MetadataError(f"fill value {value!r} is not valid for dtype {dtype.str}: {e}") from e
    raise MetadataError(f"fill value {value!r} is not valid for dtype {dtype.str}")


def v2_fill_to_json(value: Any, dtype: np.dtype) -> Any:
    """Encode a v2 ``fill_value`` the way zarr-python 2 and 3 do."""
    if value is None:
        return None
    kind = dtype.kind
    if kind == "f":
        return float_to_json(value)
    if kind == "c":
        return _complex_to_json(value)
    if kind in "iu":
        return int(value)
    if kind == "b":
        return bool(value)
    if kind == "S":  # numpy bytes scalars drop trailing NULs, and zarr-python encodes those
        return base64.standard_b64encode(bytes(np.asarray(value, dtype=dtype)[()])).decode()
    if kind == "V":
        return base64.standard_b64encode(np.asarray(value, dtype=dtype).tobytes()).decode()
    if kind == "U":
        return str(value)
    if kind in "mM":
        return int(np.asarray(value, dtype=dtype).view("i8"))
    if kind == "O":
        return value
    raise MetadataError(f"cannot encode fill value {value!r} for dtype {dtype.str}")


def _v2_fields(value: list) -> list[tuple]:
    out = []
    for f in value:
        if not isinstance(f, list | tuple) or len(f) not in (2, 3) or not isinstance(f[0], str):
            raise MetadataError(f"structured v2 dtype field {f!r} must be [name, dtype] or [name, dtype, shape]")
        sub = _v2_fields(f[1]) if isinstance(f[1], list) else f[1]
        out.append((f[0], sub, tuple(f[2])) if len(f) == 3 else (f[0], sub))
    return out


def parse_v2_dtype(value: Any) -> np.dtype:
    """Parse a v2 ``dtype``: a numpy typestr (``"<f8"``, ``"|S5"``, ``"<M8[ns]"``) or a structured list."""
    try:
        if isinstance(value, list):
            return np.dtype(_v2_fields(value))
        if not isinstance(value, str):
            raise TypeError(f"{type(value).__name__} is not a typestr")
        return np.dtype(value)
    except (TypeError, ValueError) as e:
        raise MetadataError(f"v2 dtype {value!r} is not a numpy typestr or structured dtype list: {e}") from None


def v2_dtype_to_json(dtype: np.dtype) -> Any:
    """The v2 ``dtype`` of a numpy dtype: its typestr, or ``[[name, typestr(, shape)], ...]``."""
    if dtype.kind == "O":
        return "|O"
    if dtype.names is not None:
        return _descr_lists(dtype.descr)
    return dtype.str


def _descr_lists(descr: list) -> list:
    return [[f[0], _descr_lists(f[1]) if isinstance(f[1], list) else f[1], *(list(x) for x in f[2:])] for f in descr]


def data_type_from_v2(dtype: np.dtype, filters: Any = None) -> DataType:
    """The :class:`DataType` of a v2 array (its dtype keeps its byte order)."""
    if dtype.kind == "O":
        ids = {f.get("id") for f in filters or [] if isinstance(f, dict)}
        if "vlen-utf8" in ids or "vlen-unicode" in ids:
            return DataType("|O", np.dtype("O"), lambda v: "" if v is None else v, lambda v: v, fixed_size=False)
        if "vlen-bytes" in ids:
            return DataType("|O", np.dtype("O", metadata={"vlen": bytes}), lambda v: b"" if v is None else v, lambda v: v,
                            fixed_size=False)  # the metadata makes default_fill() b"", as zarr-python reads it
        if "vlen-array" in ids or "json2" in ids or "msgpack2" in ids or "pickle" in ids:
            return DataType("|O", np.dtype("O"), lambda v: v, lambda v: v, fixed_size=False)
        raise MetadataError("object dtype '|O' needs a vlen-utf8, vlen-bytes or other object codec in filters")
    return DataType(dtype.str, dtype, lambda v: parse_v2_fill(v, dtype), lambda v: v2_fill_to_json(v, dtype))


def _rebuild_data_type(json_form: Any, dtype_str: Any, fixed_size: bool) -> DataType:
    """Inverse of ``DataType.__reduce__``."""
    if isinstance(json_form, dict) or (isinstance(json_form, str) and json_form[:1] not in "<>|="):
        return parse_v3_data_type(json_form)
    dtype = np.dtype(dtype_str)
    if dtype.kind == "O":
        return DataType(json_form, dtype, _identity, _identity, fixed_size=False)
    return data_type_from_v2(dtype)


def _identity(value: Any) -> Any:
    return value

