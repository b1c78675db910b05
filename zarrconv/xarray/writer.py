"""Writing xarray Datasets and DataTrees to Zarr with zarrconv: ``zc.to_zarr(ds, "out.zarr")``.

CF encoding is xarray's own (times, ``_FillValue``, scale/offset, strings), so what this
writes opens identically with ``xr.open_zarr`` and with ``engine="zarrconv"``. Data goes
through zarrconv arrays: numpy data at once, dask data chunk by chunk (``dask.array.store``
into the arrays, no lock: dask chunks never share a storage chunk unless
``safe_chunks=False``), never loaded whole.

Order of writes: chunks first, then array metadata, then group metadata, then consolidated
metadata, so that a reader never sees metadata that points at missing data. With
``compute=False`` the metadata is written at once (so that other processes can write
``region``s into the store) and the returned ``dask.delayed`` object writes the data.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..core.api import open_group
from ..core.array import Array
from ..core.array_metadata import build_array_metadata
from ..core.dask_writes import store_dask
from ..core.group import Group
from ..core.nodes import clear_node, join, node_exists, read_node
from ..core.staged import StagedNodes
from ..errors import ContainsNodeError, MetadataError, NodeNotFoundError, ShapeMismatchError
from ..format.metadata import GroupMetadata
from ..store import make_store
from ..store.base import Store
from .encoding import (
    check_chunk_alignment,
    encode_attr_value,
    encode_fill_attr,
    extract_encoding,
)
from .packing import packing_as_codecs

_MODES = ("w", "w-", "a", "r+")
Region = Mapping[Hashable, slice | Literal["auto"]] | Literal["auto"] | None


@dataclass
class _Job:
    """Everything one ``to_zarr`` call will write, gathered before writing."""

    store: Store
    zarr_format: int
    dask_sources: list = field(default_factory=list)
    dask_targets: list = field(default_factory=list)
    dask_regions: list = field(default_factory=list)
    numpy_writes: list = field(default_factory=list)
    nodes: StagedNodes = field(init=False)

    def __post_init__(self) -> None:
        self.nodes = StagedNodes(self.store, self.zarr_format)

    def write_numpy(self) -> None:
        for target, region, data in self.numpy_writes:
            target[region] = data
        self.numpy_writes.clear()



def _resolve_mode(mode: str | None, append_dim: Hashable | None, region: Region) -> str:
    if mode is None:
        mode = "a" if append_dim is not None else "r+" if region is not None else "w-"
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} must be one of {_MODES}")
    if append_dim is not None and mode != "a":
        raise ValueError(f"append_dim needs mode='a', not {mode!r}")
    if region is not None and mode not in ("a", "r+"):
        raise ValueError(f"region needs mode='r+' or 'a', not {mode!r}")
    return mode


def _check_names(ds: Any) -> None:
    """Refuse names a Zarr array cannot have; None is allowed (stored as xarray's ``__values__``)."""
    for name in ds.variables:
        if name is None:
            continue
        if not isinstance(name, str):
            raise TypeError(f"Invalid name {name!r} for a variable: it must be either a string or None "
                            "to be stored in Zarr")
        if not name:
            raise MetadataError(f"Invalid name {name!r} for a variable: the string must be length 1 or greater "
                                "to be stored in Zarr")
        if "/" in name or name in (".", ".."):
            raise MetadataError(f"variable name {name!r} cannot be stored in Zarr: use a non-empty string without '/'")


def _store_names(ds: Any, encoding: dict) -> tuple[Any, dict]:
    """The variable named None under xarray's stored name for it (``__values__``), as xarray's engines do."""
    from xarray.backends.common import NONE_VAR_NAME

    if None not in ds.variables:
        return ds, encoding
    if None in encoding:
        encoding[NONE_VAR_NAME] = encoding.pop(None)
    return ds.rename_vars({None: NONE_VAR_NAME}), encoding


def _check_encoding(ds: Any, encoding: dict, arrays: dict, mode: str, url: str) -> None:
    for k, enc in encoding.items():
        if k not in ds.variables:
            raise KeyError(f"encoding given for {k!r}, which is not a variable of the dataset {list(ds.variables)}")
        if not isinstance(enc, Mapping):
            raise MetadataError(f"encoding of variable {k!r} must be castable to a dictionary of encoding keys, "
                                f"not {enc!r}")
        if k in arrays and mode != "w":
            raise MetadataError(f"variable {k!r} already exists in {url}; its encoding cannot be changed")


def encode_variable(var: Any, name: Hashable, zarr_format: int) -> Any:
    """CF-encode one variable with xarray's coders, the way xarray's zarr engine does."""
    from xarray import conventions
    from xarray.backends.common import ensure_dtype_not_object
    from xarray.coding import strings

    var = packing_as_codecs(var, name, zarr_format)  # encoding cf_packing="codecs"
    coders = getattr(conventions, "ZARR_CODERS", None)
    var = conventions.encode_cf_variable(var, name=name, coders=coders) if coders else \
        conventions.encode_cf_variable(var, name=name)
    var = ensure_dtype_not_object(var, name=name)
    if zarr_format == 3 and var.dtype.kind == "T":
        return var
    var = strings.EncodedStringCoder(allows_unicode=True).encode(var, name=name)
    return strings.ensure_fixed_length_bytes(var)


def _storage_dtype(dtype: np.dtype, zarr_format: int) -> Any:
    from xarray.coding.strings import check_vlen_dtype

    if dtype.kind == "T" or check_vlen_dtype(dtype) is str:
        return "string" if zarr_format == 3 else str
    return dtype


def _xarray_store_of(group: Group, arrays: dict[str, Array]) -> Any:
    """The xarray data store reading ``group`` (to compare what is stored with what is written)."""
    from .datastore import ZarrconvDataStore  # imports xarray: not on ``import zarrconv``

    return ZarrconvDataStore(group, arrays)


def _auto_region(ds: Any, region: dict, group: Group, arrays: dict[str, Array]) -> dict:
    """Replace ``"auto"`` region entries by the slices where ``ds``'s coordinates sit in the store."""
    import pandas as pd
    from xarray import conventions

    reader = _xarray_store_of(group, arrays)
    for dim, sel in list(region.items()):
        if sel != "auto":
            continue
        if dim not in ds.variables:
            region[dim] = slice(0, ds.sizes[dim])
            continue
        if dim not in arrays:
            raise NodeNotFoundError(f"region='auto' needs coordinate {dim!r} in the store {group.store.url}")
        stored = conventions.decode_cf_variable(dim, reader.open_store_variable(dim).compute())
        idx = pd.Index(stored.values).get_indexer(ds[dim].values)
        if (idx < 0).any():
            raise ShapeMismatchError(f"region='auto': some values of coordinate {dim!r} are not in the store "
                                     f"{group.store.url}; a region write cannot add coordinate values")
        if len(idx) and (np.diff(idx) != 1).any():
            raise ShapeMismatchError(f"region='auto': the values of coordinate {dim!r} are not one contiguous, "
                                     "increasing run of the stored coordinate")
        region[dim] = slice(int(idx[0]), int(idx[-1]) + 1) if len(idx) else slice(0, 0)
    return region


def _validate_region(ds: Any, region: Region, append_dim: Hashable | None, group: Group | None,
                     arrays: dict[str, Array]) -> tuple[Any, dict | None]:
    if region is None:
        return ds, None
    if group is None:
        raise NodeNotFoundError("region writes need an existing group; write the store first (compute=False "
                                "writes just its metadata and coordinates)")
    reg = dict.fromkeys(ds.dims, "auto") if region == "auto" else dict(region)
    if any(v == "auto" for v in reg.values()):
        reg = _auto_region(ds, reg, group, arrays)
    for dim, sel in reg.items():
        if dim not in ds.dims:
            raise ShapeMismatchError(f"region dimension {dim!r} is not a dimension of the dataset {list(ds.dims)}")
        if not isinstance(sel, slice) or sel.step not in (None, 1):
            raise ShapeMismatchError(f"region[{dim!r}]={sel!r} must be a slice with step 1 (or 'auto')")
    if append_dim is not None and append_dim in reg:
        raise ShapeMismatchError(f"dimension {append_dim!r} cannot be both append_dim and in region")
    outside = [k for k, v in ds.variables.items() if not set(reg).intersection(v.dims)]
    if reg and outside:
        raise ShapeMismatchError(f"variables {outside} share no dimension with the region {list(reg)}; "
                                 f"drop them first: ds.drop_vars({outside!r})")
    return ds.drop_vars(list(ds.indexes)), reg


def _fill_and_attrs(name: str, v: Any, mask_fill: bool) -> tuple[Any, dict]:
    """The Zarr fill_value and the attributes to store, following xarray's zarr engine."""
    attrs = dict(v.attrs)
    if v.encoding.get("_FillValue") is not None:
        raise MetadataError(f"_FillValue of variable {name!r} must be an attribute after encoding, not encoding")
    v.encoding.pop("_FillValue", None)
    if mask_fill:
        return attrs.pop("_FillValue", None), attrs
    fill = v.encoding.pop("fill_value", None)
    if fill is None and v.dtype.kind == "f":
        fill = np.nan
    if "_FillValue" in attrs:
        fv = attrs.pop("_FillValue")
        if fv is not None:
            attrs["_FillValue"] = encode_fill_attr(fv, v.dtype)
    return fill, attrs


def _write_dataset(job: _Job, ds: Any, path: str, *, mode: str, append_dim: Hashable | None, region: Region,
                   encoding: Mapping | None, safe_chunks: bool, write_empty_chunks: bool | None,
                   mask_fill: bool | None) -> None:
    """Plan the writes of one Dataset into the group at ``path`` (nothing is written but numpy data)."""
    from xarray import conventions

    st, zf = job.store, job.zarr_format
    _check_names(ds)
    group: Group | None = None
    arrays: dict[str, Array] = {}
    if mode in ("a", "r+") and path not in job.nodes.groups:
        try:
            meta = read_node(st, path)
        except NodeNotFoundError:
            if mode == "r+":
                raise NodeNotFoundError(f"mode='r+' writes into an existing group, but there is none at "
                                        f"{path or '/'!r} in {st.url}; use mode='a' or 'w'") from None
        else:
            if not isinstance(meta, GroupMetadata):
                raise ContainsNodeError(f"{path or '/'!r} in {st.url} is an array, not a group")
            if meta.zarr_format != zf:
                raise MetadataError(f"group {path or '/'!r} in {st.url} is Zarr v{meta.zarr_format}; "
                                    f"cannot write zarr_format={zf} into it")
            group = Group(st, path, meta)
            arrays = dict(group.arrays())
    mask = (zf == 2) if mask_fill is None else mask_fill
    ds, encoding = _store_names(ds, dict(encoding or {}))
    _check_encoding(ds, encoding, arrays, mode, st.url)
    ds, reg = _validate_region(ds, region, append_dim, group, arrays)
    if append_dim is not None and append_dim not in ds.dims:
        raise ShapeMismatchError(f"append_dim {append_dim!r} is not a dimension of the dataset {list(ds.dims)}")
    if append_dim is not None and arrays:
        stored_dims = _xarray_store_of(group, arrays).get_dimensions()
        if append_dim not in stored_dims:
            raise ShapeMismatchError(f"append_dim {append_dim!r} is not a dimension of the stored dataset "
                                     f"{list(stored_dims)} in {st.url}")
    for v in ds.variables.values():  # zero-size dask arrays: nothing to store chunk by chunk
        if v.size == 0:
            v.load()

    variables, attrs = conventions.encode_dataset_coordinates(ds)
    for k, enc in encoding.items():
        variables[k].encoding = dict(enc)
    existing = {k for k in variables if k in arrays}
    if mode == "r+" and (missing := [k for k in variables if k not in arrays]):
        raise NodeNotFoundError(f"variables {missing} are not in {st.url}/{path}; mode='r+' only writes into "
                                "existing variables (use mode='a' to add variables)")
    encoded = {k: encode_variable(v, k, zf) for k, v in variables.items() if k not in existing}
    if existing:
        stored, _, _ = conventions.decode_cf_variables(
            {k: _xarray_store_of(group, arrays).open_store_variable(k) for k in existing}, {})
        for k in existing:
            new = variables[k].copy(deep=False)
            _check_append_dtype(k, stored[k], new)
            new.encoding = dict(stored[k].encoding)
            enc_v = encode_variable(new, k, zf)
            encoded[k] = _match_existing_dims(k, enc_v, stored[k], reg, append_dim)

    if mode != "r+":
        gattrs = {k: encode_attr_value(v) for k, v in attrs.items()}
        if group is not None:
            job.nodes.stage_group(path, GroupMetadata(zf, gattrs, None, group.metadata.extra))
        else:
            job.nodes.stage_group(path, GroupMetadata(zf, gattrs), with_parents=True)

    for name, v in encoded.items():
        _plan_variable(job, path, name, v, arrays.get(name) if mode != "w" else None, mode=mode,
                       append_dim=append_dim, region=reg, strict=name in encoding, safe_chunks=safe_chunks,
                       write_empty_chunks=write_empty_chunks, mask_fill=mask)


def _check_append_dtype(name: str, stored: Any, new: Any) -> None:
    easy = (np.issubdtype(new.dtype, np.number) or np.issubdtype(new.dtype, np.datetime64)
            or np.issubdtype(new.dtype, np.bool_) or new.dtype.kind in "OT"
            or (new.dtype.kind in "SU" and stored.dtype.kind in "OT"))
    if not easy and new.dtype != stored.dtype:
        raise ShapeMismatchError(f"variable {name!r} is stored as {stored.dtype}; cannot write {new.dtype} "
                                 "into it (fixed-width strings of another width would be cut)")


def _match_existing_dims(name: str, new: Any, stored: Any, region: dict | None, append_dim: Hashable | None) -> Any:
    if new.dims != stored.dims:
        if set(new.dims) != set(stored.dims):
            raise ShapeMismatchError(f"variable {name!r} is stored with dimensions {stored.dims}, not {new.dims}")
        new = new.transpose(*stored.dims)
    want = {}
    for d, n in stored.sizes.items():
        if region and d in region:
            n = len(range(*region[d].indices(n)))
        if d != append_dim:
            want[d] = n
    got = {d: n for d, n in new.sizes.items() if d != append_dim}
    if want != got:
        raise ShapeMismatchError(
            f"variable {name!r} has sizes {got} but the store holds {want} there; only append_dim may grow, and "
            "writing part of a variable needs region=..."
        )
    return new


def _plan_variable(job: _Job, group_path: str, name: str, v: Any, existing: Array | None, *, mode: str,
                   append_dim: Hashable | None, region: dict | None, strict: bool, safe_chunks: bool,
                   write_empty_chunks: bool | None, mask_fill: bool) -> None:
    st, zf = job.store, job.zarr_format
    path = join(group_path, name)
    fill, attrs = _fill_and_attrs(name, v, mask_fill)
    enc = extract_encoding(v, name, zarr_format=zf, strict=strict)
    dims = v.dims
    sel = {d: (region or {}).get(d, slice(None)) for d in dims}
    write_empty = enc.pop("write_empty_chunks", None)
    write_empty = bool(write_empty if write_empty_chunks is None else write_empty_chunks)
    if existing is not None:
        target = existing
        if append_dim is not None and append_dim in dims:
            axis = dims.index(append_dim)
            old = existing.shape[axis]
            shape = tuple(n + v.shape[axis] if d == axis else n for d, n in enumerate(existing.shape))
            target = job.nodes.stage_array(path, existing.metadata.with_shape(shape), write_empty_chunks=write_empty)
            sel[append_dim] = slice(old, shape[axis])
        elif write_empty != existing.write_empty_chunks:
            target = Array(st, path, existing.metadata, write_empty_chunks=write_empty)
        unit = target.shards or target.chunks
    else:
        enc_attrs = {k: encode_attr_value(a) for k, a in attrs.items()}
        chunks = enc.pop("chunks")
        meta = build_array_metadata(
            shape=v.shape, dtype=_storage_dtype(v.dtype, zf), chunks=chunks, shards=enc.pop("shards", None),
            fill_value=fill, compressors=enc.pop("compressors", "auto"), filters=enc.pop("filters", None),
            serializer=enc.pop("serializer", None) if zf == 3 else None, dimension_names=dims,
            attributes=enc_attrs, zarr_format=zf, chunk_key_encoding=enc.pop("chunk_key_encoding", None),
        )
        target = job.nodes.stage_array(path, meta, write_empty_chunks=write_empty)
        unit = target.shards or target.chunks
    reg = tuple(sel[d] for d in dims)
    if safe_chunks and v.chunks:
        check_chunk_alignment(name, v.chunks, tuple(unit), reg, target.shape,
                              allow_partial_edges=mode != "r+", sharded=target.shards is not None)
    data = v.data
    if hasattr(data, "dask") or type(data).__module__.startswith("dask."):
        job.dask_sources.append(data)
        job.dask_targets.append(target)
        job.dask_regions.append(reg)
    else:
        job.numpy_writes.append((target, reg if reg else (), np.asarray(data)))


def _finish(job: _Job, *, consolidate: bool, metadata_first: bool) -> None:
    if not metadata_first:
        job.nodes.commit()
    if consolidate:
        job.nodes.consolidate()


def to_zarr(
    obj: Any,
    store: Any,
    *,
    mode: Literal["w", "w-", "a", "r+"] | None = None,
    group: str | None = None,
    append_dim: Hashable | None = None,
    region: Region = None,
    encoding: Mapping | None = None,
    consolidated: bool = True,
    zarr_format: int | None = None,
    compute: bool = True,
    storage_options: dict | None = None,
    safe_chunks: bool = True,
    write_empty_chunks: bool | None = None,
    use_zarr_fill_value_as_mask: bool | None = None,
) -> Any:
    """Write an ``xr.Dataset`` or ``xr.DataTree`` to a Zarr store.

    Args:
        obj: the Dataset or DataTree (a DataTree writes one group per node).
        store: path, URL, fsspec mapper/filesystem or zarrconv Store.
        mode: ``"w-"`` create (fail if something is there), ``"w"`` overwrite, ``"a"`` add or
            replace variables / append, ``"r+"`` write into existing variables only. Default:
            ``"a"`` with ``append_dim``, ``"r+"`` with ``region``, else ``"w-"``.
        group: group path inside the store (Datasets only).
        append_dim: grow the stored variables along this dimension by the data of ``obj``.
        region: ``{dim: slice}`` (or ``"auto"``, or ``{dim: "auto"}`` to find the place from the
            coordinates) to write into part of existing variables.
        encoding: per-variable dict (per node path for a DataTree) with ``chunks``, ``shards``,
            ``compressors``, ``filters``, ``serializer``, ``dtype``, ``_FillValue``, ``units``,
            ``calendar``, ``scale_factor``, ``add_offset``, ``fill_value`` (v3), ``cf_packing="codecs"``
            (v3: store ``scale_factor``/``add_offset``/integer ``dtype`` packing as the ``scale_offset`` and
            ``cast_value`` codecs instead of packed integers), ...
        consolidated: consolidate the store's metadata at the end.
        zarr_format: 2 or 3; default 3 for a new store, the stored format otherwise.
        compute: False writes metadata now and returns a ``dask.delayed`` that writes the data.
        storage_options: for remote URLs (fsspec).
        safe_chunks: refuse dask chunks that straddle storage chunks (shards when sharded),
            raising :class:`~zarrconv.errors.ChunkAlignmentError`.
        write_empty_chunks: store chunks that equal the fill value (default: do not).
        use_zarr_fill_value_as_mask: as xarray: None is True for v2 (fill_value is the CF
            ``_FillValue``), False for v3 (``_FillValue`` is an attribute).

    Returns:
        The written group (a :class:`zarrconv.Group`), or a ``dask.delayed`` when
        ``compute=False``.
    """
    import xarray as xr

    mode = _resolve_mode(mode, append_dim, region)
    if isinstance(store, os.PathLike):
        store = os.fspath(store)
    st = make_store(store, mode="w" if mode == "w" else "a", storage_options=storage_options)
    path = (group or "").strip("/")
    is_tree = isinstance(obj, xr.DataTree)
    if is_tree and append_dim is not None:
        raise NotImplementedError("append_dim is not supported for DataTree; append to each node's Dataset")
    if not is_tree and not isinstance(obj, xr.Dataset):
        if isinstance(obj, xr.DataArray):
            obj = obj.to_dataset(name=obj.name if obj.name is not None else "__xarray_dataarray_variable__")
        else:
            raise TypeError(f"to_zarr writes an xarray Dataset, DataArray or DataTree, not {type(obj).__name__}")

    zf = _store_format(st, path, mode, zarr_format)
    if mode == "w-" and node_exists(st, path):
        raise ContainsNodeError(f"{st.url}{'/' + path if path else ''} already holds Zarr data; "
                                "pass mode='w' to overwrite or mode='a' to add to it")
    job = _Job(st, zf)
    common = dict(mode=mode, append_dim=append_dim, region=region, safe_chunks=safe_chunks,
                  write_empty_chunks=write_empty_chunks, mask_fill=use_zarr_fill_value_as_mask)
    if is_tree:
        enc = dict(encoding or {})
        unknown = set(enc) - set(obj.groups)
        if unknown:
            raise MetadataError(f"encoding names groups {sorted(unknown)} that are not in the DataTree")
        for rel, node in obj.subtree_with_keys:
            ds = node.to_dataset(inherit=node is obj)
            _write_dataset(job, ds, join(path, "" if rel == "." else rel), encoding=enc.get(node.path), **common)
    else:
        _write_dataset(job, obj, path, encoding=encoding, **common)

    if mode == "w" and node_exists(st, path):  # only now that the whole write is planned and valid
        clear_node(st, path)
    consolidate = consolidated and mode != "r+" and st.supports_consolidated
    if st.metadata_first:  # chunks need their array's metadata stored first (icechunk)
        job.nodes.commit()
    if not compute:
        job.write_numpy()
        job.nodes.commit()
        _finish(job, consolidate=consolidate, metadata_first=True)
        return _delayed_data(job)
    job.write_numpy()
    if job.dask_sources:
        store_dask(job.dask_sources, job.dask_targets, job.dask_regions)
    _finish(job, consolidate=consolidate, metadata_first=st.metadata_first)
    return open_group(st, path, mode="r+")


def _delayed_data(job: _Job) -> Any:
    import dask

    if not job.dask_sources:
        return dask.delayed(_done)(None)
    stored = store_dask(job.dask_sources, job.dask_targets, job.dask_regions, compute=False)
    return dask.delayed(_done)(stored)


def _done(_: Any) -> None:
    """The result of a delayed write: nothing (the data are in the store)."""


def _store_format(st: Store, path: str, mode: str, zarr_format: int | None) -> int:
    if zarr_format not in (None, 2, 3):
        raise ValueError(f"zarr_format {zarr_format!r} must be 2 or 3")
    if mode in ("a", "r+"):
        for p in (path, ""):
            try:
                meta = read_node(st, p)
            except NodeNotFoundError:
                continue
            if zarr_format is not None and meta.zarr_format != zarr_format and p == path:
                raise MetadataError(f"{st.url}/{path} is Zarr v{meta.zarr_format}; cannot write zarr_format={zarr_format}")
            return meta.zarr_format if zarr_format is None else zarr_format
    return zarr_format or 3


__all__ = ["encode_variable", "to_zarr"]
