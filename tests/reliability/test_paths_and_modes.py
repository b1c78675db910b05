"""Paths and modes: node names as the spec requires, no escape from a local store's root,
and read-only nodes and stores refusing every mutation (and writing nothing)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store import LocalStore, MemoryStore

BAD_NAMES = ["", ".", "..", "__zarr", "__x", "a\\b", "nul\x00"]
BAD_PATHS = ["a/../b", "../x", "a/./b", "__meta/x", "x/__y"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_child_names_are_refused(tmp_path: Path, name: str) -> None:
    g = zc.create_group(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    for create in (lambda: g.create_group(name), lambda: g.create_array(name, shape=(2,), dtype="u1")):
        with pytest.raises(zc.InvalidPathError):
            create()
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_node_paths_are_refused(tmp_path: Path, path: str) -> None:
    for call in (lambda: zc.create_array(tmp_path, path, shape=(2,), dtype="u1"),
                 lambda: zc.create_group(tmp_path, path), lambda: zc.open_group(tmp_path, path, mode="a"),
                 lambda: zc.open(tmp_path, path)):
        with pytest.raises(zc.InvalidPathError):
            call()
    assert not (tmp_path.parent / "x").exists() and not (tmp_path.parent / "b").exists()


def test_good_names_work(tmp_path: Path) -> None:
    g = zc.create_group(tmp_path)
    for name in ("a", "_x", "a.b", "é", "with space", "x__y", "_"):
        g.create_array(name, shape=(2,), dtype="u1")[...] = 3
        np.testing.assert_array_equal(zc.open_array(tmp_path, name)[...], [3, 3])


ESCAPING_KEYS = ["../outside", "/etc/passwd", "a/../../outside", "a//b", "./a", "a\\..\\b", "C:/x", "x\x00y",
                 "", ".", "..", "a/", "a/.", "a/..", "a/./b", "C:x", "x/../../y"]
SAFE_KEYS = ["a", "c/0/1", ".zattrs", "a/.zarray", "...", "a/...b", "xy:z", "c.0.1", "a/b:c", "a/..b", "a./b", ".a/b"]


@pytest.mark.parametrize("key", SAFE_KEYS)
def test_keys_that_only_look_odd_are_stored(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "store")
    store.set(key, b"x")
    assert store.get(key) == b"x" and (tmp_path / "store" / key).is_file()


@pytest.mark.parametrize("key", ESCAPING_KEYS)
@pytest.mark.parametrize("kind", ["local", "memory"])
def test_keys_escaping_the_root_are_refused(tmp_path: Path, key: str, kind: str) -> None:
    root = tmp_path / "store"
    store = LocalStore(root) if kind == "local" else MemoryStore()
    calls = [lambda: store.set(key, b"x")]
    if kind == "local":  # a dict has nothing to escape to: the memory store only refuses to store such keys
        calls += [lambda: store.get(key), lambda: store.delete(key), lambda: store.exists(key)]
    for call in calls:
        with pytest.raises(zc.InvalidPathError):
            call()
    assert not (tmp_path / "outside").exists()
    assert not any(p for p in tmp_path.rglob("*") if p.is_file())


@pytest.mark.parametrize("prefix", ["../", "..", "a/../../", "./"])
def test_listing_cannot_leave_the_root(tmp_path: Path, prefix: str) -> None:
    (tmp_path / "secret").write_bytes(b"x")
    store = LocalStore(tmp_path / "store")
    zc.create_group(store)
    with pytest.raises(zc.InvalidPathError):
        list(store.list_prefix(prefix))
    with pytest.raises(zc.InvalidPathError):
        store.list_dir(prefix)


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret").write_bytes(b"secret")
    return d


def test_symlinked_directory_leading_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "store"
    arr = zc.create_array(root, "a", shape=(4,), chunks=(2,), dtype="u1")
    arr[...] = 1
    os.symlink(outside, root / "a" / "c" / "evil")
    os.symlink(outside, root / "link")
    store = LocalStore(root)
    for key in ("link/secret", "a/c/evil/secret"):
        with pytest.raises(zc.InvalidPathError, match="outside the store root"):
            store.get(key)
        with pytest.raises(zc.InvalidPathError):
            store.set(key, b"overwritten")
        with pytest.raises(zc.InvalidPathError):  # not even the names of what is there
            store.list_dir(key.rsplit("/", 1)[0])
        with pytest.raises(zc.InvalidPathError):
            list(store.list_prefix(key.rsplit("/", 1)[0] + "/"))
    # a chunk directory replaced by a symlink to elsewhere: reading it fails, it does not read elsewhere
    (root / "a" / "c" / "evil").unlink()
    import shutil

    shutil.rmtree(root / "a" / "c")
    (outside / "0").write_bytes(b"\x07\x07")
    os.symlink(outside, root / "a" / "c")
    with pytest.raises(zc.InvalidPathError):
        zc.open_array(root, "a")[...]
    with pytest.raises(zc.InvalidPathError):
        zc.open_array(root, "a", mode="r+")[...] = 5
    assert (outside / "secret").read_bytes() == b"secret" and (outside / "0").read_bytes() == b"\x07\x07"
    assert sorted(p.name for p in outside.iterdir()) == ["0", "secret"]


def test_symlinked_file_leading_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "store"
    zc.create_group(root)
    os.symlink(outside / "secret", root / "leak")
    with pytest.raises(zc.InvalidPathError, match="outside the store root"):
        LocalStore(root).get("leak")


def test_symlinks_inside_the_root_are_followed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    zc.create_array(root, "real", shape=(3,), dtype="i2")[...] = [1, 2, 3]
    os.symlink(root / "real", root / "alias")
    np.testing.assert_array_equal(zc.open_array(root, "alias")[...], [1, 2, 3])
    # and a store whose root itself is a symlink works
    os.symlink(root, tmp_path / "root-link")
    np.testing.assert_array_equal(zc.open_array(tmp_path / "root-link", "real")[...], [1, 2, 3])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _populate(root: Any) -> None:
    g = zc.create_group(root, attributes={"a": 1})
    g.create_array("x", shape=(6,), chunks=(4,), dtype="f4")[...] = np.arange(6)
    g.create_array("s", shape=(8,), chunks=(2,), shards=(4,), dtype="u2")[...] = 5
    g.create_group("sub")
    zc.create_array(root, "v2", shape=(3,), dtype="i8", zarr_format=2)[...] = 1


MUTATIONS = {
    "array write": lambda g: g["x"].__setitem__(slice(0, 2), 9),
    "array partial write": lambda g: g["x"].__setitem__(5, 9),
    "shard write": lambda g: g["s"].__setitem__(1, 9),
    "v2 write": lambda g: g["v2"].__setitem__(0, 9),
    "resize": lambda g: g["x"].resize(10),
    "append": lambda g: g["x"].append(np.ones(2, "f4")),
    "array attrs set": lambda g: g["x"].attrs.__setitem__("k", 1),
    "array attrs update": lambda g: g["x"].attrs.update(k=1),
    "group attrs set": lambda g: g.attrs.__setitem__("k", 1),
    "group attrs delete": lambda g: g.attrs.__delitem__("a"),
    "create group": lambda g: g.create_group("new"),
    "create array": lambda g: g.create_array("new", shape=(1,), dtype="u1"),
    "create nested": lambda g: g["sub"].create_group("deeper"),
    "delete child": lambda g: g.__delitem__("x"),
    "consolidate": lambda g: zc.consolidate_metadata(g.store, "sub"),
}


@pytest.mark.parametrize("how", ["mode-r", "read-only-store", "read-only-memory"])
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_read_only_refuses_every_mutation(tmp_path: Path, how: str, mutation: str) -> None:
    if how == "read-only-memory":
        data: dict[str, bytes] = {}
        _populate(MemoryStore(data))
        g = zc.open_group(MemoryStore(data, read_only=True), mode="r+")
        before = dict(data)
    else:
        _populate(tmp_path)
        before = _snapshot(tmp_path)
        g = zc.open_group(tmp_path, mode="r") if how == "mode-r" else zc.open_group(LocalStore(tmp_path, read_only=True), mode="r+")
    assert g.read_only
    with pytest.raises(zc.ReadOnlyError) as info:
        MUTATIONS[mutation](g)
    assert isinstance(info.value, PermissionError) and "read-only" in str(info.value)
    assert (dict(data) if how == "read-only-memory" else _snapshot(tmp_path)) == before


def test_read_only_store_stays_readable(tmp_path: Path) -> None:
    _populate(tmp_path)
    g = zc.open_group(tmp_path, mode="r")
    np.testing.assert_array_equal(g["x"][...], np.arange(6, dtype="f4"))
    np.testing.assert_array_equal(g["s"][...], np.full(8, 5, "u2"))
    assert zc.check(tmp_path).ok
