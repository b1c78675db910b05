"""Any fsspec filesystem or URL as a store: batched, concurrent and retried.

One :meth:`FsspecStore.get_many` (or ``set_many`` / ``delete_many``) call sends all of its
requests at once: through the filesystem's async API (``_cat_file``, ``_pipe_file``,
``_rm_file``) on fsspec's own event-loop thread for async filesystems (S3, GCS, Azure,
HTTP, references), or on a thread pool for synchronous ones (zip, memory, local). At most
``zarrconv.config`` ``remote_concurrency`` requests of one store are in flight at a time.
Transient failures are retried with exponential backoff (``retries``, ``retry_backoff``).

Because the work runs on fsspec's loop thread, the store can be used from a coroutine or
a Jupyter cell (an already running event loop in the calling thread), from many threads
at once, after ``fork`` (the filesystem is re-created in the child) and, pickled, in dask
workers.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import config
from ..errors import ReadOnlyError, StoreError
from .base import ByteRange, Value, joined, validate_key
from .remote import RemoteStore, results_in_order
from .retry import backoff_delay, io_errors, is_transient, max_retries

#: Protocols that can only be read.
READ_ONLY_PROTOCOLS = frozenset({"http", "https", "reference", "zip", "tar", "github", "libarchive"})
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> ThreadPoolExecutor:
    """Threads for synchronous filesystems, shared by all stores; re-created after fork."""
    global _pool, _pool_pid
    if _pool_pid != os.getpid():
        with _pool_lock:
            if _pool_pid != os.getpid():
                workers = max(4, min(32, int(config.get("remote_concurrency"))))
                _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zarrconv-io")
                _pool_pid = os.getpid()
    return _pool  # type: ignore[return-value]


def _protocols(fs: Any) -> tuple[str, ...]:
    p = fs.protocol
    return tuple(p) if isinstance(p, tuple | list) else (p,)


def _reinstantiate(fs: Any, **changes: Any) -> Any:
    """A fresh instance of ``fs`` with the same arguments (after fork, or to leave async mode)."""
    return type(fs)(*fs.storage_args, **{**fs.storage_options, **changes})


def _trim(data: bytes, start: int | None, end: int | None) -> bytes:
    """Apply a byte range the server ignored: some HTTP servers answer a Range request with the
    whole object (status 200), recognisable by its length."""
    if start is None:
        return data
    if start < 0 and end is None:
        return data[start:] if len(data) > -start else data
    if end is not None and len(data) > end - start:
        return data[start:end]
    return data


class FsspecStore(RemoteStore):
    """Keys below ``root`` of an fsspec filesystem.

    Args:
        fs: any ``fsspec.AbstractFileSystem``. A filesystem created with
            ``asynchronous=True`` is re-created in blocking mode (the store drives it from
            fsspec's loop thread).
        root: the directory of the hierarchy inside ``fs`` (``"bucket/data.zarr"`` for S3).
        read_only: refuse every mutation. Always true for HTTP, zip and reference filesystems.
    """

    client_attribute = "fs"
    per_process = ("_sem",)

    def __init__(self, fs: Any, root: str = "", read_only: bool = False) -> None:
        if getattr(fs, "asynchronous", False):
            fs = _reinstantiate(fs, asynchronous=False, loop=None)
        inherent = bool(set(_protocols(fs)) & READ_ONLY_PROTOCOLS)
        super().__init__(read_only or inherent)
        self.fs = fs
        self.inherently_read_only = inherent
        self.root = fs._strip_protocol(root).rstrip("/") if root else ""
        self._setup()

    def _setup(self) -> None:
        self._pid = os.getpid()
        self._is_async = bool(getattr(self.fs, "async_impl", False))
        self._cat_kwargs: dict[str, Any] = {}
        if self._is_async:
            try:
                params = inspect.signature(self.fs._cat_file).parameters
            except (TypeError, ValueError):  # pragma: no cover - builtins without signature
                params = {}
            if "max_concurrency" in params:
                # s3fs would otherwise send a HEAD before every whole-object GET
                self._cat_kwargs["max_concurrency"] = 1
        self._sem: tuple[Any, int, asyncio.Semaphore] | None = None

    # -- fork ---------------------------------------------------------------------------------
    def _filesystem(self) -> Any:
        """The filesystem, re-created in a forked child (fsspec instances are bound to their loop)."""
        if self._pid != os.getpid():
            self.fs = _reinstantiate(self.fs)
            self._setup()
        return self.fs

    # -- identity -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.fs.unstrip_protocol(self.root)

    def read_only_reason(self) -> str:
        return f"{'/'.join(_protocols(self.fs))} filesystems"

    def _full(self, key: str) -> str:
        validate_key(key)
        return f"{self.root}/{key}" if self.root else key

    # -- the batch engine -----------------------------------------------------------------
    def _semaphore(self) -> asyncio.Semaphore:
        """The store-wide bound on requests in flight (created on, and used by, the loop thread)."""
        loop = asyncio.get_running_loop()
        limit = max(1, int(config.get("remote_concurrency")))
        if self._sem is None or self._sem[0] is not loop or self._sem[1] != limit:
            self._sem = (loop, limit, asyncio.Semaphore(limit))
        return self._sem[2]

    async def _attempt_async(self, fn: Callable[[], Awaitable[Any]], verb: str, key: str, rng: Any) -> Any:
        """:meth:`_attempt` for coroutines (on fsspec's loop thread)."""
        retries = max_retries()
        attempt = 0
        while True:
            try:
                return await fn()
            except (ReadOnlyError, StoreError):
                raise
            except io_errors() as e:
                if attempt >= retries or not is_transient(e):
                    raise self._error(verb, key, e, attempt + 1, rng) from e
            await asyncio.sleep(backoff_delay(attempt))
            attempt += 1

    def _run(self, jobs: list[tuple[str, str, Any, Callable[[], Any]]]) -> list[Any]:
        """Run ``(verb, key, range, job)`` jobs concurrently; results in order; the first error is raised
        after every job has finished (so that nothing is still being written when the caller hears of it).

        ``job`` is a coroutine function for async filesystems and a plain function otherwise.
        """
        if not jobs:
            return []
        if self._is_async:
            import fsspec.asyn

            return fsspec.asyn.sync(self.fs.loop, self._gather, jobs)
        if len(jobs) == 1:
            verb, key, rng, job = jobs[0]
            return [self._attempt(verb, key, job, rng)]
        limit = max(1, int(config.get("remote_concurrency")))
        pool = _thread_pool()
        results: list[Any] = []
        for start in range(0, len(jobs), limit * 4):
            results += results_in_order([pool.submit(self._attempt, verb, key, job, rng)
                                         for verb, key, rng, job in jobs[start:start + limit * 4]])
        return results

    async def _gather(self, jobs: list[tuple[str, str, Any, Callable[[], Awaitable[Any]]]]) -> list[Any]:
        sem = self._semaphore()

        async def one(verb: str, key: str, rng: Any, job: Callable[[], Awaitable[Any]]) -> Any:
            async with sem:
                return await self._attempt_async(job, verb, key, rng)

        results = await asyncio.gather(*(one(*j) for j in jobs), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return results

    # -- reading ----------------------------------------------------------------------------
    def _read_job(self, fs: Any, path: str, rng: ByteRange | None) -> Callable[[], Any]:
        start, end = (None, None) if rng is None or rng == (0, None) else rng
        if self._is_async:
            kwargs = self._cat_kwargs if start is None and end is None else {}

            async def job() -> bytes | None:
                try:
                    return _trim(await fs._cat_file(path, start=start, end=end, **kwargs), start, end)
                except _MISSING:
                    return None
        else:
            def job() -> bytes | None:  # type: ignore[misc]
                try:
                    return _trim(fs.cat_file(path, start=start, end=end), start, end)
                except _MISSING:
                    return None
        return job

    def get_many(self, requests: Sequence[tuple[str, ByteRange | None]]) -> list[bytes | None]:
        """All requests concurrently (bounded by ``remote_concurrency``); None for missing keys."""
        fs = self._filesystem()
        jobs = [("read", key, rng, self._read_job(fs, self._full(key), rng)) for key, rng in requests]
        return self._run(jobs)

    # -- listing ---------------------------------------------------------------------------
    def _base(self, prefix: str) -> str:
        p = prefix.strip("/")
        return self._full(p) if p else self.root

    def _relative(self, fs: Any, name: str, base: str) -> str | None:
        name = fs._strip_protocol(name).rstrip("/") if name else ""
        if not base:
            return name.lstrip("/") or None
        if name.startswith(base + "/"):
            return name[len(base) + 1:]
        return None

    def _listing(self, verb: str, prefix: str, call: Callable[[], Any]) -> Any:
        try:
            return self._attempt(verb, prefix or ".", call)
        except StoreError as e:
            if isinstance(e.__cause__, _MISSING):
                return None
            raise

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """One ``ls`` call: the keys and child prefixes directly below ``prefix``."""
        fs = self._filesystem()
        base = self._base(prefix)
        fs.invalidate_cache(base)
        entries = self._listing("list", prefix, lambda: fs.ls(base, detail=True))
        keys: set[str] = set()
        dirs: set[str] = set()
        for entry in entries or []:
            rel = self._relative(fs, entry["name"], base)
            if not rel or "/" in rel:
                continue
            (dirs if entry.get("type") == "directory" else keys).add(rel)
        return sorted(keys - dirs), sorted(dirs)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """One ``find`` call: every key below ``prefix``."""
        fs = self._filesystem()
        base = self._base(prefix)
        fs.invalidate_cache(base)
        found = self._listing("list", prefix, lambda: fs.find(base))
        out = []
        for name in found or []:
            rel = self._relative(fs, name, self.root)
            if rel and rel.startswith(prefix):
                out.append(rel)
        return iter(sorted(out))

    # -- writing -------------------------------------------------------------------------------
    def _write_job(self, fs: Any, path: str, value: bytes) -> Callable[[], Any]:
        if self._is_async:
            async def job() -> None:
                await fs._pipe_file(path, value)
        else:
            def job() -> None:  # type: ignore[misc]
                try:
                    fs.pipe_file(path, value)
                except FileNotFoundError:  # a local-like filesystem without the parent directory
                    fs.makedirs(fs._parent(path), exist_ok=True)
                    fs.pipe_file(path, value)
        return job

    def _delete_job(self, fs: Any, path: str) -> Callable[[], Any]:
        if self._is_async:
            async def job() -> None:
                try:
                    await fs._rm_file(path)
                except _MISSING:
                    pass
        else:
            def job() -> None:  # type: ignore[misc]
                try:
                    fs.rm_file(path)
                except _MISSING:
                    pass
        return job

    def set_many(self, items: Mapping[str, Value]) -> None:
        """Write all items concurrently; each object is written whole (remote PUTs are atomic)."""
        for key in items:
            self.check_writable(key)
        fs = self._filesystem()
        self._run([("write", key, None, self._write_job(fs, self._full(key), joined(value)))
                   for key, value in items.items()])

    def delete_many(self, keys: Sequence[str]) -> None:
        """Remove all keys concurrently; missing keys are not an error."""
        for key in keys:
            self.check_writable(key)
        fs = self._filesystem()
        self._run([("delete", key, None, self._delete_job(fs, self._full(key))) for key in keys])

    def sizes(self, keys: Sequence[str]) -> list[int]:
        """One ``find`` with details below the keys' common prefix instead of one request per key; when the
        filesystem cannot list (or the listing misses a key) the keys are read, as :meth:`Store.sizes` does."""
        if not keys:
            return []
        fs = self._filesystem()
        common = os.path.commonpath(keys) if len(keys) > 1 else keys[0].rpartition("/")[0]
        base = self._base(common)
        fs.invalidate_cache(base)
        try:
            found = self._listing("list", common, lambda: fs.find(base, detail=True)) or {}
        except (StoreError, NotImplementedError):  # a filesystem that cannot list: read the keys instead
            found = {}
        by_key = {self._relative(fs, name, self.root): int(info.get("size") or 0) for name, info in found.items()}
        if all(k in by_key for k in keys):
            return [by_key[k] for k in keys]
        return super().sizes(keys)


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """Let s3fs open as many connections as the store may have requests in flight."""
    config_kwargs = dict(options.get("config_kwargs") or {})
    config_kwargs.setdefault("max_pool_connections", max(10, int(config.get("remote_concurrency"))))
    return {**options, "config_kwargs": config_kwargs}


def from_url(url: str, *, mode: str = "r", storage_options: dict | None = None) -> FsspecStore:
    """A store for an fsspec URL such as ``s3://bucket/data.zarr``, ``https://host/data.zarr``,
    ``memory://data.zarr``, ``zip://::s3://bucket/data.zip`` or ``reference://`` (with
    ``storage_options={"fo": "refs.json", ...}``).

    ``storage_options`` go to the filesystem (for chained URLs, fsspec takes them keyed by
    protocol). HTTP, zip and reference stores are read-only whatever the mode.
    """
    import fsspec

    options = dict(storage_options or {})
    protocol = url.split("::", 1)[0].split("://", 1)[0]
    if protocol in ("s3", "s3a"):
        options = _s3_options(options)
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as e:
        raise StoreError(f"cannot open {url!r}: {e}") from e
    return FsspecStore(fs, root, read_only=mode == "r")


__all__ = ["READ_ONLY_PROTOCOLS", "FsspecStore", "from_url"]
