"""Any fsspec filesystem as a store (minimal synchronous version; see issue 5 for the async one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import StoreError
from .base import ByteRange, Store, validate_key


class FsspecStore(Store):
    """Keys below ``root`` of an fsspec filesystem."""

    prefers_single_batch = True

    def __init__(self, fs: Any, root: str, read_only: bool = False) -> None:
        super().__init__(read_only)
        self.fs = fs
        self.root = root.rstrip("/")

    @property
    def url(self) -> str:
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple | list) else self.fs.protocol
        return f"{protocol}://{self.root}"

    def _full(self, key: str) -> str:
        validate_key(key)
        return f"{self.root}/{key}" if self.root else key

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        path = self._full(key)
        try:
            if byte_range is None:
                return self.fs.cat_file(path)
            start, stop = byte_range
            return self.fs.cat_file(path, start=start, end=stop)
        except FileNotFoundError:
            return None
        except Exception as e:
            raise StoreError(f"cannot read {self.describe(key)}: {e}") from e

    def list_prefix(self, prefix: str) -> Iterator[str]:
        base = self._full(prefix.rstrip("/")) if prefix.strip("/") else self.root
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return
        n = len(self.root) + 1 if self.root else 0
        for p in found:
            p = p.lstrip("/") if not self.root.startswith("/") else p
            yield p[n:]

    def set(self, key: str, value: bytes) -> None:
        self.check_writable(key)
        try:
            self.fs.pipe_file(self._full(key), bytes(value))
        except Exception as e:
            raise StoreError(f"cannot write {self.describe(key)}: {e}") from e

    def delete(self, key: str) -> None:
        self.check_writable(key)
        try:
            self.fs.rm_file(self._full(key))
        except FileNotFoundError:
            pass


def from_url(url: str, *, mode: str = "r", storage_options: dict | None = None) -> FsspecStore:
    """A store for an fsspec URL such as ``s3://bucket/data.zarr`` or ``memory://x``."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    return FsspecStore(fs, root, read_only=mode == "r")
