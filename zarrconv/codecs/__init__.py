"""Codecs: registry, the codecs of the core spec, sharding, the numcodecs bridge, pipelines."""

from __future__ import annotations

from typing import Any

from . import (  # noqa: F401  (register codecs)
    array_codecs,
    bitround,
    cast_value,
    compression,
    packbits,
    reshape,
    scale_offset,
    sharding,
    strings,
    zfp,
)
from .base import CODECS, ChunkSpec, Codec, register_codec
from .pipeline import CodecPipeline, V2Pipeline, build_pipeline
from .registry import codec_from_json, split_chain

#: codecs a bare name selects with their default settings (the codec classes' own defaults)
_BY_STRING = ("zstd", "gzip", "blosc", "crc32c")


def normalize_codecs(value: Any, *, zarr_format: int = 3, itemsize: int | None = None) -> list[dict]:
    """Turn what users pass as ``compressors``/``filters`` into codec documents.

    Accepts None, ``"auto"`` (zstd), a codec name string, a v3 codec document, a numcodecs
    codec instance, a zarrconv :class:`Codec`, or a list of these. For ``zarr_format=2`` the
    result is numcodecs configs (``{"id": ...}``).
    """
    if value is None:
        return []
    if isinstance(value, str | dict) or not isinstance(value, list | tuple):
        value = [value]
    out: list[dict] = []
    for v in value:
        if v == "auto":
            v = "zstd"
        if isinstance(v, str):
            if v not in _BY_STRING:
                if zarr_format == 2:
                    out.append({"id": v})
                    continue
                codec_from_json({"name": v})  # raises UnknownCodecError for unknown names
                out.append({"name": v})
                continue
            doc = (CODECS[v](typesize=itemsize) if v == "blosc" and itemsize else CODECS[v]()).to_json()
        elif isinstance(v, Codec):
            doc = v.to_json()
        elif isinstance(v, dict):
            doc = v
        elif hasattr(v, "get_config") and hasattr(v, "codec_id"):
            conf = dict(v.get_config())
            if zarr_format == 2:
                out.append(conf)
                continue
            doc = numcodecs_to_v3(conf, itemsize)
        else:
            raise TypeError(f"cannot use {v!r} as a codec")
        if zarr_format == 2:
            out.append(v3_codec_to_numcodecs(doc))
        else:
            codec_from_json(doc)  # validate early, with a clear error
            out.append(doc)
    return out


def numcodecs_to_v3(conf: dict, itemsize: int | None) -> dict:
    """A numcodecs config (``{"id": ...}``) as the v3 codec document that decodes the same bytes.

    zstd, gzip and blosc become the spec's codecs (numcodecs' blosc AUTOSHUFFLE resolves
    as numcodecs does: bit-shuffle for 1-byte items, else byte-shuffle); others become
    ``numcodecs.<id>``.
    """
    cid = conf["id"]
    rest = {k: v for k, v in conf.items() if k != "id"}
    if cid == "blosc":
        shuffle = rest.get("shuffle", 1)
        if shuffle == -1:  # numcodecs AUTOSHUFFLE
            shuffle = 2 if itemsize == 1 else 1
        config = {"cname": rest.get("cname", "lz4"), "clevel": rest.get("clevel", 5),
                  "shuffle": {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}[shuffle],
                  "blocksize": rest.get("blocksize", 0)}
        if itemsize:
            config["typesize"] = itemsize
        return {"name": "blosc", "configuration": config}
    if cid == "zstd":
        return {"name": "zstd", "configuration": {"level": rest.get("level", 0), "checksum": rest.get("checksum", False)}}
    if cid == "gzip":
        return {"name": "gzip", "configuration": {"level": rest.get("level", 5)}}
    return {"name": f"numcodecs.{cid}", "configuration": rest}


def v3_codec_to_numcodecs(doc: dict) -> dict:
    """A v3 codec document as a numcodecs config, for v2 metadata (used by ``normalize_codecs``
    and by :mod:`zarrconv.convert`). Raises TypeError for codecs Zarr v2 cannot express."""
    name = doc.get("name", doc.get("id"))
    conf = dict(doc.get("configuration") or {})
    if "id" in doc:
        return doc
    if name.startswith("numcodecs."):
        return {"id": name[len("numcodecs."):], **conf}
    if name == "blosc":
        return {"id": "blosc", "cname": conf.get("cname", "zstd"), "clevel": conf.get("clevel", 5),
                "shuffle": {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[conf.get("shuffle", "shuffle")],
                "blocksize": conf.get("blocksize", 0)}
    if name == "zstd":
        # "checksum" only when set, as zarr-python writes it (tensorstore refuses unknown members)
        return {"id": "zstd", "level": conf.get("level", 0), **({"checksum": True} if conf.get("checksum") else {})}
    if name == "gzip":
        return {"id": "gzip", "level": conf.get("level", 5)}
    if name == "crc32c":
        return {"id": "crc32c"}
    raise TypeError(f"codec {name!r} has no Zarr v2 equivalent")


__all__ = [
    "CODECS", "ChunkSpec", "Codec", "CodecPipeline", "V2Pipeline", "build_pipeline",
    "codec_from_json", "normalize_codecs", "register_codec", "split_chain", "numcodecs_to_v3", "v3_codec_to_numcodecs",
]
