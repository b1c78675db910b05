"""Array and group metadata documents of Zarr v2 and v3: parse, validate, serialize.

Pure data, no I/O. One :class:`ArrayMetadata` describes arrays of both formats, so that
the core handles them alike; the v2-only fields (``order``, ``filters``, ``compressor``)
are None for v3.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import MetadataError
from .chunks import (
    ChunkKeyEncoding,
    RectilinearChunkGrid,
    RegularChunkGrid,
    parse_chunk_grid,
    parse_chunk_key_encoding,
)
from .dtypes import (
    DataType,
    data_type_from_v2,
    parse_v2_dtype,
    parse_v2_fill,
    parse_v3_data_type,
    v2_dtype_to_json,
    v2_fill_to_json,
)
from .extensions import must_understand

ZARR_JSON = "zarr.json"
ZARRAY = ".zarray"
ZGROUP = ".zgroup"
ZATTRS = ".zattrs"
ZMETADATA = ".zmetadata"

_V3_ARRAY_KEYS = {
    "zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding",
    "fill_value", "codecs", "attributes", "dimension_names", "storage_transformers",
}
_V3_GROUP_KEYS = {"zarr_format", "node_type", "attributes", "consolidated_metadata"}


def loads_json(raw: bytes | str, where: str) -> Any:
    """Parse JSON, raising :class:`MetadataError` that names ``where`` on failure."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise MetadataError(f"{where} is not valid JSON: {e}") from None
    return doc


def dumps_json(doc: Any) -> bytes:
    """Serialize a metadata document (indented, like zarr-python, NaN refused)."""
    return json.dumps(doc, indent=2, allow_nan=False, default=_json_default).encode()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        f = float(o)
        if math.isnan(f) or math.isinf(f):
            return "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity")
        return f
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def check_extensions(doc: dict, known: set[str], where: str) -> dict:
    """Refuse unknown keys unless they are objects with ``must_understand: false``."""
    extra = {}
    for k, v in doc.items():
        if k in known:
            continue
        if isinstance(v, dict) and v.get("must_understand") is False:
            extra[k] = v
            continue
        raise MetadataError(
            f"{where}: unknown metadata field {k!r} that zarrconv must understand to read this "
            "node safely (it is not marked must_understand: false)"
        )
    return extra


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**63
                                              for s in value):
        raise MetadataError(f"{where}: shape {value!r} must be a list of non-negative integers below 2**63")
    if len(value) > 64:
        raise MetadataError(f"{where}: {len(value)} dimensions is more than zarrconv supports (64)")
    return tuple(value)


@dataclass
class ArrayMetadata:
    """An array's metadata, of either Zarr format."""

    zarr_format: int
    shape: tuple[int, ...]
    data_type: DataType
    chunk_grid: RegularChunkGrid | RectilinearChunkGrid
    chunk_key_encoding: ChunkKeyEncoding
    fill_value: Any
    codecs: list[dict] = field(default_factory=list)  # v3 codec documents
    attributes: dict = field(default_factory=dict)
    dimension_names: tuple[str | None, ...] | None = None
    # v2 only
    order: str = "C"
    filters: list[dict] | None = None
    compressor: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def dtype(self) -> np.dtype:
        return self.data_type.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        return tuple(self.chunk_grid.chunk_shape)

    def with_shape(self, shape: tuple[int, ...]) -> ArrayMetadata:
        return replace(self, shape=tuple(shape), chunk_grid=self.chunk_grid.resized(tuple(shape)))

    # -- serialization ---------------------------------------------------------------------
    def to_json(self) -> dict:
        """The ``zarr.json`` (v3) or ``.zarray`` (v2) document."""
        if self.zarr_format == 3:
            doc: dict[str, Any] = {
                "zarr_format": 3,
                "node_type": "array",
                "shape": list(self.shape),
                "data_type": self.data_type.json,
                "chunk_grid": self.chunk_grid.to_json(),
                "chunk_key_encoding": self.chunk_key_encoding.to_json(),
                "fill_value": self.data_type.fill_to_json(self.fill_value),
                "codecs": self.codecs,
                "attributes": self.attributes,
            }
            if self.dimension_names is not None:
                doc["dimension_names"] = list(self.dimension_names)
            doc.update(self.extra)
            return doc
        doc = {
            "zarr_format": 2,
            "shape": list(self.shape),
            "chunks": list(self.chunk_shape),
            "dtype": _v2_dtype_json(self.dtype),
            "compressor": self.compressor,
            "fill_value": v2_fill_to_json(self.fill_value, self.dtype),
            "order": self.order,
            "filters": self.filters or None,
        }
        if self.chunk_key_encoding.separator != ".":
            doc["dimension_separator"] = self.chunk_key_encoding.separator
        return doc

    def documents(self) -> dict[str, dict]:
        """Every document of this node, by file name (v2 splits attributes into ``.zattrs``)."""
        if self.zarr_format == 3:
            return {ZARR_JSON: self.to_json()}
        docs = {ZARRAY: self.to_json()}
        if self.attributes:
            docs[ZATTRS] = self.attributes
        return docs


def _v2_dtype_json(dtype: np.dtype) -> Any:
    return v2_dtype_to_json(dtype)


def parse_v3_array(doc: Any, where: str) -> ArrayMetadata:
    """Validate and parse a v3 array ``zarr.json`` document."""
    if not isinstance(doc, dict):
        raise MetadataError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("zarr_format") != 3 or doc.get("node_type") != "array":
        raise MetadataError(f"{where}: not a Zarr v3 array document")
    for required in ("shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs"):
        if required not in doc:
            raise MetadataError(f"{where}: required field {required!r} is missing")
    extra = check_extensions(doc, _V3_ARRAY_KEYS, where)
    shape = _shape(doc["shape"], where)
    try:
        data_type = parse_v3_data_type(doc["data_type"])
        grid = parse_chunk_grid(doc["chunk_grid"], shape)
        cke = parse_chunk_key_encoding(doc["chunk_key_encoding"])
        fill = data_type.fill_from_json(doc["fill_value"]) if doc["fill_value"] is not None else None
    except MetadataError as e:
        raise MetadataError(f"{where}: {e}") from None
    if fill is None:
        raise MetadataError(f"{where}: fill_value must not be null in Zarr v3")
    codecs = doc["codecs"]
    if not isinstance(codecs, list) or not all(isinstance(c, dict | str) for c in codecs):
        raise MetadataError(f"{where}: codecs must be a list of codec objects")
    codecs = [{"name": c} if isinstance(c, str) else c for c in codecs]
    for t in doc.get("storage_transformers") or []:
        if not (isinstance(t, dict) and must_understand(t, "storage_transformer") is False):
            raise MetadataError(f"{where}: storage transformer {t!r} is not supported by zarrconv")
    names = doc.get("dimension_names")
    if names is not None:
        if not isinstance(names, list) or len(names) != len(shape) or not all(
            n is None or isinstance(n, str) for n in names
        ):
            raise MetadataError(f"{where}: dimension_names {names!r} must be {len(shape)} strings or nulls")
        names = tuple(names)
    attrs = doc.get("attributes", {})
    if not isinstance(attrs, dict):
        raise MetadataError(f"{where}: attributes must be a JSON object")
    return ArrayMetadata(3, shape, data_type, grid, cke, fill, codecs, attrs, names, extra=extra)


def parse_v2_array(doc: Any, attrs: Any, where: str) -> ArrayMetadata:
    """Validate and parse a v2 ``.zarray`` document (and its ``.zattrs``)."""
    if not isinstance(doc, dict) or doc.get("zarr_format") != 2:
        raise MetadataError(f"{where}: not a Zarr v2 .zarray document")
    for required in ("shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters"):
        if required not in doc:
            raise MetadataError(f"{where}: required field {required!r} is missing")
    shape = _shape(doc["shape"], where)
    chunks = doc["chunks"]
    if not isinstance(chunks, list) or len(chunks) != len(shape):
        raise MetadataError(f"{where}: chunks {chunks!r} must have one entry per dimension of {shape}")
    try:
        dtype = parse_v2_dtype(doc["dtype"])
        data_type = data_type_from_v2(dtype, doc.get("filters"))
        grid = RegularChunkGrid(tuple(chunks))
        sep = doc.get("dimension_separator", ".")
        cke = ChunkKeyEncoding("v2", sep)
        fill = parse_v2_fill(doc["fill_value"], data_type.dtype)
    except MetadataError as e:
        raise MetadataError(f"{where}: {e}") from None
    except TypeError as e:
        raise MetadataError(f"{where}: {e}") from None
    if doc["order"] not in ("C", "F"):
        raise MetadataError(f"{where}: order {doc['order']!r} must be 'C' or 'F'")
    for name in ("compressor",):
        if doc[name] is not None and not (isinstance(doc[name], dict) and "id" in doc[name]):
            raise MetadataError(f"{where}: {name} {doc[name]!r} must be null or an object with an id")
    filters = doc["filters"]
    if filters is not None and not (
        isinstance(filters, list) and all(isinstance(f, dict) and "id" in f for f in filters)
    ):
        raise MetadataError(f"{where}: filters {filters!r} must be null or a list of objects with ids")
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, dict):
        raise MetadataError(f"{where}: .zattrs must be a JSON object")
    dims = attrs.get("_ARRAY_DIMENSIONS")
    names = tuple(dims) if isinstance(dims, list) and len(dims) == len(shape) else None
    return ArrayMetadata(
        2, shape, data_type, grid, cke, fill, [], attrs, names,
        order=doc["order"], filters=filters, compressor=doc["compressor"],
    )


@dataclass
class GroupMetadata:
    """A group's metadata; ``consolidated`` maps relative paths to node documents when present."""

    zarr_format: int = 3
    attributes: dict = field(default_factory=dict)
    consolidated: dict[str, dict] | None = None
    extra: dict = field(default_factory=dict)

    def documents(self) -> dict[str, dict]:
        if self.zarr_format == 3:
            doc: dict[str, Any] = {"zarr_format": 3, "node_type": "group", "attributes": self.attributes}
            if self.consolidated is not None:
                doc["consolidated_metadata"] = {
                    "kind": "inline", "must_understand": False, "metadata": self.consolidated,
                }
            doc.update(self.extra)
            return {ZARR_JSON: doc}
        docs: dict[str, dict] = {ZGROUP: {"zarr_format": 2}}
        if self.attributes:
            docs[ZATTRS] = self.attributes
        return docs


def parse_v3_group(doc: Any, where: str) -> GroupMetadata:
    """Validate and parse a v3 group ``zarr.json`` document."""
    if not isinstance(doc, dict) or doc.get("zarr_format") != 3 or doc.get("node_type") != "group":
        raise MetadataError(f"{where}: not a Zarr v3 group document")
    extra = check_extensions(doc, _V3_GROUP_KEYS, where)
    attrs = doc.get("attributes", {})
    if not isinstance(attrs, dict):
        raise MetadataError(f"{where}: attributes must be a JSON object")
    consolidated = None
    cm = doc.get("consolidated_metadata")
    if isinstance(cm, dict) and cm.get("kind", "inline") == "inline":
        meta = cm.get("metadata")
        if not isinstance(meta, dict) or not all(isinstance(v, dict) for v in meta.values()):
            raise MetadataError(f"{where}: consolidated_metadata.metadata must map paths to node documents")
        consolidated = meta
    return GroupMetadata(3, attrs, consolidated, extra)


def parse_node(docs: dict[str, Any], where: str) -> ArrayMetadata | GroupMetadata:
    """Parse a node from its raw documents by file name (``zarr.json`` or the v2 trio).

    ``docs`` maps ``zarr.json``/``.zarray``/``.zgroup``/``.zattrs`` to parsed JSON (or None).
    """
    v3 = docs.get(ZARR_JSON)
    if v3 is not None:
        if not isinstance(v3, dict):
            raise MetadataError(f"{where}/zarr.json: expected a JSON object")
        kind = v3.get("node_type")
        if v3.get("zarr_format") != 3:
            raise MetadataError(f"{where}/zarr.json: zarr_format {v3.get('zarr_format')!r} is not 3")
        if kind == "array":
            return parse_v3_array(v3, f"{where}/zarr.json")
        if kind == "group":
            return parse_v3_group(v3, f"{where}/zarr.json")
        raise MetadataError(f"{where}/zarr.json: node_type {kind!r} must be 'array' or 'group'")
    attrs = docs.get(ZATTRS)
    if docs.get(ZARRAY) is not None:
        return parse_v2_array(docs[ZARRAY], attrs, f"{where}/.zarray")
    if docs.get(ZGROUP) is not None:
        zg = docs[ZGROUP]
        if not isinstance(zg, dict) or zg.get("zarr_format") != 2:
            raise MetadataError(f"{where}/.zgroup: not a Zarr v2 group document")
        if attrs is not None and not isinstance(attrs, dict):
            raise MetadataError(f"{where}/.zattrs: must be a JSON object")
        return GroupMetadata(2, attrs or {})
    raise KeyError(where)
