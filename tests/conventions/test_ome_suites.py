"""The official OME-NGFF conformance suites, one test per case, through ``validate_attrs``.

Data in ``ngff_suites/`` (see its README and LICENSE): the 0.4 and 0.5 ``*_suite.json``
files (JSON-Schema-Test-Suite format; ``strict_*`` suites test the strict schemas) and the
0.6rc0 ``attributes/{spec,strict}/{valid,invalid}`` documents. A case of a strict suite
is run with ``strict=True``, any other with the default (only MUST breaches are errors).

Where a case contradicts a MUST of the specification text, the text wins: the case is in
``TEXT_OVERRIDES`` with the sentence it breaks, and is asserted invalid with that error.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from zarrconv.conventions.ome import validate_attrs

SUITES = Path(__file__).resolve().parent / "ngff_suites"

_PLATE_PATH = (
    "well path 'A/1' must be '{row}/{column}'",
    "the case names its well '{column}/{row}' (rows [{name: '1'}], columns [{name: 'A'}], path 'A/1'), "
    "but 'The path MUST consist of a name in the rows list, a file separator (/), and a name from the "
    "columns list, in that order' (0.4 spec plate-md; the same sentence in 0.5 and 0.6rc0). The 0.5 "
    "suite agrees with the text: its plates name wells '{row}/{column}' and its invalid case "
    "plate/well_path_has_column_before_row is the '{column}/{row}' form",
)

#: case id -> (fragment of the error zarrconv reports, why the specification text makes it invalid).
TEXT_OVERRIDES: dict[str, tuple[str, str]] = {
    "0.4/image_suite/valid/mismatch_axes_units.json": (
        "scale has 2 values for 3 axes",
        "three axes but a scale of two values: 'The length of the scale and translation array MUST be "
        "the same as the length of axes' (0.4 spec multiscale-md); the 0.5 copy of the case has three",
    ),
    "0.4/plate_suite/plate/minimal_no_acquisitions": _PLATE_PATH,
    "0.4/plate_suite/plate/minimal_acquisitions": _PLATE_PATH,
    "0.4/plate_suite/plate/non_alphanumeric_row": ("well path 'A/A1' must be '{row}/{column}'", _PLATE_PATH[1]),
    "0.4/strict_plate_suite/plate/strict_no_acquisitions": _PLATE_PATH,
    "0.4/strict_plate_suite/plate/strict_acquisitions": _PLATE_PATH,
    "0.6rc0/spec/valid/image/mismatch_axes_units": (
        "scale has 2 values for 3 axes",
        "a scale of two values into the three-axis intrinsic system: input and output dimensionality "
        "'MUST equal the length of the scale array (N)' (0.6rc0 spec scale-md)",
    ),
    "0.6rc0/spec/valid/plate/minimal_acquisitions": _PLATE_PATH,
    "0.6rc0/spec/valid/plate/minimal_no_acquisitions": _PLATE_PATH,
    "0.6rc0/spec/valid/plate/non_alphanumeric_row": ("well path 'A/A1' must be '{row}/{column}'", _PLATE_PATH[1]),
    "0.6rc0/strict/valid/plate/strict_acquisitions": _PLATE_PATH,
    "0.6rc0/strict/valid/plate/strict_no_acquisitions": _PLATE_PATH,
    "0.6rc0/strict/valid/image/multiscales_example": (
        "input path 's1' must be the dataset path",
        "dataset '1' takes its input from path 's1': 'The input object MUST specify a path field matching "
        "the path field of the dataset' (0.6rc0 spec multiscales-md)",
    ),
}

#: 0.6rc0 strict cases whose version is misspelled "0.6rc02" in the suite (invalid for that
#: reason alone); the test also checks them with the version corrected.
_VERSION_TYPO = "0.6rc02"


def _cases_04_05() -> list[Any]:
    out = []
    for version in ("0.4", "0.5"):
        for path in sorted((SUITES / version).glob("*_suite.json")):
            suite = json.loads(path.read_text())
            strict = path.name.startswith("strict_")
            for test in suite["tests"]:
                case_id = f"{version}/{path.stem}/{test['formerly']}"
                out.append(pytest.param(case_id, test["data"], test["valid"], strict, id=case_id))
    return out


def _cases_06() -> list[Any]:
    root = SUITES / "0.6rc0" / "attributes"
    out = []
    for path in sorted(root.rglob("*.json")):
        doc = json.loads(path.read_text())
        conformance = doc.pop("_conformance", None) or {}
        case_id = f"0.6rc0/{path.relative_to(root).with_suffix('').as_posix()}"
        out.append(pytest.param(case_id, doc, conformance.get("valid", True), bool(conformance.get("strict")),
                                id=case_id))
    return out


def _check(case_id: str, data: dict[str, Any], valid: bool, strict: bool) -> None:
    report = validate_attrs(data, strict=strict)
    override = TEXT_OVERRIDES.get(case_id)
    if override is not None:
        fragment, reason = override
        assert valid, f"{case_id}: overrides only turn official 'valid' cases invalid"
        assert any(fragment in e for e in report), f"{reason}\nfound: {list(report)}"
        return
    if valid:
        assert report == [], f"{case_id} is valid; found: {list(report)}"
    else:
        assert report, f"{case_id} is invalid; zarrconv found nothing (warnings: {report.warnings})"


@pytest.mark.parametrize("case_id,data,valid,strict", _cases_04_05())
def test_ngff_04_05_suites(case_id: str, data: dict[str, Any], valid: bool, strict: bool) -> None:
    _check(case_id, data, valid, strict)


@pytest.mark.parametrize("case_id,data,valid,strict", _cases_06())
def test_ngff_06rc0_attributes(case_id: str, data: dict[str, Any], valid: bool, strict: bool) -> None:
    _check(case_id, data, valid, strict)


def _strict_invalid_cases() -> list[Any]:
    return [p for p in _cases_04_05() + _cases_06() if p.values[3] and not p.values[2]]


@pytest.mark.parametrize("case_id,data,valid,strict", _strict_invalid_cases())
def test_strict_cases_break_a_recommendation(case_id: str, data: dict[str, Any], valid: bool, strict: bool) -> None:
    """Every invalid case of a strict suite breaks a SHOULD: without ``strict`` it is a
    warning, with ``strict`` the same sentence is an error."""
    data = copy.deepcopy(data)
    ome = data.get("ome")
    if isinstance(ome, dict) and ome.get("version") == _VERSION_TYPO:
        assert validate_attrs(data, strict=True), "the misspelled version alone makes it invalid"
        ome["version"] = "0.6rc0"
    relaxed = validate_attrs(data)
    strict_errors = validate_attrs(data, strict=True)
    new = [e for e in strict_errors if e not in relaxed]
    assert new, f"strict mode adds no error; errors {list(relaxed)}, warnings {relaxed.warnings}"
    assert set(new) <= set(relaxed.warnings)
    assert all(" should " in e for e in new), new


@pytest.mark.parametrize(
    "case_id,fragment",
    [
        ("0.4/image_suite/valid/invalid_axis_units.json", "unit 'micron' is not spelled as the specification"),
        ("0.5/image_suite/valid/invalid_axis_units.json", "unit 'micron' is not spelled as the specification"),
        ("0.5/image_suite/valid/mismatch_axes_units.json", "'micrometer' is a space unit on a time axis"),
        ("0.6rc0/spec/valid/image/invalid_axis_units", "unit 'micron' is not spelled as the specification"),
    ],
)
def test_valid_cases_with_unlisted_units_get_a_warning(case_id: str, fragment: str) -> None:
    """Units SHOULD come from the specification's lists: the official cases with 'micron' or a
    space unit on a time axis are valid, and zarrconv says what to write instead."""
    (param,) = [p for p in _cases_04_05() + _cases_06() if p.values[0] == case_id]
    report = validate_attrs(param.values[1])
    assert report == []
    assert any(fragment in w for w in report.warnings), report.warnings
    assert any(fragment in e for e in validate_attrs(param.values[1], strict=True))


@pytest.mark.parametrize("version", ["0.4", "0.5", "0.6"])
def test_what_ngff_zarr_writes_is_valid_without_warnings(tmp_path: Path, version: str) -> None:
    """ngff-zarr (the reference implementation of 0.6) writes images zarrconv finds valid and
    following every recommendation; its 0.6 ("0.6", checked against the 0.6rc0 text) too.
    Breaking its metadata the way the suites do is then found."""
    import ngff_zarr as nz
    import numpy as np

    import zarrconv as zc
    from zarrconv.conventions import ome

    volume = np.arange(8 * 32 * 32, dtype=np.uint16).reshape(8, 32, 32)
    image = nz.to_ngff_image(volume, dims=["z", "y", "x"], scale={"z": 2.0, "y": 0.5, "x": 0.5},
                             axes_units={d: "micrometer" for d in "zyx"})
    store = tmp_path / "nz.ome.zarr"
    nz.to_ngff_zarr(str(store), nz.to_multiscales(image, scale_factors=[2], method=nz.Methods.ITKWASM_BIN_SHRINK),
                    version=version)
    report = ome.validate(store)
    assert report == [] and report.warnings == []

    group = zc.open_group(store, mode="r+")
    attrs = copy.deepcopy(group.attrs.asdict())
    ms = (attrs["ome"] if "ome" in attrs else attrs)["multiscales"][0]
    axes = ms["coordinateSystems"][0]["axes"] if version == "0.6" else ms["axes"]
    axes[0]["unit"] = "micron"
    axes[1]["name"] = axes[0]["name"]  # the axes still differ (units): a rule beyond the schema
    report = validate_attrs(attrs)
    assert any("axis names must be unique" in e for e in report), list(report)
    assert any("'micron'" in w for w in report.warnings), report.warnings
