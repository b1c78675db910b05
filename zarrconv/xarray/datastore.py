"""The xarray data store over a zarrconv group, and the lazy array wrapper of its arrays.

:class:`ZarrconvDataStore` turns one Zarr group into xarray variables (raw, not yet
CF-decoded); xarray's :class:`~xarray.backends.StoreBackendEntrypoint` then decodes them.
Nothing is read from chunks until values are needed: each variable wraps a
:class:`ZarrconvBackendArray`, which turns xarray's indexers into zarrconv selections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
from xarray.backends.common import AbstractDataStore, BackendArray
from xarray.core import indexing
from xarray.core.utils import FrozenDict
from xarray.core.variable import Variable

from ..codecs import codec_from_json
from ..codecs.cf_packing import packed_form
from ..core import Array, Group, open_group
from ..errors import MetadataError, NodeNotFoundError
from .encoding import DIMENSION_KEY, CodecDocument, decode_fill_attr, is_vlen_str, string_dtype


class ZarrconvBackendArray(BackendArray):
    """A zarrconv :class:`~zarrconv.Array` seen by xarray's lazy indexing.

    Basic indexers use ``array[...]``, outer indexers ``array.oindex``, vectorized ones
    ``array.vindex``; only the chunks a selection touches are read, concurrently. The async
    path (:meth:`async_getitem`, used by ``Dataset.load_async``) runs the same read on a
    worker thread, so that the reads of many variables overlap.
    """

    __slots__ = ("_array", "dtype", "shape")

    def __init__(self, array: Array) -> None:
        self._array = array
        self.shape = array.shape
        self.dtype = string_dtype() if is_vlen_str(array) else array.dtype

    def get_array(self) -> Array:
        """The wrapped zarrconv array."""
        return self._array

    def _basic(self, key: tuple) -> Any:
        return self._array[key]

    def _outer(self, key: tuple) -> Any:
        return self._array.oindex[key]

    def _vectorized(self, key: tuple) -> Any:
        return self._array.vindex[key]

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        if isinstance(key, indexing.VectorizedIndexer):
            method = self._vectorized
        elif isinstance(key, indexing.OuterIndexer):
            method = self._outer
        else:
            method = self._basic
        value = indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.VECTORIZED, method)
        value = np.asarray(value)
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)
        return value

    async def async_getitem(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        """``self[key]`` without blocking the event loop: the read runs on a thread of asyncio's
        default executor while other coroutines (other variables' reads) go on."""
        return await asyncio.to_thread(self.__getitem__, key)


def _dims_and_attrs(array: Array) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Dimension names and user attributes of an array, as xarray's zarr engine sees them."""
    attrs = dict(array.attrs)
    if array.zarr_format == 3:
        dims = array.dimension_names or ()
        if len(dims) != array.ndim or any(d is None for d in dims):
            raise MetadataError(
                f"array {array.path!r} in {array.store.url} has no dimension_names for all of its "
                f"{array.ndim} dimensions (got {dims or None}); xarray needs a name for every dimension"
            )
        return tuple(dims), attrs
    dims = attrs.pop(DIMENSION_KEY, None)
    if not isinstance(dims, list | tuple) or len(dims) != array.ndim:
        raise MetadataError(
            f"array {array.path!r} in {array.store.url} has no valid {DIMENSION_KEY!r} attribute "
            f"(got {dims!r}); xarray needs it to name the {array.ndim} dimensions of a Zarr v2 array"
        )
    return tuple(dims), {k: v for k, v in attrs.items() if not k.lower().startswith("_nc")}


_KINDS: dict[str, str] = {}


def _codec_kind(doc: dict) -> str:
    """``array_array``, ``array_bytes`` or ``bytes_bytes`` of a v3 codec document (cached by name)."""
    name = doc.get("name", "")
    kind = _KINDS.get(name)
    if kind is None:
        kind = _KINDS[name] = codec_from_json(doc).kind
    return kind


def _grid_chunks(meta: Any) -> tuple:
    """Chunk sizes per dimension: an int on a regular axis, the sizes (cut to the shape) on a varying one."""
    grid = meta.chunk_grid
    if grid.is_regular:
        return tuple(meta.chunk_shape)
    out: list[Any] = []
    for d in range(len(meta.shape)):
        offs = grid.offsets(meta.shape, d)
        sizes = tuple(int(x) for x in np.diff(offs) if x > 0) or (0,)
        regular = len(set(sizes[:-1])) <= 1 and sizes[-1] <= sizes[0]
        out.append(sizes[0] if regular else sizes)
    return tuple(out)


def storage_layout(array: Array) -> dict[str, Any]:
    """``chunks``, ``shards``, ``compressors``, ``filters`` (and v3 ``serializer``) from the metadata alone.

    Reading the metadata documents instead of building the codec pipeline keeps opening a
    store of many arrays cheap.
    """
    meta = array.metadata
    if meta.zarr_format == 2:
        return {"chunks": tuple(meta.chunk_shape), "shards": None,
                "compressors": (CodecDocument(meta.compressor),) if meta.compressor else (),
                "filters": tuple(CodecDocument(f) for f in meta.filters or ())}
    codecs, chunks, shards = meta.codecs, _grid_chunks(meta), None
    if len(codecs) == 1 and codecs[0].get("name") == "sharding_indexed" and meta.chunk_grid.is_regular:
        conf = codecs[0].get("configuration", {})
        codecs, shards, chunks = conf.get("codecs", []), chunks, tuple(conf.get("chunk_shape", chunks))
    kinds = [_codec_kind(c) for c in codecs]
    docs = [CodecDocument(c) for c in codecs]
    return {
        "chunks": chunks, "shards": shards,
        "compressors": tuple(c for c, k in zip(docs, kinds) if k == "bytes_bytes"),
        "filters": tuple(c for c, k in zip(docs, kinds) if k == "array_array"),
        "serializer": next((c for c, k in zip(docs, kinds) if k == "array_bytes"), None),
    }


class ZarrconvDataStore(AbstractDataStore):
    """One Zarr group as an xarray data store (read side).

    How the Zarr ``fill_value`` is used follows xarray's zarr engine. In Zarr v2 it *is* the CF
    ``_FillValue`` (xarray stores a v2 ``_FillValue`` nowhere else), so it always becomes that
    attribute and stored fill values become NaN; xarray's engine does so whatever its
    ``use_zarr_fill_value_as_mask`` says (pydata/xarray#10269), and its own tests expect it. In
    v3, ``mask_fill`` False (the default) keeps it in ``encoding["fill_value"]`` and decodes a
    CF ``_FillValue`` attribute stored next to the data; True treats it as in v2.
    """

    __slots__ = ("_arrays", "_mask_fill", "_packed", "group")

    def __init__(self, group: Group, arrays: dict[str, Array] | None = None, mask_fill: bool | None = None,
                 packed: bool = False) -> None:
        self.group = group
        #: show arrays packed with scale_offset + cast_value as their stored integers with CF
        #: scale_factor/add_offset attributes (xarray's mask_and_scale=False / decode_cf=False)
        self._packed = packed
        self._arrays = arrays if arrays is not None else dict(group.arrays())
        self._mask_fill = group.zarr_format == 2 or bool(mask_fill)

    @classmethod
    def open(cls, store: Any, group: str | None = None, *, consolidated: bool | None = None,
             storage_options: dict | None = None, zarr_format: int | None = None,
             mask_fill: bool | None = None, packed: bool = False) -> ZarrconvDataStore:
        """Open the group ``group`` of ``store`` read-only (one metadata read when consolidated)."""
        return cls(open_requested_group(store, group, consolidated=consolidated, storage_options=storage_options,
                             zarr_format=zarr_format), mask_fill=mask_fill, packed=packed)

    # -- reading ---------------------------------------------------------------------------------
    def open_store_variable(self, name: str, array: Array | None = None) -> Variable:
        """The raw (not CF-decoded) variable of one array."""
        array = self._arrays[name] if array is None else array
        dims, attrs = _dims_and_attrs(array)
        packed = packed_form(array.metadata) if self._packed else None
        if packed is not None:
            array = Array(array.store, array.path, packed[0])
            attrs.update(packed[1])
        wrapper = ZarrconvBackendArray(array)
        layout = storage_layout(array)
        chunks = layout.pop("chunks")
        encoding: dict[str, Any] = {"chunks": chunks, "preferred_chunks": dict(zip(dims, chunks))}
        if wrapper.dtype.kind == "T":
            encoding["dtype"] = wrapper.dtype
        encoding.update(layout)
        fill = array.fill_value
        if self._mask_fill:
            if fill is not None:
                attrs["_FillValue"] = fill
        else:
            if array.zarr_format == 3:
                encoding["fill_value"] = fill
            if "_FillValue" in attrs:
                attrs["_FillValue"] = decode_fill_attr(attrs["_FillValue"], wrapper.dtype)
        return Variable(dims, indexing.LazilyIndexedArray(wrapper), attrs, encoding)

    def get_variables(self) -> FrozenDict:
        """Every array of the group as a raw variable, by name (xarray's ``load`` calls this)."""
        return FrozenDict((k, self.open_store_variable(k, a)) for k, a in self._arrays.items())

    def get_attrs(self) -> dict[str, Any]:
        """The group attributes, without netCDF-internal ``_NC*`` keys (as xarray's zarr engine)."""
        return {k: v for k, v in self.group.attrs.items() if not k.lower().startswith("_nc")}

    def get_dimensions(self) -> dict[str, int]:
        """Length of each dimension; raises MetadataError when two arrays disagree on one."""
        sizes: dict[str, int] = {}
        for name, array in self._arrays.items():
            dims, _ = _dims_and_attrs(array)
            for d, n in zip(dims, array.shape):
                if sizes.setdefault(d, n) != n:
                    raise MetadataError(
                        f"dimension {d!r} has length {n} in array {name!r} but {sizes[d]} elsewhere in group "
                        f"{self.group.name!r} of {self.group.store.url}"
                    )
        return sizes

    def array_keys(self) -> tuple[str, ...]:
        """Names of the group's arrays, in the order they are read."""
        return tuple(self._arrays)

    def close(self) -> None:
        """Nothing to release: stores hold no open files between reads."""


def open_requested_group(store: Any, group: str | None, *, consolidated: bool | None, storage_options: dict | None,
                         zarr_format: int | None, mode: str = "r") -> Group:
    """Open ``group``, going through the root's consolidated metadata when there is some.

    xarray's zarr engine reads consolidated metadata at the root of the store; doing the same
    opens any group of a consolidated store with one metadata read.
    """
    path = (group or "").strip("/")
    if consolidated is False or not path:
        return open_group(store, path, mode=mode, consolidated=consolidated, storage_options=storage_options,
                          zarr_format=zarr_format)
    try:
        root = open_group(store, "", mode=mode, consolidated=None, storage_options=storage_options,
                          zarr_format=zarr_format)
    except NodeNotFoundError:
        root = None
    if root is not None and root.is_consolidated:
        node = root[path]
        if not isinstance(node, Group):
            raise NodeNotFoundError(f"{path!r} in {root.store.url} is an array, not a group")
        return node
    return open_group(root.store if root is not None else store, path, mode=mode, consolidated=consolidated,
                      storage_options=None if root is not None else storage_options, zarr_format=zarr_format)


def iter_groups(group: Group) -> Iterator[tuple[str, Group, dict[str, Array]]]:
    """Every group below ``group`` (itself first) with its arrays, by path relative to ``group``.

    One walk of the hierarchy: no reads at all with consolidated metadata.
    """
    members = dict(group.members(max_depth=None))
    children: dict[str, dict[str, Array]] = {"": {}}
    groups: dict[str, Group] = {"": group}
    for rel, node in members.items():
        parent, _, name = rel.rpartition("/")
        if isinstance(node, Group):
            groups[rel] = node
            children.setdefault(rel, {})
        else:
            children.setdefault(parent, {})[name] = node
    for rel in sorted(groups, key=lambda p: (p.count("/") if p else -1, p)):
        yield rel, groups[rel], children.get(rel, {})


__all__ = ["ZarrconvBackendArray", "ZarrconvDataStore", "iter_groups", "open_requested_group"]
