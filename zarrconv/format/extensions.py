"""Zarr 3.1 extension definitions: an object ``{"name", "configuration"?, "must_understand"?}`` or a
short-hand name (a bare string, the same as ``{"name": ...}``).

``must_understand: false`` lets a reader ignore an extension it does not know; the core spec does not
allow it for data types, chunk grids and chunk key encodings, so those refuse it (codecs and storage
transformers handle it where they are parsed).
"""

from __future__ import annotations

from typing import Any

from ..errors import MetadataError

#: Extension points where ``must_understand: false`` is not allowed.
STRICT_POINTS = ("data_type", "chunk_grid", "chunk_key_encoding")


def must_understand(value: Any, point: str) -> bool:
    """The ``must_understand`` of an extension object (True when absent or a short-hand name)."""
    if not isinstance(value, dict) or "must_understand" not in value:
        return True
    flag = value["must_understand"]
    if not isinstance(flag, bool):
        raise MetadataError(f"{point} {value!r}: must_understand must be true or false")
    if not flag and point in STRICT_POINTS:
        raise MetadataError(
            f"{point} {value.get('name')!r} is marked must_understand: false, which Zarr 3.1 does not allow for a "
            f"{point.replace('_', ' ')}: a reader must understand it to read the array"
        )
    return flag


def parse_extension(value: Any, point: str) -> tuple[str, dict]:
    """``(name, configuration)`` of an extension object or short-hand name at ``point``."""
    if isinstance(value, str):
        return value, {}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise MetadataError(f"{point} {value!r} must be a name or an object with a name")
    must_understand(value, point)
    conf = value.get("configuration") or {}
    if not isinstance(conf, dict):
        raise MetadataError(f"{point} configuration {conf!r} must be an object")
    return value["name"], conf
