"""pytest hooks of the xarray-suite harness (``test_xr_suite.py``).

* xarray's ``skip_if_param`` marks (its repository's conftest handles them, which is not
  installed with xarray): skip a test when its parameters match, e.g. sharding for v2;
* run only the tests listed in ``xr_suite_applicable.json`` (the rest do not touch the
  replaced hook or do not pass with xarray's own engine, so they say nothing about zarrconv);
* in baseline mode (``ZARRCONV_XR_SUITE_BASELINE=1``) write that list instead;
* at the end, print passed / applicable per direction and format.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from xr_suite_support import MANIFEST, SUITE_MODULE, baseline_mode

_DIRECTIONS = ("reader", "writer")
_results: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (direction, format) -> {test: outcome}
_call_outcomes: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    for line in ("skip_if_param(**params, reason, condition=True): skip when the test's parameters match",
                 "flaky: xarray's mark for flaky tests", "skip_with_dask_array: xarray's mark (dask-array only)"):
        config.addinivalue_line("markers", line)


def _is_suite_item(item: pytest.Item) -> bool:
    return item.path.name == SUITE_MODULE and getattr(getattr(item, "cls", None), "direction", "") in _DIRECTIONS


def pytest_runtest_setup(item: pytest.Item) -> None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    for mark in item.iter_markers("skip_if_param"):
        wanted = {k: v for k, v in mark.kwargs.items() if k not in ("reason", "condition")}
        if mark.kwargs.get("condition", True) and all(params.get(k) == v for k, v in wanted.items()):
            pytest.skip(mark.kwargs.get("reason", f"skipped for {wanted}"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if baseline_mode() or not any(_is_suite_item(i) for i in items):
        return
    listed = json.loads(MANIFEST.read_text())
    keep, drop = [], []
    for item in items:
        if not _is_suite_item(item):
            keep.append(item)
            continue
        fmt = str(item.callspec.params.get("default_zarr_format"))
        (keep if item.name in listed[item.cls.direction].get(fmt, ()) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # the harness's fixture adds ("xr_suite", (direction, format, hook calls)) at teardown, so the
    # call's outcome is kept until the teardown report (which carries it) arrives
    if report.when == "call":
        if SUITE_MODULE in report.nodeid:
            _call_outcomes[report.nodeid] = report.outcome
        return
    info = dict(report.user_properties).get("xr_suite")
    if report.when != "teardown" or info is None:
        return
    direction, fmt, hook_calls = info
    outcome = "failed" if report.failed else _call_outcomes.pop(report.nodeid, "skipped")
    if baseline_mode() and not hook_calls:
        outcome = "untouched"
    _results[(direction, str(fmt))][report.nodeid.rpartition("::")[2]] = outcome


def _counts() -> dict[tuple[str, str], tuple[int, int]]:
    return {key: (sum(v == "passed" for v in names.values()), sum(v != "untouched" for v in names.values()))
            for key, names in sorted(_results.items())}


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not baseline_mode() or hasattr(session.config, "workerinput") or not _results:
        return
    import xarray
    import zarr

    listed: dict[str, Any] = {"xarray": xarray.__version__, "zarr": zarr.__version__}
    for direction in _DIRECTIONS:
        listed[direction] = {fmt: sorted(n for n, o in _results[(direction, fmt)].items() if o == "passed")
                             for fmt in ("2", "3")}
    MANIFEST.write_text(json.dumps(listed, indent=1) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    engine = "xarray's own engine (baseline)" if baseline_mode() else "zarrconv"
    parts = [f"{d} v{f}: {p}/{n}" for (d, f), (p, n) in _counts().items()]
    terminalreporter.write_line(f"xarray's zarr suite with {engine}, passed/applicable: " + ", ".join(parts))
