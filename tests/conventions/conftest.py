"""Fixtures shared by the convention tests: the Zarr writers and xarray engines that every
interoperability test crosses (zarr-python through xarray's ``to_zarr``, and zarrconv)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

import zarrconv as zc

Writer = Callable[[Any, pathlib.Path, int], None]


def _write_xarray_zarr(obj: Any, path: pathlib.Path, zarr_format: int) -> None:
    """Write a Dataset or DataTree with xarray's own zarr engine (zarr-python)."""
    obj.to_zarr(path, zarr_format=zarr_format, consolidated=True, mode="w")


def _write_zarrconv(obj: Any, path: pathlib.Path, zarr_format: int) -> None:
    """Write a Dataset or DataTree with zarrconv."""
    zc.to_zarr(obj, path, zarr_format=zarr_format, mode="w")


_WRITERS: dict[str, Writer] = {"xarray-zarr": _write_xarray_zarr, "zarrconv": _write_zarrconv}


@pytest.fixture(params=sorted(_WRITERS))
def writer(request: pytest.FixtureRequest) -> Writer:
    """Each writer in turn: ``writer(dataset_or_tree, path, zarr_format)``."""
    return _WRITERS[request.param]


@pytest.fixture
def write_xarray_zarr() -> Writer:
    """The zarr-python writer alone, for tests about what a peer reads from a peer-written store."""
    return _write_xarray_zarr


@pytest.fixture(params=["zarr", "zarrconv"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each xarray engine in turn."""
    return request.param
