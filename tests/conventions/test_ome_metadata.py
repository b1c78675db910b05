"""OME-Zarr metadata: parsing, round trips, our JSON Schemas, units, validate_attrs.

Uses the official OME-NGFF examples and schemas in ../shared/ngff (test data beside the
repository) as an independent reference.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest

from zarrconv.conventions._schemas import load_json
from zarrconv.conventions.ome import detect_version, parse_attrs, validate_attrs
from zarrconv.conventions.ome._units import normalize_unit, space_units, time_units, unit_problem
from zarrconv.conventions.ome.models import compose
from zarrconv.errors import MetadataError

NGFF = Path(__file__).resolve().parents[2].parent / "shared" / "ngff"
needs_ngff = pytest.mark.skipif(not NGFF.is_dir(), reason=f"official OME-NGFF test data not found at {NGFF}")


def _load_example(path: Path) -> dict:
    """Official examples carry // comments (for the spec's prose); strip them."""
    text = re.sub(r"^\s*//.*$", "", path.read_text(), flags=re.M)
    return json.loads(text)


def _attrs_of(doc: dict) -> dict:
    """0.5 examples are whole zarr.json documents; 0.4 examples are .zattrs."""
    return doc["attributes"] if doc.get("node_type") == "group" else doc


def _examples() -> list[Path]:
    if not NGFF.is_dir():
        return []
    return sorted(p for p in NGFF.glob("*/examples/*/*.json") if not p.name.startswith("."))


def _official_validator(version: str, schema_name: str):
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    docs = {}
    for p in (NGFF / version / "schemas").glob("*.schema"):
        doc = json.loads(p.read_text())
        docs[p.name] = doc
        resources.append((doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)))
    registry = Registry().with_resources(resources)
    return jsonschema.Draft202012Validator(docs[schema_name], registry=registry)


# ------------------------------------------------------------------- official examples


@needs_ngff
@pytest.mark.parametrize("path", _examples(), ids=lambda p: f"{p.parts[-4]}/{p.parts[-2]}/{p.name}")
def test_every_official_example_parses_and_round_trips(path):
    attrs = _attrs_of(_load_example(path))
    version = path.parts[-4]
    md = parse_attrs(attrs, str(path))
    assert md is not None
    assert md.version == version
    assert md.to_attrs(version) == attrs


@needs_ngff
@pytest.mark.parametrize("path", _examples(), ids=lambda p: f"{p.parts[-4]}/{p.parts[-2]}/{p.name}")
def test_official_examples_pass_our_schemas_and_rules(path):
    attrs = _attrs_of(_load_example(path))
    assert validate_attrs(attrs) == []


@needs_ngff
def test_example_contents_are_interpreted():
    md = parse_attrs(_attrs_of(_load_example(NGFF / "0.5/examples/multiscales_strict/multiscales_example.json")))
    ms = md.multiscales[0]
    assert md.kind == "image" and md.version == "0.5"
    assert ms.axis_names == ["t", "c", "z", "y", "x"]
    assert [a.type for a in ms.axes] == ["time", "channel", "space", "space", "space"]
    assert ms.axes[0].unit == "millisecond" and ms.axes[1].unit is None
    assert ms.paths == ["0", "1", "2"]
    # level 1: dataset scale [1, 1, 1, 1, 1] then the multiscale-wide [0.1, 1, 1, 1, 1]
    scale, trans = ms.level_transform(1)
    np.testing.assert_allclose(scale, [0.1, 1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(trans, 0.0)
    scale2, _ = ms.level_transform(2)
    np.testing.assert_allclose(scale2, [0.1, 1.0, 2.0, 2.0, 2.0])

    plate = parse_attrs(_attrs_of(_load_example(NGFF / "0.4/examples/plate_strict/plate_2wells.json"))).plate
    assert len(plate.rows) == 8 and len(plate.columns) == 12
    assert [(w.path, w.row_index, w.column_index) for w in plate.wells] == [("C/5", 2, 4), ("D/7", 3, 6)]
    assert plate.acquisitions[0].starttime == 1343731272000 and plate.version == "0.4"

    label = parse_attrs(_attrs_of(_load_example(NGFF / "0.5/examples/label_strict/colors_properties.json")))
    assert label.kind == "label"
    assert [(c.label_value, c.rgba) for c in label.image_label.colors] == [(0, (0, 0, 128, 128)), (1, (0, 128, 0, 128))]
    assert label.image_label.properties[1]["cell type"] == "neuron"
    assert label.image_label.source_image == "../../"

    bf = parse_attrs(_attrs_of(_load_example(NGFF / "0.4/examples/bf2raw/plate.json")))
    assert bf.kind == "plate" and bf.bioformats2raw_layout == 3
    series = parse_attrs(_attrs_of(_load_example(NGFF / "0.5/examples/ome/series-2.json")))
    assert series.kind == "series" and series.series == ["0", "1"]


@needs_ngff
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_our_examples_pass_the_official_schemas(version):
    """conventions/ome/examples/<version>/ holds what zarrconv writes; index.json names the
    official schema each document must satisfy."""
    index = load_json("ome", "examples", version, "index.json")
    assert set(index) == {"image.json", "label.json", "labels.json", "plate.json", "well.json"}
    for name, entry in index.items():
        attrs = _attrs_of(load_json("ome", "examples", version, name))
        md = parse_attrs(attrs)
        assert md.kind == entry["kind"] and md.version == version
        assert validate_attrs(attrs) == [], name
        if entry["official_schema"]:
            errors = list(_official_validator(version, entry["official_schema"]).iter_errors(attrs))
            assert errors == [], (name, [e.message for e in errors])
        if md.multiscales is not None:  # a label image is an image too
            errors = list(_official_validator(version, "strict_image.schema").iter_errors(attrs))
            assert errors == [], (name, [e.message for e in errors])


# ---------------------------------------------------------------------------- schemas


def test_our_schemas_are_valid_draft_2020_12_and_shipped():
    jsonschema = pytest.importorskip("jsonschema")
    names = ["common.schema.json"] + [
        f"{v}/{k}.schema.json"
        for v in ("0.4", "0.5")
        for k in ("image", "label", "labels", "plate", "well", "bioformats2raw", "series")
    ]
    for n in names:
        doc = load_json("ome", "schemas", *n.split("/"))
        jsonschema.Draft202012Validator.check_schema(doc)
        assert doc["$id"].endswith(n)


def _image05() -> dict:
    return {
        "ome": {
            "version": "0.5",
            "multiscales": [
                {
                    "name": "img",
                    "axes": [
                        {"name": "c", "type": "channel"},
                        {"name": "y", "type": "space", "unit": "micrometer"},
                        {"name": "x", "type": "space", "unit": "micrometer"},
                    ],
                    "datasets": [
                        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.5]}]},
                        {
                            "path": "1",
                            "coordinateTransformations": [
                                {"type": "scale", "scale": [1, 1, 1]},
                                {"type": "translation", "translation": [0, 0.25, 0.25]},
                            ],
                        },
                    ],
                }
            ],
        }
    }


def _mutated(fn) -> dict:
    doc = copy.deepcopy(_image05())
    fn(doc["ome"]["multiscales"][0])
    return doc


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda m: m["axes"].pop(), "too short|minContains|at least"),  # one space axis left
        (lambda m: m["axes"].insert(0, {"name": "z", "type": "space"}) or m["axes"].insert(0, {"name": "w", "type": "space"})
         or [d["coordinateTransformations"][0]["scale"].insert(0, 1) for d in m["datasets"]], "."),  # 4 space axes
        (lambda m: m["axes"].__setitem__(0, {"name": "t", "type": "time"}) or m["axes"].insert(0, {"name": "t2", "type": "time"}), "."),
        (lambda m: m["datasets"][1]["coordinateTransformations"].reverse(), "."),  # translation before scale
        (lambda m: m["datasets"][0].pop("coordinateTransformations"), "coordinateTransformations"),
        (lambda m: m["datasets"][0]["coordinateTransformations"].append({"type": "scale", "scale": [1, 1, 1]}), "."),
        (lambda m: m["datasets"][0]["coordinateTransformations"].__setitem__(0, {"type": "affine", "affine": []}), "affine"),
        (lambda m: m.__setitem__("datasets", []), "datasets"),
        (lambda m: m["axes"][2].__setitem__("name", "y"), "unique"),
        (lambda m: m["axes"].reverse() or [d["coordinateTransformations"][0]["scale"].reverse() for d in m["datasets"]]
         or m["datasets"][1]["coordinateTransformations"][1]["translation"].reverse(), "ordered"),
        (lambda m: m["datasets"][0]["coordinateTransformations"][0]["scale"].pop(), "2 values for 3 axes"),
        (lambda m: m["datasets"][1].__setitem__("path", "0"), "unique"),
    ],
)
def test_invalid_images_are_reported(mutate, expect):
    problems = validate_attrs(_mutated(mutate))
    assert problems, "expected a problem"
    assert any(re.search(expect, p) for p in problems), problems


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda m: m["axes"][1].__setitem__("unit", "um"), "write 'micrometer'"),  # alias: spelled wrong
        (lambda m: m["axes"][1].__setitem__("unit", "second"), "time unit on a space axis"),
        (lambda m: m["axes"][0].pop("type"), "should have a 'type'"),
        (lambda m: m["datasets"][0]["coordinateTransformations"][0]["scale"].__setitem__(1, 0), "zero factor"),
    ],
)
def test_recommendations_are_warnings_and_errors_only_in_strict_mode(mutate, expect):
    """A SHOULD of the specification (units from its lists, typed axes, non-zero scales)
    leaves the document valid; strict mode turns the warning into an error."""
    doc = _mutated(mutate)
    report = validate_attrs(doc)
    assert report == [], report
    assert any(re.search(expect, w) for w in report.warnings), report.warnings
    strict = validate_attrs(doc, strict=True)
    assert any(re.search(expect, e) for e in strict), strict
    assert strict.warnings == []


def test_valid_image_has_no_problems_and_version_rules():
    assert validate_attrs(_image05()) == []
    no_version = _image05()
    del no_version["ome"]["version"]
    assert any("version" in p for p in validate_attrs(no_version))
    wrong = _image05()
    wrong["ome"]["version"] = "0.4"
    assert validate_attrs(wrong)  # 0.4 metadata must not live under "ome"
    old = {"multiscales": [{"version": "0.3", "axes": ["y", "x"], "datasets": [{"path": "0"}]}]}
    assert validate_attrs(old) == ["/: OME-Zarr version '0.3' is not validated (zarrconv validates 0.4, 0.5, 0.6, 0.6rc0)"]


def test_invalid_plates_wells_and_labels_are_reported():
    plate = {"plate": {"version": "0.4", "name": "p", "rows": [{"name": "A"}, {"name": "B"}],
                       "columns": [{"name": "1"}], "wells": [{"path": "A/1", "rowIndex": 1, "columnIndex": 0}]}}
    assert any("must be '{row}/{column}' = 'B/1'" in p for p in validate_attrs(plate))
    plate["plate"]["wells"][0].update(rowIndex=0)
    assert validate_attrs(plate) == []
    plate["plate"]["rows"][1]["name"] = "A-2"
    assert any("pattern" in p or "does not match" in p for p in validate_attrs(plate))
    del plate["plate"]["version"]
    plate["plate"]["rows"][1]["name"] = "B"
    # 0.4 plates SHOULD carry their version (0.4 spec, plate-md): a warning, an error in strict mode
    assert validate_attrs(plate) == []
    assert any("should state its 'version'" in w for w in validate_attrs(plate).warnings)
    assert any("should state its 'version'" in e for e in validate_attrs(plate, strict=True))

    well = {"ome": {"version": "0.5", "well": {"images": [{"path": "0"}, {"path": "0"}]}}}
    assert any("unique" in p or "non-unique" in p for p in validate_attrs(well))
    label = {"ome": {"version": "0.5", "image-label": {"colors": [{"label-value": 1, "rgba": [0, 0, 0, 300]}]}}}
    assert any("300" in p for p in validate_attrs(label))
    label2 = {"image-label": {"version": "0.4", "colors": [{"label-value": 1}, {"label-value": 1, "rgba": [1, 2, 3, 4]}]}}
    assert any("label-value must be unique" in p for p in validate_attrs(label2))


# ------------------------------------------------------------------------------ parsing


def test_version_detection():
    assert detect_version({"ome": {"version": "0.5", "multiscales": []}}) == "0.5"
    assert detect_version({"multiscales": [{"version": "0.3"}]}) == "0.3"
    assert detect_version({"plate": {"version": "0.4"}}) == "0.4"
    assert detect_version({"multiscales": [{}]}) == "0.4"  # unversioned v2 metadata
    assert detect_version({"something": 1}) is None
    assert parse_attrs({"foo": "bar"}) is None


def test_old_styles_are_read():
    md = parse_attrs({"multiscales": [{"version": "0.3", "axes": ["t", "c", "y", "x"], "datasets": [{"path": "0"}]}]})
    assert [(a.name, a.type) for a in md.multiscales[0].axes] == [
        ("t", "time"), ("c", "channel"), ("y", "space"), ("x", "space")]
    md = parse_attrs({"multiscales": [{"version": "0.1", "datasets": [{"path": "0"}, {"path": "1"}]}]}, ndim=3)
    assert md.multiscales[0].axis_names == ["z", "y", "x"]
    scale, trans = md.multiscales[0].level_transform(1, shapes=[(10, 64, 64), (10, 32, 32)])
    np.testing.assert_allclose(scale, [1, 2, 2])


@pytest.mark.parametrize(
    "attrs,fragment",
    [
        ({"ome": {"version": "0.5", "multiscales": {}}}, "must be a JSON array"),
        ({"ome": {"version": "0.5", "multiscales": [{"axes": []}]}}, "no 'datasets'"),
        ({"ome": {"version": "0.5", "multiscales": [{"datasets": [{}]}]}}, "no 'path'"),
        ({"multiscales": [{"datasets": [{"path": "0", "coordinateTransformations": [{"type": "rotate"}]}]}]},
         "unsupported coordinate transformation"),
        ({"plate": {"rows": [], "columns": []}}, "no 'wells'"),
        ({"well": {"images": [{"acquisition": 1}]}}, "no 'path'"),
    ],
)
def test_malformed_metadata_raises_metadata_error_naming_the_place(attrs, fragment):
    with pytest.raises(MetadataError, match=fragment) as info:
        parse_attrs(attrs, "mem://store/img/zarr.json")
    assert "mem://store/img/zarr.json" in str(info.value)


def test_compose_applies_transformations_in_order():
    from zarrconv.conventions.ome.models import Transform

    s, t = compose([Transform("translation", [1.0, 2.0]), Transform("scale", [2.0, 3.0])], 2)
    # x -> (x + t) * s
    np.testing.assert_allclose(s, [2, 3])
    np.testing.assert_allclose(t, [2, 6])
    with pytest.raises(MetadataError, match="not supported"):
        compose([Transform("scale", None, path="scale_data")], 2)


# -------------------------------------------------------------------------------- units


def test_unit_lists_match_the_specification_text():
    assert "micrometer" in space_units() and "parsec" in space_units() and len(space_units()) == 26
    assert "millisecond" in time_units() and "day" in time_units() and len(time_units()) == 23
    assert not space_units() & time_units()


@pytest.mark.parametrize(
    "unit,axis_type,expected",
    [("um", "space", "micrometer"), ("µm", "space", "micrometer"), ("micron", "space", "micrometer"),
     ("nm", "space", "nanometer"), ("ms", "time", "millisecond"), ("s", "time", "second"),
     ("h", "time", "hour"), ("micrometer", "space", "micrometer"), ("pixel", "channel", "pixel"), (None, "space", None)],
)
def test_units_are_normalized_with_pint(unit, axis_type, expected):
    pytest.importorskip("pint")
    assert normalize_unit(unit, axis_type) == expected


def test_bad_units_are_refused():
    pytest.importorskip("pint")
    with pytest.raises(ValueError, match="not allowed for a space axis"):
        normalize_unit("pixel", "space")
    with pytest.raises(ValueError):
        normalize_unit("second", "space")
    assert "time unit on a space axis" in unit_problem("second", "space")
    assert unit_problem("micrometer", "space") is None
    assert unit_problem(5, "space") == "unit must be a string, got 5"
