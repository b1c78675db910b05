"""An in-process dictionary store, for tests, scratch data and caches."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .base import ByteRange, Store, Value, joined, slice_range, validate_key


class MemoryStore(Store):
    """Keys held in a dict. Pickling copies the contents (a snapshot), as dask workers need."""

    writes_parts = True
    _thread_locks = ("_mutex",)

    def __init__(self, data: dict[str, bytes] | None = None, read_only: bool = False) -> None:
        super().__init__(read_only)
        self._data: dict[str, bytes] = {} if data is None else data
        self._mutex = threading.Lock()

    @property
    def url(self) -> str:
        return f"memory://{id(self._data):x}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemoryStore) and other._data is self._data

    def __hash__(self) -> int:
        return id(self._data)

    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        value = self._data.get(key)
        if value is None:
            return None
        return slice_range(value, byte_range)

    def list_prefix(self, prefix: str) -> Iterator[str]:
        with self._mutex:
            keys = list(self._data)
        return iter(k for k in keys if k.startswith(prefix))

    def set(self, key: str, value: Value) -> None:
        self.check_writable(key)
        validate_key(key)
        self._data[key] = joined(value)

    def delete(self, key: str) -> None:
        self.check_writable(key)
        self._data.pop(key, None)
