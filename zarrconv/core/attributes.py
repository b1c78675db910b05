"""User attributes of a node: a dict that writes the node's metadata whenever it changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any


class Attributes(MutableMapping[str, Any]):
    """Mutable, persisted attributes. ``update`` and ``put`` write once for many keys."""

    def __init__(self, data: dict[str, Any], persist: Callable[[dict[str, Any]], None]) -> None:
        self._data = data
        self._persist = persist

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        new = dict(self._data)
        del new[key]
        self.put(new)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several attributes with one metadata write."""
        new = dict(self._data)
        new.update(*args, **kwargs)
        self.put(new)

    def put(self, new: dict[str, Any]) -> None:
        """Replace all attributes with one metadata write."""
        self._persist(new)
        self._data.clear()
        self._data.update(new)

    def asdict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"Attributes({self._data!r})"


class Node:
    """What arrays and groups share: a path in a store and metadata."""

    store: Any
    path: str
    metadata: Any

    @property
    def zarr_format(self) -> int:
        return self.metadata.zarr_format

    @property
    def name(self) -> str:
        """The absolute path of the node in its store, starting with '/'."""
        return "/" + self.path

    @property
    def basename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def read_only(self) -> bool:
        return self.store.read_only
