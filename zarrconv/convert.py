"""Format conversion: copy a hierarchy between Zarr v2 and v3, or migrate v2 to v3 in place.

:func:`convert` re-encodes the data into a new store, translating every node's metadata
(data types, codecs, fill values, memory order, xarray's ``_ARRAY_DIMENSIONS`` attribute
to and from ``dimension_names``). :func:`migrate_v2_to_v3` rewrites only the metadata of
a v2 hierarchy as v3 documents that describe the existing chunk bytes (``v2`` chunk key
encoding, the v2 compressor and filters as v3 codecs), so no chunk is read or rewritten.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .codecs import build_pipeline, codec_from_json, numcodecs_to_v3, v3_codec_to_numcodecs
from .codecs.numcodecs_bridge import ARRAY_FILTER_IDS
from .core.api import open as open_node
from .core.array import Array
from .core.array_metadata import build_array_metadata
from .core.consolidated import write_consolidated
from .core.group import Group, validate_path
from .core.nodes import (
    clear_node,
    consolidated_entry,
    create_parents,
    doc_key,
    join,
    node_exists,
    read_consolidated,
    read_node,
    write_docs,
    write_node,
)
from .errors import ContainsNodeError, MetadataError
from .format.chunks import ChunkKeyEncoding
from .format.dtypes import v3_data_type_for
from .format.metadata import ZARRAY, ZATTRS, ZGROUP, ZMETADATA, ArrayMetadata, GroupMetadata
from .format.xarray_attrs import is_xarray_dataset, v2_fill_and_attributes_from_v3, v3_attributes_from_v2
from .store import StoreLike, make_store

_COPY_BLOCK_BYTES = 64 * 2**20
_VLEN_IDS = {"vlen-utf8": str, "vlen-unicode": str, "vlen-bytes": bytes}


# -- codec translation ---------------------------------------------------------------------------

def _v3_codec_to_v2(doc: dict) -> dict | None:
    """A v3 bytes->bytes or numcodecs codec document as a numcodecs config; None for checksums."""
    if doc["name"] == "crc32c":
        return None  # a storage checksum: the re-encoded v2 chunks are not checksummed
    try:
        return v3_codec_to_numcodecs(doc)
    except TypeError as exc:
        raise MetadataError(str(exc)) from None


def _split_v2_filters(meta: ArrayMetadata, where: str) -> tuple[type | None, list[dict], list[dict]]:
    """A v2 array's filters as (vlen element type, array->array filters, bytes->bytes filters), in order."""
    vlen: type | None = None
    before: list[dict] = []
    after: list[dict] = []
    for f in meta.filters or []:
        cid = f["id"]
        if cid in _VLEN_IDS:
            if vlen is not None:
                raise MetadataError(f"{where}: two variable-length filters")
            vlen = _VLEN_IDS[cid]
        elif vlen is None and cid in ARRAY_FILTER_IDS and not after:
            before.append(f)
        elif vlen is None and cid in ARRAY_FILTER_IDS:
            raise MetadataError(
                f"{where}: array filter {cid!r} follows a bytes filter; Zarr v3 cannot express that order"
            )
        else:
            after.append(f)
    if meta.dtype.kind == "O" and vlen is None:
        raise MetadataError(
            f"{where}: object array with filters {meta.filters!r} has no Zarr v3 data type "
            "(only vlen-utf8 and vlen-bytes object arrays can be converted)"
        )
    return vlen, before, after


def _byte_orders(dtype: np.dtype) -> set[bool]:
    """Whether each multi-byte field of a dtype is big-endian (a set: one value when they agree)."""
    if dtype.names is not None:
        return set().union(*(_byte_orders(dtype.fields[n][0]) for n in dtype.names))
    return {_is_big_endian(dtype)} if dtype.itemsize > 1 and dtype.kind not in "SV" else set()


def _is_big_endian(dtype: np.dtype) -> bool:
    if dtype.names is not None:
        return any(_is_big_endian(dtype.fields[n][0]) for n in dtype.names)
    return dtype.byteorder == ">" or (dtype.byteorder == "=" and not np.little_endian)


def v2_to_v3_metadata(meta: ArrayMetadata, where: str = "array", *, keep_chunk_keys: bool = False) -> ArrayMetadata:
    """The v3 metadata of a v2 array.

    With ``keep_chunk_keys`` the result uses the ``v2`` chunk key encoding and a codec
    chain that decodes the existing v2 chunk bytes unchanged (for in-place migration);
    otherwise it uses the default chunk keys (for a copy).
    """
    vlen, before, after = _split_v2_filters(meta, where)
    if keep_chunk_keys and meta.dtype.names is not None and len(_byte_orders(meta.dtype)) > 1:
        raise MetadataError(f"{where}: structured dtype {meta.dtype} mixes byte orders, which the v3 bytes codec "
                            "cannot describe; use zarrconv.convert to rewrite the data instead")
    if vlen is not None:
        data_type = v3_data_type_for(vlen)
    else:
        data_type = v3_data_type_for(meta.dtype)
    itemsize = meta.dtype.itemsize if vlen is None else 1
    codecs: list[dict] = []
    if meta.order == "F" and meta.ndim > 1:
        codecs.append({"name": "transpose", "configuration": {"order": list(range(meta.ndim))[::-1]}})
    codecs += [numcodecs_to_v3(f, itemsize) for f in before]
    if vlen is not None:
        codecs.append({"name": "vlen-utf8" if vlen is str else "vlen-bytes", "configuration": {}})
    elif meta.dtype.names is None and (meta.dtype.itemsize == 1 or meta.dtype.kind in "SV"):
        codecs.append({"name": "bytes"})  # no byte order to declare
    else:
        codecs.append({"name": "bytes", "configuration": {"endian": "big" if _is_big_endian(meta.dtype) else "little"}})
    codecs += [numcodecs_to_v3(f, itemsize) for f in after]
    if meta.compressor is not None:
        codecs.append(numcodecs_to_v3(meta.compressor, itemsize))
    fill, attrs, names = v3_attributes_from_v2(meta)
    if fill is None:
        fill = data_type.default_fill()
    elif vlen is None and data_type.fixed_size:
        fill = np.asarray(fill, dtype=meta.dtype).astype(data_type.dtype)[()]
    cke = meta.chunk_key_encoding if keep_chunk_keys else ChunkKeyEncoding("default", "/")
    out = ArrayMetadata(3, meta.shape, data_type, meta.chunk_grid, cke, fill, codecs, attrs, names)
    build_pipeline(out)  # every codec must be known before anything is written
    return out


def _v3_to_v2_kwargs(arr: Array, where: str, in_dataset: bool) -> dict[str, Any]:
    """Arguments of :func:`build_array_metadata` for a v2 copy of a v3 array (``in_dataset``: see
    :func:`~zarrconv.format.xarray_attrs.v2_fill_and_attributes_from_v3`)."""
    meta = arr.metadata
    if not meta.chunk_grid.is_regular:
        raise MetadataError(f"{where}: the rectilinear chunk grid has no Zarr v2 equivalent; convert to v3")
    inner = arr.chunk_io.codecs
    order = "C"
    filters: list[dict] = []
    compressors: list[dict] = []
    dtype: Any = meta.dtype
    for doc in inner:
        codec = codec_from_json(doc)
        if doc["name"] == "transpose":
            perm = codec.get_config()["order"]
            if perm == "F" or list(perm) == list(range(meta.ndim))[::-1]:
                order = "F"
        elif codec.kind == "array_array":
            filters.append(_v3_codec_to_v2(doc))  # type: ignore[arg-type]
        elif codec.kind == "array_bytes":
            if doc["name"] == "vlen-utf8":
                dtype = str
            elif doc["name"] == "vlen-bytes":
                dtype = np.dtype(object)
                filters.insert(0, {"id": "vlen-bytes"})
            elif doc["name"] != "bytes":
                raise MetadataError(f"{where}: array->bytes codec {doc['name']!r} has no Zarr v2 equivalent")
        else:
            v2 = _v3_codec_to_v2(doc)
            if v2 is not None:
                compressors.append(v2)
    if dtype is str:
        filters.insert(0, {"id": "vlen-utf8"})
        dtype = np.dtype(object)
    *bytes_filters, compressor = compressors or [None]
    try:
        fill, attrs, names = v2_fill_and_attributes_from_v3(meta, in_dataset)
    except MetadataError as e:
        raise MetadataError(f"{where}: {e}") from None
    return {
        "shape": meta.shape, "dtype": dtype, "chunks": arr.chunks, "order": order,
        "fill_value": fill, "filters": (filters + bytes_filters) or None,
        "compressors": compressor, "attributes": attrs, "dimension_names": names,
    }


# -- copying -------------------------------------------------------------------------------------

def _blocks(arr: Array) -> list[tuple[slice, ...]]:
    """Regions of ``arr`` aligned to its stored chunks (or shards), each up to about 64 MiB."""
    if arr.size == 0:
        return []
    grid = arr.metadata.chunk_grid
    bounds = [grid.offsets(arr.shape, d) for d in range(arr.ndim)]
    itemsize = 64 if arr.dtype.kind == "O" else max(arr.dtype.itemsize, 8)
    steps = [1] * arr.ndim
    for d in reversed(range(arr.ndim)):
        while steps[d] < len(bounds[d]) - 1:
            size = itemsize * math.prod(
                int(bounds[k][min(steps[k], len(bounds[k]) - 1)] - bounds[k][0]) for k in range(arr.ndim))
            if size * 2 > _COPY_BLOCK_BYTES:
                break
            steps[d] *= 2
    per_dim = []
    for b, s in zip(bounds, steps):
        cuts = [int(x) for x in b[::s]]
        if cuts[-1] != int(b[-1]):
            cuts.append(int(b[-1]))
        per_dim.append([slice(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo])
    return [tuple(r) for r in itertools.product(*per_dim)]


def _copy_data(pairs: list[tuple[Array, Array]], progress: Callable[[int, int], None] | None) -> None:
    """Copy each source array into its destination block by block, reporting ``progress(done, total)``."""
    plans = [(src, dst, _blocks(dst)) for src, dst in pairs]
    total = sum(len(blocks) for _, _, blocks in plans)
    if progress is not None:
        progress(0, total)
    done = 0
    for src, dst, blocks in plans:
        for region in blocks:
            dst[region] = src[region]
            done += 1
            if progress is not None:
                progress(done, total)


def _relayout(arr: Array, zarr_format: int, in_dataset: bool, chunks: Any, shards: Any,
              compressors: Any) -> ArrayMetadata:
    """``arr`` translated to ``zarr_format`` (data type, fill value, attributes, dimension names,
    filters, serializer) with new chunks, shards and/or compressors (None keeps the source's)."""
    if isinstance(chunks, int):  # one size for every dimension of every array, whatever its rank
        chunks = (chunks,) * arr.ndim
    if isinstance(shards, int):
        shards = (shards,) * arr.ndim if arr.ndim else None  # a 0-d array is one chunk: nothing to shard
    for name, value in (("chunks", chunks), ("shards", shards)):
        if isinstance(value, list | tuple) and len(value) != arr.ndim:
            raise ValueError(f"{arr.store.describe(arr.path) if arr.path else arr.store.url}: {name} {tuple(value)} "
                             f"has {len(value)} entries but the array has {arr.ndim} dimensions {arr.shape}")
    meta = _translated(arr, zarr_format, in_dataset)
    view = Array(arr.store, arr.path, meta)  # reads the translated codecs; nothing is written
    if zarr_format == 2:
        order, filters, serializer = meta.order, list(meta.filters or []), None
    else:
        order = "C"  # a transpose codec stays among the filters
        inner = view.chunk_io.codecs
        filters = list(view.filters)
        serializer = next(c for c in inner if codec_from_json(c).kind == "array_bytes")
        if chunks is None and shards is None:
            shards = view.shards  # a new compressor keeps the sharding
    if isinstance(shards, list | tuple):
        shards = tuple(max(n, 1) if s == -1 else s for s, n in zip(shards, arr.shape))
    return build_array_metadata(
        shape=meta.shape, dtype=meta.dtype if zarr_format == 2 else meta.data_type,
        chunks=view.chunks if chunks is None else chunks, shards=shards, fill_value=meta.fill_value,
        compressors=list(view.compressors) if compressors is None else compressors, filters=filters or None,
        serializer=serializer, dimension_names=meta.dimension_names, attributes=dict(meta.attributes),
        order=order, zarr_format=zarr_format)


def convert(src: StoreLike, dst: StoreLike, *, zarr_format: int = 3, path: str | None = None,
            overwrite: bool = False, consolidated: bool = True, storage_options: dict | None = None,
            dst_storage_options: dict | None = None, chunks: Any = None, shards: Any = None,
            compressors: Any = None, progress: Callable[[int, int], None] | None = None) -> Array | Group:
    """Copy the array or group hierarchy at ``path`` of ``src`` into ``dst`` as Zarr ``zarr_format``.

    Data are re-encoded; metadata are translated: v2 dtypes to v3 data types (``|O`` with
    ``vlen-utf8`` to ``string``, ``<M8[ns]`` to ``numpy.datetime64``, ``<U10`` to
    ``fixed_length_utf32``...), the v2 compressor and filters to v3 codecs, ``order="F"``
    to a transpose codec, ``_ARRAY_DIMENSIONS`` to ``dimension_names`` (and back). v3 to v2
    refuses what v2 cannot express (rectilinear chunk grids, unknown array->bytes codecs);
    sharded arrays become arrays chunked like their inner chunks; crc32c checksums are
    dropped. A same-format conversion copies the metadata unchanged. The destination group
    gets consolidated metadata unless ``consolidated=False``. Returns the new node.

    Every array can also get a new layout; each option is applied to every array, and None
    keeps the source's:

    - ``chunks``: a chunk shape, as :func:`create_array` takes it (``-1``: the whole axis); one
      integer applies to every dimension of every array (arrays of several ranks).
    - ``shards``: a shard shape, a multiple of the chunks, one integer as for ``chunks``, or
      ``"auto"`` (Zarr v3 only).
      With only ``compressors`` given, a sharded source stays sharded alike.
    - ``compressors``: the bytes->bytes codecs, as :func:`create_array` takes them
      (``"zstd"``, a codec document, a numcodecs codec, a list; ``[]`` for none).

    The data type, fill value, attributes, dimension names and filters are still translated.
    ``progress(done_blocks, total_blocks)`` is called once before copying and after each
    block, blocks being whole destination chunks (or shards) of up to about 64 MiB.
    """
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format {zarr_format!r} must be 2 or 3")
    if shards is not None and zarr_format != 3:
        raise ValueError(f"shards={shards!r} needs zarr_format=3: Zarr v2 has no sharding")
    relayout = chunks is not None or shards is not None or compressors is not None
    src_node = open_node(src, path, mode="r", storage_options=storage_options, consolidated=False)
    nodes: dict[str, Array | Group] = {"": src_node}
    if isinstance(src_node, Group):
        nodes.update(src_node.members(max_depth=None))
    datasets = _xarray_datasets(nodes)
    plans: dict[str, ArrayMetadata | GroupMetadata] = {}
    for rel, node in nodes.items():  # translate everything before touching the destination
        in_dataset = rel.rpartition("/")[0] in datasets
        if isinstance(node, Group):
            plans[rel] = GroupMetadata(zarr_format, dict(node.attrs))
        elif relayout:
            plans[rel] = _relayout(node, zarr_format, in_dataset, chunks, shards, compressors)
        else:
            plans[rel] = _translated(node, zarr_format, in_dataset)
    st = make_store(dst, mode="w" if overwrite else "a", storage_options=dst_storage_options)
    root = validate_path(path or "")
    if node_exists(st, root):
        if not overwrite:
            raise ContainsNodeError(f"{st.describe(root or 'zarr.json')}: the destination already holds a node; "
                                    "pass overwrite=True to replace it")
        clear_node(st, root)
    if isinstance(src_node, Array):
        write_node(st, root, plans[""])
        out = Array(st, root, plans[""])  # type: ignore[arg-type]
        _copy_data([(src_node, out)], progress)
        return out
    if root:
        create_parents(st, root, zarr_format)
    for rel in sorted(plans, key=lambda r: (r.count("/"), r) if r else (-1, r)):
        write_docs(st, join(root, rel), plans[rel])
    _copy_data([(node, Array(st, join(root, rel), plans[rel]))  # type: ignore[arg-type]
                for rel, node in nodes.items() if isinstance(node, Array)], progress)
    group_meta = plans[""]
    if consolidated:
        entries = {rel: consolidated_entry(m) for rel, m in plans.items() if rel}
        write_consolidated(st, root, group_meta, entries)  # type: ignore[arg-type]
        return Group(st, root, read_node(st, root), entries)
    return Group(st, root, group_meta)  # type: ignore[arg-type]


def _xarray_datasets(nodes: dict[str, Array | Group]) -> set[str]:
    """The relative paths of the groups among ``nodes`` whose arrays carry xarray's dimension names."""
    by_group: dict[str, dict[str, ArrayMetadata]] = {}
    for rel, node in nodes.items():
        if isinstance(node, Array) and rel:
            parent, _, name = rel.rpartition("/")
            by_group.setdefault(parent, {})[name] = node.metadata
    return {g for g, arrays in by_group.items() if is_xarray_dataset(arrays)}


def _translated(arr: Array, zarr_format: int, in_dataset: bool) -> ArrayMetadata:
    """``arr``'s metadata in ``zarr_format``, with xarray's attributes in the form that format expects."""
    where = arr.store.describe(arr.path) if arr.path else arr.store.url
    if arr.zarr_format == zarr_format:
        return arr.metadata
    if zarr_format == 3:
        return v2_to_v3_metadata(arr.metadata, where)
    return build_array_metadata(zarr_format=2, **_v3_to_v2_kwargs(arr, where, in_dataset))


# -- in-place migration --------------------------------------------------------------------------

def migrate_v2_to_v3(store: StoreLike, path: str | None = None, *, storage_options: dict | None = None) -> Group | Array:
    """Rewrite the v2 hierarchy (or array) at ``path`` as Zarr v3, in place, keeping every chunk.

    Each ``.zarray`` becomes a ``zarr.json`` with the ``v2`` chunk key encoding (same
    separator) and codecs that decode the stored bytes (``order="F"`` as a transpose,
    the filters and compressor as v3 / ``numcodecs.*`` codecs, vlen filters as the
    ``vlen-utf8`` / ``vlen-bytes`` serializers); ``.zgroup`` + ``.zattrs`` become group
    ``zarr.json``; ``_ARRAY_DIMENSIONS`` becomes ``dimension_names``; ``.zmetadata``
    becomes inline consolidated metadata. Everything is translated before anything is
    written, and the v2 documents are deleted only after every ``zarr.json`` is written.
    """
    st = make_store(store, mode="r+", storage_options=storage_options)
    root = validate_path(path or "")
    meta = read_node(st, root, zarr_format=2)
    nodes: dict[str, ArrayMetadata | GroupMetadata] = {"": meta}
    had_consolidated = False
    if isinstance(meta, GroupMetadata):
        had_consolidated = read_consolidated(st, root, meta) is not None
        group = Group(st, root, meta)
        for rel, node in group.members(max_depth=None):
            if node.zarr_format != 2:
                raise MetadataError(f"{st.describe(join(root, rel))} is already Zarr v3; migrate only v2 hierarchies")
            nodes[rel] = node.metadata
    plans: dict[str, ArrayMetadata | GroupMetadata] = {}
    for rel, m in nodes.items():
        where = st.describe(join(root, rel) or ZARRAY)
        if isinstance(m, ArrayMetadata):
            plans[rel] = v2_to_v3_metadata(m, where, keep_chunk_keys=True)
        else:
            plans[rel] = GroupMetadata(3, dict(m.attributes))
    for rel, m in plans.items():
        write_docs(st, join(root, rel), m)
    if had_consolidated:
        write_consolidated(st, root, plans[""], {rel: consolidated_entry(m) for rel, m in plans.items() if rel})
    st.delete_many([doc_key(join(root, rel), n) for rel in nodes for n in (ZARRAY, ZGROUP, ZATTRS, ZMETADATA)])
    return open_node(st, root, mode="r+")


__all__ = ["convert", "migrate_v2_to_v3", "v2_to_v3_metadata"]
