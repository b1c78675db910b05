"""Reading JSON members with errors that name where: the parsing helpers every model uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zarrconv.errors import MetadataError

__all__ = [
    "drop_none",
    "extra_members",
    "json_array",
    "json_entries",
    "json_error",
    "json_number",
    "json_numbers",
    "json_object",
    "json_string",
]


def json_error(where: str, msg: str) -> MetadataError:
    """A MetadataError saying ``msg`` at ``where`` (the store and key path)."""
    return MetadataError(f"{where}: {msg}" if where else msg)


def json_object(value: Any, where: str, what: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object; else a MetadataError naming ``what`` and ``where``."""
    if not isinstance(value, Mapping):
        raise json_error(where, f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def json_array(value: Any, where: str, what: str) -> list[Any]:
    """``value`` as a list if it is a JSON array; else a MetadataError naming ``what`` and ``where``."""
    if not isinstance(value, (list, tuple)):
        raise json_error(where, f"{what} must be a JSON array, got {type(value).__name__}")
    return list(value)


def json_string(value: Any, where: str, what: str) -> str:
    """``value`` if it is a string; else a MetadataError naming ``what`` and ``where``."""
    if not isinstance(value, str):
        raise json_error(where, f"{what} must be a string, got {value!r}")
    return value


def json_numbers(value: Any, where: str, what: str) -> list[float]:
    """``value`` as a list of floats if it is an array of numbers (booleans are not numbers)."""
    vals = json_array(value, where, what)
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise json_error(where, f"{what} must hold numbers, got {v!r}")
        out.append(float(v))
    return out


def json_entries(d: Mapping[str, Any], key: str, where: str, what: str,
             required: str | None = None) -> list[tuple[str, Mapping[str, Any]]]:
    """``(location, object)`` for each element of the array ``d[key]``: each must be a JSON
    object (``what`` names it in errors) and hold the member ``required`` when given."""
    out = []
    for i, value in enumerate(json_array(d[key], where, repr(key))):
        w = f"{where}.{key}[{i}]"
        obj = json_object(value, w, what)
        if required is not None and required not in obj:
            raise json_error(w, f"{what} has no {required!r}")
        out.append((w, obj))
    return out


def extra_members(d: Mapping[str, Any], known: Sequence[str]) -> dict[str, Any]:
    """The members of ``d`` not in ``known``: kept in a model's ``extra`` and written back unchanged."""
    return {k: v for k, v in d.items() if k not in known}


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` without its None values (optional members that are absent)."""
    return {k: v for k, v in d.items() if v is not None}


def json_number(v: float) -> int | float:
    """JSON number: integral floats written as ints would change the type for readers
    expecting floats, so floats stay floats."""
    return float(v)
