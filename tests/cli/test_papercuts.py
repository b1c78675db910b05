"""What a new user hit in the first hour (issue 15 part 4), each checked on real stores and real processes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc

from .conftest import run

# The interpreter is told matplotlib does not exist (a None entry in sys.modules makes every
# import of it raise ImportError), as on a machine without it; the marker proves it.
_NO_MATPLOTLIB = (
    "import sys; sys.modules['matplotlib'] = None\n"
    "try:\n    import matplotlib\nexcept ImportError:\n    print('matplotlib-absent')\n"
)


def _python_without_matplotlib(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "default", "-c", _NO_MATPLOTLIB + code],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def rioxarray_store(tmp_path):
    """A georeferenced store as rioxarray writes one, with the common non-CF ``units=1``."""
    rioxarray = pytest.importorskip("rioxarray")
    ds = xr.Dataset({"ndvi": (("y", "x"), np.linspace(0, 1, 20, dtype="f4").reshape(4, 5), {"units": 1})},
                    coords={"x": 500005.0 + 10 * np.arange(5), "y": 5000005.0 - 10 * np.arange(4)})
    ds = ds.rio.write_crs("EPSG:32633")
    assert rioxarray.__version__ and ds["ndvi"].attrs["units"] == 1
    path = tmp_path / "rio.zarr"
    ds.to_zarr(path, zarr_format=2, consolidated=True)
    return path


def test_validate_of_a_georeferenced_store_prints_no_matplotlib_warning(rioxarray_store):
    proc = _python_without_matplotlib(
        f"from zarrconv.cli import main\nsys.exit(main(['validate', {str(rioxarray_store)!r}]))\n")
    assert proc.stdout.startswith("matplotlib-absent"), proc.stdout + proc.stderr
    assert "checks: spec, geo" in proc.stdout, proc.stdout  # the units were really checked through pint
    assert "matplotlib" not in proc.stderr, proc.stderr


def test_units_helpers_print_no_matplotlib_warning():
    proc = _python_without_matplotlib(
        "import zarrconv as zc\nprint(zc.units.format_units(zc.units.parse_units('m s-1')))\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["matplotlib-absent", "m s-1"], proc.stdout
    assert proc.stderr == "", proc.stderr


def test_numeric_units_are_a_warning_that_says_units_once(rioxarray_store):
    proc = run("validate", rioxarray_store)  # exit 0: valid
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("/ndvi:")]
    assert lines == ["/ndvi: [geo] warning: units=1 is a number; CF spells it as the string '1' (read as that)"]
    assert lines[0].count("units") == 1
    assert "valid (" in proc.stdout and "1 warning" in proc.stdout
    report = json.loads(run("validate", rioxarray_store, "--json").stdout)
    assert report["valid"] is True and report["problems"] == []
    assert [w["node"] for w in report["warnings"]] == ["/ndvi"]


def test_unparseable_units_still_an_error_naming_units_once(rioxarray_store):
    attrs = rioxarray_store / "ndvi" / ".zattrs"
    attrs.write_text(json.dumps({**json.loads(attrs.read_text()), "units": "degrees_bogus"}))
    (rioxarray_store / ".zmetadata").unlink()
    proc = run("validate", rioxarray_store, check=1)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("/ndvi:"))
    assert line.startswith("/ndvi: [geo] units: cannot parse 'degrees_bogus'") and line.count("units") == 1, line
