"""OME-Zarr 0.6 coordinate transformations (RFC-5): every type, inverses, the graph, and
the public RFC-5 conformance scenes run through ``zarrconv ome transform``.

The scenes (tests/conventions/data/rfc5_transformations, MIT, see its README) were written
against an earlier RFC-5 draft: ``input``/``output`` are plain names and byDimension children
carry ``input_axes``/``output_axes``. The expected coordinates are theirs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.cli import main
from zarrconv.conventions.ome import build_graph, parse_transformation, transform_coordinates
from zarrconv.conventions.ome.scene import GroupArrays
from zarrconv.errors import MetadataError, NotInvertibleError, NoTransformPathError

CASES = Path(__file__).parent / "data" / "rfc5_transformations"


def _close(expected: list[list[float]], actual: list[list[float]], atol: float, rtol: float) -> bool:
    """The suite's rule: every coordinate within the absolute AND the relative tolerance."""
    if len(expected) != len(actual):
        return False
    for e_pt, a_pt in zip(expected, actual):
        if len(e_pt) != len(a_pt):
            return False
        for e, a in zip(e_pt, a_pt):
            diff = abs(e - a)
            if diff > atol or diff > rtol * max(abs(e), abs(a)):
                return False
    return True


def _cases() -> list[Path]:
    return sorted(CASES.glob("*.ome.zarr"))


def test_all_public_scenes_are_here() -> None:
    assert len(_cases()) == 24


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name.removesuffix(".ome.zarr"))
def test_conformance_scene_through_the_dingus(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tomllib.loads((case / "conformance.toml").read_text())
    src, tgt = conf["source"], conf["target"]
    rc = main(["ome", "transform", str(case), src["name"], tgt["name"], json.dumps(src["coordinates"])])
    out = capsys.readouterr().out
    if conf["should_error"]:
        assert rc != 0
        assert "message" in json.loads(out)
        return
    assert rc == 0, out
    got = json.loads(out)["coordinates"]
    assert _close(tgt["coordinates"], got, conf["absolute_tolerance"], conf["relative_tolerance"]), (got, tgt)


def test_dingus_as_a_command(tmp_path: Path) -> None:
    case = CASES / "sequence.ome.zarr"
    res = subprocess.run([sys.executable, "-m", "zarrconv.cli", "ome", "transform", str(case), "input", "output",
                          "[[1, 2], [3, 4]]"], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    np.testing.assert_allclose(json.loads(res.stdout)["coordinates"], [[1, 2], [3, 4]])
    res = subprocess.run([sys.executable, "-m", "zarrconv.cli", "ome", "transform", str(case), "input", "nowhere",
                          "[[1, 2]]"], capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert "nowhere" in json.loads(res.stdout)["message"]


# ------------------------------------------------------------------ the types of the 0.6 text


def _scene(*transformations: dict, systems: dict[str, int] | None = None) -> dict:
    systems = systems or {"in": 2, "out": 2}
    return {"coordinateSystems": [{"name": n, "axes": [{"name": f"a{i}"} for i in range(d)]}
                                  for n, d in systems.items()],
            "coordinateTransformations": list(transformations)}


def _io(t: dict, src: str = "in", dst: str = "out") -> dict:
    return {**t, "input": {"name": src}, "output": {"name": dst}}


PTS = np.array([[1.0, 2.0], [-3.5, 0.25], [0.0, 0.0]])


@pytest.mark.parametrize("t, expected", [
    ({"type": "identity"}, PTS),
    ({"type": "mapAxis", "mapAxis": [1, 0]}, PTS[:, ::-1]),
    ({"type": "translation", "translation": [9, -1.42]}, PTS + [9, -1.42]),
    ({"type": "scale", "scale": [3.12, 2]}, PTS * [3.12, 2]),
    ({"type": "affine", "affine": [[1, 2, 3], [4, 5, 6]]}, PTS @ np.array([[1, 2], [4, 5]]).T + [3, 6]),
    ({"type": "rotation", "rotation": [[0, -1], [1, 0]]}, np.c_[-PTS[:, 1], PTS[:, 0]]),
    # the 0.6 text's sequence example: x = (i + 0.1) * 2, y = (j + 0.9) * 3
    ({"type": "sequence", "transformations": [{"type": "translation", "translation": [0.1, 0.9]},
                                              {"type": "scale", "scale": [2, 3]}]},
     (PTS + [0.1, 0.9]) * [2, 3]),
    # the 0.6 text's byDimension example 1: y = 2 * j, x = i - 1
    ({"type": "byDimension", "transformations": [
        {"transformation": {"type": "translation", "translation": [-1.0]}, "inputAxes": [1], "outputAxes": [1]},
        {"transformation": {"type": "scale", "scale": [2.0]}, "inputAxes": [0], "outputAxes": [0]}]},
     np.c_[2 * PTS[:, 0], PTS[:, 1] - 1]),
    ({"type": "bijection", "forward": {"type": "translation", "translation": [1, 1]},
      "inverse": {"type": "translation", "translation": [-1, -1]}}, PTS + 1),
    ({"type": "inverseOf", "transformation": {"type": "scale", "scale": [2, 4]}}, PTS / [2, 4]),
], ids=lambda v: v["type"] if isinstance(v, dict) else "")
def test_forward_and_inverse(t: dict, expected: np.ndarray) -> None:
    scene = _scene(_io(t))
    np.testing.assert_allclose(transform_coordinates(scene, "in", "out", PTS), expected, atol=1e-12)
    # the way back goes through the closed-form inverse
    np.testing.assert_allclose(transform_coordinates(scene, "out", "in", expected), PTS, atol=1e-12)


def test_affine_to_more_dimensions_and_not_back() -> None:
    # The 0.6 text's rule (and its affine example 1): [A | b], the translation in the last
    # column. Its example 2 reads this same matrix with the constant in the first column
    # (z = 1, y = 2 + 3i + 4j); that contradicts the rule, which we follow.
    scene = _scene(_io({"type": "affine", "affine": [[1, 0, 0], [2, 3, 4], [5, 6, 7]]}), systems={"in": 2, "out": 3})
    got = transform_coordinates(scene, "in", "out", [[1, 2]])
    np.testing.assert_allclose(got, [[1, 2 + 6 + 4, 5 + 12 + 7]])
    with pytest.raises(NoTransformPathError, match="no chain"):
        transform_coordinates(scene, "out", "in", got)


def test_homogeneous_affine_and_singular_affine() -> None:
    full = parse_transformation({"type": "affine", "affine": [[2, 0, 1], [0, 2, 1], [0, 0, 1]]})
    np.testing.assert_allclose(full.apply([[1, 1]]), [[3, 3]])
    np.testing.assert_allclose(full.inverse().apply([[3, 3]]), [[1, 1]])
    singular = parse_transformation({"type": "affine", "affine": [[1, 1, 0], [1, 1, 0]]})
    assert not singular.invertible
    with pytest.raises(NotInvertibleError):
        singular.inverse()


def test_project_axis_drops_and_creates() -> None:
    # the 0.6 text's projectAxis example 2: (c, i, j) -> (0, i, j)
    t = parse_transformation({"type": "projectAxis", "createdOutputs": [0], "droppedInputs": [0]})
    np.testing.assert_allclose(t.apply([[7, 1, 2]]), [[0, 1, 2]])
    assert not t.invertible


def test_chain_through_several_systems_with_inverses() -> None:
    scene = _scene(
        _io({"type": "scale", "scale": [2, 2]}, "a", "b"),
        _io({"type": "translation", "translation": [1, -1]}, "c", "b"),
        _io({"type": "mapAxis", "mapAxis": [1, 0]}, "c", "d"),
        systems={"a": 2, "b": 2, "c": 2, "d": 2})
    # a -> b (scale), b -> c (inverse translation), c -> d (swap)
    np.testing.assert_allclose(transform_coordinates(scene, "a", "d", [[1, 2]]), [[4 + 1, 2 - 1]])
    graph = build_graph(scene)
    assert [t.type for t in graph.path(("", "a"), ("", "d"))] == ["scale", "translation", "mapAxis"]


def test_both_spellings_parse_and_the_06_one_is_written() -> None:
    draft = {"type": "byDimension", "input": "in", "output": "out", "transformations": [
        {"type": "scale", "scale": [10], "input_axes": [1], "output_axes": [1]},
        {"type": "identity", "input_axes": [0], "output_axes": [0]}]}
    t = parse_transformation(draft)
    doc = t.to_json()
    assert doc["input"] == {"name": "in"} and doc["output"] == {"name": "out"}
    assert doc["transformations"][0] == {"transformation": {"type": "scale", "scale": [10.0]},
                                         "inputAxes": [1], "outputAxes": [1]}
    again = parse_transformation(doc)
    np.testing.assert_allclose(again.apply([[1, 2]]), t.apply([[1, 2]]))
    np.testing.assert_allclose(t.apply([[1, 2]]), [[1, 20]])


@pytest.mark.parametrize("bad, match", [
    ({"type": "shear"}, "unknown coordinate transformation type 'shear'"),
    ({"type": "scale"}, "neither 'scale' nor 'path'"),
    ({"type": "scale", "scale": ["a"]}, "must hold numbers"),
    ({"type": "mapAxis", "mapAxis": "yx"}, "integer axis indices"),
    ({"type": "sequence", "transformations": []}, "no transformations"),
    ({"type": "identity", "input": 3}, "input/output must be an object or a name"),
])
def test_bad_transformations_are_refused(bad: dict, match: str) -> None:
    with pytest.raises(MetadataError, match=match):
        parse_transformation(bad, "here")


def test_unknown_and_ambiguous_names() -> None:
    scene = _scene(_io({"type": "identity"}))
    with pytest.raises(NoTransformPathError, match="no coordinate system named 'elsewhere'"):
        transform_coordinates(scene, "in", "elsewhere", [[0, 0]])
    with pytest.raises(MetadataError, match="have 3 coordinates but 2 are expected"):
        transform_coordinates(scene, "in", "out", [[0, 0, 0]])


# ------------------------------------------------------------------ parameters and fields in arrays


def _put(group: zc.Group, name: str, data: np.ndarray) -> None:
    arr = group.create_array(name, shape=data.shape, dtype=data.dtype, chunks=data.shape)
    arr[...] = data


def _field_image(root: zc.Group, path: str, data: np.ndarray, scale: list[float], kind: str) -> None:
    """A displacement/coordinate field stored as a 0.6 multiscale image (vector axis first)."""
    g = root.create_group(path)
    _put(g, "s0", data)
    g.attrs["ome"] = {"version": "0.6rc0", "multiscales": [{
        "coordinateSystems": [{"name": "field", "axes": [
            {"name": "v", "type": kind, "discrete": True},
            {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}],
        "datasets": [{"path": "s0", "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, *scale], "input": {"path": "s0"}, "output": {"name": "field"}}]}]}]}


def test_displacements_and_coordinates_read_from_the_store(tmp_path: Path) -> None:
    root = zc.open_group(tmp_path / "scene.zarr", mode="w", zarr_format=3)
    yy, xx = np.meshgrid(np.arange(3.0), np.arange(4.0), indexing="ij")
    disp = np.stack([0.1 * yy, 0.5 * xx])  # (vector, y, x); grid spacing 2 in physical units
    _field_image(root, "coordinateTransformations/disp", disp, [2.0, 2.0], "displacement")
    coords = np.stack([yy * yy, xx + 100])
    _field_image(root, "coordinateTransformations/coords", coords, [2.0, 2.0], "coordinate")
    root.attrs["ome"] = {"version": "0.6rc0", "scene": _scene(
        _io({"type": "displacements", "path": "coordinateTransformations/disp"}, "in", "out"),
        _io({"type": "coordinates", "path": "coordinateTransformations/coords", "interpolation": "nearest"},
            "in", "abs"),
        systems={"in": 2, "out": 2, "abs": 2})}
    # (2, 4) sits on grid index (1, 2): displacement (0.1, 1.0); (1, 1) is halfway: linear
    got = transform_coordinates(tmp_path / "scene.zarr", "in", "out", [[2, 4], [1, 1]])
    np.testing.assert_allclose(got, [[2.1, 5.0], [1.05, 1.25]])
    got = transform_coordinates(tmp_path / "scene.zarr", "in", "abs", [[4, 6], [3.9, 0.2]])
    np.testing.assert_allclose(got, [[4.0, 103.0], [4.0, 100.0]])
    with pytest.raises(NoTransformPathError):  # fields have no closed-form inverse
        transform_coordinates(tmp_path / "scene.zarr", "out", "in", [[0, 0]])


def test_affine_parameters_stored_by_path(tmp_path: Path) -> None:
    root = zc.open_group(tmp_path / "s.zarr", mode="w", zarr_format=3)
    _put(root.create_group("coordinateTransformations"), "m", np.array([[0.0, -1, 5], [1, 0, 7]]))
    root.attrs["ome"] = {"version": "0.6rc0", "scene": _scene(
        _io({"type": "affine", "path": "coordinateTransformations/m"}))}
    got = transform_coordinates(zc.open_group(tmp_path / "s.zarr", mode="r"), "in", "out", [[1, 2]])
    np.testing.assert_allclose(got, [[-2 + 5, 1 + 7]])
    np.testing.assert_allclose(GroupArrays(root).array("coordinateTransformations/m")[0], [0, -1, 5])
    with pytest.raises(MetadataError, match="parse it with an ArraySource"):
        parse_transformation({"type": "affine", "path": "m"}).apply([[0, 0]])
