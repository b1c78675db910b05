"""``zc.check``: with crc32c in the chain, every corrupted chunk is found, and nothing else."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc

LAYOUTS = {
    "v3": {"chunks": (4, 5), "compressors": ["zstd", "crc32c"]},
    "v3-raw-crc": {"chunks": (4, 5), "compressors": ["crc32c"]},
    "v3-sharded": {"chunks": (2, 5), "shards": (4, 10), "compressors": ["gzip", "crc32c"]},
    "v2": {"chunks": (4, 5), "zarr_format": 2, "compressors": {"id": "zstd"}, "filters": [{"id": "crc32c"}]},
}


def _build(root: Path) -> dict[str, list[str]]:
    """A group with one array per layout, every chunk stored; returns the chunk file keys by array."""
    g = zc.create_group(root)
    keys = {}
    for name, kw in LAYOUTS.items():
        kw = dict(kw)
        fmt = kw.pop("zarr_format", 3)
        arr = zc.create_array(root, name, shape=(12, 10), dtype="f8", zarr_format=fmt, **kw) if fmt == 2 else \
            g.create_array(name, shape=(12, 10), dtype="f8", **kw)
        arr[...] = np.random.default_rng(len(name)).normal(size=(12, 10))
        keys[name] = sorted(k for k in arr.store.list_prefix(f"{name}/") if not k.rsplit("/", 1)[-1].startswith((".z", "zarr.json")))
    return keys


def _corrupt(path: Path, rng: random.Random, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        i = rng.randrange(len(data))
        data[i] ^= rng.randrange(1, 256)
    elif how == "burst":  # up to 4 consecutive bytes: CRC-32C detects every burst of <= 32 bits
        i = rng.randrange(len(data))
        for j in range(i, min(i + 4, len(data))):
            data[j] ^= rng.randrange(1, 256)
    elif how == "truncate":
        data = data[: rng.randrange(len(data))]
    elif how == "zero":
        data = bytearray(len(data))
    path.write_bytes(bytes(data))


def test_clean_store_has_no_problems(tmp_path: Path) -> None:
    keys = _build(tmp_path)
    report = zc.check(tmp_path)
    assert report.ok, str(report)
    assert report.arrays_checked == len(LAYOUTS)
    assert report.chunks_checked == sum(len(k) for k in keys.values())


@pytest.mark.parametrize("seed", range(6))
def test_every_corrupted_chunk_is_found(tmp_path: Path, seed: int) -> None:
    keys = _build(tmp_path)
    rng = random.Random(seed)
    all_keys = [k for ks in keys.values() for k in ks]
    victims = rng.sample(all_keys, k=rng.randrange(1, 8))
    for key in victims:
        _corrupt(tmp_path / key, rng, rng.choice(["flip", "burst", "truncate", "zero"]))
    report = zc.check(tmp_path)
    assert report.corrupted_keys == sorted(victims), str(report)
    for p in report:  # each problem names its store key and says what is wrong
        assert p.key in p.message and p.error in ("ChecksumError", "CorruptChunkError")
    untouched = [k for k in all_keys if k not in victims]
    assert untouched and not any(k in str(report) for k in untouched)


def test_every_single_byte_flip_in_a_chunk_is_found(tmp_path: Path) -> None:
    """Exhaustive over one chunk's bytes: a flip anywhere (data, compression header, checksum) is caught."""
    _build(tmp_path)
    for key in ("v3/c/1/1", "v3-sharded/c/0/0", "v2/1.1"):
        path = tmp_path / key
        original = path.read_bytes()
        for i in range(0, len(original), max(1, len(original) // 40)):
            data = bytearray(original)
            data[i] ^= 0x5A
            path.write_bytes(bytes(data))
            assert zc.check(tmp_path).corrupted_keys == [key], (key, i)
        path.write_bytes(original)
    assert zc.check(tmp_path).ok


def test_broken_metadata_is_reported_and_siblings_still_checked(tmp_path: Path) -> None:
    keys = _build(tmp_path)
    (tmp_path / "v3" / "zarr.json").write_bytes(b'{"zarr_format": 3, "node_type": "array", "shape": ')
    _corrupt(tmp_path / keys["v3-sharded"][0], random.Random(1), "flip")
    report = zc.check(tmp_path)
    assert sorted(p.error for p in report) == ["ChecksumError", "MetadataError"], str(report)
    assert any(p.key == "v3/zarr.json" for p in report)
    assert keys["v3-sharded"][0] in report.corrupted_keys


def test_check_writes_nothing(tmp_path: Path) -> None:
    _build(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    zc.check(str(tmp_path))
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
