"""The Group: a node holding named arrays and groups, with persisted attributes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cached_property
from typing import Any

from ..errors import ContainsNodeError, InvalidPathError, NodeNotFoundError, ReadOnlyError
from ..format.metadata import ArrayMetadata, GroupMetadata
from ..store.base import Store
from .array import Array
from .array_metadata import build_array_metadata
from .attributes import Attributes, Node
from .info import GroupInfo, TreeText
from .nodes import clear_node, consolidated_entry, create_parents, fetch_docs, join, node_exists, parse_docs, write_node


def validate_name(name: str) -> str:
    """A node name as the spec allows: non-empty, no '/', not '.' or '..', not starting with '__'."""
    if not isinstance(name, str) or not name:
        raise InvalidPathError(f"node name {name!r} must be a non-empty string")
    if "/" in name or name in (".", "..") or name.startswith("__") or "\\" in name or "\x00" in name:
        raise InvalidPathError(
            f"node name {name!r} is not allowed: names may not contain '/', be '.' or '..', or start with '__'"
        )
    return name


def validate_path(path: str) -> str:
    """A '/'-separated node path whose every part is a valid name."""
    parts = [p for p in (path or "").split("/") if p]
    for p in parts:
        validate_name(p)
    return "/".join(parts)


class Group(Node):
    """A Zarr group (v2 or v3). Open or create one with :func:`zarrconv.open_group` / :func:`zarrconv.create_group`.

    When the group was opened from consolidated metadata, member listing and opening are
    served from it without further reads.
    """

    def __init__(self, store: Store, path: str, metadata: GroupMetadata,
                 consolidated: dict[str, dict[str, Any]] | None = None) -> None:
        self.store = store
        self.path = path
        self.metadata = metadata
        self._consolidated = consolidated

    def __getstate__(self) -> dict:
        return {"store": self.store, "path": self.path, "metadata": self.metadata, "consolidated": self._consolidated}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["store"], state["path"], state["metadata"], state["consolidated"])  # type: ignore[misc]

    @property
    def is_consolidated(self) -> bool:
        """Whether the group was opened from consolidated metadata (members then cost no reads)."""
        return self._consolidated is not None

    @cached_property
    def attrs(self) -> Attributes:
        def persist(new: dict) -> None:
            self._check_writable()
            meta = replace(self.metadata, attributes=new)
            write_node(self.store, self.path, meta)
            self.metadata = meta
            self._node_changed(self.path, meta)

        return Attributes(self.metadata.attributes, persist)

    def __repr__(self) -> str:
        return f"<zarrconv.Group {self.name} v{self.zarr_format} in {self.store.url}>"

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise ReadOnlyError(f"group {self.name!r} in {self.store.url} is read-only; open it with mode='r+' or 'a'")

    def _node_changed(self, path: str, meta: ArrayMetadata | GroupMetadata | None) -> None:
        """Keep the consolidated view of this group in step with writes made through it."""
        if self._consolidated is None:
            return
        rel = path[len(self.path):].lstrip("/") if self.path else path
        if not rel:
            return
        if meta is None:
            self._consolidated = {k: v for k, v in self._consolidated.items() if k != rel and not k.startswith(rel + "/")}
        else:
            self._consolidated[rel] = consolidated_entry(meta)

    # -- members --------------------------------------------------------------------------------
    def _child_paths(self) -> list[str]:
        if self._consolidated is not None:
            return sorted(k for k in self._consolidated if "/" not in k)
        _, dirs = self.store.list_dir(f"{self.path}/" if self.path else "")
        return dirs

    def _make(self, rel: str, meta: ArrayMetadata | GroupMetadata, from_store: bool = False) -> Array | Group:
        path = join(self.path, rel)
        if isinstance(meta, ArrayMetadata):
            return Array(self.store, path, meta, on_metadata_change=self._node_changed)
        sub = None
        if self._consolidated is not None and not from_store:
            prefix = rel + "/"
            sub = {k[len(prefix):]: v for k, v in self._consolidated.items() if k.startswith(prefix)}
        return Group(self.store, path, meta, sub)

    def _member_dict(self, max_depth: int | None) -> dict[str, Array | Group]:
        names = self._child_paths()
        out: dict[str, Array | Group] = {}
        if self._consolidated is not None:
            for n in names:
                out[n] = self._make(n, parse_docs(self.store, join(self.path, n), self._consolidated[n]))
        else:
            docs = fetch_docs(self.store, [join(self.path, n) for n in names], None)
            for n, d in zip(names, docs):
                if d:  # directories without metadata (e.g. chunk dirs) are not members
                    out[n] = self._make(n, parse_docs(self.store, join(self.path, n), d))
        if max_depth is None or max_depth > 0:
            for n, node in list(out.items()):
                if isinstance(node, Group):
                    deeper = None if max_depth is None else max_depth - 1
                    for k, v in node._member_dict(deeper).items():
                        out[f"{n}/{k}"] = v
        return out

    def members(self, max_depth: int | None = 0) -> tuple[tuple[str, Array | Group], ...]:
        """``(name, node)`` pairs of the direct children, sorted by name, as zarr-python's ``Group.members``
        (``max_depth=None`` for the whole subtree, by relative path; ``dict(g.members())`` maps them).

        One listing and one batched metadata fetch per level (none with consolidated metadata).
        """
        return tuple(sorted(self._member_dict(max_depth).items()))

    def groups(self) -> Iterator[tuple[str, Group]]:
        """``(name, group)`` pairs of the child groups."""
        return ((k, v) for k, v in self.members() if isinstance(v, Group))

    def arrays(self) -> Iterator[tuple[str, Array]]:
        """``(name, array)`` pairs of the child arrays."""
        return ((k, v) for k, v in self.members() if isinstance(v, Array))

    def group_keys(self) -> Iterator[str]:
        """Names of the child groups."""
        return (k for k, _ in self.groups())

    def array_keys(self) -> Iterator[str]:
        """Names of the child arrays."""
        return (k for k, _ in self.arrays())

    def keys(self) -> list[str]:
        return [k for k, _ in self.members()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.members())

    def _ipython_key_completions_(self) -> list[str]:
        """Member names, for IPython's completion of ``g["<tab>``."""
        return self.keys()

    def __dir__(self) -> list[str]:
        """Attributes and the member names that are Python identifiers (reachable as ``g.name``)."""
        return sorted({*super().__dir__(), *(k for k in self.keys() if k.isidentifier())})

    def __getattr__(self, name: str) -> Array | Group:
        """A member by attribute (``g.temperature``), for the names :meth:`__dir__` lists."""
        if name.startswith("_") or "store" not in self.__dict__:
            raise AttributeError(name)
        try:
            return self[name]
        except (NodeNotFoundError, InvalidPathError):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute or member {name!r}") from None

    @property
    def info(self) -> GroupInfo:
        """What the metadata says about the group; prints like zarr-python's ``Group.info``."""
        return GroupInfo(self.path, self.zarr_format, self.read_only, self.store.type_name)

    def info_complete(self) -> GroupInfo:
        """:attr:`info` plus the number of members, arrays and groups in the whole subtree."""
        members = self.members(max_depth=None)
        arrays = sum(1 for _, v in members if isinstance(v, Array))
        return GroupInfo(self.path, self.zarr_format, self.read_only, self.store.type_name,
                         len(members), arrays, len(members) - arrays)

    def __getitem__(self, name: str) -> Array | Group:
        rel = validate_path(name)
        if not rel:
            return self
        if self._consolidated is not None:
            docs = self._consolidated.get(rel)
            if docs is not None:
                return self._make(rel, parse_docs(self.store, join(self.path, rel), docs))
            # not in the consolidated metadata: maybe written since by another tool; ask the store
        path = join(self.path, rel)
        docs = fetch_docs(self.store, [path], None)[0]
        if not docs:
            raise NodeNotFoundError(f"no array or group {name!r} in group {self.name!r} of {self.store.url}")
        return self._make(rel, parse_docs(self.store, path, docs), from_store=True)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except NodeNotFoundError:
            return default

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except (NodeNotFoundError, InvalidPathError):
            return False
        return True

    # -- creation -------------------------------------------------------------------------------
    def _prepare_child(self, name: str, overwrite: bool) -> str:
        self._check_writable()
        rel = validate_path(name)
        if not rel:
            raise InvalidPathError("a child needs a name")
        path = join(self.path, rel)
        if node_exists(self.store, path):
            if not overwrite:
                raise ContainsNodeError(f"{name!r} already exists in group {self.name!r} of {self.store.url}; pass overwrite=True to replace it")
            clear_node(self.store, path)
        for sub, meta in create_parents(self.store, path, self.zarr_format, below=self.path):  # of a nested name
            self._node_changed(sub, meta)
        return path

    def create_group(self, name: str, attributes: dict | None = None, overwrite: bool = False) -> Group:
        """Create a child group (and any missing intermediate groups)."""
        path = self._prepare_child(name, overwrite)
        meta = GroupMetadata(self.zarr_format, dict(attributes or {}))
        write_node(self.store, path, meta)
        self._node_changed(path, meta)
        return self._make(path[len(self.path):].lstrip("/"), meta)  # type: ignore[return-value]

    def require_group(self, name: str) -> Group:
        """The child group ``name``, created if missing."""
        node = self.get(name)
        if isinstance(node, Group):
            return node
        return self.create_group(name)

    def create_array(self, name: str, **kwargs: Any) -> Array:
        """Create a child array; takes the arguments of :func:`zarrconv.create_array`."""
        path = self._prepare_child(name, kwargs.pop("overwrite", False))
        write_empty = kwargs.pop("write_empty_chunks", False)
        kwargs.setdefault("zarr_format", self.zarr_format)
        meta = build_array_metadata(**kwargs)
        write_node(self.store, path, meta)
        self._node_changed(path, meta)
        return Array(self.store, path, meta, write_empty_chunks=write_empty, on_metadata_change=self._node_changed)

    def __delitem__(self, name: str) -> None:
        self._check_writable()
        path = join(self.path, validate_path(name))
        clear_node(self.store, path)
        self._node_changed(path, None)

    # -- display --------------------------------------------------------------------------------
    def tree(self, expand: bool | None = None, level: int | None = None, *,
             array_label: Callable[[Array], str] | None = None,
             group_label: Callable[[Group], str] | None = None) -> TreeText:
        """The hierarchy below this group as indented text, as zarr-python's ``Group.tree`` draws it.

        ``level`` limits the depth shown (``None``: all); ``expand`` (HTML display only in
        zarr-python) is accepted and ignored. Each array is followed by ``array_label(array)``
        (default: shape and dtype) and each group's name by ``group_label(group)`` (default:
        nothing); the CLI passes richer labels.
        """
        array_label = array_label or (lambda a: f"{a.shape} {a.dtype}")
        group_label = group_label or (lambda g: "")
        lines = [(self.name if self.path else "/") + group_label(self)]

        def walk(group: Group, indent: str, depth: int) -> None:
            items = group.members()
            for i, (n, node) in enumerate(items):
                last = i == len(items) - 1
                branch = "└── " if last else "├── "
                if isinstance(node, Array):
                    lines.append(f"{indent}{branch}{n} {array_label(node)}")
                else:
                    lines.append(f"{indent}{branch}{n}{group_label(node)}")
                    if level is None or depth < level:
                        walk(node, indent + ("    " if last else "│   "), depth + 1)

        walk(self, "", 1)
        return TreeText("\n".join(lines) + "\n")
