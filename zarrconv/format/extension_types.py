"""Extension data types of Zarr v3, in the JSON forms zarr-python 3 writes.

Listed in :data:`DATA_TYPES`, which :mod:`zarrconv.format.dtypes` registers:

=========================  =============================================  ==============================
name                       ``data_type`` JSON                             in memory
=========================  =============================================  ==============================
``string``                 ``"string"``                                   object array of ``str``
``variable_length_bytes``  ``"variable_length_bytes"`` (reads ``bytes``)  object array of ``bytes``
``fixed_length_utf32``     ``{"name", "configuration": {length_bytes}}``  ``<U{length_bytes // 4}``
``null_terminated_bytes``  ``{"name", "configuration": {length_bytes}}``  ``S{length_bytes}``
``raw_bytes`` (read)       ``{"name", "configuration": {length_bytes}}``  ``V{length_bytes}``
``numpy.datetime64``       ``{"name", "configuration": {unit, scale_factor}}``  ``M8[{scale}{unit}]``
``numpy.timedelta64``      ``{"name", "configuration": {unit, scale_factor}}``  ``m8[{scale}{unit}]``
``struct``                 ``{"name", "configuration": {fields: [...]}}``  packed structured dtype
``structured`` (read)      legacy ``[[name, type], ...]`` fields          packed structured dtype
=========================  =============================================  ==============================

Each parser takes either the metadata JSON or a numpy dtype (for writing) and returns a
:class:`~zarrconv.format.dtypes.DataType`. Parsers with a ``matches`` attribute are
consulted when a numpy dtype is turned into a v3 data type.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import MetadataError
from .data_type import DataType, parse_v3_data_type, v3_data_type_for

#: In-memory dtypes of the variable-length types: object arrays tagged with the element type.
STRING_DTYPE = np.dtype(object, metadata={"vlen": str})
BYTES_DTYPE = np.dtype(object, metadata={"vlen": bytes})

_TIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "μs", "ns", "ps", "fs", "as", "generic")
_NAT = -(2**63)


#: The built-in extension data types by name, registered by :mod:`zarrconv.format.dtypes`.
DATA_TYPES: dict[str, Callable[[Any], DataType]] = {}


class _Extension:
    """A registered parser: ``parser(json_or_dtype) -> DataType`` with an optional dtype matcher."""

    def __init__(self, build: Callable[[Any], DataType], matches: Callable[[np.dtype], bool] | None = None) -> None:
        self._build = build
        if matches is not None:
            self.matches = matches

    def __call__(self, value: Any) -> DataType:
        return self._build(value)


def _register(names: tuple[str, ...], build: Callable[[Any], DataType],
              matches: Callable[[np.dtype], bool] | None = None) -> None:
    ext = _Extension(build, matches)
    for n in names:
        DATA_TYPES[n] = ext


def _configuration(value: Any, name: str, keys: set[str]) -> dict:
    conf = value.get("configuration") if isinstance(value, dict) else None
    if not isinstance(conf, dict) or not keys <= set(conf):
        raise MetadataError(f"data type {name!r} needs a configuration with {sorted(keys)}, got {value!r}")
    return conf


def _b64_or_byte_list(value: Any, what: str) -> bytes:
    """Bytes from a base64 string or a list of 0-255 integers (both allowed by the spec)."""
    if isinstance(value, str):
        try:
            return base64.standard_b64decode(value.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError) as e:
            raise MetadataError(f"{what} fill value {value!r} is not valid base64: {e}") from None
    if isinstance(value, list) and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in value):
        return bytes(value)
    raise MetadataError(f"{what} fill value {value!r} must be a base64 string or a list of byte values")


def _b64(value: Any) -> str:
    return base64.standard_b64encode(bytes(value)).decode("ascii")


# -- variable-length strings and bytes ----------------------------------------------------------

def _string_fill(value: Any) -> str:
    if not isinstance(value, str):
        raise MetadataError(f"fill value {value!r} of a 'string' array must be a JSON string")
    return value


def _string(value: Any) -> DataType:
    return DataType("string", STRING_DTYPE, _string_fill, str, fixed_size=False)


def _vlen_bytes(value: Any) -> DataType:
    # zarr-python 3 writes "variable_length_bytes" and reads it and the registered name "bytes";
    # zarrconv reads both and writes what zarr-python writes
    return DataType("variable_length_bytes", BYTES_DTYPE, lambda v: _b64_or_byte_list(v, "bytes"), _b64,
                    fixed_size=False)


def _is_vlen(kind: type) -> Callable[[np.dtype], bool]:
    def matches(dtype: np.dtype) -> bool:
        return dtype.kind == "O" and (dtype.metadata or {}).get("vlen", str) is kind

    return matches


_register(("string", "variable_length_utf8"), _string, _is_vlen(str))
_register(("variable_length_bytes", "bytes"), _vlen_bytes, _is_vlen(bytes))


# -- fixed-length strings and bytes -------------------------------------------------------------

def _length_bytes(value: Any, name: str, multiple: int = 1) -> int:
    n = _configuration(value, name, {"length_bytes"})["length_bytes"]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < 2**31 or n % multiple:
        raise MetadataError(f"{name} length_bytes {n!r} must be a positive integer multiple of {multiple} below 2**31")
    return n


def _utf32(value: Any) -> DataType:
    if isinstance(value, np.dtype):
        if value.itemsize == 0:
            raise MetadataError("fixed-length strings need a length: use '<U10' (or dtype=str for variable length)")
        n = value.itemsize
    else:
        n = _length_bytes(value, "fixed_length_utf32", 4)
    dtype = np.dtype(f"U{n // 4}")

    def fill(v: Any) -> Any:
        if not isinstance(v, str) or len(v) > n // 4:
            raise MetadataError(f"fixed_length_utf32 fill value {v!r} must be a string of at most {n // 4} characters")
        return np.str_(v)

    doc = {"name": "fixed_length_utf32", "configuration": {"length_bytes": n}}
    return DataType(doc, dtype, fill, lambda v: str(v))


def _null_terminated(value: Any) -> DataType:
    if isinstance(value, np.dtype):
        if value.itemsize == 0:
            raise MetadataError("fixed-length bytes need a length: use 'S5' (or dtype=bytes for variable length)")
        n = value.itemsize
    else:
        n = _length_bytes(value, "null_terminated_bytes")
    dtype = np.dtype(f"S{n}")

    def fill(v: Any) -> Any:
        raw = _b64_or_byte_list(v, "null_terminated_bytes")
        if len(raw) > n:
            raise MetadataError(f"null_terminated_bytes fill value {v!r} is longer than {n} bytes")
        return np.bytes_(raw)

    doc = {"name": "null_terminated_bytes", "configuration": {"length_bytes": n}}
    return DataType(doc, dtype, fill, lambda v: _b64(np.asarray(v, dtype=dtype).tobytes().rstrip(b"\0")))


def _raw_bytes(value: Any) -> DataType:
    n = _length_bytes(value, "raw_bytes")
    dtype = np.dtype(f"V{n}")

    def fill(v: Any) -> Any:
        raw = _b64_or_byte_list(v, "raw_bytes")
        if len(raw) != n:
            raise MetadataError(f"raw_bytes fill value {v!r} must hold exactly {n} bytes")
        return np.frombuffer(raw, dtype=dtype)[0]

    doc = {"name": "raw_bytes", "configuration": {"length_bytes": n}}
    return DataType(doc, dtype, fill, lambda v: _b64(np.asarray(v, dtype=dtype).tobytes()))


_register(("fixed_length_utf32",), _utf32, lambda d: d.kind == "U")
_register(("null_terminated_bytes",), _null_terminated, lambda d: d.kind == "S")
_register(("raw_bytes",), _raw_bytes)


# -- datetime64 / timedelta64 -------------------------------------------------------------------

def _time(name: str, kind: str) -> Callable[[Any], DataType]:
    def build(value: Any) -> DataType:
        if isinstance(value, np.dtype):
            unit, scale = np.datetime_data(value)
        else:
            conf = _configuration(value, name, {"unit", "scale_factor"})
            unit, scale = conf["unit"], conf["scale_factor"]
            if set(conf) != {"unit", "scale_factor"}:
                raise MetadataError(f"{name} configuration {conf!r} has fields other than unit and scale_factor")
        if unit not in _TIME_UNITS:
            raise MetadataError(f"{name} unit {unit!r} must be one of {_TIME_UNITS}")
        if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 2**31 - 1:
            raise MetadataError(f"{name} scale_factor {scale!r} must be an integer in [1, 2147483647]")
        unit = "us" if unit == "μs" else unit
        dtype = np.dtype(f"{kind}8[{scale}{unit}]" if unit != "generic" else f"{kind}8")

        def fill(v: Any) -> Any:
            if v == "NaT":
                return np.array("NaT", dtype=dtype)[()]
            if isinstance(v, bool) or not isinstance(v, int) or not _NAT <= v < 2**63:
                raise MetadataError(f"{name} fill value {v!r} must be a 64-bit integer or 'NaT'")
            return np.array(v, dtype="i8").view(dtype)[()]

        def fill_json(v: Any) -> int:
            return int(np.asarray(v, dtype=dtype).view("i8"))

        doc = {"name": name, "configuration": {"unit": unit, "scale_factor": int(scale)}}
        return DataType(doc, dtype, fill, fill_json)

    return build


_register(("numpy.datetime64",), _time("numpy.datetime64", "M"), lambda d: d.kind == "M")
_register(("numpy.timedelta64",), _time("numpy.timedelta64", "m"), lambda d: d.kind == "m")


# -- struct -------------------------------------------------------------------------------------

def _struct_fields_from_json(value: Any) -> list[tuple[str, DataType]]:
    conf = _configuration(value, "struct", {"fields"})
    fields = conf["fields"]
    if not isinstance(fields, list) or not fields:
        raise MetadataError(f"struct fields {fields!r} must be a non-empty list")
    out: list[tuple[str, DataType]] = []
    for f in fields:
        if isinstance(f, dict) and set(f) >= {"name", "data_type"}:
            fname, ftype = f["name"], f["data_type"]
        elif isinstance(f, list) and len(f) == 2:  # legacy "structured": [name, data_type]
            fname, ftype = f
        else:
            raise MetadataError(f"struct field {f!r} must be an object with a name and a data_type")
        if not isinstance(fname, str) or not fname:
            raise MetadataError(f"struct field name {fname!r} must be a non-empty string")
        out.append((fname, parse_v3_data_type(ftype)))
    return out


def _struct_fields_from_dtype(dtype: np.dtype) -> list[tuple[str, DataType]]:
    out = []
    for fname in dtype.names or ():
        fdtype = dtype.fields[fname][0]
        if fdtype.subdtype is not None:
            raise MetadataError(
                f"struct field {fname!r} has a sub-array dtype {fdtype}; the Zarr struct data type has no "
                "sub-array fields: store it as its own array"
            )
        out.append((fname, v3_data_type_for(fdtype)))
    return out


def _struct(value: Any) -> DataType:
    fields = _struct_fields_from_dtype(value) if isinstance(value, np.dtype) else _struct_fields_from_json(value)
    names = [n for n, _ in fields]
    if len(set(names)) != len(names):
        raise MetadataError(f"struct field names {names} must be unique")
    for n, t in fields:
        if not t.fixed_size:
            raise MetadataError(f"struct field {n!r} has the variable-length type {t.name!r}; fields must be fixed-size")
    dtype = np.dtype([(n, t.dtype) for n, t in fields])  # packed, native byte order

    def fill(v: Any) -> Any:
        if isinstance(v, dict):
            unknown = set(v) - set(names)
            if unknown:
                raise MetadataError(f"struct fill value names unknown fields {sorted(unknown)}")
            out = np.zeros((), dtype=dtype)  # missing fields are zero, as zarr-python reads them
            for n, t in fields:
                if n in v:
                    out[n] = t.fill_from_json(v[n])
            return out[()]
        if isinstance(v, str):  # legacy base64 of the packed little-endian bytes
            raw = _b64_or_byte_list(v, "struct")
            if len(raw) != dtype.itemsize:
                raise MetadataError(f"struct fill value {v!r} must decode to {dtype.itemsize} bytes")
            return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)[0]
        raise MetadataError(f"struct fill value {v!r} must be an object mapping field names to values")

    def fill_json(v: Any) -> dict:
        scalar = np.asarray(v, dtype=dtype)[()]
        return {n: t.fill_to_json(scalar[n]) for n, t in fields}

    # legacy "structured" documents are read, and rewritten as "struct" (the spec forbids writing them)
    doc = {"name": "struct", "configuration": {
        "fields": [{"name": n, "data_type": t.json} for n, t in fields]}}
    return DataType(doc, dtype, fill, fill_json)


_register(("struct", "structured"), _struct, lambda d: d.kind == "V" and d.names is not None)


__all__ = ["BYTES_DTYPE", "DATA_TYPES", "STRING_DTYPE"]
