"""Locate the language-neutral convention definitions (READMEs, JSON Schemas, examples).

The top-level ``conventions/`` directory of the source tree is shipped inside the wheel
as ``zarrconv/_conventions/``. :func:`schema_path` finds a file in either place, so the
validators work the same from a source checkout, an editable install and a wheel.

>>> schema_path("geo", "schemas", "proj.schema.json")  # doctest: +SKIP
PosixPath('.../conventions/geo/schemas/proj.schema.json')
"""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

__all__ = ["conventions_roots", "load_json", "schema_path"]

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent  # .../zarrconv


def conventions_roots() -> list[pathlib.Path]:
    """Directories that may hold the convention definitions, most specific first.

    1. ``zarrconv/_conventions`` (installed wheel),
    2. ``<source checkout>/conventions`` (the directory next to the ``zarrconv`` package).
    """
    return [_PACKAGE_DIR / "_conventions", _PACKAGE_DIR.parent / "conventions"]


def schema_path(*parts: str) -> pathlib.Path:
    """Return the path of a file of the convention definitions.

    Parameters
    ----------
    *parts
        Path components below the conventions root, e.g.
        ``schema_path("geo", "schemas", "proj.schema.json")`` or
        ``schema_path("ome", "0.5", "image.schema.json")``.

    Raises
    ------
    FileNotFoundError
        If the file exists in none of :func:`conventions_roots`; the message lists the
        places searched (a broken installation: the wheel was built without its
        package data).
    """
    if not parts:
        raise ValueError("schema_path() needs at least one path component")
    relative = pathlib.PurePosixPath(*parts)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"schema_path() takes a relative path without '..', got {relative}")
    tried = []
    for root in conventions_roots():
        candidate = root.joinpath(*relative.parts)
        if candidate.exists():
            return candidate
        tried.append(str(candidate))
    raise FileNotFoundError(
        f"convention file {relative} not found; looked in: {', '.join(tried)}. "
        "The zarrconv installation lacks its package data (conventions/); reinstall it."
    )


@functools.lru_cache(maxsize=64)
def _load_json_cached(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_json(*parts: str) -> Any:
    """Parse and return a JSON file (a schema or an example) found by :func:`schema_path`.

    The parsed document is cached; treat it as read-only (copy it before mutating).
    """
    return _load_json_cached(str(schema_path(*parts)))
