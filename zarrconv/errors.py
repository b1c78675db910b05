"""The one exception hierarchy of zarrconv.

Every error a user can cause derives from :class:`ZarrconvError`, and most also derive
from the builtin exception a Python user would try to catch (``FileNotFoundError`` for
a missing node, ``PermissionError`` for a read-only store, ...), so that both
``except zarrconv.ZarrconvError`` and idiomatic builtin handlers work.
Messages name the store, the key and what to do.
"""

from __future__ import annotations


class ZarrconvError(Exception):
    """Base class of every error zarrconv raises on purpose."""


class MetadataError(ZarrconvError, ValueError):
    """A metadata document (zarr.json, .zarray, consolidated, convention attributes) is invalid."""


class CodecError(ZarrconvError, ValueError):
    """A codec could not encode or decode a chunk."""


class CorruptChunkError(CodecError):
    """Stored chunk bytes do not decode to a valid chunk (truncated, garbage, wrong size)."""


class ChecksumError(CorruptChunkError):
    """A crc32c checksum stored with a chunk does not match its content."""


class UnknownCodecError(CodecError, MetadataError):
    """The metadata names a codec that zarrconv does not know."""


class NodeNotFoundError(ZarrconvError, FileNotFoundError):
    """No array or group exists at the requested path."""


class ContainsNodeError(ZarrconvError, FileExistsError):
    """A node already exists where one was to be created without overwrite."""


class ReadOnlyError(ZarrconvError, PermissionError):
    """A mutation was attempted on a read-only store, group or array."""


class StoreError(ZarrconvError, OSError):
    """The store failed to read, write, list or delete a key (after retries, if any)."""


class InvalidPathError(ZarrconvError, ValueError):
    """A node name or store key is not allowed (escapes the root, reserved, malformed)."""


class SelectionError(ZarrconvError, IndexError):
    """An indexing selection is out of bounds or of an unsupported kind."""


class ShapeMismatchError(ZarrconvError, ValueError):
    """Data to write does not broadcast to the selected region."""


class ChunkAlignmentError(ZarrconvError, ValueError):
    """Dask chunks or write regions straddle storage chunks in an unsafe way."""


class NoTransformPathError(ZarrconvError, LookupError):
    """No chain of coordinate transformations joins two coordinate systems (or one is unknown)."""


class NotInvertibleError(ZarrconvError, ValueError):
    """A coordinate transformation has no closed-form inverse (a field, a singular matrix)."""


__all__ = [
    "ChecksumError",
    "ChunkAlignmentError",
    "CodecError",
    "ContainsNodeError",
    "CorruptChunkError",
    "InvalidPathError",
    "MetadataError",
    "NoTransformPathError",
    "NodeNotFoundError",
    "NotInvertibleError",
    "ReadOnlyError",
    "SelectionError",
    "ShapeMismatchError",
    "StoreError",
    "UnknownCodecError",
    "ZarrconvError",
]
