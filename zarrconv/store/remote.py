"""What the two remote stores (:class:`~zarrconv.store.fsspec_store.FsspecStore` and
:class:`~zarrconv.store.obstore_store.ObstoreStore`) share: identity by their client and root, pickling
without the per-process state their clients need, the read-only refusal of inherently read-only
protocols, retries of transient errors (:mod:`zarrconv.store.retry`) and running a batch of requests
on a thread pool with the first error raised only once every request has finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from typing import Any

from ..errors import ReadOnlyError, StoreError
from .base import ByteRange, Store, Value
from .retry import backoff_delay, io_errors, is_transient, max_retries


class RemoteStore(Store):
    """A store whose keys live below ``root`` of a client object (an fsspec filesystem, an obstore store).

    Subclasses name the attribute that holds the client (``client_attribute``), the attributes made again
    in each process (``per_process``, created by :meth:`_setup`, left out when pickled) and why an
    inherently read-only store cannot be written (:meth:`read_only_reason`).
    """

    writes_parts = True
    prefers_single_batch = True
    #: the attribute holding the client; two stores on the same client object and root are equal
    client_attribute: str = ""
    #: attributes :meth:`_setup` creates (caches, semaphores, fallbacks): not pickled, made again after
    per_process: tuple[str, ...] = ()
    #: true for protocols that can only be read (HTTP, zip, references), whatever ``read_only`` says
    inherently_read_only: bool = False
    root: str = ""

    def _setup(self) -> None:
        """Create the attributes named in ``per_process`` (at construction and after unpickling)."""

    # -- pickling and identity ------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = super().__getstate__()
        for name in self.per_process:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._setup()

    def _client(self) -> Any:
        return getattr(self, self.client_attribute)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, type(self)) and isinstance(self, type(other))
                and other._client() is self._client() and other.root == self.root)

    def __hash__(self) -> int:
        return hash((id(self._client()), self.root))

    # -- writability ------------------------------------------------------------------------------------
    def read_only_reason(self) -> str:
        """What cannot be written, for the refusal of an inherently read-only store."""
        return "such stores"

    def check_writable(self, key: str = "") -> None:
        if self.inherently_read_only:
            raise ReadOnlyError(f"store {self.url!r} is read-only: {self.read_only_reason()} cannot be written; "
                                f"cannot modify {key!r} (write to a local path, s3:// or another writable store)")
        super().check_writable(key)

    # -- errors and retries -----------------------------------------------------------------------------
    def _error(self, verb: str, key: str, exc: BaseException, attempts: int,
               byte_range: ByteRange | None = None) -> StoreError:
        """A :class:`StoreError` naming the operation, the key and what the client said."""
        where = self.describe(key)
        if byte_range is not None:
            where += f" (bytes {byte_range[0]}..{'end' if byte_range[1] is None else byte_range[1]})"
        lines = str(exc).splitlines()
        msg = f"cannot {verb} {where}: {type(exc).__name__}: {lines[0] if lines else ''}"
        if attempts > 1:
            msg += (f" (gave up after {attempts} attempts; transient errors are retried "
                    "zarrconv.config 'retries' times)")
        return StoreError(msg)

    def _attempt(self, verb: str, key: str, fn: Callable[[], Any], byte_range: ByteRange | None = None) -> Any:
        """``fn()``, retried while it fails with a transient error; an I/O error that is not (or is no
        longer) worth retrying becomes a :class:`StoreError`; any other exception is a bug and propagates
        as itself."""
        retries = max_retries()
        attempt = 0
        while True:
            try:
                return fn()
            except (ReadOnlyError, StoreError):
                raise
            except io_errors() as e:
                if attempt >= retries or not is_transient(e):
                    raise self._error(verb, key, e, attempt + 1, byte_range) from e
            time.sleep(backoff_delay(attempt))
            attempt += 1

    # -- one key is a batch of one (subclasses implement get_many, set_many and delete_many) -------------
    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        return self.get_many([(key, byte_range)])[0]

    def set(self, key: str, value: Value) -> None:
        self.set_many({key: value})

    def delete(self, key: str) -> None:
        self.delete_many([key])


def results_in_order(futures: Sequence[Future]) -> list[Any]:
    """The results of ``futures`` in order, once all have finished: the first failure is raised only then,
    so that nothing is still being written when the caller hears of it."""
    wait(futures)
    return [f.result() for f in futures]

__all__ = ["RemoteStore", "results_in_order"]
