"""The OME-NGFF versions zarrconv reads and writes, and how each lays out its attributes."""

from __future__ import annotations

__all__ = [
    "READ_VERSIONS",
    "V06_TAG",
    "WRITE_VERSIONS",
    "is_v06",
    "namespaced",
]


#: Versions zarrconv reads.
READ_VERSIONS: tuple[str, ...] = ("0.1", "0.2", "0.3", "0.4", "0.5", "0.6")
#: Versions zarrconv writes ("0.6" is written as the tag of the 0.6 text, :data:`V06_TAG`).
WRITE_VERSIONS: tuple[str, ...] = ("0.4", "0.5", "0.6")
#: The ``ome.version`` written for 0.6: the tag of the specification text zarrconv follows
#: (its official JSON Schemas accept only this string).
V06_TAG = "0.6rc0"


def is_v06(version: str | None) -> bool:
    """Whether ``version`` is 0.6 or one of its pre-release tags ("0.6rc0", "0.6.dev4", ...)."""
    return isinstance(version, str) and version.startswith("0.6")


def namespaced(version: str) -> bool:
    """Whether ``version`` keeps everything under ``attributes["ome"]`` (0.5 and later)
    instead of a version key on each object (0.4 and earlier)."""
    return version == "0.5" or is_v06(version)
