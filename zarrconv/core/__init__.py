"""Core: Array, Group, selections to chunk plans, and chunk I/O."""

from .api import create_array, create_group, open, open_array, open_group  # noqa: A004
from .array import Array
from .consolidated import consolidate_metadata
from .convenience import (
    array,
    create,
    empty,
    empty_like,
    full,
    full_like,
    load,
    ones,
    ones_like,
    open_consolidated,
    save,
    save_array,
    save_group,
    tree,
    zeros,
    zeros_like,
)
from .group import Group

__all__ = ["Array", "Group", "array", "consolidate_metadata", "create", "create_array", "create_group", "empty",
           "empty_like", "full", "full_like", "load", "ones", "ones_like", "open", "open_array",
           "open_consolidated", "open_group", "save", "save_array", "save_group", "tree", "zeros", "zeros_like"]
