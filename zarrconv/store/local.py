"""A directory on local disk.

Writes go to a temporary file beside the target and are renamed over it with
``os.replace``, so a crash leaves either the old or the new file, never a torn one. A batch
of keys in a directory that does not exist yet is written into a temporary directory that is
then renamed into place: one rename for the whole directory instead of one a file (a new
chunk's old content is "absent", which the directory's absence keeps until the rename).
Keys and symbolic links that would lead outside the root are refused.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

from ..errors import InvalidPathError, StoreError
from .base import ByteRange, Store, Value, validate_key

_TMP_MARK = ".zarrconv-tmp-"
#: A hidden file at the root whose byte ranges serve as cross-process locks on keys.
LOCK_FILE = ".zarrconv.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_IOV_MAX = 1024  # the POSIX minimum of IOV_MAX on Linux and macOS


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_tmp_names = itertools.count()
_tmp_prefix = ""


def _new_tmp_prefix() -> None:
    """A prefix of temporary names unique to this process (random: also unique across hosts sharing
    a network file system), renewed in a forked child."""
    global _tmp_prefix
    _tmp_prefix = f"{_TMP_MARK}{os.urandom(8).hex()}-"


_new_tmp_prefix()
os.register_at_fork(after_in_child=_new_tmp_prefix)


def _temporary_name(directory: str) -> str:
    """A new temporary file name in ``directory``: this process's prefix and a counter (a uuid4 per
    write cost a ``getrandom`` call, ~10 % of writing a small chunk). ``O_EXCL`` refuses a clash."""
    return f"{directory}{os.sep}{_tmp_prefix}{next(_tmp_names)}"


def _write_all(fd: int, parts: list) -> None:
    """Write every part, in order, resuming after short writes. Parts are gathered with
    ``writev`` where there is one, so a shard's inner chunks are never joined (copied) first."""
    if len(parts) == 1 and type(parts[0]) is bytes:  # one chunk: one write, nothing to gather
        n = os.write(fd, parts[0])
        if n == len(parts[0]):
            return
        parts = [memoryview(parts[0])[n:]]
    views = [v for v in (memoryview(p).cast("B") for p in parts) if v.nbytes]
    while views:
        n = os.writev(fd, views[:_IOV_MAX]) if hasattr(os, "writev") else os.write(fd, views[0])
        while n:
            if n >= views[0].nbytes:
                n -= views.pop(0).nbytes
            else:
                views[0], n = views[0][n:], 0


def _write_new_file(path: str, value: Value, fsync: bool) -> None:
    """Create the file ``path`` (``O_EXCL``: it must not exist) holding ``value`` (bytes, or a list
    of parts written in order), flushed to the device first if ``fsync``."""
    fd = os.open(path, _WRITE_FLAGS, 0o644)
    try:
        _write_all(fd, value if isinstance(value, list) else [value])
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    """Make the entries of ``directory`` (a file renamed into it) durable."""
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_BINARY", 0)


def _read_whole(fd: int, size: int) -> bytes:
    """The whole file ``fd`` of ``size`` bytes (short reads resumed: network file systems)."""
    parts: list[bytes] = []
    done = 0
    while done < size:
        more = os.pread(fd, size - done, done)
        if not more:
            break
        parts.append(more)
        done += len(more)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_range(fd: int, size: int, byte_range: ByteRange) -> bytes:
    """Bytes ``byte_range`` of the file ``fd`` of ``size`` bytes, clamped to the file (a hostile range
    must not size the read buffer)."""
    start, stop = byte_range
    if start < 0:
        start = max(size + start, 0)
    stop = size if stop is None else min(stop, size)
    if start >= stop:
        return b""
    return os.pread(fd, stop - start, start)


class LocalStore(Store):
    """Files below ``root``; directories are created on demand."""

    writes_parts = True
    reads_into = True
    _thread_locks = ("_dir_mutex",)

    def __init__(self, root: str | os.PathLike, read_only: bool = False, fsync: bool = False) -> None:
        super().__init__(read_only)
        self.root = os.path.abspath(os.fspath(root))
        self._real_root = os.path.realpath(self.root)
        self.fsync = fsync
        self._safe_dirs: set[str] = set()
        self._dir_mutex = threading.Lock()

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_safe_dirs"] = set()
        return state

    @property
    def url(self) -> str:
        return self.root

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalStore) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # -- path safety ----------------------------------------------------------------
    def _check_dir(self, dirpath: str, key: str) -> None:
        """Refuse a directory that resolves (through symlinks) outside the root; cached."""
        if dirpath in self._safe_dirs:
            return
        real = os.path.realpath(dirpath)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise InvalidPathError(
                f"key {key!r} resolves through a symbolic link to {real!r}, outside the store "
                f"root {self.root!r}; refusing to follow it"
            )
        self._safe_dirs.add(dirpath)

    def _path(self, key: str) -> str:
        validate_key(key)
        if os.sep == "/":  # a validated key is a relative POSIX path already: join by hand (hot path)
            path = f"{self.root}/{key}" if self.root != "/" else f"/{key}"
            dirpath = path.rpartition("/")[0] or "/"
        else:  # pragma: no cover - Windows
            path = os.path.join(self.root, *key.split("/"))
            dirpath = os.path.dirname(path)
        if dirpath not in self._safe_dirs:
            self._check_dir(dirpath, key)
        return path

    def _open_failed(self, path: str, key: str, e: OSError) -> int | None:
        """After ``os.open`` of a key failed: None if the key is absent, a descriptor when the
        file is a symbolic link inside the root, else the error."""
        if isinstance(e, FileNotFoundError | NotADirectoryError | IsADirectoryError):
            return None
        if e.errno == errno.ELOOP:  # the file itself is a symlink: allow it only inside the root
            real = os.path.realpath(path)
            if not real.startswith(self._real_root + os.sep):
                raise InvalidPathError(
                    f"key {key!r} is a symbolic link to {real!r}, outside the store root "
                    f"{self.root!r}; refusing to follow it"
                ) from None
            return os.open(real, os.O_RDONLY)
        raise StoreError(f"cannot read {path}: {e}") from e

    # -- reading ------------------------------------------------------------------------
    def sizes(self, keys: Sequence[str]) -> list[int]:
        """File sizes from ``stat``, without reading the files."""
        out = []
        for key in keys:
            try:
                out.append(os.stat(self._path(key)).st_size)
            except (FileNotFoundError, NotADirectoryError):
                out.append(0)
        return out

    def _open(self, key: str) -> tuple[str, int | None]:
        """The path of ``key`` and a descriptor open for reading it (None if the key is absent)."""
        path = self._path(key)
        try:
            return path, os.open(path, _READ_FLAGS)
        except OSError as e:
            return path, self._open_failed(path, key, e)

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        path, fd = self._open(key)
        if fd is None:
            return None
        try:
            size = os.fstat(fd).st_size
            return _read_whole(fd, size) if byte_range is None else _read_range(fd, size, byte_range)
        except IsADirectoryError:
            return None
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e}") from e
        finally:
            os.close(fd)

    def get_many(self, requests: Sequence[tuple[str, ByteRange | None]]) -> list[bytes | None]:
        """Batched :meth:`get`; consecutive requests of one file (a shard's index and inner chunks)
        share one descriptor and one ``fstat``. (Batches of small chunks are read with
        :meth:`read_into` instead.)"""
        out: list[bytes | None] = []
        key = path = None
        fd: int | None = None
        size = -1
        try:
            for k, rng in requests:
                if k != key:
                    if fd is not None:
                        os.close(fd)
                        fd = None
                    key = k
                    path, fd = self._open(k)
                    size = -1
                if fd is None:
                    out.append(None)
                    continue
                try:
                    if size < 0:
                        size = os.fstat(fd).st_size
                    out.append(_read_whole(fd, size) if rng is None else _read_range(fd, size, rng))
                except IsADirectoryError:  # a key that is a directory: absent, as get() says
                    out.append(None)
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e}") from e
        finally:
            if fd is not None:
                os.close(fd)
        return out

    def read_into(self, keys: Sequence[str], views: Sequence[memoryview]) -> list[int | None]:
        """:meth:`Store.read_into` with one ``preadv`` into each view (no allocation: kept bytes
        objects of small chunks cost ~7 us a chunk in page faults as the heap grew and shrank). A
        value that fills its view is checked against the file's size."""
        out: list[int | None] = []
        for key, view in zip(keys, views):
            path, fd = self._open(key)
            if fd is None:
                out.append(None)
                continue
            try:
                n = os.preadv(fd, [view], 0)
                if n == view.nbytes and os.fstat(fd).st_size > n:
                    n = -1
            except IsADirectoryError:
                n = None
            except OSError as e:
                raise StoreError(f"cannot read {path}: {e}") from e
            finally:
                os.close(fd)
            out.append(n)
        return out

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def _prefix_dir(self, prefix: str) -> str:
        """The directory of a listing prefix, refused like a key if it would leave the root."""
        parts = [p for p in prefix.split("/") if p]
        if not parts:
            return self.root
        validate_key("/".join(parts))
        base = os.path.join(self.root, *parts)
        if os.path.isdir(base):
            self._check_dir(base, prefix)
        return base

    def list_prefix(self, prefix: str) -> Iterator[str]:
        base = self._prefix_dir(prefix)
        if not os.path.isdir(base):
            return
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            rel = "" if rel == "." else rel + "/"
            dirnames[:] = sorted(d for d in dirnames if _TMP_MARK not in d)  # a crashed writer's new directory
            for f in sorted(filenames):
                if _TMP_MARK in f or f == LOCK_FILE:
                    continue
                yield rel + f

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        base = self._prefix_dir(prefix)
        keys: list[str] = []
        dirs: list[str] = []
        try:
            with os.scandir(base) as it:
                for entry in it:
                    if _TMP_MARK in entry.name or entry.name == LOCK_FILE:
                        continue
                    (dirs if entry.is_dir() else keys).append(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            pass
        return sorted(keys), sorted(dirs)

    # -- writing ------------------------------------------------------------------------
    def set(self, key: str, value: Value) -> None:
        self.check_writable(key)
        self._put(key, self._path(key), value)

    def set_many(self, items: Mapping[str, Value]) -> None:
        """Batched :meth:`set`. Each value goes to a temporary file renamed over its key, except
        that consecutive keys of a directory that does not exist yet are written into a new
        temporary directory renamed into place at once (:meth:`_put_new_dir`): in the first write
        of an array, one rename per directory of chunks instead of one per chunk."""
        self.check_writable(next(iter(items), ""))
        group: list[tuple[str, str, Value]] = []  # (key, path, value) of the keys in ``directory``
        directory = ""
        for key, value in items.items():
            path = self._path(key)
            key_dir = path.rpartition(os.sep)[0] or os.sep
            if key_dir != directory:
                if group:
                    self._put_group(directory, group)
                group, directory = [], key_dir
            group.append((key, path, value))
        if group:
            self._put_group(directory, group)

    def _put_group(self, directory: str, group: list[tuple[str, str, Value]]) -> None:
        """Write the keys of ``directory``: together if the directory is new (and not the root,
        which is never made by renaming a directory from outside it), else one by one."""
        if len(group) > 1 and directory != self.root and not os.path.lexists(directory):
            self._put_new_dir(directory, group)
            return
        for key, path, value in group:
            self._put(key, path, value)

    def _put_new_dir(self, directory: str, group: list[tuple[str, str, Value]]) -> None:
        """Write ``group`` (keys of the absent ``directory``) as files of a temporary directory
        beside it, then rename that directory to ``directory``. Should another writer create
        ``directory`` meanwhile, the rename fails and each file is renamed into it instead (still
        atomic per key). A failure removes the temporary directory: every key keeps its old
        content (absent) or, after a partial move, its new one."""
        parent = directory.rpartition(os.sep)[0] or os.sep
        tmp = _temporary_name(parent)
        try:
            try:
                os.mkdir(tmp)
            except FileNotFoundError:
                os.makedirs(parent, exist_ok=True)
                self._check_dir(parent, group[0][0])
                os.mkdir(tmp)
            names = [path.rpartition(os.sep)[2] for _, path, _ in group]
            for name, (_, _, value) in zip(names, group):
                _write_new_file(f"{tmp}{os.sep}{name}", value, self.fsync)
            if self.fsync:
                _fsync_dir(tmp)
            try:
                os.rename(tmp, directory)
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                for name in names:  # ``directory`` appeared meanwhile: move the files in one by one
                    os.replace(f"{tmp}{os.sep}{name}", f"{directory}{os.sep}{name}")
                os.rmdir(tmp)
                if self.fsync:
                    _fsync_dir(directory)
            if self.fsync:
                _fsync_dir(parent)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(
                f"cannot write the {len(group)} new files of {directory} (first {group[0][0]!r}): {e}; "
                f"every key not yet renamed into place is unchanged"
            ) from e

    def _put(self, key: str, path: str, value: Value) -> None:
        """Write ``value`` to a new temporary file in the directory of ``path`` (the key's), then
        rename it over ``path``."""
        directory = path.rpartition(os.sep)[0] or os.sep
        tmp = _temporary_name(directory)
        try:
            try:
                _write_new_file(tmp, value, self.fsync)
            except FileNotFoundError:  # the key's directory does not exist yet
                os.makedirs(directory, exist_ok=True)
                self._check_dir(directory, key)
                _write_new_file(tmp, value, self.fsync)
            os.replace(tmp, path)
            if self.fsync:  # make the rename itself durable (power loss, not just a crash)
                _fsync_dir(directory)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise StoreError(
                f"cannot write {path}: {e}; the previous content of {key!r}, if any, is unchanged"
            ) from e

    def delete(self, key: str) -> None:
        self.check_writable(key)
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            pass
        except OSError as e:
            raise StoreError(f"cannot delete {path}: {e}") from e

    def delete_prefix(self, prefix: str) -> None:
        self.check_writable(prefix)
        parts = [p for p in prefix.split("/") if p]
        if not parts:
            for name in os.listdir(self.root) if os.path.isdir(self.root) else []:
                p = os.path.join(self.root, name)
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
            return
        validate_key("/".join(parts))
        base = os.path.join(self.root, *parts)
        if os.path.islink(base):
            os.unlink(base)
        elif os.path.isdir(base):
            shutil.rmtree(base)
        self._safe_dirs.clear()

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Serialise read-modify-write of ``key`` across threads and processes.

        Uses a POSIX record lock on one byte of ``.zarrconv.lock`` chosen by a stable hash
        of the key, so that processes writing different parts of one shard or chunk do not
        lose each other's writes; within this process, a thread lock chosen by the same byte
        (POSIX locks do not exclude threads of one process). See :class:`_LockFile`.
        """
        with _lock_file(self._real_root).hold([_lock_offset(key)]):
            yield

    @contextmanager
    def lock_many(self, keys: Sequence[str]) -> Iterator[None]:
        """:meth:`lock` of several keys at once (thread locks, then bytes, each in ascending order)."""
        with _lock_file(self._real_root).hold([_lock_offset(k) for k in keys]):
            yield


class _LockFile:
    """The lock file of one store root, shared by every :class:`LocalStore` of that root in this
    process.

    Closing *any* descriptor of a file drops *every* POSIX lock the process holds on it, so the
    descriptor is shared and closed only when no lock is held or awaited. Thread locks are
    chosen by the locked byte, so two threads (of any store objects on this root) never hold
    the same byte at once: one thread's unlock cannot release another's lock. They are
    re-entrant, and each byte counts its holds (``held``), so one thread may nest holds of the
    same byte (``lock`` of a key, then ``lock_many`` of keys that include it): the byte is
    locked at the first hold and unlocked at the last release, not at the inner one.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.stripes = [threading.RLock() for _ in range(64)]
        self.mutex = threading.Lock()
        self.fd: int | None = None
        self.users = 0
        self.held: dict[int, int] = {}  # byte -> holds; each changed only by its stripe's owner

    @contextmanager
    def hold(self, offsets: list[int]) -> Iterator[None]:
        """Hold the thread locks and the bytes of ``offsets``, taken in ascending order so that
        holders of several never deadlock."""
        offsets = sorted(set(offsets))
        with ExitStack() as stack:
            for i in sorted({o % len(self.stripes) for o in offsets}):
                stack.enter_context(self.stripes[i])
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: threads are still serialised
                yield
                return
            with self.mutex:
                if self.fd is None:
                    os.makedirs(self.root, exist_ok=True)
                    self.fd = os.open(os.path.join(self.root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
                self.users += 1
                fd = self.fd
            taken: list[int] = []
            try:
                for offset in offsets:
                    if not self.held.get(offset):
                        fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)
                    self.held[offset] = self.held.get(offset, 0) + 1
                    taken.append(offset)
                yield
            finally:
                for offset in taken:
                    self.held[offset] -= 1
                    if not self.held[offset]:
                        del self.held[offset]
                        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
                with self.mutex:
                    self.users -= 1
                    if self.users == 0:
                        os.close(fd)
                        self.fd = None


def _lock_offset(key: str) -> int:
    """The byte of the lock file that stands for ``key`` (a stable hash: the same in every process)."""
    import zlib

    return zlib.crc32(key.encode()) % (1 << 20)


_lock_files: dict[str, _LockFile] = {}
_lock_files_mutex = threading.Lock()


def _lock_file(root: str) -> _LockFile:
    with _lock_files_mutex:
        lf = _lock_files.get(root)
        if lf is None:
            lf = _lock_files[root] = _LockFile(root)
        return lf


def _forget_lock_files() -> None:  # a forked child holds none of its parent's locks
    global _lock_files_mutex
    _lock_files.clear()
    _lock_files_mutex = threading.Lock()


os.register_at_fork(after_in_child=_forget_lock_files)


def local_path(location: str | os.PathLike) -> str | None:
    """The filesystem path of a plain path or ``file://`` URL; None for any other URL (``s3://...``,
    ``simplecache::file://...``). The one answer to "is this location local?"."""
    s = os.fspath(location)
    if s.startswith("file://"):
        return s[len("file://"):]
    return None if "://" in s else s
