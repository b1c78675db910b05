"""The ``zarr_conventions`` registrations of the geospatial conventions.

Zarr Conventions (https://github.com/zarr-conventions/zarr-conventions-spec) are declared
in a node's ``attributes["zarr_conventions"]``: a list of Convention Metadata Objects with
at least one of ``uuid``, ``schema_url``, ``spec_url``, and optionally ``name`` and
``description``. A convention is *identified* by its ``uuid`` (else ``schema_url``, else
``spec_url``); the ``name`` must not be used for identification, but older writers
(rioxarray <= 0.23, geozarr-toolkit 0.1) register ``"proj:"``/``"spatial:"`` names and
URLs of other repositories, so :func:`is_declared` accepts those too.

zarrconv writes the registrations of the upstream repositories' ``v0.1`` tags.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

__all__ = [
    "MULTISCALES",
    "MULTISCALES_UUID",
    "PROJ",
    "PROJ_UUID",
    "SPATIAL",
    "SPATIAL_UUID",
    "add_registration",
    "declared_conventions",
    "is_declared",
]

PROJ_UUID: Final = "f17cb550-5864-4468-aeb7-f3180cfb622f"
SPATIAL_UUID: Final = "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4"
MULTISCALES_UUID: Final = "d35379db-88df-4056-af3a-620245f8e347"

PROJ: Final[dict[str, str]] = {
    "uuid": PROJ_UUID,
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/proj/refs/tags/v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/proj/blob/v0.1/README.md",
    "name": "proj",
    "description": "Coordinate reference system information for geospatial data",
}
SPATIAL: Final[dict[str, str]] = {
    "uuid": SPATIAL_UUID,
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/spatial/refs/tags/v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/spatial/blob/v0.1/README.md",
    "name": "spatial",
    "description": "Spatial coordinate information",
}
MULTISCALES: Final[dict[str, str]] = {
    "uuid": MULTISCALES_UUID,
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/multiscales/refs/tags/v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/multiscales/blob/v0.1/README.md",
    "name": "multiscales",
    "description": "Multiscale layout of zarr datasets",
}

_BY_KEY: Final = {"proj": PROJ, "spatial": SPATIAL, "multiscales": MULTISCALES}
# Repository names seen in schema/spec URLs of the same convention across its history.
_URL_MARKERS: Final = {
    "proj": ("/geo-proj/", "/proj/", "/proj-prefix/"),
    "spatial": ("/spatial/",),
    "multiscales": ("/multiscales/",),
}
CMO_KEYS: Final = frozenset({"uuid", "schema_url", "spec_url", "name", "description"})


def _matches(entry: Mapping[str, Any], key: str) -> bool:
    ref = _BY_KEY[key]
    uuid = entry.get("uuid")
    if isinstance(uuid, str):
        return uuid == ref["uuid"]
    name = entry.get("name")
    if isinstance(name, str) and name.rstrip(":") == key:
        return True
    for field in ("schema_url", "spec_url"):
        url = entry.get(field)
        if isinstance(url, str) and any(m in url for m in _URL_MARKERS[key]):
            return True
    return False


def declared_conventions(attrs: Mapping[str, Any]) -> set[str]:
    """Return which of ``{"proj", "spatial", "multiscales"}`` ``attrs`` declares.

    Malformed ``zarr_conventions`` values (not a list, entries not objects) declare
    nothing; :func:`zarrconv.conventions.geo.validate` reports them.
    """
    entries = attrs.get("zarr_conventions")
    if not isinstance(entries, list):
        return set()
    found = set()
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        for key in _BY_KEY:
            if _matches(entry, key):
                found.add(key)
    return found


def is_declared(attrs: Mapping[str, Any], key: str) -> bool:
    """Whether ``attrs["zarr_conventions"]`` registers the convention ``key``."""
    return key in declared_conventions(attrs)


def add_registration(attrs: MutableMapping[str, Any], *keys: str) -> None:
    """Register the conventions ``keys`` in ``attrs["zarr_conventions"]`` (idempotent).

    Existing registrations of other conventions are kept in order; a registration of
    the same convention (by any identifier) is not duplicated.
    """
    entries = attrs.get("zarr_conventions")
    entries = list(entries) if isinstance(entries, list) else []
    for key in keys:
        if not any(isinstance(e, Mapping) and _matches(e, key) for e in entries):
            entries.append(dict(_BY_KEY[key]))
    attrs["zarr_conventions"] = entries
