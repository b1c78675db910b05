"""Stores that wrap another store: pass every call through, observing or altering it.

:class:`StoreWrapper` delegates everything to the wrapped store; subclasses override the
calls they care about. :class:`RecordingStore` keeps every read request (key and byte
range) and every batch, so tests can check what a read asked for; :class:`CountingStore`
keeps only counters (calls and bytes), cheap enough for benchmarks.
:class:`FaultInjectingFileSystem` wraps an fsspec filesystem (below a store) to inject
failures and latency.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from fsspec.asyn import AsyncFileSystem

from ..errors import StoreError
from .base import ByteRange, Store, Value, value_size

try:
    from fsspec.asyn import AsyncFileSystem as _AsyncFileSystem
except ImportError:  # pragma: no cover - fsspec is a dependency
    _AsyncFileSystem = object  # type: ignore[assignment,misc]

Request = tuple[str, ByteRange | None]


class StoreWrapper(Store):
    """A store that forwards every call to ``inner``.

    ``read_only`` and ``prefers_single_batch`` follow the wrapped store unless given;
    passing ``prefers_single_batch`` lets a test make a local store behave, for the core's
    scheduling, like a remote one.
    """

    def __init__(self, inner: Store, *, prefers_single_batch: bool | None = None) -> None:
        super().__init__(inner.read_only)
        self.inner = inner
        self.prefers_single_batch = (inner.prefers_single_batch if prefers_single_batch is None
                                     else prefers_single_batch)
        self.writes_parts = inner.writes_parts

    @property
    def url(self) -> str:
        return self.inner.url

    def describe(self, key: str) -> str:
        return self.inner.describe(key)

    def with_read_only(self, read_only: bool = True) -> Store:
        import copy

        other = copy.copy(self)
        other.inner = self.inner.with_read_only(read_only)
        other.read_only = read_only
        other._init_locks()
        return other

    # reading
    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        return self.inner.get(key, byte_range)

    def get_many(self, requests: Sequence[Request]) -> list[bytes | None]:
        return self.inner.get_many(requests)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        return self.inner.list_prefix(prefix)

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        return self.inner.list_dir(prefix)

    # writing
    def set(self, key: str, value: Value) -> None:
        self.check_writable(key)
        self.inner.set(key, value)

    def set_many(self, items: Mapping[str, Value]) -> None:
        self.check_writable(next(iter(items), ""))
        self.inner.set_many(items)

    def delete(self, key: str) -> None:
        self.check_writable(key)
        self.inner.delete(key)

    def delete_many(self, keys: Sequence[str]) -> None:
        self.check_writable(keys[0] if keys else "")
        self.inner.delete_many(keys)

    def delete_prefix(self, prefix: str) -> None:
        self.check_writable(prefix)
        self.inner.delete_prefix(prefix)

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self.inner.lock(key)

    def lock_many(self, keys: Sequence[str]) -> AbstractContextManager[None]:
        return self.inner.lock_many(keys)

    def close(self) -> None:
        self.inner.close()


class RecordingStore(StoreWrapper):
    """Records every read request and every write, in call order (thread-safe).

    Attributes:
        read_calls: one entry per ``get`` or ``get_many`` call: the list of ``(key, byte_range)``
            it asked for (a ``get`` is a list of one).
        batched: for each entry of ``read_calls``, whether it came through ``get_many``.
        written: keys stored by ``set``/``set_many``, one entry per key per call.
        write_calls: one entry per ``set`` or ``set_many`` call: the keys it stored.
        deleted: keys removed by ``delete``/``delete_many``.
    """

    def __init__(self, inner: Store, *, prefers_single_batch: bool | None = None) -> None:
        super().__init__(inner, prefers_single_batch=prefers_single_batch)
        self._mutex = threading.Lock()
        self.read_calls: list[list[Request]] = []
        self.batched: list[bool] = []
        self.written: list[str] = []
        self.write_calls: list[list[str]] = []
        self.deleted: list[str] = []

    def clear(self) -> None:
        """Forget everything recorded so far (e.g. the metadata reads of opening an array).

        Copies made by :meth:`with_read_only` share the records, so clearing one clears both.
        """
        with self._mutex:
            for records in (self.read_calls, self.batched, self.written, self.write_calls, self.deleted):
                records.clear()

    @property
    def requests(self) -> list[Request]:
        """Every ``(key, byte_range)`` read request, flattened in call order."""
        return [r for call in self.read_calls for r in call]

    def _log_read(self, requests: list[Request], batched: bool) -> None:
        with self._mutex:
            self.read_calls.append(requests)
            self.batched.append(batched)

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        self._log_read([(key, byte_range)], False)
        return super().get(key, byte_range)

    def get_many(self, requests: Sequence[Request]) -> list[bytes | None]:
        self._log_read(list(requests), True)
        return super().get_many(requests)

    def set(self, key: str, value: Value) -> None:
        with self._mutex:
            self.written.append(key)
            self.write_calls.append([key])
        super().set(key, value)

    def set_many(self, items: Mapping[str, Value]) -> None:
        with self._mutex:
            self.written.extend(items)
            self.write_calls.append(list(items))
        super().set_many(items)

    def delete(self, key: str) -> None:
        with self._mutex:
            self.deleted.append(key)
        super().delete(key)

    def delete_many(self, keys: Sequence[str]) -> None:
        with self._mutex:
            self.deleted.extend(keys)
        super().delete_many(keys)


class CountingStore(StoreWrapper):
    """Counts calls by method name and the bytes read and written (thread-safe)."""

    def __init__(self, inner: Store, *, prefers_single_batch: bool | None = None) -> None:
        super().__init__(inner, prefers_single_batch=prefers_single_batch)
        self._mutex = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.bytes_read = 0
        self.bytes_written = 0

    def _count(self, name: str, read: Any = (), written: int = 0) -> None:
        n = sum(len(memoryview(b).cast("B")) for b in read if b is not None)
        with self._mutex:
            self.calls[name] += 1
            self.bytes_read += n
            self.bytes_written += written

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        value = super().get(key, byte_range)
        self._count("get", [value])
        return value

    def get_many(self, requests: Sequence[Request]) -> list[bytes | None]:
        values = super().get_many(requests)
        self._count("get_many", values)
        return values

    def set(self, key: str, value: Value) -> None:
        super().set(key, value)
        self._count("set", written=value_size(value))

    def set_many(self, items: Mapping[str, Value]) -> None:
        super().set_many(items)
        self._count("set_many", written=sum(value_size(v) for v in items.values()))

    def delete(self, key: str) -> None:
        super().delete(key)
        self._count("delete")

    def delete_many(self, keys: Sequence[str]) -> None:
        super().delete_many(keys)
        self._count("delete_many")


class FaultInjectingFileSystem(AsyncFileSystem):
    """An fsspec filesystem that forwards to ``target`` and makes some requests fail.

    It sits *below* :class:`~zarrconv.store.fsspec_store.FsspecStore` (wrap the filesystem,
    then make a store of it), so that the store's concurrency, retries and error reporting
    are exercised exactly as against a misbehaving network (a store wrapper above the
    store could only show how errors surface)::

        fs = FaultInjectingFileSystem(s3, transient_rate=0.2, seed=1)
        store = FsspecStore(fs, "bucket/data.zarr")

    Args:
        target: the filesystem holding the data (sync or async).
        transient_rate: the fraction of requests that fail with ``ConnectionResetError``.
            Half of the failing writes fail *after* the write took place (a lost response),
            so retried writes must be idempotent.
        permanent: glob patterns of paths whose every request fails with ``PermissionError``.
        delay: seconds each request waits before being forwarded (latency).
        seed: seed of the failure sequence.

    The attributes ``requests``, ``injected`` (failures raised) and ``max_in_flight`` (the
    most requests waiting at once) let tests check behaviour without timing anything.
    """

    protocol = "faulty"
    cachable = False

    def __init__(self, target: Any, *, transient_rate: float = 0.0, permanent: Sequence[str] = (),
                 delay: float = 0.0, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.transient_rate = float(transient_rate)
        self.permanent = tuple(permanent)
        self.delay = float(delay)
        self._rng = random.Random(seed)
        self._stats_lock = threading.Lock()
        self.requests = 0
        self.injected = 0
        self.in_flight = 0
        self.max_in_flight = 0

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return path[len("faulty://"):] if isinstance(path, str) and path.startswith("faulty://") else path

    def unstrip_protocol(self, name: str) -> str:
        return self.target.unstrip_protocol(name)

    def invalidate_cache(self, path: str | None = None) -> None:
        self.target.invalidate_cache(path)

    def _decide(self, path: str) -> str | None:
        with self._stats_lock:
            self.requests += 1
            if any(fnmatch.fnmatchcase(path, p) for p in self.permanent):
                self.injected += 1
                return "permanent"
            if self.transient_rate and self._rng.random() < self.transient_rate:
                self.injected += 1
                return "before" if self._rng.random() < 0.5 else "after"
            return None

    async def _call(self, verb: str, path: str, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._stats_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            fault = self._decide(path)
            if fault == "permanent":
                raise PermissionError(f"injected permanent failure: {verb} {path}")
            if fault == "before" or (fault == "after" and verb != "write"):
                raise ConnectionResetError(f"injected transient failure: {verb} {path}")
            if self.target.async_impl:
                result = await getattr(self.target, "_" + name)(path, *args, **kwargs)
            else:
                result = await asyncio.to_thread(getattr(self.target, name), path, *args, **kwargs)
            if fault == "after":
                raise ConnectionResetError(f"injected transient failure after {verb} {path} took place")
            return result
        finally:
            with self._stats_lock:
                self.in_flight -= 1

    # the filesystem methods FsspecStore uses
    async def _cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        return await self._call("read", path, "cat_file", start=start, end=end)

    async def _pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        return await self._call("write", path, "pipe_file", value)

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        return await self._call("delete", path, "rm_file")

    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:
        return await self._call("list", path, "ls", detail=detail)

    async def _find(self, path: str, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any) -> Any:
        return await self._call("list", path, "find", maxdepth=maxdepth, withdirs=withdirs, **kwargs)

    async def _info(self, path: str, **kwargs: Any) -> dict:
        return await self._call("info", path, "info")


class FailingStore(StoreWrapper):
    """Forwards to ``inner`` but makes mutations fail, to test what survives a failed write.

    The first ``fail_after`` mutated keys (``set``/``delete``, counted per key) succeed and
    every later one raises :class:`~zarrconv.errors.StoreError`, as a full disk would;
    keys matching ``fail_keys`` (glob patterns) fail at once. ``before_mutation(key)``, if
    given, runs before each forwarded mutation (tests use it to check that a lock is held).
    Reads are always forwarded. ``mutations`` and ``failures`` count what happened.
    """

    _thread_locks = ("_count_lock",)

    def __init__(self, inner: Store, *, fail_after: int | None = None, fail_keys: Sequence[str] = (),
                 before_mutation: Any = None) -> None:
        super().__init__(inner)
        self.fail_after = fail_after
        self.fail_keys = tuple(fail_keys)
        self.before_mutation = before_mutation
        self.mutations = 0
        self.failures = 0
        self._count_lock = threading.Lock()

    def _mutate(self, key: str) -> None:
        self.check_writable(key)
        with self._count_lock:
            failing = any(fnmatch.fnmatchcase(key, p) for p in self.fail_keys) or (
                self.fail_after is not None and self.mutations >= self.fail_after)
            if failing:
                self.failures += 1
            else:
                self.mutations += 1
        if failing:
            raise StoreError(f"cannot write {self.describe(key)}: injected failure (no space left on device)")
        if self.before_mutation is not None:
            self.before_mutation(key)

    def set(self, key: str, value: Value) -> None:
        self._mutate(key)
        self.inner.set(key, value)

    def set_many(self, items: Mapping[str, Value]) -> None:
        for key, value in items.items():
            self.set(key, value)

    def delete(self, key: str) -> None:
        self._mutate(key)
        self.inner.delete(key)

    def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.delete(key)

    def delete_prefix(self, prefix: str) -> None:
        self.check_writable(prefix)
        self.delete_many(list(self.inner.list_prefix(prefix)))


__all__ = ["CountingStore", "FailingStore", "FaultInjectingFileSystem", "RecordingStore", "StoreWrapper"]
