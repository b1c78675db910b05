"""The Array: a chunked N-dimensional array in a store, read and written with numpy selections."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from ..codecs import build_pipeline
from ..errors import ReadOnlyError, ShapeMismatchError, ZarrconvError
from ..format.metadata import ArrayMetadata
from ..store.base import Store
from . import io
from .attributes import Attributes, Node
from .indexing import Plan, orthogonal_plan, pointwise_plan
from .nodes import write_node


class Array(Node):
    """A Zarr array (v2 or v3). Create or open one with :func:`zarrconv.create_array` / :func:`zarrconv.open_array`."""

    def __init__(self, store: Store, path: str, metadata: ArrayMetadata, *, write_empty_chunks: bool = False,
                 on_metadata_change: Any = None, synchronizer: Any = None) -> None:
        self.store = store
        self.path = path
        self.metadata = metadata
        self.write_empty_chunks = write_empty_chunks
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
                     "_chunks_per_shard", "_inner_grid_shape"):
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
        return self._pipeline.sharding

    @cached_property
    def _chunks_per_shard(self) -> tuple[int, ...]:
        return self._sharding.chunks_per_shard(self.metadata.chunk_shape)

    @cached_property
    def _inner_grid_shape(self) -> tuple[int, ...]:
        return tuple(-(-s // c) for s, c in zip(self.shape, self._sharding.chunk_shape))

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
        codecs = self._sharding.codecs if self._sharding is not None else self.metadata.codecs
        from ..codecs import codec_from_json

        return tuple(c for c in codecs if codec_from_json(c).kind == "bytes_bytes")

    @property
    def filters(self) -> tuple[dict, ...]:
        """The array->array codecs (v3) or the filters (v2), as metadata documents."""
        if self.zarr_format == 2:
            return tuple(self.metadata.filters or ())
        codecs = self._sharding.codecs if self._sharding is not None else self.metadata.codecs
        from ..codecs import codec_from_json

        return tuple(c for c in codecs if codec_from_json(c).kind == "array_array")

    @property
    def nchunks(self) -> int:
        """Number of stored objects the grid has (shards for sharded arrays)."""
        return math.prod(self.metadata.chunk_grid.grid_shape(self.shape))

    @property
    def nchunks_initialized(self) -> int:
        """Number of chunks (shards for sharded arrays) present in the store."""
        decode = self.metadata.chunk_key_encoding.decode
        n = 0
        grid = self.metadata.chunk_grid.grid_shape(self.shape)
        for key in self.store.list_prefix(self._prefix):
            coords = decode(key[len(self._prefix):])
            if coords is not None and len(coords) == len(grid) and all(0 <= c < g for c, g in zip(coords, grid)):
                n += 1
        return n

    @cached_property
    def attrs(self) -> Attributes:
        def persist(new: dict) -> None:
            self._update_metadata(replace(self.metadata, attributes=new))

        return Attributes(self.metadata.attributes, persist)

    def __repr__(self) -> str:
        return f"<zarrconv.Array {self.name} shape={self.shape} dtype={self.dtype} chunks={self.chunks} v{self.zarr_format}>"

    def info(self) -> str:
        """A short human description of the array."""
        lines = [repr(self), f"store: {self.store.url}"]
        if self.shards:
            lines.append(f"shards: {self.shards}")
        lines.append(f"codecs: {self.metadata.codecs or [self.metadata.filters, self.metadata.compressor]}")
        return "\n".join(lines)

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
            from ..format.chunks import RegularChunkGrid

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

    def get_orthogonal_selection(self, selection: Any) -> np.ndarray:
        """Outer indexing: each dimension selected independently (ints, slices, int arrays, masks)."""
        return self._get(orthogonal_plan(selection, self.shape, self._offsets), False, None)

    def get_coordinate_selection(self, selection: Any) -> np.ndarray:
        """Pointwise indexing with broadcast coordinate arrays (or one mask of the array's shape)."""
        plan, bshape = pointwise_plan(selection, self.shape, self._offsets)
        return self._get(plan, True, bshape)

    def _get(self, plan: Plan, pointwise: bool, bshape: tuple[int, ...] | None) -> Any:
        out = np.empty(plan.out_shape, dtype=self.dtype)
        io.read(self, plan, out, pointwise)
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
                io.write(self, plan, arr, pointwise)
        else:
            io.write(self, plan, arr, pointwise)

    def __setitem__(self, selection: Any, value: Any) -> None:
        plan, pointwise, bshape = self._plan(selection)
        self._set(plan, value, pointwise, bshape)

    def set_orthogonal_selection(self, selection: Any, value: Any) -> None:
        self._set(orthogonal_plan(selection, self.shape, self._offsets), value, False, None)

    def set_coordinate_selection(self, selection: Any, value: Any) -> None:
        plan, bshape = pointwise_plan(selection, self.shape, self._offsets)
        self._set(plan, value, True, bshape)

    @property
    def oindex(self) -> _Indexer:
        """Orthogonal indexing: ``a.oindex[[1, 5], :]``, ``a.oindex[mask, 3] = x``."""
        return _Indexer(self.get_orthogonal_selection, self.set_orthogonal_selection)

    @property
    def vindex(self) -> _Indexer:
        """Pointwise (vectorized) indexing: ``a.vindex[[0, 2], [1, 3]]``."""
        return _Indexer(self.get_coordinate_selection, self.set_coordinate_selection)

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


class _Indexer:
    def __init__(self, getter: Any, setter: Any) -> None:
        self._get, self._set = getter, setter

    def __getitem__(self, selection: Any) -> Any:
        return self._get(selection)

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._set(selection, value)

