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
    ds = xr.Dataset({"ndvi": (("y", "x"), np.linspace(0, 1, 20, dtype="f4").reshape(4, 5), {"units": 1}),
                     "t": (("y", "x"), np.full((4, 5), 21.5, dtype="f4"), {"units": "degC"})},  # parsed by pint
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


def _consolidated_group(path):
    g = zc.create_group(path)
    g.create_array("temp", shape=(4,), dtype="f4")[:] = 1.5
    g.create_array("other", shape=(4,), dtype="i4")[:] = 2
    zc.consolidate_metadata(path)
    return path


@pytest.fixture
def corrupt_member(tmp_path):
    """A consolidated v3 group whose member ``temp`` has a truncated zarr.json."""
    path = _consolidated_group(tmp_path / "c.zarr")
    doc = path / "temp" / "zarr.json"
    doc.write_text(doc.read_text()[:40])
    return path


def test_validate_says_a_corrupt_member_is_broken_not_missing(corrupt_member):
    proc = run("validate", corrupt_member, check=1)
    assert "/temp: [spec]" in proc.stdout and "temp/zarr.json is not valid JSON" in proc.stdout
    assert "does not exist" not in proc.stdout, proc.stdout
    assert "consolidated metadata lists 'temp', whose own metadata is broken" in proc.stdout


@pytest.mark.parametrize("command", [["info"], ["info", "--json"], ["tree"]])
def test_info_and_tree_notice_a_corrupt_member_behind_consolidated_metadata(corrupt_member, command):
    proc = run(*command, corrupt_member, check=1)
    assert "other" in proc.stdout  # the rest is still described
    problems = [ln for ln in proc.stderr.splitlines() if ln.startswith("zarrconv: problem: /temp:")]
    assert len(problems) == 1 and "temp/zarr.json is not valid JSON" in problems[0], proc.stderr


def test_info_of_a_healthy_consolidated_group_exits_zero(tmp_path):
    path = _consolidated_group(tmp_path / "ok.zarr")
    assert run("info", path).stderr == ""
    assert run("tree", path).stderr == ""


def test_ome_pyramid_on_a_group_points_to_path(tmp_path):
    g = zc.create_group(tmp_path / "g.zarr")
    g.create_array("img", shape=(32, 32), dtype="u1")[:] = 7
    proc = run("ome", "pyramid", tmp_path / "g.zarr", tmp_path / "out.zarr", check=2)
    assert "is a group, not an array" in proc.stderr and "--path" in proc.stderr and "(arrays in it: img)" in proc.stderr
    assert "--overwrite" not in proc.stderr, proc.stderr
    run("ome", "pyramid", tmp_path / "g.zarr", tmp_path / "out.zarr", "--path", "img", "--axes", "yx", "-q")
    assert zc.open_array(tmp_path / "out.zarr", "0")[...].tolist() == [[7] * 32] * 32


@pytest.mark.parametrize("shards", [None, (10,)])
def test_chunk_alignment_error_names_chunks_or_shards_as_they_are(tmp_path, shards):
    da = pytest.importorskip("dask.array")
    ds = xr.Dataset({"v": (("x",), da.zeros(20, chunks=((7, 7, 6),)))})
    encoding = {"chunks": (5,), **({"shards": shards} if shards else {})}
    with pytest.raises(zc.ChunkAlignmentError) as info:
        zc.to_zarr(ds, tmp_path / "a.zarr", encoding={"v": encoding})
    expected, other = ("storage shard of 10", "shard") if shards else ("storage chunk of 5", "shard")
    assert expected in str(info.value)
    if not shards:
        assert other not in str(info.value), str(info.value)


def test_project_license_is_an_spdx_expression_and_the_build_requirement_supports_it():
    """A TOML-table license makes setuptools (77+) print a deprecation warning on every build (make demo)."""
    import tomllib
    from pathlib import Path

    from packaging.licenses import canonicalize_license_expression
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    license_ = pyproject["project"]["license"]
    assert isinstance(license_, str) and canonicalize_license_expression(license_) == "MIT"
    assert not any(c.startswith("License ::") for c in pyproject["project"].get("classifiers", []))
    setuptools = next(Requirement(r) for r in pyproject["build-system"]["requires"]
                      if Requirement(r).name == "setuptools")
    assert not setuptools.specifier.contains("76.9") and setuptools.specifier.contains("77.0")  # PEP 639 support


def test_dir_of_the_package_is_its_public_api():
    names = dir(zc)
    assert "annotations" not in names
    assert set(names) == {*zc.__all__, "__version__"}
    assert all(hasattr(zc, n) for n in names)
