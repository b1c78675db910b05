"""Printable summaries of arrays and groups, laid out as zarr-python 3 prints its ``info``.

``Array.info`` / ``Group.info`` hold what the metadata says (no store read);
``info_complete()`` adds what only the store knows (bytes stored, chunks written, member
counts). The field names and their order are zarr-python's; codecs are shown as their
metadata documents and data types by their Zarr name, where zarr-python shows its codec and
data-type objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _bytes(n: int) -> str:
    """``n`` with a human-readable size in brackets from 1 KiB on (``1048576 (1.0M)``)."""
    if n < 2**10:
        return str(n)
    size = float(n)
    for unit in "KMGTP":
        size /= 2**10
        if size < 2**10 or unit == "P":
            return f"{n} ({size:.1f}{unit})"
    raise AssertionError("unreachable")


def _lines(fields: list[tuple[str, Any]]) -> str:
    width = max(len(name) for name, _ in fields)
    return "\n".join(f"{name.ljust(width)} : {value}" for name, value in fields)


@dataclass(frozen=True)
class ArrayInfo:
    """The summary of an array; ``repr`` (and ``print``) gives zarr-python's layout."""

    zarr_format: int
    data_type: str
    fill_value: Any
    shape: tuple[int, ...]
    shard_shape: tuple[int, ...] | None
    chunk_shape: tuple[int, ...] | None
    order: str
    read_only: bool
    store_type: str
    filters: tuple
    serializer: Any
    compressors: tuple
    count_bytes: int | None = None
    count_bytes_stored: int | None = None
    count_chunks_initialized: int | None = None

    def __repr__(self) -> str:
        fields: list[tuple[str, Any]] = [
            ("Type", "Array"), ("Zarr format", self.zarr_format), ("Data type", self.data_type),
            ("Fill value", self.fill_value), ("Shape", self.shape)]
        if self.shard_shape is not None:
            fields.append(("Shard shape", self.shard_shape))
        fields += [("Chunk shape", self.chunk_shape if self.chunk_shape is not None else "<variable>"),
                   ("Order", self.order), ("Read-only", self.read_only), ("Store type", self.store_type),
                   ("Filters", self.filters)]
        if self.serializer is not None:
            fields.append(("Serializer", self.serializer))
        fields.append(("Compressors", self.compressors))
        if self.count_bytes is not None:
            fields.append(("No. bytes", _bytes(self.count_bytes)))
        if self.count_bytes_stored is not None:
            fields.append(("No. bytes stored", _bytes(self.count_bytes_stored)))
            if self.count_bytes is not None and self.count_bytes_stored > 0:
                fields.append(("Storage ratio", f"{self.count_bytes / self.count_bytes_stored:.1f}"))
        if self.count_chunks_initialized is not None:
            label = "Shards Initialized" if self.shard_shape is not None else "Chunks Initialized"
            fields.append((label, self.count_chunks_initialized))
        return _lines(fields)


@dataclass(frozen=True)
class GroupInfo:
    """The summary of a group; ``repr`` (and ``print``) gives zarr-python's layout."""

    name: str
    zarr_format: int
    read_only: bool
    store_type: str
    count_members: int | None = None
    count_arrays: int | None = None
    count_groups: int | None = None

    def __repr__(self) -> str:
        fields: list[tuple[str, Any]] = [
            ("Name", self.name), ("Type", "Group"), ("Zarr format", self.zarr_format),
            ("Read-only", self.read_only), ("Store type", self.store_type)]
        if self.count_members is not None:
            fields += [("No. members", self.count_members), ("No. arrays", self.count_arrays),
                       ("No. groups", self.count_groups)]
        return _lines(fields)


class TreeText(str):
    """The text of ``Group.tree()``: a ``str`` whose ``repr`` is the text itself, so a REPL draws
    the tree as zarr-python's ``TreeRepr`` does."""

    def __repr__(self) -> str:
        return str(self)


__all__ = ["ArrayInfo", "GroupInfo", "TreeText"]
