"""Stores: bytes by key. Local directories, memory, and any fsspec URL or filesystem."""

from __future__ import annotations

import os
from typing import Any

from .base import ByteRange, Store, validate_key
from .local import LocalStore
from .memory import MemoryStore

StoreLike = Any  # str | os.PathLike | Store | fsspec.FSMap | fsspec.AbstractFileSystem


def make_store(
    store: StoreLike,
    *,
    mode: str = "r",
    storage_options: dict | None = None,
    path: str | None = None,
) -> Store:
    """Turn anything a user may pass as ``store`` into a :class:`Store`.

    Accepts a :class:`Store`, a local path (``str``/``pathlib.Path``/``file://``), any fsspec
    URL (``s3://``, ``https://``, ``memory://``, ``zip://``, ``reference://``, a ``.zip``
    path), an ``fsspec.FSMap`` or an ``fsspec.AbstractFileSystem`` (with ``path``).
    ``mode='r'`` makes the result read-only.
    """
    read_only = mode == "r"
    if isinstance(store, Store):
        return store.with_read_only(True) if read_only and not store.read_only else store
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec is a dependency
        fsspec = None
    if fsspec is not None:
        from .fsspec_store import FsspecStore, from_url

        if isinstance(store, fsspec.FSMap):
            return FsspecStore(store.fs, store.root, read_only=read_only)
        if isinstance(store, fsspec.AbstractFileSystem):
            return FsspecStore(store, path or "", read_only=read_only)
    if isinstance(store, os.PathLike | str):
        s = os.fspath(store)
        if "://" not in s or s.startswith("file://"):
            local = s[len("file://"):] if s.startswith("file://") else s
            if local.endswith(".zip") and not os.path.isdir(local):
                from .zip import ZipStore

                return ZipStore(local, mode=mode)
            if storage_options:
                raise TypeError(f"storage_options are only for remote URLs, not the local path {s!r}")
            return LocalStore(local, read_only=read_only)
        return from_url(s, mode=mode, storage_options=storage_options)
    if isinstance(store, dict):
        return MemoryStore(store, read_only=read_only)
    raise TypeError(f"cannot use {type(store).__name__} as a store: pass a path, URL, fsspec filesystem or zarrconv Store")


__all__ = ["ByteRange", "LocalStore", "MemoryStore", "Store", "StoreLike", "make_store", "validate_key"]
