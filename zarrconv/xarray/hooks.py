"""Conventions that open a group differently in a DataTree, registered from the conventions layer.

The xarray layer knows no convention: a convention registers a *group hook*, a function
``hook(group) -> {name: xr.Dataset}`` that returns, for a group it recognizes (an OME-Zarr
image, say), the datasets that become child nodes of the group's node (one per resolution
level), keyed by the name of the array (or the ``"sub/array"`` path) each replaces; for any other
group it returns an empty mapping. ``open_datatree``/``open_groups_as_dict`` of
``engine="zarrconv"`` ask the hooks in the order they were registered; the first non-empty
answer wins.

A hook is registered as a callable or, so that registering imports nothing heavy, as a
``"module:function"`` reference resolved on first use (the form of a Python entry point)::

    register_group_hook("zarrconv.conventions.ome.read.image:datatree_levels")

``import zarrconv`` imports :mod:`zarrconv.conventions`, which registers the conventions' hooks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["GroupHook", "group_hooks", "register_group_hook", "unregister_group_hook"]

GroupHook = Callable[[Any], Mapping[str, Any]]

_registered: list[GroupHook | str] = []


def register_group_hook(hook: GroupHook | str) -> None:
    """Add ``hook`` (a callable or a ``"module:function"`` reference) to the group hooks;
    registering the same hook twice is a no-op."""
    if isinstance(hook, str) and (hook.count(":") != 1 or not all(hook.split(":"))):
        raise ValueError(f"a group hook reference is 'module:function', got {hook!r}")
    if hook not in _registered:
        _registered.append(hook)


def unregister_group_hook(hook: GroupHook | str) -> None:
    """Remove ``hook`` (as registered: the callable, or the reference string while it is not yet
    resolved); a hook not registered is a no-op."""
    if hook in _registered:
        _registered.remove(hook)


def _resolve(hook: GroupHook | str) -> GroupHook:
    if not isinstance(hook, str):
        return hook
    module, name = hook.split(":")
    return getattr(importlib.import_module(module), name)


def group_hooks() -> list[GroupHook]:
    """The registered group hooks as callables, in registration order (references resolved,
    which imports their modules the first time)."""
    _registered[:] = [_resolve(h) for h in _registered]
    return list(_registered)  # type: ignore[arg-type]
