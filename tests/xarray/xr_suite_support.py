"""What the xarray-suite harness (``test_xr_suite.py``) and its pytest hooks (``conftest.py``) share."""

from __future__ import annotations

import os
from pathlib import Path

#: The tests that pass with xarray's own engine and go through the replaced hook, per direction and format.
MANIFEST = Path(__file__).with_name("xr_suite_applicable.json")
#: Set (to anything but "" or "0") to run the harness with xarray's own hooks and write :data:`MANIFEST`.
BASELINE_ENV = "ZARRCONV_XR_SUITE_BASELINE"
#: The module holding the harness classes.
SUITE_MODULE = "test_xr_suite.py"


def baseline_mode() -> bool:
    """Whether this run makes the list (xarray's engine on both sides) instead of testing zarrconv."""
    return os.environ.get(BASELINE_ENV, "") not in ("", "0")
