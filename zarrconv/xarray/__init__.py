"""xarray integration: the ``engine="zarrconv"`` backend, :func:`to_zarr`, and the ``.zarrconv`` accessor.

Importing this package does not import xarray: the backend module does, when xarray loads
it through its entry point, and the accessors are registered as soon as xarray is imported
(see :func:`register_accessors_on_xarray_import`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

from . import accessor
from .writer import to_zarr


def _register_accessors() -> None:
    accessor.register(sys.modules["xarray"])


class _AfterXarrayImport(importlib.abc.MetaPathFinder):
    """Runs :func:`_register_accessors` right after the ``xarray`` module finishes loading."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "xarray":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            _register_accessors()

        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def register_accessors_on_xarray_import() -> None:
    """Register ``ds.zarrconv`` / ``dt.zarrconv`` now if xarray is loaded, else when it is."""
    if "xarray" in sys.modules and hasattr(sys.modules["xarray"], "register_dataset_accessor"):
        _register_accessors()
    elif not any(isinstance(f, _AfterXarrayImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterXarrayImport())


__all__ = ["register_accessors_on_xarray_import", "to_zarr"]
