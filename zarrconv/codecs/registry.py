"""Codecs from their metadata documents: the registered codecs, the numcodecs bridge for
``numcodecs.<id>`` names, and codecs that may be skipped (``must_understand: false``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import MetadataError, UnknownCodecError
from ..format.extensions import must_understand
from .base import CODECS, Codec, IgnoredCodec
from .numcodecs_bridge import NumcodecsCodec


def codec_from_json(doc: Any) -> Codec:
    """Instantiate a codec from its v3 metadata document (or bare name)."""
    if isinstance(doc, str):
        doc = {"name": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise MetadataError(f"codec {doc!r} must be an object with a name")
    name = doc["name"]
    config = doc.get("configuration") or {}
    if not isinstance(config, dict):
        raise MetadataError(f"codec {name!r}: configuration must be an object")
    cls = CODECS.get(name)
    if cls is None:
        if name.startswith("numcodecs."):
            return NumcodecsCodec.from_numcodecs_id(name[len("numcodecs."):], config)
        if must_understand(doc, "codec") is False:
            return IgnoredCodec(doc)
        raise UnknownCodecError(
            f"unknown codec {name!r}: zarrconv knows {sorted(CODECS)} and numcodecs.<id>; "
            "install or register a codec of that name to read this array"
        )
    return cls.from_config(config)
def split_chain(docs: Sequence[Any]) -> tuple[list[Any], Any | None, list[Any]]:
    """A v3 codec chain's documents by kind: (array->array, the array->bytes one or None,
    bytes->bytes). Codecs skipped under ``must_understand: false`` are in none of them."""
    kinds = [codec_from_json(d).kind for d in docs]
    return ([d for d, k in zip(docs, kinds) if k == "array_array"],
            next((d for d, k in zip(docs, kinds) if k == "array_bytes"), None),
            [d for d, k in zip(docs, kinds) if k == "bytes_bytes"])


__all__ = ["codec_from_json", "split_chain"]
