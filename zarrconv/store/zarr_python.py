"""Any zarr-python 3 store (``zarr.abc.store.Store``) as a zarrconv :class:`Store`.

``zarr.storage.LocalStore``, ``MemoryStore``, ``FsspecStore``, ``ObjectStore`` and icechunk's
``IcechunkStore`` all subclass ``zarr.abc.store.Store``; :func:`is_zarr_python_store` recognises
them by their class hierarchy, without importing zarr, so zarr-python stays optional: it is
imported only once such a store has been passed (and so is already loaded).

The store's API is asynchronous. Every call runs on zarr-python's own I/O event loop, one loop
on a background thread (``zarr.core.sync``), because the sessions of a store made or used by
zarr-python (aiohttp, s3fs, obstore clients) belong to that loop. A batch (``get_many`` with
byte ranges, ``set_many``, ``delete_many``) is one ``asyncio.gather`` over its keys, at most
``config.remote_concurrency`` requests in flight.

Icechunk: a writable session's store cannot be pickled to other processes; :meth:`fork` gives
a store on ``session.fork()`` that can, and :meth:`merge` merges the forks' changes back into
the session, which the user then commits (see ``docs/guide/icechunk.md``).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from typing import Any

from .. import config
from ..errors import StoreError
from .base import ByteRange, Store, Value, joined, validate_key

_DOCUMENTS = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})


def is_zarr_python_store(obj: Any) -> bool:
    """Whether ``obj`` is a ``zarr.abc.store.Store`` instance (checked without importing zarr)."""
    return any(c.__name__ == "Store" and c.__module__ == "zarr.abc.store" for c in type(obj).__mro__)


def _sync(coro: Awaitable[Any]) -> Any:
    from zarr.core.sync import sync

    return sync(coro)


async def _bounded(aws: Sequence[Awaitable[Any]]) -> list[Any]:
    """``asyncio.gather`` of ``aws`` with at most ``remote_concurrency`` of them running at once."""
    limit = asyncio.Semaphore(max(1, int(config.get("remote_concurrency"))))

    async def one(aw: Awaitable[Any]) -> Any:
        async with limit:
            return await aw

    return list(await asyncio.gather(*(one(a) for a in aws)))


def public_class_name(cls: type) -> str:
    """``icechunk.IcechunkStore``, ``zarr.storage.LocalStore``: where a user would import ``cls`` from."""
    parts = cls.__module__.split(".")
    public = list(itertools.takewhile(lambda p: not p.startswith("_"), parts)) or parts[:1]
    for depth in range(1, len(public) + 1):
        module = sys.modules.get(".".join(public[:depth]))
        if module is not None and getattr(module, cls.__name__, None) is cls:
            return f"{'.'.join(public[:depth])}.{cls.__qualname__}"
    return f"{'.'.join(public)}.{cls.__qualname__}"


class ZarrPythonStore(Store):
    """A zarr-python store driven through its async API. ``store`` stays the caller's: closing this
    adapter does not close it."""

    prefers_single_batch = True

    def __init__(self, store: Any, read_only: bool = False) -> None:
        if not is_zarr_python_store(store):
            raise TypeError(f"{type(store).__name__} is not a zarr.abc.store.Store")
        super().__init__(read_only or bool(store.read_only))
        self.store = store

    @property
    def url(self) -> str:
        text = str(self.store)
        return text if "://" in text else f"{type(self.store).__name__}({text.splitlines()[0] if text else ''})"

    @property
    def type_name(self) -> str:
        """``ZarrPythonStore(icechunk.IcechunkStore)``: the adapter and the class it drives, named where its
        package exports it (the package itself, else the public part of its module path)."""
        return f"ZarrPythonStore({public_class_name(type(self.store))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ZarrPythonStore) and other.store is self.store

    def __hash__(self) -> int:
        return id(self.store)

    # -- reading --------------------------------------------------------------------------
    async def _get(self, key: str, byte_range: ByteRange | None) -> bytes | None:
        from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
        from zarr.core.buffer import default_buffer_prototype

        validate_key(key)
        request: Any = None
        if byte_range is not None:
            start, stop = byte_range
            if start < 0:
                request = SuffixByteRequest(-start)
            elif stop is None:
                request = OffsetByteRequest(start)
            else:
                request = RangeByteRequest(start, max(start, stop))
        buf = await self.store.get(key, default_buffer_prototype(), request)
        return None if buf is None else buf.to_bytes()

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        return _sync(self._get(key, byte_range))

    def get_many(self, requests: Sequence[tuple[str, ByteRange | None]]) -> list[bytes | None]:
        if not requests:
            return []
        return _sync(_bounded([self._get(k, r) for k, r in requests]))

    def sizes(self, keys: Sequence[str]) -> list[int]:
        async def size(key: str) -> int:
            try:
                return await self.store.getsize(key)
            except FileNotFoundError:
                return 0

        return _sync(_bounded([size(validate_key(k)) for k in keys])) if keys else []

    def exists(self, key: str) -> bool:
        return _sync(self.store.exists(validate_key(key)))

    def list_prefix(self, prefix: str) -> Iterator[str]:
        async def collect() -> list[str]:
            return [k async for k in self.store.list_prefix(prefix)]

        return iter(_sync(collect()))

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """One ``list_dir`` of the store. zarr-python's ``list_dir`` does not say which names are keys
        and icechunk refuses ``exists`` of a key that is not a Zarr key, so the Zarr metadata
        documents count as keys and every other name as a prefix: a caller looking for child nodes
        finds no node documents below a name that was a plain key."""
        async def listing() -> list[str]:
            return sorted({n.rstrip("/") async for n in self.store.list_dir(prefix.rstrip("/"))} - {""})

        names = _sync(listing())
        return [n for n in names if n in _DOCUMENTS], [n for n in names if n not in _DOCUMENTS]

    # -- writing --------------------------------------------------------------------------
    async def _set(self, key: str, value: Value) -> None:
        from zarr.core.buffer import default_buffer_prototype

        validate_key(key)
        await self.store.set(key, default_buffer_prototype().buffer.from_bytes(joined(value)))

    def set(self, key: str, value: Value) -> None:
        self.check_writable(key)
        _sync(self._set(key, value))

    def set_many(self, items: Mapping[str, Value]) -> None:
        self.check_writable(next(iter(items), ""))
        if items:
            _sync(_bounded([self._set(k, v) for k, v in items.items()]))

    def _check_deletes(self, key: str) -> None:
        self.check_writable(key)
        if not self.store.supports_deletes:
            raise StoreError(f"{type(self.store).__name__} {self.url} does not support deleting {key!r}")

    def delete(self, key: str) -> None:
        self._check_deletes(key)
        _sync(self.store.delete(validate_key(key)))

    def delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            self._check_deletes(keys[0])
            _sync(_bounded([self.store.delete(validate_key(k)) for k in keys]))

    # -- sessions whose writers are forked (icechunk) ---------------------------------------------
    @property
    def metadata_first(self) -> bool:  # type: ignore[override]
        """Icechunk stores a chunk only below an array it knows: metadata goes first."""
        return self._session() is not None

    @property
    def supports_consolidated(self) -> bool:  # type: ignore[override]
        """As the store says (``supports_consolidated_metadata``: false for icechunk)."""
        return bool(self.store.supports_consolidated_metadata)

    def _session(self) -> Any:
        session = getattr(self.store, "session", None)
        return session if type(session).__module__.startswith("icechunk") else None

    def fork(self) -> Store | None:
        """For an icechunk writable session: a store on ``session.fork()``, which pickles to other
        processes; None for every other store."""
        session = self._session()
        if session is None or session.read_only:
            return None
        return ZarrPythonStore(session.fork().store)

    def merge(self, forks: Sequence[Store]) -> None:
        """Merge the changes written through stores made by :meth:`fork` (and pickled back) into this
        store's session; committing stays the caller's step."""
        session = self._session()
        others = [f.store.session for f in forks if isinstance(f, ZarrPythonStore)]
        if session is None or len(others) != len(forks):
            raise TypeError(f"only stores forked from an icechunk session can be merged into {self.url}")
        session.merge(*others)


__all__ = ["ZarrPythonStore", "is_zarr_python_store", "public_class_name"]
