"""Stores: bytes by key. Local directories, memory, zip files, obstore stores, and any fsspec URL or filesystem."""

from __future__ import annotations

import os
from typing import Any

from ..errors import StoreError
from .base import ByteRange, Store, validate_key
from .fsspec_store import FsspecStore
from .fsspec_store import from_url as fsspec_from_url
from .local import LocalStore, local_path
from .memory import MemoryStore
from .obstore_store import ObstoreStore
from .obstore_url import NotForObstore, remote_store_choice, wants_obstore
from .zarr_python import ZarrPythonStore, is_zarr_python_store
from .zip import ZipStore

StoreLike = Any  # str | os.PathLike | Store | fsspec.FSMap | fsspec.AbstractFileSystem | dict | obstore store


def _zip_url_store(url: str, mode: str, storage_options: dict | None) -> Store:
    """``zip://<dir inside>::<archive>``: a local archive is a :class:`ZipStore` (writable); a remote one
    is read through fsspec's zip filesystem."""
    inner, sep, target = url[len("zip://"):].partition("::")
    archive = local_path(target) if sep and "::" not in target else None
    if archive is not None:
        if storage_options:
            raise TypeError(f"storage_options are only for remote archives, not the local zip {target!r}")
        return ZipStore(archive, mode=mode, root=inner)
    return fsspec_from_url(url, mode="r", storage_options=storage_options)


def _remote_url_store(url: str, mode: str, storage_options: dict | None) -> Store:
    """A URL's store: obstore where ``zarrconv.config`` ``remote_store`` picks it (by default ``s3://`` and
    ``http(s)://`` when obstore is installed and takes the options), fsspec otherwise."""
    if wants_obstore(url):
        try:
            return ObstoreStore.from_url(url, mode=mode, storage_options=storage_options)
        except NotForObstore as e:
            if remote_store_choice() == "obstore":
                raise StoreError(str(e)) from e
    return fsspec_from_url(url, mode=mode, storage_options=storage_options)


def make_store(
    store: StoreLike,
    *,
    mode: str = "r",
    storage_options: dict | None = None,
    path: str | None = None,
) -> Store:
    """Turn anything a user may pass as ``store`` into a :class:`Store`.

    Accepts:

    * a :class:`Store` (made read-only for ``mode='r'``);
    * a local path (``str``, ``pathlib.Path``, ``file://...``); a path ending in ``.zip`` (or
      ``.ozx``, a zipped OME-Zarr) that is not a directory is a :class:`~zarrconv.store.zip.ZipStore`;
    * ``s3://`` and ``http(s)://`` URLs: an :class:`~zarrconv.store.obstore_store.ObstoreStore` when the
      ``obstore`` package is installed (s3fs-style ``storage_options`` are translated), else fsspec;
      ``zarrconv.config.set(remote_store="fsspec")`` keeps fsspec, ``remote_store="obstore"`` also
      takes ``gs://`` and ``az://`` through obstore;
    * an ``obstore`` store instance (``obstore.store.S3Store(...)``, ...), with ``path`` a directory in it;
    * any fsspec URL with ``storage_options`` for its filesystem: ``s3://bucket/data.zarr``,
      ``gs://``, ``az://``, ``https://host/data.zarr`` (read-only), ``memory://name``,
      ``zip://<dir>::<archive URL>``, a remote ``....zip`` URL (read-only),
      ``reference://`` with ``storage_options={"fo": "refs.json", "remote_protocol": ...}``
      (kerchunk-style references, read-only), or chained URLs such as
      ``simplecache::s3://...``;
    * an ``fsspec.FSMap`` (``fs.get_mapper(root)``) or an ``fsspec.AbstractFileSystem`` with
      ``path`` its directory of the hierarchy;
    * a ``dict`` used as an in-memory store;
    * any zarr-python 3 store (``zarr.storage.LocalStore``, ``MemoryStore``, ``FsspecStore``,
      ``ObjectStore``, icechunk's ``session.store``), driven through its async API
      (:class:`~zarrconv.store.zarr_python.ZarrPythonStore`).

    ``mode='r'`` makes the result read-only; HTTP, zip URL and reference stores are always read-only.
    """
    read_only = mode == "r"
    if isinstance(store, Store):
        return store.with_read_only(True) if read_only and not store.read_only else store
    if is_zarr_python_store(store):
        if storage_options:
            raise TypeError("storage_options apply to URLs; configure the zarr-python store you pass instead")
        return ZarrPythonStore(store, read_only=read_only)
    import fsspec

    if isinstance(store, fsspec.FSMap | fsspec.AbstractFileSystem):
        if storage_options:
            raise TypeError("storage_options apply to URLs; configure the fsspec filesystem you pass instead")
        if isinstance(store, fsspec.FSMap):
            return FsspecStore(store.fs, store.root, read_only=read_only)
        return FsspecStore(store, path or "", read_only=read_only)
    if isinstance(store, os.PathLike | str):
        s = os.fspath(store)
        if s.startswith("zip://"):
            return _zip_url_store(s, mode, storage_options)
        local = local_path(s)
        if local is not None:
            if storage_options:
                raise TypeError(f"storage_options are only for remote URLs, not the local path {s!r}")
            if local.rstrip("/").endswith((".zip", ".ozx")) and not os.path.isdir(local):
                return ZipStore(local.rstrip("/"), mode=mode)
            return LocalStore(local, read_only=read_only)
        if s.rstrip("/").endswith((".zip", ".ozx")) and "::" not in s:
            protocol = s.split("://", 1)[0]
            options = {protocol: storage_options} if storage_options else None
            return fsspec_from_url(f"zip://::{s.rstrip('/')}", mode="r", storage_options=options)
        return _remote_url_store(s, mode, storage_options)
    if isinstance(store, dict):
        return MemoryStore(store, read_only=read_only)
    if type(store).__module__.split(".", 1)[0] == "obstore":
        if storage_options:
            raise TypeError("storage_options apply to URLs; configure the obstore store you pass instead")
        return ObstoreStore(store, path or "", read_only=read_only)
    raise TypeError(f"cannot use {type(store).__name__} as a store: pass a path, URL, fsspec filesystem, "
                    "zarrconv Store, obstore store or zarr-python store")


__all__ = ["ByteRange", "FsspecStore", "LocalStore", "MemoryStore", "ObstoreStore", "Store", "StoreLike",
           "ZarrPythonStore", "ZipStore", "local_path", "make_store", "validate_key"]
