"""Core: Array, Group, selections to chunk plans, and chunk I/O.

The public names are re-exported once, by the ``zarrconv`` package itself; this package exports the
node classes and the functions that open and create nodes, which the layers above use.
"""

from .api import create_array, create_group, open, open_array, open_group  # noqa: A004
from .array import Array
from .group import Group

__all__ = ["Array", "Group", "create_array", "create_group", "open", "open_array", "open_group"]
