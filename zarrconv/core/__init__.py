"""Core: Array, Group, selections to chunk plans, and chunk I/O."""

from .api import create_array, create_group, open, open_array, open_group  # noqa: A004
from .array import Array
from .consolidated import consolidate_metadata
from .group import Group

__all__ = ["Array", "Group", "consolidate_metadata", "create_array", "create_group", "open", "open_array", "open_group"]
