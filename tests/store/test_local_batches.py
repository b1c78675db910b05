"""LocalStore's batched reads and writes: ``get_many`` shares one descriptor among consecutive
ranges of one file, ``read_into`` reads into the caller's buffers; ``set_many`` writes each value
through its own temporary file, named by a per-process prefix and a counter."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from zarrconv.errors import InvalidPathError
from zarrconv.store import LocalStore
from zarrconv.store import local as local_module


def _store(tmp_path: Path, files: dict[str, bytes]) -> LocalStore:
    for key, value in files.items():
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)
    return LocalStore(tmp_path)


@pytest.mark.parametrize("size", [0, 1, 2**16 - 1, 2**16, 2**16 + 1, 3 * 2**20 + 7])
def test_get_many_reads_whole_files_of_every_size(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    store = _store(tmp_path, {"c/0": data, "c/1": b"x"})
    assert store.get_many([("c/0", None), ("c/1", None), ("c/0", None)]) == [data, b"x", data]
    assert store.get("c/0") == data


def test_get_many_missing_keys_and_directories_read_as_none_without_hiding_the_others(tmp_path: Path) -> None:
    store = _store(tmp_path, {"a/b": b"one", "c": b"two"})
    got = store.get_many([("a", None), ("a/b", None), ("missing", None), ("a/b/deeper", None), ("c", None)])
    assert got == [None, b"one", None, None, b"two"]


def test_get_many_ranges_of_one_file_and_of_several(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    store = _store(tmp_path, {"s/0": data, "s/1": data[::-1]})
    requests = [("s/0", (0, 10)), ("s/0", (100, 200)), ("s/0", (-16, None)), ("s/0", (10_000, 20_000)),
                ("s/1", (5, 9)), ("s/0", (3, None)), ("s/0", (50, 40)), ("gone", (0, 4))]
    expected = [data[0:10], data[100:200], data[-16:], data[10_000:], data[::-1][5:9], data[3:], b"", None]
    assert store.get_many(requests) == expected
    assert [store.get(k, r) for k, r in requests] == expected


def test_get_many_refuses_keys_that_leave_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path / "root", {"a": b"1"})
    (tmp_path / "secret").write_bytes(b"no")
    for key in ("../secret", "/etc/passwd", "a/../../secret"):
        with pytest.raises(InvalidPathError):
            store.get_many([("a", None), (key, None)])


def test_get_many_opens_one_descriptor_for_consecutive_ranges_of_a_file(tmp_path: Path, monkeypatch) -> None:
    store = _store(tmp_path, {"s/0": b"a" * 1000, "s/1": b"b" * 1000})
    opened: list[str] = []
    real_open = os.open

    def counting_open(path, flags, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(local_module.os, "open", counting_open)
    store.get_many([("s/0", (i * 10, i * 10 + 10)) for i in range(50)] + [("s/1", (0, 5)), ("s/0", (0, 5))])
    assert [Path(p).name for p in opened] == ["0", "1", "0"]


def test_set_many_writes_every_value_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    items = {f"c/{i}/{j}": os.urandom(100 + i + j) for i in range(5) for j in range(7)}
    store.set_many(items)
    store.set_many({"c/0/0": b"again", "c/9/9": [b"par", b"ts"]})
    items.update({"c/0/0": b"again", "c/9/9": b"parts"})
    assert {k: store.get(k) for k in items} == items
    assert not [p for p in tmp_path.rglob("*") if local_module._TMP_MARK in p.name]
    assert sorted(store.list_prefix("")) == sorted(items)


def test_temporary_names_are_unique_across_threads_and_forked_children(tmp_path: Path) -> None:
    names: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [local_module._temporary_name(str(tmp_path)) for _ in range(2000)]
        with lock:
            names.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == len(names) == 8000
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new prefix, so its counter may restart at the parent's values safely
        os.write(write_fd, local_module._temporary_name(str(tmp_path)).encode())
        os._exit(0)
    os.close(write_fd)
    child = os.read(read_fd, 4096).decode()
    os.close(read_fd)
    os.waitpid(pid, 0)
    parent = local_module._temporary_name(str(tmp_path))
    assert child.rsplit("-", 1)[0] != parent.rsplit("-", 1)[0]


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_read_into_reports_sizes_absent_keys_and_values_larger_than_their_view(tmp_path: Path, kind: str) -> None:
    from zarrconv.store import MemoryStore

    files = {"a": b"12345", "b": b"x" * 8, "c": b"y" * 9, "d/e": b""}
    if kind == "local":
        store = _store(tmp_path, files)
        assert store.reads_into
    else:
        store = MemoryStore()
        store.set_many(files)
        assert not store.reads_into  # it copies from get_many: the core reads such stores with get_many
    buf = bytearray(8 * 6)
    views = [memoryview(buf)[i * 8:(i + 1) * 8] for i in range(6)]
    assert store.read_into(["a", "b", "c", "missing", "d/e", "d"], views) == [5, 8, -1, None, 0, None]
    assert bytes(views[0][:5]) == b"12345" and bytes(views[1]) == b"x" * 8


def test_a_chunk_file_larger_than_any_chunk_is_refused_by_name(tmp_path: Path) -> None:
    import numpy as np

    import zarrconv as zc
    from zarrconv import config

    data = np.arange(32 * 32, dtype="f8").reshape(32, 32)
    a = zc.create_array(tmp_path, shape=data.shape, chunks=(8, 8), dtype="f8")
    a[...] = data
    good = (tmp_path / "c" / "1" / "2").read_bytes()
    (tmp_path / "c" / "1" / "2").write_bytes(good + os.urandom(4096))  # more than a frame of 512 bytes can be
    for threads in (1, 2):
        with config.set(threads=threads), pytest.raises(zc.CorruptChunkError, match=r"c/1/2"):
            a[...]
    (tmp_path / "c" / "1" / "2").write_bytes(good)
    np.testing.assert_array_equal(a[...], data)


def _renames_of_directories(monkeypatch) -> list[tuple[str, str]]:
    """Record every ``os.rename`` (the store renames files with ``os.replace``, directories with this)."""
    renamed: list[tuple[str, str]] = []
    real_rename = os.rename

    def recording_rename(src, dst, *args, **kwargs):
        real_rename(src, dst, *args, **kwargs)
        renamed.append((os.fspath(src), os.fspath(dst)))

    monkeypatch.setattr(local_module.os, "rename", recording_rename)
    return renamed


def test_set_many_moves_each_new_directory_into_place_with_one_rename(tmp_path: Path, monkeypatch) -> None:
    store = LocalStore(tmp_path)
    store.set("c/1/0", b"before")  # c/1 exists: its keys go one by one, each through its own temporary file
    renamed = _renames_of_directories(monkeypatch)
    items = {f"c/{i}/{j}": os.urandom(50 + 7 * i + j) for i in range(4) for j in range(20)}
    items["c/4/0"] = [b"only ", b"one"]  # a new directory of one key: no directory of its own
    store.set_many(items)
    items["c/4/0"] = b"only one"
    assert {k: store.get(k) for k in items} == items
    assert [os.path.relpath(dst, tmp_path) for _, dst in renamed] == ["c/0", "c/2", "c/3"]
    assert not [p for p in tmp_path.rglob("*") if local_module._TMP_MARK in p.name]


def test_set_many_into_a_new_directory_that_another_writer_creates_meanwhile(tmp_path: Path, monkeypatch) -> None:
    """The directory appears after the temporary one is made: the rename of the whole directory
    fails, and each file is renamed into the other writer's directory, keeping its key."""
    store, other = LocalStore(tmp_path), LocalStore(tmp_path)
    real_mkdir = os.mkdir

    def mkdir_then_other_writer(path, *args, **kwargs):
        real_mkdir(path, *args, **kwargs)
        if local_module._TMP_MARK in os.path.basename(path):
            other.set("c/0/99", b"theirs")

    monkeypatch.setattr(local_module.os, "mkdir", mkdir_then_other_writer)
    renamed = _renames_of_directories(monkeypatch)
    store.set_many({"c/0/0": b"zero", "c/0/1": b"one"})
    assert renamed == []
    assert {k: store.get(k) for k in ("c/0/0", "c/0/1", "c/0/99")} == {"c/0/0": b"zero", "c/0/1": b"one",
                                                                         "c/0/99": b"theirs"}
    assert sorted(store.list_prefix("")) == ["c/0/0", "c/0/1", "c/0/99"]
    assert not [p for p in tmp_path.rglob("*") if local_module._TMP_MARK in p.name]


def test_threads_writing_keys_of_the_same_new_directories_lose_none(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    n_dirs, per_thread = 40, 30
    start = threading.Barrier(2)
    values = {t: {f"c/{i}/{t * per_thread + j}": os.urandom(64) for i in range(n_dirs) for j in range(per_thread)}
              for t in range(2)}
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            start.wait()
            for i in range(n_dirs):  # each directory: this thread's 30 keys while the other writes its 30
                store.set_many({k: v for k, v in values[t].items() if k.startswith(f"c/{i}/")})
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(2)]
    [th.start() for th in threads]
    [th.join() for th in threads]
    assert errors == []
    expected = {**values[0], **values[1]}
    assert {k: store.get(k) for k in expected} == expected
    assert sorted(store.list_prefix("")) == sorted(expected)
    assert not [p for p in tmp_path.rglob("*") if local_module._TMP_MARK in p.name]


def test_a_killed_writers_new_directory_is_neither_listed_nor_read(tmp_path: Path) -> None:
    """A writer killed before its rename leaves a temporary directory full of files: they are no keys."""
    store = LocalStore(tmp_path)
    store.set("c/1/0", b"kept")
    dead = tmp_path / "c" / f"{local_module._TMP_MARK}dead-1"
    dead.mkdir()
    (dead / "0").write_bytes(b"never renamed")
    assert list(store.list_prefix("")) == ["c/1/0"]
    assert store.list_dir("c/") == ([], ["1"])
    assert store.get("c/0/0") is None


def test_set_many_with_fsync_into_new_directories(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, fsync=True)
    items = {f"a/{i}/{j}": bytes([i, j]) * 10 for i in range(2) for j in range(3)}
    store.set_many(items)
    assert {k: store.get(k) for k in items} == items


def test_set_many_into_a_root_that_does_not_exist_yet_writes_nothing_beside_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "new.zarr")
    store.set_many({"zarr.json": b"{}", "a": b"1", "b/0": b"2", "b/1": b"3"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.zarr"]
    assert {k: store.get(k) for k in ("zarr.json", "a", "b/0", "b/1")} == {"zarr.json": b"{}", "a": b"1",
                                                                           "b/0": b"2", "b/1": b"3"}
