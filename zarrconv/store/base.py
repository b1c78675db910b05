"""The abstract store: bytes by key, with byte ranges and batched access.

A store knows nothing of Zarr. Keys are ``/``-separated relative paths. Every store
offers a batched :meth:`Store.get_many` so that the core can hand it all the keys (and
byte ranges, for shards) that one read needs; remote stores run these concurrently,
local stores are called from several worker threads at once.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from ..errors import InvalidPathError, ReadOnlyError

#: ``(start, stop)`` with ``stop=None`` meaning "to the end"; ``(-n, None)`` is the last n bytes.
ByteRange = tuple[int, int | None]

#: What :meth:`Store.set` stores: bytes-like, or, for stores with ``writes_parts``, a list of
#: bytes-like parts stored one after the other (a shard: its inner chunks and index, not joined).
Value = Any


def joined(value: Value) -> bytes:
    """``value`` as one bytes object (stores that cannot write parts as they are call this)."""
    if isinstance(value, list):
        return b"".join(value)
    return value if isinstance(value, bytes) else bytes(memoryview(value).cast("B"))


def value_size(value: Value) -> int:
    """The number of bytes ``value`` stores."""
    parts = value if isinstance(value, list) else [value]
    return sum(memoryview(p).nbytes for p in parts)


def _dot_segment(key: str) -> bool:
    return (key in (".", "..") or key.startswith(("./", "../")) or key.endswith(("/.", "/.."))
            or "/./" in key or "/../" in key)


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`InvalidPathError`.

    Refuses absolute keys, ``.``/``..`` segments, empty segments, backslashes and NUL,
    so that no key can address anything outside the store root. Called for every chunk read,
    with substring tests rather than a split into segments.
    """
    if not isinstance(key, str) or not key:
        raise InvalidPathError(f"store key must be a non-empty string, got {key!r}")
    if key[0] == "/" or "\\" in key or "\x00" in key or key[1:2] == ":":
        raise InvalidPathError(f"store key {key!r} is absolute or contains forbidden characters")
    if key[-1] == "/" or "//" in key or ("." in key and _dot_segment(key)):
        raise InvalidPathError(
            f"store key {key!r} has an empty, '.' or '..' segment; keys must stay inside the store"
        )
    return key


def slice_range(data: bytes, byte_range: ByteRange | None) -> bytes:
    """Apply a :data:`ByteRange` to bytes already in memory."""
    if byte_range is None:
        return data
    start, stop = byte_range
    if start < 0:
        return data[start:]
    return data[start:stop]


class Store(ABC):
    """Bytes by key. Subclasses implement the single-key methods; batch methods may be overridden.

    Attributes:
        read_only: every mutation raises :class:`ReadOnlyError` when true.
        prefers_single_batch: true for high-latency stores, where the core should hand
            all keys of a read to one :meth:`get_many` call rather than one per worker.
        writes_parts: true when :meth:`set` also takes a list of bytes-like parts (stored one
            after the other); the core then hands a shard over without joining it. Stores
            written elsewhere keep receiving plain bytes.
        metadata_first: true when a chunk can only be stored below an array whose metadata is
            stored already (icechunk sessions, where a commit makes everything visible at once);
            writers that otherwise store data before metadata, for crash consistency, then
            store the metadata first.
        supports_consolidated: false for stores that keep their own index of the hierarchy
            (icechunk), where consolidated metadata only adds a document every writer must
            rewrite (and so a conflict between sessions).
        reads_into: true when :meth:`read_into` reads straight into the caller's buffers (local
            files); elsewhere it copies what :meth:`get_many` returns, so the core uses
            :meth:`get_many` instead.
    """

    read_only: bool = False
    prefers_single_batch: bool = False
    writes_parts: bool = False
    metadata_first: bool = False
    supports_consolidated: bool = True
    reads_into: bool = False

    def __init__(self, read_only: bool = False) -> None:
        self.read_only = read_only
        self._init_locks()

    def _init_locks(self) -> None:
        # re-entrant: keys share 64 stripes, so a thread holding one key's lock that takes another
        # key's (a lock_many inside a lock) may meet its own stripe again; a plain Lock then hung
        self._locks = [threading.RLock() for _ in range(64)]

    #: attributes of a subclass that hold thread locks: left out when pickled, new after unpickling
    _thread_locks: tuple[str, ...] = ()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in ("_locks", *self._thread_locks):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_locks()
        for name in self._thread_locks:
            setattr(self, name, threading.Lock())

    # -- identity -----------------------------------------------------------------
    @property
    @abstractmethod
    def url(self) -> str:
        """A human-readable location for messages (path or URL)."""

    @property
    def type_name(self) -> str:
        """The store's kind as ``info`` shows it ("Store type"): the class name; adapters add what they wrap."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}{', read_only' if self.read_only else ''})"

    def describe(self, key: str) -> str:
        """Where ``key`` lives, for error messages."""
        return f"{self.url.rstrip('/')}/{key}"

    def with_read_only(self, read_only: bool = True) -> Store:
        """A copy of this store with another read-only flag (used by mode='r')."""
        import copy

        other = copy.copy(self)
        other.read_only = read_only
        other._init_locks()
        return other

    # -- reading ------------------------------------------------------------------
    @abstractmethod
    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The bytes at ``key`` (or the range of them), or None when the key does not exist."""

    def get_many(self, requests: Sequence[tuple[str, ByteRange | None]]) -> list[bytes | None]:
        """Batched :meth:`get`, results in request order."""
        return [self.get(k, r) for k, r in requests]

    def read_into(self, keys: Sequence[str], views: Sequence[memoryview]) -> list[int | None]:
        """Read each key's whole value into the start of its view (a writable byte buffer): per key,
        the number of bytes read, ``-1`` when the value is larger than its view (the view's content
        is then undefined: read that key with :meth:`get`), None when the key is absent."""
        out: list[int | None] = []
        for view, data in zip(views, self.get_many([(k, None) for k in keys])):
            if data is None:
                out.append(None)
                continue
            n = memoryview(data).nbytes
            if n > view.nbytes:
                out.append(-1)
            else:
                view[:n] = memoryview(data).cast("B")
                out.append(n)
        return out

    def sizes(self, keys: Sequence[str]) -> list[int]:
        """The size in bytes of each key (0 for a missing key), in order; stores that can ask
        for sizes without reading the bytes override this."""
        return [0 if v is None else len(v) for v in self.get_many([(k, None) for k in keys])]

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        return self.get(key) is not None

    @abstractmethod
    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix`` (a directory-like prefix ending in '/' or '')."""

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """Keys and child prefixes directly below ``prefix`` (one listing, not a walk where possible).

        Returns names relative to ``prefix`` (no trailing slash).
        """
        keys: set[str] = set()
        dirs: set[str] = set()
        for k in self.list_prefix(prefix):
            rest = k[len(prefix):]
            head, sep, _ = rest.partition("/")
            (dirs if sep else keys).add(head)
        return sorted(keys), sorted(dirs)

    # -- writing ------------------------------------------------------------------
    def check_writable(self, key: str = "") -> None:
        """Raise :class:`ReadOnlyError` if this store may not be modified."""
        if self.read_only:
            raise ReadOnlyError(
                f"store {self.url!r} is read-only; cannot modify {key!r} "
                "(open with mode='r+' or 'a' to write)"
            )

    @abstractmethod
    def set(self, key: str, value: Value) -> None:
        """Store ``value`` (bytes-like; a list of parts too where ``writes_parts``) at ``key``
        atomically: readers see the old or the new bytes."""

    def set_many(self, items: Mapping[str, Value]) -> None:
        """Batched :meth:`set`."""
        for k, v in items.items():
            self.set(k, v)

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    def delete_many(self, keys: Sequence[str]) -> None:
        """Batched :meth:`delete`."""
        for k in keys:
            self.delete(k)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every key below ``prefix`` (used when overwriting a node)."""
        self.check_writable(prefix)
        self.delete_many(list(self.list_prefix(prefix)))

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Serialise read-modify-write of ``key`` within this process.

        Stores shared between processes (local disk) extend this with an OS lock.
        """
        with self._locks[hash(key) % len(self._locks)]:
            yield

    @contextmanager
    def lock_many(self, keys: Sequence[str]) -> Iterator[None]:
        """:meth:`lock` of several keys at once, for a batched read-modify-write.

        The locks are taken in one global order, so two ``lock_many`` never deadlock, and they are
        re-entrant, so a thread may nest ``lock`` and ``lock_many`` of any keys. A store that
        overrides :meth:`lock` must override this too.
        """
        with ExitStack() as stack:
            for i in sorted({hash(k) % len(self._locks) for k in keys}):
                stack.enter_context(self._locks[i])
            yield

    # -- writers in other processes ------------------------------------------------------------
    def fork(self) -> Store | None:
        """A store that other processes may write through, whose changes come back with :meth:`merge`;
        None (the default) when this store itself pickles to them (every store but transactional
        sessions such as icechunk's)."""
        return None

    def merge(self, forks: Sequence[Store]) -> None:
        """Take in the changes written through stores made by :meth:`fork` (and pickled back)."""
        raise TypeError(f"{type(self).__name__} does not fork, so there is nothing to merge")

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources (files, sessions). Idempotent."""
