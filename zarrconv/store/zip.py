"""A whole Zarr hierarchy inside one zip file.

Reading (``mode="r"``): members are read from the archive; many threads may read at once.

Writing (any other mode) builds a new archive, key by key:

* The archive being written is a temporary file beside the target
  (``data.zip.zarrconv-tmp-<id>``), started as a copy of the existing archive if there is
  one. Every :meth:`ZipStore.set` appends one member (stored uncompressed: Zarr chunks are
  compressed already), so memory use does not grow with the data.
* Reads through the store see the latest write of each key; deleted keys read as missing.
  A key written twice, or deleted, leaves a dead member behind until the archive is closed.
* :meth:`ZipStore.close` (or leaving a ``with`` block, or the end of the interpreter)
  finalizes: dead members are dropped and the archive is renamed over the target in one
  step. Until then the target path holds the previous archive (or nothing): readers in
  other processes never see a half-written zip.
* Within one process, every writable ``ZipStore`` of one path shares one writer, and a
  read-only store opened while it is being written reads the writer's current content.
  Writing the same archive from several processes is not supported (the last close wins).
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

from ..errors import NodeNotFoundError, StoreError
from .base import ByteRange, Store, Value, joined, slice_range, validate_key

_TMP_MARK = ".zarrconv-tmp-"
_writers: dict[str, _ZipWriter] = {}
_writers_lock = threading.Lock()


class _ZipWriter:
    """One archive being written: a temporary zip plus the set of deleted keys."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.tmp = f"{path}{_TMP_MARK}{uuid.uuid4().hex}"
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self.deleted: set[str] = set()
        self.dead = 0  # members shadowed by a later write or a delete
        self.closed = False
        if os.path.exists(path):
            import shutil

            try:
                shutil.copyfile(path, self.tmp)
                self.zf = zipfile.ZipFile(self.tmp, "a")
            except (OSError, zipfile.BadZipFile) as e:
                _unlink(self.tmp)
                raise StoreError(f"cannot open zip archive {path!r} for writing: {e}") from e
        else:
            self.zf = zipfile.ZipFile(self.tmp, "w")

    def check(self) -> None:
        if self.closed:
            raise StoreError(f"zip archive {self.path!r} was closed; open it again to change it")
        if self.pid != os.getpid():
            raise StoreError(f"zip archive {self.path!r} is being written by process {self.pid}; "
                             "a forked process can only read it after it is closed")

    def read(self, name: str) -> bytes | None:
        with self.lock:
            if name in self.deleted or name not in self.zf.NameToInfo:
                return None
            return self.zf.read(name)

    def names(self) -> list[str]:
        with self.lock:
            return [n for n in self.zf.NameToInfo if n not in self.deleted and not n.endswith("/")]

    def write(self, name: str, value: bytes) -> None:
        with self.lock:
            self.check()
            if name in self.zf.NameToInfo and name not in self.deleted:
                self.dead += 1
            self.deleted.discard(name)
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": shadowed until close
                self.zf.writestr(info, value)

    def delete(self, name: str) -> None:
        with self.lock:
            self.check()
            if name in self.zf.NameToInfo and name not in self.deleted:
                self.deleted.add(name)
                self.dead += 1

    def _rewrite_live_members(self) -> None:
        """Copy the members not deleted or shadowed into a new temporary archive, which replaces ``tmp``."""
        final = f"{self.path}{_TMP_MARK}{uuid.uuid4().hex}"
        written = False
        try:
            with zipfile.ZipFile(final, "w") as out:
                for name, info in self.zf.NameToInfo.items():
                    if name not in self.deleted:
                        out.writestr(info, self.zf.read(info))
            written = True
        finally:
            if not written:
                _unlink(final)
        self.zf.close()
        _unlink(self.tmp)
        self.tmp = final

    def commit(self) -> None:
        """Drop dead members and move the archive into place atomically."""
        with self.lock:
            if self.closed:
                return
            self.check()
            self.closed = True
            replaced = False
            try:
                if self.dead:
                    self._rewrite_live_members()
                else:
                    self.zf.close()
                os.replace(self.tmp, self.path)
                replaced = True
            except (OSError, zipfile.BadZipFile) as e:
                raise StoreError(f"cannot finalize zip archive {self.path!r}: {e}; the previous archive, "
                                 "if any, is unchanged") from e
            finally:
                if not replaced:  # whatever stopped us (an interrupt included), leave no temporary file
                    _unlink(self.tmp)
                with _writers_lock:
                    if _writers.get(self.path) is self:
                        del _writers[self.path]


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@atexit.register
def _commit_all() -> None:
    """Finalize archives still open at interpreter exit, so that written data is not lost."""
    with _writers_lock:
        pending = [w for w in _writers.values() if w.pid == os.getpid()]
    for w in pending:
        try:
            w.commit()
        except StoreError as e:  # pragma: no cover - reported, not raised, at exit
            warnings.warn(str(e), stacklevel=1)


class ZipStore(Store):
    """Keys inside the zip file ``path`` (below the directory ``root`` of the archive, if given).

    ``mode="r"`` reads; any other mode writes a new version of the archive, finalized by
    :meth:`close` (see the module documentation for the exact semantics). Use it as a
    context manager to close it. Read-only stores pickle (each process reopens the file);
    writable ones do not.
    """

    writes_parts = True
    _thread_locks = ("_mutex",)

    def __init__(self, path: str | os.PathLike, mode: str = "r", *, root: str = "") -> None:
        super().__init__(read_only=mode == "r")
        self.path = os.path.abspath(os.fspath(path))
        self.root = root.strip("/")
        self._writer: _ZipWriter | None = None
        self._reader: zipfile.ZipFile | None = None
        self._reader_pid: int | None = None
        self._mutex = threading.Lock()
        if mode == "r":
            with _writers_lock:
                self._writer = _writers.get(self.path)  # read what this process is writing
            if self._writer is None and not os.path.isfile(self.path):
                raise NodeNotFoundError(f"no zip archive at {self.path!r}")
        else:
            if mode == "r+" and not os.path.isfile(self.path) and self.path not in _writers:
                raise NodeNotFoundError(f"no zip archive at {self.path!r} to open with mode 'r+'")
            with _writers_lock:
                writer = _writers.get(self.path)
                if writer is None or writer.closed:
                    writer = _writers[self.path] = _ZipWriter(self.path)
            self._writer = writer

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.path + (f"/{self.root}" if self.root else "")

    def __enter__(self) -> ZipStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getstate__(self) -> dict:
        if not self.read_only:
            raise TypeError(f"a writable ZipStore ({self.path}) cannot be pickled; close it and "
                            "open the archive with mode='r' in the other process")
        state = super().__getstate__()
        state.update(_reader=None, _reader_pid=None, _writer=None)
        return state

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ZipStore) and other.path == self.path and other.root == self.root

    def __hash__(self) -> int:
        return hash((self.path, self.root))

    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self.root}/{key}" if self.root else key

    def _live_writer(self) -> _ZipWriter | None:
        """The writer to read from: not after it finalized, nor in a forked child (whose file handle
        would share its offset with the parent's); those read the archive on disk."""
        w = self._writer
        return w if w is not None and not w.closed and w.pid == os.getpid() else None

    def _read_archive(self) -> zipfile.ZipFile:
        """The archive on disk, opened once per process."""
        if self._reader is None or self._reader_pid != os.getpid():
            try:
                self._reader = zipfile.ZipFile(self.path, "r")
            except FileNotFoundError:
                raise NodeNotFoundError(f"no zip archive at {self.path!r}") from None
            except (OSError, zipfile.BadZipFile) as e:
                raise StoreError(f"cannot read zip archive {self.path!r}: {e}") from e
            self._reader_pid = os.getpid()
        return self._reader

    # -- reading ----------------------------------------------------------------------------------
    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        name = self._name(key)
        writer = self._live_writer()
        if writer is not None:
            data = writer.read(name)
        else:
            with self._mutex:
                zf = self._read_archive()
                try:
                    data = zf.read(name)
                except KeyError:
                    return None
                except (OSError, zipfile.BadZipFile) as e:
                    raise StoreError(f"cannot read {self.describe(key)}: {e}") from e
        return None if data is None else slice_range(data, byte_range)

    def _names(self) -> list[str]:
        writer = self._live_writer()
        if writer is not None:
            return writer.names()
        with self._mutex:
            return [n for n in self._read_archive().namelist() if not n.endswith("/")]

    def list_prefix(self, prefix: str) -> Iterator[str]:
        start = f"{self.root}/" if self.root else ""
        keys = [n[len(start):] for n in self._names() if n.startswith(start)]
        return iter(sorted(k for k in keys if k.startswith(prefix)))

    # -- writing ----------------------------------------------------------------------------------
    def _writable(self, key: str) -> _ZipWriter:
        self.check_writable(key)
        if self._writer is None:  # pragma: no cover - writable stores always have a writer
            raise StoreError(f"zip archive {self.path!r} is not open for writing")
        return self._writer

    def set(self, key: str, value: Value) -> None:
        self._writable(key).write(self._name(key), joined(value))

    def delete(self, key: str) -> None:
        self._writable(key).delete(self._name(key))

    def close(self) -> None:
        """Finalize the archive (writable stores) and release the file. Idempotent."""
        if self._writer is not None and not self.read_only:
            self._writer.commit()
        with self._mutex:
            if self._reader is not None and self._reader_pid == os.getpid():
                self._reader.close()
            self._reader = None


__all__ = ["ZipStore"]
