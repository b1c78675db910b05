"""The one checker (``zarrconv.check``): one walker and one ``Problem`` type for the metadata checks of
``zarrconv validate`` (``check_metadata``), the chunk checks (``check``) and the consolidated-metadata
check of ``info``/``tree`` (``broken_consolidated_members``), on hierarchies written by zarr-python and
broken on disk by the test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import zarr

import zarrconv as zc
from zarrconv.check import Problem, broken_consolidated_members, check_metadata, walk
from zarrconv.errors import NodeNotFoundError
from zarrconv.store import make_store


@pytest.fixture
def peer(tmp_path: Path) -> Path:
    """A v3 hierarchy written and consolidated by zarr-python: groups a, a/b, c and three arrays."""
    root = tmp_path / "peer.zarr"
    g = zarr.open_group(root, mode="w", zarr_format=3)
    g.create_array("a/b/x", shape=(10,), dtype="i2", chunks=(5,))[...] = np.arange(10)
    g.create_array("a/y", shape=(4, 4), dtype="f4", chunks=(2, 2))[...] = 1.0
    g.create_group("c").create_array("z", shape=(3,), dtype="u1", chunks=(3,))[...] = 7
    zarr.consolidate_metadata(root)
    return root


def nodes_on_disk(root: Path) -> set[str]:
    """The node paths of a v3 hierarchy: every directory holding a zarr.json, relative to the root."""
    return {Path(d).relative_to(root).as_posix().replace(".", "") for d, _, fs in os.walk(root) if "zarr.json" in fs}


def test_walk_visits_every_node_in_name_order(peer: Path) -> None:
    problems: list[Problem] = []
    visited = [p for p, _ in walk(make_store(peer, mode="r"), "", problems)]
    assert problems == []
    assert set(visited) == nodes_on_disk(peer) == {"", "a", "a/b", "a/b/x", "a/y", "c", "c/z"}
    assert visited == ["", "a", "a/b", "a/b/x", "a/y", "c", "c/z"]  # depth first, by name


def test_walk_reports_a_broken_node_and_still_visits_its_siblings(peer: Path) -> None:
    (peer / "a" / "b" / "zarr.json").write_text("{not json")
    problems: list[Problem] = []
    visited = [p for p, _ in walk(make_store(peer, mode="r"), "", problems)]
    assert visited == ["", "a", "a/y", "c", "c/z"]  # a/b's subtree is not entered
    [p] = problems
    assert (p.node, p.check, p.key) == ("/a/b", "spec", "a/b/zarr.json")
    assert p.error.endswith("Error") and "a/b" in p.message
    assert str(p) == f"/a/b: [spec] {p.message}"


def test_check_metadata_of_a_clean_hierarchy(peer: Path) -> None:
    report = check_metadata(peer)
    assert report.ok, report.problems
    assert set(report.nodes) == nodes_on_disk(peer)
    assert set(report.arrays) == {"a/b/x", "a/y", "c/z"}


def test_check_metadata_finds_stale_and_incomplete_consolidated_metadata(peer: Path) -> None:
    doc = json.loads((peer / "a" / "y" / "zarr.json").read_text())
    doc["attributes"] = {"changed": True}
    (peer / "a" / "y" / "zarr.json").write_text(json.dumps(doc))  # the consolidated copy is now stale
    zarr.open_group(peer, mode="a", use_consolidated=False).create_group("d")  # not in the consolidated copy
    problems = check_metadata(peer).problems
    assert {p.check for p in problems} == {"consolidated"} and {p.node for p in problems} == {"/"}
    text = "\n".join(p.message for p in problems)
    assert "'a/y' differs from its own metadata document" in text
    assert "node 'd' exists but is missing from the consolidated metadata" in text
    assert len(problems) == 2


def test_check_metadata_of_nothing_raises(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NodeNotFoundError, match="no Zarr array or group"):
        check_metadata(tmp_path / "empty")


def test_check_and_check_metadata_report_the_same_problem_type(peer: Path) -> None:
    chunk = peer / "a" / "y" / "c" / "1" / "0"
    chunk.write_bytes(chunk.read_bytes()[:3])  # truncated: 3 bytes for a 2 x 2 float32 chunk
    (peer / "c" / "z" / "zarr.json").write_text("[]")
    report = zc.check(peer)
    by_check = {p.check: p for p in report}
    assert set(by_check) == {"data", "spec"}
    data = by_check["data"]
    assert isinstance(data, Problem) and (data.node, data.key) == ("/a/y", "a/y/c/1/0")
    assert data.error == "CorruptChunkError" and "a/y/c/1/0" in data.message
    assert by_check["spec"].node == "/c/z" and by_check["spec"].key == "c/z/zarr.json"
    assert report.corrupted_keys == ["a/y/c/1/0", "c/z/zarr.json"]
    assert f"  a/y/c/1/0: [CorruptChunkError] {data.message}" in str(report).splitlines()
    meta = check_metadata(peer).problems
    assert [(p.node, p.check) for p in meta if p.check == "spec"] == [("/c/z", "spec")]
    assert all(isinstance(p, Problem) for p in meta)


def test_broken_consolidated_members(peer: Path) -> None:
    (peer / "a" / "y" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array"}')  # no shape
    opened = zc.open_group(peer, mode="r")  # from the consolidated metadata: a/y looks healthy
    [found] = broken_consolidated_members(opened)
    assert found.startswith("/a/y: ") and "only the consolidated metadata describes it as healthy" in found
    assert broken_consolidated_members(zc.open_group(peer, mode="r", consolidated=False)) == []
