"""A store on ``obstore`` (Rust ``object_store``): S3, GCS, Azure, HTTP, local and memory.

One :meth:`ObstoreStore.get_many` sends all of its requests at once, each from one of
``remote_concurrency`` request threads blocked in obstore's Rust code with the GIL released (so it works
from threads, coroutines and Jupyter cells; obstore's async API would have its Rust threads call back into
Python, which can abort the process when it exits): whole objects with ``get``, the byte ranges of one
object with one ``get_ranges`` (obstore merges nearby ranges into one request), suffix and open-ended
ranges with ``get`` and a range option. At most ``zarrconv.config`` ``remote_concurrency`` requests are in flight; transient
failures are retried as :mod:`zarrconv.store.retry` defines (obstore's own client retries are off
unless ``retry_config`` is given). Missing keys read as ``None``.

Two things obstore cannot do are handed to fsspec when the store was opened from a URL with
fsspec-compatible options:

* obstore's runtime does not survive ``fork``: in a process forked after obstore ran, requests go
  through an equivalent :class:`~zarrconv.store.fsspec_store.FsspecStore`;
* plain HTTP servers do not answer WebDAV listings: directory listings of ``http(s)://`` stores then
  read the server's HTML index as fsspec does.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import config
from ..errors import StoreError
from .base import ByteRange, Value, joined, validate_key, value_size
from .fsspec_store import FsspecStore
from .fsspec_store import from_url as fsspec_from_url
from .obstore_url import build
from .remote import RemoteStore, results_in_order
from .retry import rust_panics

#: above this many bytes a value is uploaded in parts (multipart upload on object stores)
MULTIPART_SIZE = 5 * 1024 * 1024
_STATUS_NOT_SATISFIABLE = "416"

_runtime_pid: int | None = None  # the process in which obstore's runtime ran, once it has
_runtime_lost = False  # true in a process forked from one where it ran: obstore would hang here


def _after_fork_in_child() -> None:
    global _runtime_lost
    if _runtime_pid is not None:
        _runtime_lost = True


os.register_at_fork(after_in_child=_after_fork_in_child)

_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, size, pool)
_pool_lock = threading.Lock()


def _request_pool() -> ThreadPoolExecutor:
    """The threads that make requests, ``remote_concurrency`` of them, shared by every ObstoreStore of this
    process. Each blocks in obstore's Rust code with the GIL released; nothing runs Python on obstore's own
    threads, so interpreter exit cannot race with them."""
    global _pool
    size = max(1, int(config.get("remote_concurrency")))
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != size:
            if _pool is not None and _pool[0] == os.getpid():
                _pool[2].shutdown(wait=False)
            _pool = (os.getpid(), size, ThreadPoolExecutor(max_workers=size, thread_name_prefix="zarrconv-obstore"))
        return _pool[2]


def obstore_usable() -> bool:
    """False in a process forked after obstore's (tokio) runtime started: its threads are gone."""
    return not _runtime_lost


def _is_obstore_store(obj: Any) -> bool:
    return type(obj).__module__.split(".", 1)[0] == "obstore"


def _scheme_url(store: Any) -> str:
    """A readable URL for an obstore store instance."""
    name = type(store).__name__
    prefix = str(getattr(store, "prefix", None) or "")
    cfg = getattr(store, "config", None) or {}
    if name == "S3Store":
        base = f"s3://{cfg.get('bucket', '')}"
    elif name == "GCSStore":
        base = f"gs://{cfg.get('bucket', '')}"
    elif name == "AzureStore":
        base = f"az://{cfg.get('container_name', '')}"
    elif name == "HTTPStore":
        return str(store.url).rstrip("/")
    elif name == "LocalStore":
        return f"file://{prefix}" if prefix else "file:///"
    else:
        base = "memory://"
    return f"{base}/{prefix.strip('/')}".rstrip("/") if prefix else base


class ObstoreStore(RemoteStore):
    """Keys below ``root`` of an obstore store (``obstore.store.S3Store``, ``GCSStore``, ``AzureStore``,
    ``HTTPStore``, ``LocalStore``, ``MemoryStore``).

    Args:
        store: the obstore store, configured with its credentials.
        root: a directory inside it ("" for its own prefix).
        read_only: refuse every mutation. Always true for ``HTTPStore``.
        url: how to name the store in messages (derived from ``store`` when omitted).
        fsspec_fallback: ``(url, storage_options)`` of the same location for fsspec, used after fork and
            for listing plain HTTP servers; :meth:`from_url` fills it in.
    """

    client_attribute = "store"
    per_process = ("_fallback_store",)

    def __init__(self, store: Any, root: str = "", read_only: bool = False, *, url: str | None = None,
                 fsspec_fallback: tuple[str, dict[str, Any]] | None = None) -> None:
        if not _is_obstore_store(store):
            raise TypeError(f"ObstoreStore takes an obstore store (obstore.store.S3Store, ...), got "
                            f"{type(store).__name__}")
        self.inherently_read_only = type(store).__name__ == "HTTPStore"
        super().__init__(read_only or self.inherently_read_only)
        self.store = store
        self.root = root.strip("/")
        self._url = url.rstrip("/") if url else _scheme_url(store) + (f"/{self.root}" if self.root else "")
        self.fsspec_fallback = fsspec_fallback
        self._setup()

    def _setup(self) -> None:
        self._fallback_store: FsspecStore | None = None
        self._ranges_ignored = False  # set when an HTTP server answered a range request with the whole object

    @classmethod
    def from_url(cls, url: str, *, mode: str = "r", storage_options: dict | None = None) -> ObstoreStore:
        """A store for ``s3://bucket/path``, ``gs://...``, ``az://...``, ``https://host/path``: fsspec-style
        ``storage_options`` of s3fs are translated, obstore's own options pass through.

        Raises :class:`~zarrconv.store.obstore_url.NotForObstore` when obstore cannot take the options.
        """
        store = build(url, storage_options)
        return cls(store, read_only=mode == "r", url=url, fsspec_fallback=(url, dict(storage_options or {})))

    # -- identity -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._url

    def read_only_reason(self) -> str:
        return "HTTP stores"

    def _path(self, key: str) -> str:
        validate_key(key)
        return f"{self.root}/{key}" if self.root else key

    def _relative(self, path: str) -> str:
        return path[len(self.root) + 1:] if self.root else path

    # -- fsspec where obstore cannot go --------------------------------------------------------
    def _fallback(self, why: str) -> FsspecStore:
        if self.fsspec_fallback is None:
            raise StoreError(f"cannot use {self.url!r} {why} with this obstore store; open it from a URL "
                             "(make_store / ObstoreStore.from_url) or use remote_store='fsspec'")
        if self._fallback_store is None:
            url, options = self.fsspec_fallback
            self._fallback_store = fsspec_from_url(url, mode="r" if self.read_only else "w",
                                                   storage_options=options)
        return self._fallback_store

    def _forked(self) -> FsspecStore | None:
        """The fsspec twin when obstore cannot run in this process (forked after it ran), else None."""
        return None if obstore_usable() else self._fallback("in a process forked after obstore ran "
                                                            "(use the 'spawn' or 'forkserver' start method)")

    # -- the batch engine ------------------------------------------------------------------------
    def _run(self, jobs: list[tuple[str, str, Callable[[], Any]]]) -> list[Any]:
        """Run ``(verb, key, job)`` jobs concurrently on the request threads; results in order. The first
        error is raised once every job has finished, so that nothing is still being written when the
        caller hears of it."""
        global _runtime_pid
        _runtime_pid = _runtime_pid or os.getpid()
        if len(jobs) <= 1:
            return [self._attempt(*job) for job in jobs]
        return results_in_order([_request_pool().submit(self._attempt, *job) for job in jobs])

    # -- reading ---------------------------------------------------------------------------------
    def _whole(self, path: str, options: dict | None = None) -> bytes | None:
        import obstore as obs

        try:
            return bytes(obs.get(self.store, path, options=options).bytes())
        except FileNotFoundError:
            return None

    def _ranged(self, key: str, rng: ByteRange) -> bytes | None:
        """One suffix or open-ended range (``(-n, None)``, ``(start, None)``)."""
        from obstore.exceptions import GenericError, NotSupportedError

        start, _ = rng
        option = {"suffix": -start} if start < 0 else {"offset": start}
        if self._ranges_ignored:
            return _sliced(self._whole(self._path(key)), rng)
        try:
            return self._whole(self._path(key), {"range": option})
        except NotSupportedError:  # an HTTP server that ignores Range answered with the whole object
            self._ranges_ignored = True
            return _sliced(self._whole(self._path(key)), rng)
        except GenericError as e:  # only "range past the end" is handled, the rest re-raised
            if _not_satisfiable(e):
                return b"" if self._exists(key) else None
            raise

    def _bounded(self, key: str, ranges: list[tuple[int, int]]) -> list[bytes | None]:
        """Several ``(start, stop)`` ranges of one object, in one ``get_ranges`` call."""
        import obstore as obs
        from obstore.exceptions import GenericError, NotSupportedError

        path = self._path(key)
        if not self._ranges_ignored:
            try:
                parts = obs.get_ranges(self.store, path, starts=[r[0] for r in ranges], ends=[r[1] for r in ranges])
                return [bytes(p) for p in parts]
            except FileNotFoundError:
                return [None] * len(ranges)
            except NotSupportedError:
                self._ranges_ignored = True
            except GenericError as e:  # only "range past the end" is handled, the rest re-raised
                if not _not_satisfiable(e):
                    raise
            except rust_panics():  # get_ranges panics when merged ranges run past the end of the object
                pass
        data = self._whole(path)  # ranges ignored by the server, or one of them past the end
        return [_sliced(data, r) for r in ranges]

    def _bounded_nonempty(self, key: str, ranges: list[tuple[int, int]]) -> list[bytes | None]:
        """:meth:`_bounded`, with empty ranges (which obstore refuses) answered without a request."""
        wanted = [i for i, (start, stop) in enumerate(ranges) if stop > start]
        out: list[bytes | None] = [b""] * len(ranges)
        if wanted:
            got = self._bounded(key, [ranges[i] for i in wanted])
            for i, data in zip(wanted, got):
                out[i] = data
        if len(wanted) < len(ranges) and not self._exists(key):
            return [None] * len(ranges)
        return out

    def _exists(self, key: str) -> bool:
        import obstore as obs

        try:
            obs.head(self.store, self._path(key))
            return True
        except FileNotFoundError:
            return False

    def _read_jobs(self, requests: Sequence[tuple[str, ByteRange | None]]) -> tuple[list, list]:
        """Jobs for ``requests`` and, per job, the request indexes its results fill: one per whole object or
        open range, one per object for all of its bounded ranges."""
        jobs: list[tuple[str, str, Callable[[], Any]]] = []
        targets: list[list[int]] = []
        bounded: dict[str, list[int]] = defaultdict(list)
        for i, (key, rng) in enumerate(requests):
            path = self._path(key)
            if rng is None or rng == (0, None):
                jobs.append(("read", key, lambda p=path: self._whole(p)))
                targets.append([i])
            elif rng[1] is None:
                jobs.append(("read", key, lambda k=key, r=rng: self._ranged(k, r)))
                targets.append([i])
            else:
                bounded[key].append(i)
        for key, indexes in bounded.items():
            ranges = [requests[i][1] for i in indexes]
            jobs.append(("read", key, lambda k=key, rs=ranges: self._bounded_nonempty(k, rs)))
            targets.append(indexes)
        return jobs, targets

    def get_many(self, requests: Sequence[tuple[str, ByteRange | None]]) -> list[bytes | None]:
        """All requests concurrently (bounded by ``remote_concurrency``); None for missing keys."""
        twin = self._forked()
        if twin is not None:
            return twin.get_many(requests)
        jobs, targets = self._read_jobs(requests)
        out: list[bytes | None] = [None] * len(requests)
        for indexes, result in zip(targets, self._run(jobs)):
            for i, data in zip(indexes, result if isinstance(result, list) else [result]):
                out[i] = data
        return out

    # -- listing -----------------------------------------------------------------------------------
    def _base(self, prefix: str) -> str:
        return self._path(prefix.strip("/")) if prefix.strip("/") else self.root

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """One delimited listing: the keys and child prefixes directly below ``prefix``."""
        twin = self._forked()
        if twin is not None:
            return twin.list_dir(prefix)
        import obstore as obs
        from obstore.exceptions import BaseError

        base = self._base(prefix)

        def listing() -> Any:
            try:
                return obs.list_with_delimiter(self.store, base or None)
            except FileNotFoundError:
                return {"common_prefixes": [], "objects": []}

        try:
            found = self._run([("list", prefix or ".", listing)])[0]
        except StoreError as e:
            if self.inherently_read_only and isinstance(e.__cause__, BaseError):
                return self._fallback("to list a plain HTTP server").list_dir(prefix)
            raise
        cut = len(base) + 1 if base else 0
        dirs = {p[cut:] for p in found["common_prefixes"] if p[cut:]}
        keys = {m["path"][cut:] for m in found["objects"] if m["path"][cut:] and "/" not in m["path"][cut:]}
        return sorted(keys - dirs), sorted(dirs)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """One recursive listing: every key below ``prefix``."""
        twin = self._forked()
        if twin is not None:
            return twin.list_prefix(prefix)
        import obstore as obs

        base = self._base(prefix)

        def listing() -> list[str]:
            try:
                return [m["path"] for m in obs.list(self.store, base or None).collect()]
            except FileNotFoundError:
                return []

        paths = self._run([("list", prefix or ".", listing)])[0]
        keys = (self._relative(p) for p in paths)
        return iter(sorted(k for k in keys if k.startswith(prefix)))

    # -- writing -------------------------------------------------------------------------------------
    def _put(self, path: str, value: Value) -> None:
        import obstore as obs

        if isinstance(value, list) and value_size(value) > MULTIPART_SIZE:
            obs.put(self.store, path, [memoryview(p).cast("B") for p in value])
        else:
            obs.put(self.store, path, joined(value))

    def _delete(self, path: str) -> None:
        import obstore as obs

        try:
            obs.delete(self.store, path)
        except FileNotFoundError:
            pass

    def set_many(self, items: Mapping[str, Value]) -> None:
        """Write all items concurrently; each object is written whole (PUTs are atomic)."""
        for key in items:
            self.check_writable(key)
        twin = self._forked()
        if twin is not None:
            return twin.set_many(items)
        self._run([("write", k, lambda p=self._path(k), v=v: self._put(p, v)) for k, v in items.items()])

    def delete_many(self, keys: Sequence[str]) -> None:
        """Remove all keys concurrently; missing keys are not an error."""
        for key in keys:
            self.check_writable(key)
        twin = self._forked()
        if twin is not None:
            return twin.delete_many(keys)
        self._run([("delete", k, lambda p=self._path(k): self._delete(p)) for k in keys])


def _sliced(data: bytes | None, rng: ByteRange) -> bytes | None:
    if data is None:
        return None
    start, stop = rng
    return data[start:] if start < 0 else data[start:stop]


def _not_satisfiable(exc: BaseException) -> bool:
    """Whether obstore's error is the server's 416 "range not satisfiable" (a range past the end)."""
    return f"status code: {_STATUS_NOT_SATISFIABLE}" in str(exc)


__all__ = ["MULTIPART_SIZE", "ObstoreStore", "obstore_usable"]
