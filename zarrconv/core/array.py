"""The Array: a chunked N-dimensional array in a store, read and written with numpy selections."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from ..codecs import build_pipeline, split_chain
from ..errors import MetadataError, ReadOnlyError, SelectionError, ShapeMismatchError, ZarrconvError
from ..format.chunks import RegularChunkGrid
from ..format.metadata import ArrayMetadata
from ..store.base import Store
from . import io
from .attributes import Attributes, Node
from .indexing import Plan, block_selection, orthogonal_plan, pointwise_plan
from .info import ArrayInfo
from .nodes import write_node


class Array(Node):
    """A Zarr array (v2 or v3). Create or open one with :func:`zarrconv.create_array` / :func:`zarrconv.open_array`."""

    def __init__(self, store: Store, path: str, metadata: ArrayMetadata, *, write_empty_chunks: bool = False,
                 on_metadata_change: Any = None, synchronizer: Any = None) -> None:
        self.store = store
        self.path = path
        self.metadata = metadata
        self._write_empty_chunks = write_empty_chunks
        #: a user lock (any context manager: threading/multiprocessing/dask/file lock) held around
        #: every data or metadata write of this array, for stores whose own lock does not reach
        #: all writers (remote stores written from several machines)
        self.synchronizer = synchronizer
        self._on_metadata_change = on_metadata_change
        self._prefix = f"{path}/" if path else ""
        self._setup()

    def _setup(self) -> None:
        """Reset derived state; the codec pipeline is built lazily (at first I/O)."""
        for name in ("_pipeline", "_offsets", "_inner_pipeline", "_pipelines", "_fill_for_output", "_sharding",
                     "_chunks_per_shard", "_inner_grid_shape", "chunk_io"):
            self.__dict__.pop(name, None)
        self._key_template = self._prefix.replace("%", "%%") + self.metadata.chunk_key_encoding.template(
            len(self.metadata.shape))
        self._regular = self.metadata.chunk_grid.is_regular

    @cached_property
    def _sharding(self) -> Any:
        """The sharding codec when chunks are shards read piecewise, else None."""
        meta = self.metadata
        if meta.zarr_format != 3 or not meta.chunk_grid.is_regular:
            return None
        sharding = self._pipeline.sharding
        if sharding is not None and len(sharding.chunk_shape) != self.ndim:
            raise MetadataError(f"array {self.name!r} in {self.store.url}: the sharding codec's chunk_shape "
                                f"{tuple(sharding.chunk_shape)} does not have one entry per dimension of {self.shape}")
        return sharding

    @property
    def _chunk_codecs(self) -> tuple[dict, ...]:
        """The v3 codec chain of the chunks users read and write: the inner chain of a sharded array."""
        return tuple(self._sharding.codecs if self._sharding is not None else self.metadata.codecs)

    @cached_property
    def _chunks_per_shard(self) -> tuple[int, ...]:
        return self._sharding.chunks_per_shard(self.metadata.chunk_shape)

    @cached_property
    def _inner_grid_shape(self) -> tuple[int, ...]:
        return tuple(-(-s // c) for s, c in zip(self.shape, self._sharding.chunk_shape))

    @property
    def write_empty_chunks(self) -> bool:
        """Whether chunks equal to the fill value are stored (True) or deleted (False, the default)."""
        return self._write_empty_chunks

    @write_empty_chunks.setter
    def write_empty_chunks(self, value: bool) -> None:
        self._write_empty_chunks = bool(value)
        self.__dict__.pop("chunk_io", None)

    @cached_property
    def chunk_io(self) -> io.ChunkIO:
        """The array as chunk I/O sees it (store, chunk keys, codec pipelines, fill, sharding): the one
        interface between the array and code that reads or writes its chunks (``core/io.py``, the checker,
        the conversion). Internal: built at first use, rebuilt when the metadata changes."""
        sharding = self._sharding
        shard_io = None if sharding is None else io.ShardIO(
            sharding, self._chunks_per_shard, self._inner_grid_shape, self._inner_pipeline)
        pipeline = self._pipeline if self._regular else None
        pipeline_for = self._pipeline_for if pipeline is None else (lambda coords: pipeline)
        return io.ChunkIO(
            store=self.store, where=f"array {self.path or '/'!r} in {self.store.url}",
            key=self._key_template.__mod__, pipeline_for=pipeline_for, pipeline=pipeline, dtype=self.dtype,
            fill_value=self.fill_value, fill=self._fill_for_output, sharding=shard_io,
            codecs=self._chunk_codecs,
            write_empty_chunks=self._write_empty_chunks)

    def __getstate__(self) -> dict:
        return {"store": self.store, "path": self.path, "metadata": self.metadata,
                "write_empty_chunks": self.write_empty_chunks, "synchronizer": self.synchronizer}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["store"], state["path"], state["metadata"],  # type: ignore[misc]
                      write_empty_chunks=state["write_empty_chunks"], synchronizer=state.get("synchronizer"))

    # -- description ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.metadata.shape

    @property
    def ndim(self) -> int:
        return len(self.metadata.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.metadata.dtype

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...]:
        """The shape of the chunks users read and write: inner chunks for sharded arrays."""
        if self._sharding is not None:
            return self._sharding.chunk_shape
        return self.metadata.chunk_shape

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape, or None for an unsharded array."""
        return self.metadata.chunk_shape if self._sharding is not None else None

    @property
    def fill_value(self) -> Any:
        return self.metadata.fill_value

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        return self.metadata.dimension_names

    @property
    def compressors(self) -> tuple[dict, ...]:
        """The bytes->bytes codecs (v3) or the compressor (v2), as metadata documents."""
        if self.zarr_format == 2:
            return (self.metadata.compressor,) if self.metadata.compressor else ()
        return tuple(split_chain(self._chunk_codecs)[2])

    @property
    def filters(self) -> tuple[dict, ...]:
        """The array->array codecs (v3) or the filters (v2), as metadata documents."""
        if self.zarr_format == 2:
            return tuple(self.metadata.filters or ())
        return tuple(split_chain(self._chunk_codecs)[0])

    @property
    def cdata_shape(self) -> tuple[int, ...]:
        """The number of chunks along each dimension (inner chunks for sharded arrays), as zarr-python's."""
        return tuple(len(o) - 1 for o in self._offsets)

    @property
    def nchunks(self) -> int:
        """The number of chunks in the grid (inner chunks for sharded arrays), as zarr-python's."""
        return math.prod(self.cdata_shape)

    @property
    def nshards(self) -> int:
        """The number of objects the grid stores: shards of a sharded array, else chunks."""
        return math.prod(self.metadata.chunk_grid.grid_shape(self.shape))

    @property
    def nshards_initialized(self) -> int:
        """The number of stored objects (shards of a sharded array, else chunks) present in the store."""
        return len(self.stored_chunk_keys())

    @property
    def nchunks_initialized(self) -> int:
        """The number of chunks present in the store, as zarr-python counts them: every chunk of a
        stored shard counts, as the shard holds a place for it."""
        n = self.nshards_initialized
        return n * math.prod(self._chunks_per_shard) if self._sharding is not None else n

    def nbytes_stored(self) -> int:
        """The bytes this array takes in its store: its metadata documents and every object below it."""
        return sum(self.store.sizes(list(self.store.list_prefix(self._prefix))))

    @property
    def order(self) -> str:
        """The memory order of the chunks, ``'C'`` or ``'F'``: the v2 ``order``; for v3, ``'F'`` when the
        codecs start with a transpose that reverses the axes (what ``order='F'`` writes), else ``'C'``."""
        if self.zarr_format == 2:
            return self.metadata.order
        codecs = self._chunk_codecs
        first = codecs[0] if codecs else {}
        reverse = list(range(self.ndim))[::-1]
        return "F" if self.ndim > 1 and first.get("name") == "transpose" and list(
            first.get("configuration", {}).get("order", [])) == reverse else "C"

    @cached_property
    def attrs(self) -> Attributes:
        def persist(new: dict) -> None:
            self._update_metadata(replace(self.metadata, attributes=new))

        return Attributes(self.metadata.attributes, persist)

    def __repr__(self) -> str:
        return f"<zarrconv.Array {self.name} shape={self.shape} dtype={self.dtype} chunks={self.chunks} v{self.zarr_format}>"

    @property
    def serializer(self) -> dict | None:
        """The array->bytes codec (v3) as a metadata document; None for v2 arrays."""
        if self.zarr_format == 2:
            return None
        return split_chain(self._chunk_codecs)[1]

    def _info(self, **counts: Any) -> ArrayInfo:
        regular = self.metadata.chunk_grid.is_regular
        data_type = self.metadata.data_type.name if self.zarr_format == 3 else str(self.dtype)
        return ArrayInfo(self.zarr_format, data_type, self.fill_value, self.shape, self.shards,
                         self.chunks if regular else None, self.order, self.read_only, self.store.type_name,
                         self.filters, self.serializer, self.compressors, **counts)

    @property
    def info(self) -> ArrayInfo:
        """What the metadata says about the array; prints like zarr-python's ``Array.info``."""
        return self._info(count_bytes=self.nbytes)

    def info_complete(self) -> ArrayInfo:
        """:attr:`info` plus what the store knows: bytes stored and chunks (or shards) written."""
        initialized = self.nshards_initialized
        return self._info(count_bytes=self.nbytes, count_bytes_stored=self.nbytes_stored(),
                          count_chunks_initialized=initialized)

    # -- internals ------------------------------------------------------------------------------
    @cached_property
    def _pipeline(self) -> Any:
        try:
            return build_pipeline(self.metadata)
        except ZarrconvError as e:
            raise type(e)(f"array {self.name!r} in {self.store.url}: {e}") from None

    @cached_property
    def _pipelines(self) -> dict:
        return {}

    def _pipeline_for(self, coords: tuple[int, ...]) -> Any:
        """The codec pipeline of the chunk at ``coords`` (one shared pipeline for regular grids)."""
        if self._regular:
            return self._pipeline
        shape = self.metadata.chunk_grid.stored_shape(coords)
        pipe = self._pipelines.get(shape)
        if pipe is None:
            try:
                pipe = self._pipelines[shape] = build_pipeline(self.metadata, shape)
            except ZarrconvError as e:
                raise type(e)(f"array {self.name!r} in {self.store.url}: {e}") from None
        return pipe

    @cached_property
    def _inner_pipeline(self) -> Any:
        return self._sharding.inner_pipeline(self._pipeline.spec)

    @cached_property
    def _offsets(self) -> list[np.ndarray]:
        if self._sharding is not None:
            grid = RegularChunkGrid(self._sharding.chunk_shape)
        else:
            grid = self.metadata.chunk_grid
        return [grid.offsets(self.shape, d) for d in range(self.ndim)]

    @cached_property
    def _fill_for_output(self) -> Any:
        """What a missing chunk reads as: the fill value, or (v2 ``fill_value: null``) the empty value of the
        type, as zarr-python reads it: ``''`` for strings, ``b''`` for bytes, zero for numbers."""
        return self.fill_value if self.fill_value is not None else self.metadata.data_type.default_fill()

    def _chunk_key(self, coords: tuple[int, ...]) -> str:
        return self._key_template % coords

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise ReadOnlyError(
                f"array {self.name!r} in {self.store.url} is read-only; open it with mode='r+' or 'a' to write"
            )

    def _update_metadata(self, meta: ArrayMetadata) -> None:
        self._check_writable()
        if self.synchronizer is not None:
            with self.synchronizer:
                write_node(self.store, self.path, meta)
        else:
            write_node(self.store, self.path, meta)
        self.metadata = meta
        self._setup()
        if self._on_metadata_change is not None:
            self._on_metadata_change(self.path, meta)

    # -- selection ------------------------------------------------------------------------------
    def _plan(self, selection: Any) -> tuple[Plan, bool, tuple[int, ...] | None]:
        sel = selection if isinstance(selection, tuple) else (selection,)
        n_arrays = sum(1 for s in sel if not isinstance(s, slice | int | np.integer) and s is not Ellipsis)
        if n_arrays > 1 and not any(isinstance(s, slice) or s is Ellipsis for s in sel):
            plan, bshape = pointwise_plan(selection, self.shape, self._offsets)
            return plan, True, bshape
        return orthogonal_plan(selection, self.shape, self._offsets), False, None

    def _get(self, plan: Plan, pointwise: bool, bshape: tuple[int, ...] | None) -> Any:
        out = np.empty(plan.out_shape, dtype=self.dtype)
        io.read(self.chunk_io, plan, out, pointwise)
        if pointwise:
            out = out.reshape(bshape)
        return out[()] if out.ndim == 0 else out

    def __getitem__(self, selection: Any) -> Any:
        plan, pointwise, bshape = self._plan(selection)
        return self._get(plan, pointwise, bshape)

    def _set(self, plan: Plan, value: Any, pointwise: bool, bshape: tuple[int, ...] | None) -> None:
        self._check_writable()
        if self.dtype.kind == "O":
            arr = value if isinstance(value, np.ndarray) and value.dtype.kind == "O" else np.asarray(value, dtype=object)
        else:
            arr = np.asarray(value)
            if arr.dtype != self.dtype:
                arr = arr.astype(self.dtype)
        target = bshape if pointwise else plan.out_shape
        try:
            arr = np.broadcast_to(arr, target)
        except ValueError:
            raise ShapeMismatchError(
                f"cannot write data of shape {np.shape(value)} into a selection of shape {target} of array {self.name!r}"
            ) from None
        if pointwise:
            arr = arr.reshape(-1)
        if self.synchronizer is not None:
            with self.synchronizer:
                io.write(self.chunk_io, plan, arr, pointwise)
        else:
            io.write(self.chunk_io, plan, arr, pointwise)

    def __setitem__(self, selection: Any, value: Any) -> None:
        plan, pointwise, bshape = self._plan(selection)
        self._set(plan, value, pointwise, bshape)

    # -- zarr-python's named selection methods -------------------------------------------------
    # ``out`` receives the result (and is returned); ``fields`` picks fields of a structured dtype.
    def get_basic_selection(self, selection: Any = Ellipsis, *, out: np.ndarray | None = None,
                            fields: str | list[str] | None = None) -> Any:
        """Ints, slices (any step) and Ellipsis, as numpy's basic indexing."""
        return _finish(self[_basic(selection)], out, fields)

    def set_basic_selection(self, selection: Any, value: Any, *, fields: str | list[str] | None = None) -> None:
        self._set_fields(self.__setitem__, self.get_basic_selection, _basic(selection), value, fields)

    def get_orthogonal_selection(self, selection: Any, *, out: np.ndarray | None = None,
                                 fields: str | list[str] | None = None) -> Any:
        """Outer indexing: each dimension selected independently (ints, slices, int arrays, masks)."""
        return _finish(self._get(orthogonal_plan(selection, self.shape, self._offsets), False, None), out, fields)

    def set_orthogonal_selection(self, selection: Any, value: Any, *, fields: str | list[str] | None = None) -> None:
        def write(sel: Any, v: Any) -> None:
            self._set(orthogonal_plan(sel, self.shape, self._offsets), v, False, None)

        self._set_fields(write, self.get_orthogonal_selection, selection, value, fields)

    def get_coordinate_selection(self, selection: Any, *, out: np.ndarray | None = None,
                                 fields: str | list[str] | None = None) -> Any:
        """Pointwise indexing with broadcast coordinate arrays (or one mask of the array's shape)."""
        plan, bshape = pointwise_plan(selection, self.shape, self._offsets)
        return _finish(self._get(plan, True, bshape), out, fields)

    def set_coordinate_selection(self, selection: Any, value: Any, *, fields: str | list[str] | None = None) -> None:
        def write(sel: Any, v: Any) -> None:
            plan, bshape = pointwise_plan(sel, self.shape, self._offsets)
            self._set(plan, v, True, bshape)

        self._set_fields(write, self.get_coordinate_selection, selection, value, fields)

    def get_mask_selection(self, mask: Any, *, out: np.ndarray | None = None,
                           fields: str | list[str] | None = None) -> Any:
        """The elements where the boolean ``mask`` (of the array's shape) is true, in C order."""
        return self.get_coordinate_selection(self._mask(mask), out=out, fields=fields)

    def set_mask_selection(self, mask: Any, value: Any, *, fields: str | list[str] | None = None) -> None:
        self.set_coordinate_selection(self._mask(mask), value, fields=fields)

    def _mask(self, mask: Any) -> tuple[np.ndarray, ...]:
        m = np.asarray(mask)
        if m.dtype != bool or m.shape != self.shape:
            raise SelectionError(f"a mask selection of array {self.name!r} must be a boolean array of its shape "
                                 f"{self.shape}, got {m.dtype} {m.shape}")
        return tuple(np.nonzero(m))

    def get_block_selection(self, selection: Any, *, out: np.ndarray | None = None,
                            fields: str | list[str] | None = None) -> Any:
        """Whole chunks by chunk index: ``a.get_block_selection((1, slice(0, 2)))``."""
        return _finish(self[block_selection(selection, self._offsets)], out, fields)

    def set_block_selection(self, selection: Any, value: Any, *, fields: str | list[str] | None = None) -> None:
        self._set_fields(self.__setitem__, self.get_basic_selection, block_selection(selection, self._offsets),
                         value, fields)

    def _set_fields(self, write: Any, read: Any, selection: Any, value: Any, fields: str | list[str] | None) -> None:
        """``write(selection, value)``, or with ``fields``, a read-modify-write of those fields only."""
        if fields is None:
            write(selection, value)
            return
        current = np.array(read(selection))
        current[fields] = value
        write(selection, current)

    @property
    def oindex(self) -> _Indexer:
        """Orthogonal indexing: ``a.oindex[[1, 5], :]``, ``a.oindex[mask, 3] = x``."""
        return _Indexer(self.get_orthogonal_selection, self.set_orthogonal_selection)

    @property
    def vindex(self) -> _Indexer:
        """Pointwise (vectorized) indexing: ``a.vindex[[0, 2], [1, 3]]``."""
        return _Indexer(self.get_coordinate_selection, self.set_coordinate_selection)

    @property
    def blocks(self) -> _Indexer:
        """Block indexing by chunk index: ``a.blocks[0, 1:3]`` (inner chunks of a sharded array)."""
        return _Indexer(self.get_block_selection, self.set_block_selection)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self[...]
        data = np.asarray(data)
        return data.astype(dtype) if dtype is not None else data

    # -- shape changes --------------------------------------------------------------------------
    def resize(self, *shape: Any) -> None:
        """Change the shape; chunks wholly outside the new shape are deleted.

        Edge chunks cut by a shrink are rewritten so that growing again shows the fill value,
        not stale data.
        """
        self._check_writable()
        new_shape = tuple(int(s) for s in (shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape))
        if len(new_shape) != self.ndim:
            raise ShapeMismatchError(f"resize to {new_shape} changes the number of dimensions of {self.name!r}")
        old_shape = self.shape
        if any(n < o for n, o in zip(new_shape, old_shape)):
            # clear the region that leaves the array inside kept chunks, then drop outside chunks
            grid = self.metadata.chunk_grid
            for d in range(self.ndim):
                if new_shape[d] < old_shape[d]:
                    offs = grid.offsets(old_shape, d)
                    c = int(np.searchsorted(offs, new_shape[d], "right")) - 1
                    start = int(offs[c]) if c < len(offs) - 1 else new_shape[d]
                    if start < new_shape[d]:
                        sel = tuple(slice(new_shape[d], old_shape[d]) if k == d else slice(None) for k in range(self.ndim))
                        self[sel] = self._fill_for_output
            self._delete_outside(new_shape)
        self._update_metadata(self.metadata.with_shape(new_shape))

    def _delete_outside(self, new_shape: tuple[int, ...]) -> None:
        decode = self.metadata.chunk_key_encoding.decode
        grid = self.metadata.chunk_grid
        new_grid = grid.grid_shape(new_shape)
        doomed = []
        for key in self.store.list_prefix(self._prefix):
            coords = decode(key[len(self._prefix):])
            if coords is not None and len(coords) == self.ndim and any(c >= g for c, g in zip(coords, new_grid)):
                doomed.append(key)
        self.store.delete_many(doomed)

    def append(self, data: Any, axis: int = 0) -> tuple[int, ...]:
        """Grow along ``axis`` and write ``data`` into the new part; returns the new shape."""
        data = np.asarray(data)
        if data.ndim != self.ndim:
            raise ShapeMismatchError(f"cannot append {data.ndim}-d data to {self.ndim}-d array {self.name!r}")
        axis = axis % self.ndim
        for d in range(self.ndim):
            if d != axis and data.shape[d] != self.shape[d]:
                raise ShapeMismatchError(
                    f"appended data shape {data.shape} differs from {self.shape} outside axis {axis}"
                )
        old = self.shape[axis]
        new_shape = tuple(s + data.shape[axis] if d == axis else s for d, s in enumerate(self.shape))
        self.resize(new_shape)
        sel = tuple(slice(old, None) if d == axis else slice(None) for d in range(self.ndim))
        self[sel] = data
        return new_shape

    def stored_chunk_keys(self, listing: Iterable[str] | None = None) -> dict[str, tuple[int, ...]]:
        """The store keys of this array's chunks that exist (its shards, for a sharded array), each with its
        coordinates in the chunk grid, in listing order.

        One listing of the array's prefix; or, with ``listing``, the keys of that listing (such as one
        listing of a whole group, shared by its arrays) that belong to this array. Metadata documents and
        keys that are not a chunk of the current grid (other files, chunks beyond the shape) are left out.
        """
        keys = self.store.list_prefix(self._prefix) if listing is None else listing
        decode = self.metadata.chunk_key_encoding.decode
        grid = self.metadata.chunk_grid.grid_shape(self.shape)
        start = len(self._prefix)
        out = {}
        for key in keys:
            if not key.startswith(self._prefix):
                continue
            coords = decode(key[start:])
            if coords is not None and len(coords) == len(grid) and all(0 <= c < g for c, g in zip(coords, grid)):
                out[key] = tuple(coords)
        return out


def _basic(selection: Any) -> Any:
    """``selection`` if it is a basic selection (ints, slices, Ellipsis), else a :class:`SelectionError`."""
    for s in selection if isinstance(selection, tuple) else (selection,):
        if not (isinstance(s, int | np.integer | slice) or s is Ellipsis):
            raise SelectionError(f"a basic selection takes ints, slices and Ellipsis, not {type(s).__name__}; "
                                 "use get_orthogonal_selection (oindex) or get_coordinate_selection (vindex)")
    return selection


def _finish(result: Any, out: np.ndarray | None, fields: str | list[str] | None) -> Any:
    if fields is not None:
        result = np.asarray(result)[fields]
    if out is None:
        return result
    out[...] = result
    return out


class _Indexer:
    def __init__(self, getter: Any, setter: Any) -> None:
        self._get, self._set = getter, setter

    def __getitem__(self, selection: Any) -> Any:
        return self._get(selection)

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._set(selection, value)

