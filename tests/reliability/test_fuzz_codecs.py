"""Fuzzing the codec pipeline: random and mutated chunk bytes raise ZarrconvError subclasses only.

Every chain is exercised through the public API on a real in-memory store: a whole read,
a partial read (shard byte ranges, zero-copy fast paths) and a partial write (the
read-modify-write path decodes the stored chunk too). Targeted tests check the three
classic attacks: a chunk of the wrong size, a shard index pointing outside its shard
and decompression bombs, which must fail without allocating their output.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import tracemalloc
import zlib
from typing import Any

import numcodecs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zarrconv as zc
from zarrconv.store import MemoryStore

from .conftest import expect_only_zarrconv_errors, mutated_bytes

FUZZ = settings(max_examples=int(os.environ.get("ZARRCONV_FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

SHAPE = (8, 6)

#: name -> create_array keyword arguments; every chain zarrconv reads
CHAINS: dict[str, dict[str, Any]] = {
    "v3-raw": {"compressors": None},
    "v3-gzip": {"compressors": "gzip"},
    "v3-zstd": {"compressors": "zstd"},
    "v3-blosc": {"compressors": "blosc"},
    "v3-crc32c": {"compressors": "crc32c"},
    "v3-zstd-crc32c": {"compressors": ["zstd", "crc32c"]},
    "v3-transpose-gzip": {"compressors": "gzip", "order": "F"},
    "v3-bz2": {"compressors": numcodecs.BZ2(1)},
    "v3-lzma": {"compressors": numcodecs.LZMA()},
    "v3-lz4": {"compressors": numcodecs.LZ4()},
    "v3-zlib": {"compressors": numcodecs.Zlib(1)},
    "v3-delta-zstd": {"compressors": "zstd", "filters": numcodecs.Delta("<i4")},
    "v3-sharded": {"shards": (4, 6), "chunks": (2, 3)},
    "v3-sharded-start-crc": {"shards": (8, 6), "chunks": (4, 3), "compressors": ["gzip", "crc32c"],
                             "_index_location": "start"},
    "v2-raw": {"zarr_format": 2, "compressors": None},
    "v2-zlib": {"zarr_format": 2, "compressors": {"id": "zlib", "level": 1}},
    "v2-gzip": {"zarr_format": 2, "compressors": {"id": "gzip", "level": 1}},
    "v2-bz2": {"zarr_format": 2, "compressors": {"id": "bz2", "level": 1}},
    "v2-lzma": {"zarr_format": 2, "compressors": {"id": "lzma"}},
    "v2-lz4": {"zarr_format": 2, "compressors": {"id": "lz4"}},
    "v2-zstd": {"zarr_format": 2, "compressors": {"id": "zstd"}},
    "v2-blosc": {"zarr_format": 2, "compressors": {"id": "blosc", "cname": "lz4"}},
    "v2-delta-zlib": {"zarr_format": 2, "compressors": {"id": "zlib"}, "filters": [{"id": "delta", "dtype": "<i4"}]},
    "v2-F-zstd": {"zarr_format": 2, "compressors": {"id": "zstd"}, "order": "F"},
    "v3-str-zstd": {"compressors": "zstd", "_dtype": str},
    "v3-str-sharded": {"shards": (4, 6), "chunks": (2, 3), "_dtype": str},
    "v2-str-zlib": {"zarr_format": 2, "compressors": {"id": "zlib"}, "_dtype": str},
}


def expected_data(dtype: object) -> np.ndarray:
    numbers = np.arange(48, dtype="i4").reshape(SHAPE) * 3 - 20
    return numbers.astype(str).astype(object) if dtype is str else numbers


def make(chain: str) -> tuple[zc.Array, str, bytes]:
    """A small i4 array with this chain, one stored object holding data; returns its key and bytes."""
    kwargs = dict(CHAINS[chain])
    index_location = kwargs.pop("_index_location", None)
    dtype = kwargs.pop("_dtype", "i4")
    store = MemoryStore()
    kwargs.setdefault("chunks", SHAPE)
    if index_location:
        from zarrconv.core.array import Array
        from zarrconv.core.array_metadata import build_array_metadata
        from zarrconv.core.nodes import write_node

        meta = build_array_metadata(shape=SHAPE, dtype=dtype, index_location=index_location, **kwargs)
        write_node(store, "", meta)
        arr = Array(store, "", meta)
    else:
        arr = zc.create_array(store, shape=SHAPE, dtype=dtype, **kwargs)
    arr[...] = expected_data(dtype)
    key = "0.0" if arr.zarr_format == 2 else "c/0/0"
    return arr, key, store.get(key)


SEEDS = {name: make(name) for name in CHAINS}


def _use(arr: zc.Array) -> None:
    arr[...]
    arr[1:3, 2]
    arr.oindex[[0, 5], :]
    arr[0, 0] = "99" if arr.dtype.kind == "O" else 99  # read-modify-write decodes what is stored


def _attack(chain: str, blob: bytes) -> None:
    arr, key, _ = SEEDS[chain]
    docs = {k: v for k, v in arr.store._data.items() if k in ("zarr.json", ".zarray", ".zattrs")}
    store = MemoryStore({**docs, key: blob})
    fresh = zc.open_array(store, mode="r+")
    expect_only_zarrconv_errors(_use, fresh)


@FUZZ
@given(chain=st.sampled_from(sorted(CHAINS)), data=st.data())
def test_mutated_chunks(chain: str, data: Any) -> None:
    blob = data.draw(mutated_bytes(SEEDS[chain][2]))
    _attack(chain, blob)


@FUZZ
@given(chain=st.sampled_from(sorted(CHAINS)), blob=st.binary(max_size=400))
def test_random_chunks(chain: str, blob: bytes) -> None:
    _attack(chain, blob)


def test_seeds_are_valid() -> None:
    """The fuzz seeds decode (so mutations start from real chunks)."""
    for name, (arr, _, blob) in SEEDS.items():
        assert blob, name
        expected = expected_data(CHAINS[name].get("_dtype", "i4"))
        np.testing.assert_array_equal(zc.open_array(arr.store)[...], expected, err_msg=name)


# -- targeted attacks -------------------------------------------------------------------------

@pytest.mark.parametrize("chain", ["v3-raw", "v3-gzip", "v3-zstd", "v3-blosc", "v2-raw", "v2-zlib", "v2-zstd", "v2-blosc"])
def test_chunk_of_wrong_size_is_corrupt(chain: str) -> None:
    arr, key, _ = SEEDS[chain]
    wrong = np.arange(47, dtype="i4")  # one element short
    store = MemoryStore(dict(arr.store._data))
    pipe = zc.open_array(store)._pipeline
    if chain.startswith("v3"):
        data: Any = wrong.view(np.uint8)
        for codec in pipe.bb:
            data = codec.encode(data, pipe.ab_spec)
    else:
        data = pipe.compressor.encode(wrong) if pipe.compressor else wrong.tobytes()
    store._data[key] = bytes(data)
    for sel in (Ellipsis, (slice(0, 2), 1)):
        with pytest.raises(zc.CorruptChunkError, match=key.replace(".", r"\.")):
            zc.open_array(store)[sel]


@pytest.mark.parametrize("where", ["end", "start"])
@pytest.mark.parametrize("entry", [(10**6, 4), (0, 10**6), (2**64 - 2, 4), (2**63, 2**63), (5, 2**64 - 1)])
def test_shard_index_pointing_outside_the_shard(tmp_path: Any, where: str, entry: tuple[int, int]) -> None:
    """Whole-shard and partial (byte range) reads refuse index entries outside the shard."""
    from zarrconv.core.array import Array
    from zarrconv.core.array_metadata import build_array_metadata
    from zarrconv.core.nodes import write_node

    for store in (MemoryStore(), zc.store.LocalStore(tmp_path / where / str(entry[0]))):
        meta = build_array_metadata(shape=(8,), chunks=(2,), shards=(8,), dtype="u1", compressors=None,
                                    index_location=where)
        write_node(store, "", meta)
        arr = Array(store, "", meta)
        arr[...] = np.arange(1, 9, dtype="u1")
        codec = arr._sharding
        raw = store.get("c/0")
        parts = codec.split(raw, (4,))
        index = np.array([[int(np.uint64(2**64 - 1))] * 2] * 4, dtype=np.uint64)
        offset = codec.index_size((4,)) if where == "start" else 0
        for i in range(4):
            index[i] = (offset, 2)
            offset += 2
        index[1] = entry
        body = b"".join(bytes(parts[(i,)]) for i in range(4))
        idx = codec.encode_index(index)
        store.set("c/0", idx + body if where == "start" else body + idx)
        for sel in (Ellipsis, slice(2, 4), 3):
            with pytest.raises(zc.CorruptChunkError, match="c/0"):
                zc.open_array(store)[sel]


def _zstd_rle_bomb(nblocks: int, block: int = 131072) -> bytes:
    """A streaming zstd frame (no declared size) of ``nblocks`` RLE blocks: 4 bytes per 128 KiB."""
    out = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")
    for i in range(nblocks):
        header = (1 if i == nblocks - 1 else 0) | (1 << 1) | (block << 3)
        out += header.to_bytes(3, "little") + b"\x00"
    return bytes(out)


_BIG = 16 * 2**20  # what a bomb would expand to (the chunk holds 192 bytes)
_ZEROS = None


def _bomb(kind: str) -> bytes:
    global _ZEROS
    if kind == "zstd-stream":
        return _zstd_rle_bomb(_BIG // 131072)
    if _ZEROS is None:
        _ZEROS = bytes(_BIG)
    return {
        "gzip": lambda: gzip.compress(_ZEROS, 1),
        "zlib": lambda: zlib.compress(_ZEROS, 1),
        "bz2": lambda: bz2.compress(_ZEROS, 1),
        "lzma": lambda: lzma.compress(_ZEROS, preset=0),
        "zstd": lambda: numcodecs.Zstd(1).encode(_ZEROS),
        "lz4": lambda: numcodecs.LZ4().encode(_ZEROS),
        "blosc": lambda: numcodecs.Blosc("lz4", 1).encode(_ZEROS[: 2**31 - 1 if _BIG > 2**31 else _BIG]),
    }[kind]()


BOMBS = [
    ("v3-gzip", "gzip"), ("v3-zstd", "zstd"), ("v3-zstd", "zstd-stream"), ("v3-blosc", "blosc"),
    ("v3-bz2", "bz2"), ("v3-lzma", "lzma"), ("v3-lz4", "lz4"), ("v3-zlib", "zlib"),
    ("v3-sharded-start-crc", "gzip"),
    ("v2-gzip", "gzip"), ("v2-zlib", "zlib"), ("v2-bz2", "bz2"), ("v2-lzma", "lzma"), ("v2-lz4", "lz4"),
    ("v2-zstd", "zstd"), ("v2-zstd", "zstd-stream"), ("v2-blosc", "blosc"), ("v2-delta-zlib", "zlib"),
]


@pytest.mark.parametrize(("chain", "kind"), BOMBS)
def test_decompression_bomb_is_refused_without_allocating(chain: str, kind: str) -> None:
    arr, key, _ = SEEDS[chain]
    store = MemoryStore(dict(arr.store._data))
    bomb = _bomb(kind)
    if chain.startswith("v3-sharded"):  # the bomb as an inner chunk, with a valid index and checksum
        a = zc.open_array(store)
        codec = a._sharding
        parts = dict(codec.split(store.get(key), a._chunks_per_shard))
        import google_crc32c

        parts[(0, 0)] = bomb + google_crc32c.value(bytes(bomb)).to_bytes(4, "little")
        store.set(key, codec.assemble(a._chunks_per_shard, parts))
    else:
        store._data[key] = bomb
    a = zc.open_array(store, mode="r+")
    for action in (lambda: a[...], lambda: a[0, 1], lambda: a.__setitem__((0, 0), 5)):
        tracemalloc.start()
        try:
            err = expect_only_zarrconv_errors(action)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert isinstance(err, zc.CorruptChunkError), err
        assert peak < _BIG // 4, f"{chain}/{kind}: a bomb made zarrconv allocate {peak} bytes"


@pytest.mark.parametrize("chain", ["v2-lzma", "v3-lzma"])
def test_lzma_header_declaring_a_huge_dictionary_is_refused(chain: str) -> None:
    """The lzma decoder's own memory (its dictionary) is capped too, not only its output."""
    arr, key, _ = SEEDS[chain]
    store = MemoryStore(dict(arr.store._data))
    raw = bytearray(lzma.compress(bytes(192), format=lzma.FORMAT_XZ,
                                  filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 4096}]))
    size = (raw[12] + 1) * 4  # the block header follows the 12-byte stream header
    header = raw[12:12 + size]
    assert header[2:4] == b"\x21\x01"  # one LZMA2 filter with a 1-byte property: the dictionary size
    header[4] = 36  # a 1 GiB dictionary
    header[-4:] = zlib.crc32(bytes(header[:-4])).to_bytes(4, "little")
    raw[12:12 + size] = header
    store._data[key] = bytes(raw)
    with pytest.raises(zc.CorruptChunkError, match="[Mm]emory"):
        zc.open_array(store)[...]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_string_chunk_declaring_billions_of_items_is_refused_without_allocating(zarr_format: int) -> None:
    """A vlen chunk's item count sizes the decoder's output: it is checked against the chunk shape first."""
    store = MemoryStore()
    arr = zc.create_array(store, shape=(48,), chunks=(48,), dtype=str, zarr_format=zarr_format, compressors=None)
    arr[...] = "x"
    key = "0" if zarr_format == 2 else "c/0"
    store._data[key] = (2**31).to_bytes(4, "little") + bytes(8)
    tracemalloc.start()
    try:
        err = expect_only_zarrconv_errors(lambda: arr[...])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(err, zc.CorruptChunkError) and key in str(err)
    assert peak < 2**24, f"a lying item count made zarrconv allocate {peak} bytes"
