"""Node documents planned first and stored later: what one ``to_zarr`` call writes.

A write that must never show a reader metadata pointing at missing data stores its chunks
first and its documents last (``commit``), children before parents; a store whose chunks need
their array's document first (icechunk) commits before the chunks. Either way the documents
are planned here, in core, through the same metadata types and the same arrays ``Group``
gives; the xarray writer only says what to stage.
"""

from __future__ import annotations

from ..errors import NodeNotFoundError
from ..format.metadata import ArrayMetadata, GroupMetadata
from ..store.base import Store
from .array import Array
from .consolidated import consolidate_metadata
from .nodes import node_exists, read_node, write_node


class StagedNodes:
    """Array and group documents of one write, held until :meth:`commit`."""

    def __init__(self, store: Store, zarr_format: int) -> None:
        self.store = store
        self.zarr_format = zarr_format
        self.arrays: dict[str, ArrayMetadata] = {}
        self.groups: dict[str, GroupMetadata] = {}

    def __bool__(self) -> bool:
        return bool(self.arrays or self.groups)

    def stage_array(self, path: str, meta: ArrayMetadata, *, write_empty_chunks: bool) -> Array:
        """Plan the document of the array at ``path``; the returned array writes chunks at once."""
        self.arrays[path] = meta
        return Array(self.store, path, meta, write_empty_chunks=write_empty_chunks)

    def stage_group(self, path: str, meta: GroupMetadata, *, with_parents: bool = False) -> None:
        """Plan the document of the group at ``path`` (and of missing parent groups if asked)."""
        self.groups[path] = meta
        if not with_parents:
            return
        parts = path.split("/")[:-1] if path else []
        for i in range(len(parts) + (1 if path else 0)):
            parent = "/".join(parts[:i])
            if parent not in self.groups and not node_exists(self.store, parent):
                self.groups[parent] = GroupMetadata(self.zarr_format)

    def commit(self) -> None:
        """Store every planned document: arrays, then groups from the deepest up."""
        for path, meta in self.arrays.items():
            write_node(self.store, path, meta)
        for path in sorted(self.groups, key=lambda p: -p.count("/") if p else 1):
            write_node(self.store, path, self.groups[path])

    def consolidate(self) -> None:
        """Consolidate the store's root group, when there is one, once documents are stored."""
        if not self:
            return
        try:
            root = read_node(self.store, "")  # one read, not an existence check and then a read
        except NodeNotFoundError:
            return
        if isinstance(root, GroupMetadata):
            consolidate_metadata(self.store, "")
