"""xarray's own zarr backend tests, from the installed xarray, pointed at zarrconv both ways.

The tests are xarray's ``ZarrBase`` tests (``xarray/tests/test_backends.py``, class
``TestZarrDirectoryStore``: a store directory on disk), run for ``zarr_format`` 2 and 3 by
xarray's own ``default_zarr_format`` fixture. Each subclass below replaces one of the hooks
through which xarray's tests write and read:

* :class:`TestXarrayWritesZarrconvReads` replaces ``open``: xarray's ``to_zarr`` writes,
  ``xr.open_dataset(..., engine="zarrconv")`` reads;
* :class:`TestZarrconvWritesXarrayReads` replaces ``save``: ``zarrconv.to_zarr`` writes,
  xarray's ``engine="zarr"`` reads.

A test counts for a direction only where it goes through that hook and passes with xarray's
own engine on both sides. That set, per direction and format, is ``xr_suite_applicable.json``,
made by running these same classes with xarray's own hooks (see ``conftest.py`` here)::

    ZARRCONV_XR_SUITE_BASELINE=1 python -m pytest -n 2 tests/xarray/test_xr_suite.py

Every other test of the classes is deselected (not skipped); a listed test that no longer goes
through the hook fails, and so does a list made for another xarray version.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import xarray as xr
import zarr

# xarray's test module and the fixtures its zarr tests use (defined there and in its conftest)
from xarray.tests import test_backends as xarray_backend_tests
from xarray.tests.conftest import time_unit, use_dask  # noqa: F401
from xarray.tests.test_backends import default_zarr_format  # noqa: F401
from xr_suite_support import MANIFEST, baseline_mode

import zarrconv as zc

pytestmark = pytest.mark.slow

_Base = xarray_backend_tests.TestZarrDirectoryStore


class _CountsHookCalls(_Base):
    """Counts the calls of the replaced hook, so that the harness knows the test went through it."""

    direction = ""

    @pytest.fixture(autouse=True)
    def _record_hook_calls(self, request: pytest.FixtureRequest) -> Iterator[None]:
        self.hook_calls = 0
        yield
        fmt = request.node.callspec.params.get("default_zarr_format")
        request.node.user_properties.append(("xr_suite", (self.direction, fmt, self.hook_calls)))
        if not baseline_mode() and self.hook_calls == 0:
            pytest.fail(f"{request.node.name} is listed in {MANIFEST.name} for the {self.direction} but never "
                        "went through the replaced hook: regenerate the list (see this module's docstring)")


class TestXarrayWritesZarrconvReads(_CountsHookCalls):
    """xarray's zarr engine writes; zarrconv reads (``engine="zarrconv"``)."""

    direction = "reader"

    @contextlib.contextmanager
    def open(self, path: Any, **kwargs: Any) -> Iterator[xr.Dataset]:
        self.hook_calls += 1
        if baseline_mode():
            with super().open(path, **kwargs) as ds:
                yield ds
            return
        with xr.open_dataset(path, engine="zarrconv", **kwargs, **self.version_kwargs) as ds:
            yield ds


class TestZarrconvWritesXarrayReads(_CountsHookCalls):
    """zarrconv writes (``zarrconv.to_zarr``); xarray's zarr engine reads."""

    direction = "writer"

    def save(self, dataset: xr.Dataset, store_target: Any, **kwargs: Any) -> Any:
        self.hook_calls += 1
        if baseline_mode():
            return super().save(dataset, store_target, **kwargs)
        # xarray's to_zarr takes the format from zarr's config, set by ``default_zarr_format``
        kwargs.setdefault("zarr_format", zarr.config.get("default_zarr_format"))
        return zc.to_zarr(dataset, store_target, **kwargs)


def test_applicable_list_is_for_the_installed_xarray() -> None:
    """The list of applicable tests was made with the xarray whose tests run here."""
    listed = json.loads(MANIFEST.read_text())
    assert listed["xarray"] == xr.__version__, (
        f"{MANIFEST.name} was made with xarray {listed['xarray']}, but {xr.__version__} is installed: "
        "regenerate it (see this module's docstring)")
    for direction in ("reader", "writer"):
        for fmt in ("2", "3"):
            assert len(listed[direction][fmt]) > 80, (direction, fmt)
