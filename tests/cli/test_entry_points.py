"""The ``zarrconv`` command is reachable three ways (the console script, ``python -m zarrconv`` and
``python -m zarrconv.cli``), with the same output; and a command loads only what it needs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import zarrconv as zc

from .conftest import run


@pytest.fixture
def small_array(tmp_path):
    path = tmp_path / "a.zarr"
    zc.create_array(path, shape=(6, 4), dtype="i2", chunks=(3, 4))[...] = np.arange(24).reshape(6, 4)
    return path


@pytest.mark.parametrize("module", ["zarrconv", "zarrconv.cli"])
def test_python_dash_m_runs_the_command(small_array, module):
    script = run("info", small_array)
    proc = subprocess.run([sys.executable, "-m", module, "info", str(small_array)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == script.stdout and "shape:              (6, 4)" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", module, "tree", str(small_array.parent / "missing.zarr")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and missing.stderr.startswith("zarrconv: error: no Zarr array or group")


def test_info_tree_validate_do_not_import_xarray_or_pyproj(small_array):
    """Only the chosen command's module is imported: inspecting a plain store does not pay for the
    convention libraries that ``ome`` and ``geo`` need (seconds of imports)."""
    code = ("import sys, io, contextlib\nfrom zarrconv.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    codes = [main([c, {str(small_array)!r}]) for c in ('info', 'tree', 'validate')]\n"
            "print(codes, sorted(m for m in ('xarray', 'pyproj', 'pint', 'tifffile') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0, 0, 0] []"
