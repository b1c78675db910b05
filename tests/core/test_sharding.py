"""Sharding (``sharding_indexed``): layouts, codec chains, partial I/O and interop both ways.

Arrays are described by hand-written ``zarr.json`` documents so that every variant (index
at the start or the end, nested chains, index codecs) is written and read by zarrconv,
zarr-python and tensorstore alike. A :class:`RecordingStore` shows which byte ranges a read
asks for.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.codecs.sharding import ShardingCodec
from zarrconv.store import LocalStore, MemoryStore
from zarrconv.store.wrappers import RecordingStore

zarr = pytest.importorskip("zarr")
ts = pytest.importorskip("tensorstore")

SHAPE = (30, 45)  # edge shards: 30 = 16 + 14, 45 = 20 + 20 + 5
SHARDS = (16, 20)
INNER = (8, 10)  # 2 x 2 inner chunks per shard; edge shards have inner chunks wholly outside the array
EMPTY = 2**64 - 1

BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
BYTES_BE = {"name": "bytes", "configuration": {"endian": "big"}}
CRC = {"name": "crc32c"}
ZSTD = {"name": "zstd", "configuration": {"level": 1, "checksum": False}}
GZIP = {"name": "gzip", "configuration": {"level": 1}}
TRANSPOSE = {"name": "transpose", "configuration": {"order": [1, 0]}}

# name -> (inner codecs, index codecs, index location)
CHAINS = {
    "end-zstd": ([BYTES_LE, ZSTD], [BYTES_LE, CRC], "end"),
    "start-zstd": ([BYTES_LE, ZSTD], [BYTES_LE, CRC], "start"),
    "start-transpose-gzip-crc": ([TRANSPOSE, BYTES_BE, GZIP, CRC], [BYTES_LE, CRC], "start"),
    "end-raw-index-no-crc": ([BYTES_LE, CRC], [BYTES_LE], "end"),
}


def _doc(codecs: list, index_codecs: list, location: str, dtype: str = "int16", shape=SHAPE,
         shards=SHARDS, inner=INNER, fill=0) -> dict:
    return {
        "zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(shards)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(inner), "codecs": codecs, "index_codecs": index_codecs,
            "index_location": location}}],
        "attributes": {},
    }


def _new(path: Path, chain: str, **kw) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "zarr.json").write_text(json.dumps(_doc(*CHAINS[chain], **kw)))
    return path


def _data(shape=SHAPE, seed: int = 0) -> np.ndarray:
    """int16 data with whole inner chunks left at the fill value (0) to exercise the empty sentinel."""
    x = np.random.default_rng(seed).integers(1, 30000, shape, dtype=np.int16)
    x[0:8, 10:20] = 0  # one inner chunk of shard (0, 0) is empty
    x[16:30, 40:45] = 0  # shard (1, 2) is wholly empty: not stored at all
    return x


def _write(writer: str, path: Path, x: np.ndarray) -> None:
    if writer == "zarrconv":
        zc.open_array(str(path), mode="r+")[...] = x
    elif writer == "zarr":
        zarr.open_array(str(path), mode="r+")[...] = x
    else:
        arr = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}).result()
        arr.write(x).result()


def _read(reader: str, path: Path, sel=Ellipsis) -> np.ndarray:
    if reader == "zarrconv":
        return zc.open_array(str(path))[sel]
    if reader == "zarr":
        return zarr.open_array(str(path), mode="r")[sel]
    arr = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}).result()
    return arr[sel].read().result()


def _index(shard: bytes, cps: tuple[int, ...], location: str) -> np.ndarray:
    """The (offset, nbytes) pairs of a shard with a bytes(little)+crc32c index, parsed with numpy."""
    n = int(np.prod(cps)) * 16 + 4
    raw = shard[:n] if location == "start" else shard[-n:]
    return np.frombuffer(raw[:-4], "<u8").reshape(*cps, 2)


# -- layouts and chains, interop both ways ---------------------------------------------------

@pytest.mark.parametrize("chain", CHAINS)
@pytest.mark.parametrize("writer", ["zarrconv", "zarr", "tensorstore"])
def test_every_writer_every_reader(tmp_path, chain, writer):
    """Each implementation writes; zarrconv, zarr-python and tensorstore read the same values."""
    x = _data()
    path = _new(tmp_path / "a.zarr", chain)
    _write(writer, path, x)
    assert not (path / "c" / "1" / "2").exists()  # the all-fill shard is not stored by anyone
    for reader in ("zarrconv", "zarr", "tensorstore"):
        np.testing.assert_array_equal(_read(reader, path), x, err_msg=f"{writer} -> {reader}")
    sel = (slice(5, 29, 3), slice(17, 44))  # steps, edges, several shards
    np.testing.assert_array_equal(_read("zarrconv", path, sel), x[sel])


@pytest.mark.parametrize("writer", ["zarr", "tensorstore"])
def test_peer_written_shards_partially_read(tmp_path, writer):
    x = _data(seed=1)
    path = _new(tmp_path / "p.zarr", "end-zstd")
    _write(writer, path, x)
    a = zc.open_array(str(path))
    for sel in [(3, 7), (slice(0, 8), slice(10, 20)), (slice(9, 23), slice(31, 45)), (slice(None), 44)]:
        np.testing.assert_array_equal(a[sel], x[sel])
    np.testing.assert_array_equal(a.oindex[[0, 17, 29], [1, 44]], x[np.ix_([0, 17, 29], [1, 44])])
    np.testing.assert_array_equal(a.vindex[[0, 17, 29], [1, 20, 44]], x[[0, 17, 29], [1, 20, 44]])


def test_create_array_shards_default_index_and_peers(tmp_path):
    """zc.create_array(shards=...) writes bytes+crc32c index codecs at the end, as the spec suggests."""
    x = np.arange(24 * 30, dtype="f4").reshape(24, 30)
    a = zc.create_array(str(tmp_path / "s.zarr"), shape=x.shape, dtype=x.dtype, chunks=(4, 5), shards=(8, 15))
    a[...] = x
    assert (a.chunks, a.shards) == ((4, 5), (8, 15))
    conf = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())["codecs"][0]["configuration"]
    assert conf["index_location"] == "end"
    assert [c["name"] for c in conf["index_codecs"]] == ["bytes", "crc32c"]
    np.testing.assert_array_equal(_read("zarr", tmp_path / "s.zarr"), x)
    np.testing.assert_array_equal(_read("tensorstore", tmp_path / "s.zarr"), x)


def test_nested_sharding_round_trip_and_zarr_python(tmp_path):
    """A shard whose inner chunks are themselves shards (sharding inside the inner chain)."""
    inner_shard = {"name": "sharding_indexed", "configuration": {
        "chunk_shape": [4, 5], "codecs": [BYTES_LE, ZSTD], "index_codecs": [BYTES_LE, CRC],
        "index_location": "end"}}
    path = tmp_path / "n.zarr"
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps(_doc([inner_shard], [BYTES_LE, CRC], "start")))
    x = _data(seed=2)
    zc.open_array(str(path), mode="r+")[...] = x
    np.testing.assert_array_equal(zc.open_array(str(path))[...], x)
    np.testing.assert_array_equal(_read("zarr", path), x)
    zarr.open_array(str(path), mode="r+")[2:9, 3:33] = 5
    x[2:9, 3:33] = 5
    np.testing.assert_array_equal(zc.open_array(str(path))[...], x)


# -- the empty-chunk sentinel -----------------------------------------------------------------

@pytest.mark.parametrize("location", ["start", "end"])
def test_empty_inner_chunks_are_sentinels(tmp_path, location):
    chain = "end-zstd" if location == "end" else "start-zstd"
    path = _new(tmp_path / "e.zarr", chain)
    x = _data()
    zc.open_array(str(path), mode="r+")[...] = x
    index = _index((path / "c" / "0" / "0").read_bytes(), (2, 2), location)
    assert tuple(index[0, 1]) == (EMPTY, EMPTY)  # x[0:8, 10:20] is all fill
    assert all(tuple(index[i, j]) != (EMPTY, EMPTY) for i, j in [(0, 0), (1, 0), (1, 1)])
    # edge shard (1, 2): 45 = 40 + 5, so inner column 1 lies outside the array and is never stored
    x[16:30, 40:45] = 7
    zc.open_array(str(path), mode="r+")[...] = x
    edge = _index((path / "c" / "1" / "2").read_bytes(), (2, 2), location)
    assert tuple(edge[0, 1]) == tuple(edge[1, 1]) == (EMPTY, EMPTY)
    assert tuple(edge[0, 0]) != (EMPTY, EMPTY)
    for reader in ("zarrconv", "zarr", "tensorstore"):
        np.testing.assert_array_equal(_read(reader, path), x)


def test_shard_overwritten_with_fill_is_deleted(tmp_path):
    path = _new(tmp_path / "d.zarr", "end-zstd")
    a = zc.open_array(str(path), mode="r+")
    a[...] = _data()
    assert (path / "c" / "0" / "0").exists()
    a[0:16, 0:20] = 0  # a whole shard of fill
    assert not (path / "c" / "0" / "0").exists()
    a[0:8, 0:10] = 0  # partial write of fill into an already empty shard
    assert not (path / "c" / "0" / "0").exists()
    a[0:8, 0:10] = 3
    assert (path / "c" / "0" / "0").exists()
    a[0:8, 0:10] = 0  # read-modify-write leaving the shard empty removes it
    assert not (path / "c" / "0" / "0").exists()
    assert (zc.open_array(str(path))[0:16, 0:20] == 0).all()


# -- partial shards and read-modify-write -----------------------------------------------------

@pytest.mark.parametrize("chain", ["end-zstd", "start-transpose-gzip-crc"])
def test_partial_shard_writes_keep_other_inner_chunks(tmp_path, chain):
    location = CHAINS[chain][2]
    path = _new(tmp_path / "r.zarr", chain)
    x = _data(seed=3)
    a = zc.open_array(str(path), mode="r+")
    a[...] = x
    codec = ShardingCodec(INNER, CHAINS[chain][0], CHAINS[chain][1], location)
    before = codec.split((path / "c" / "0" / "1").read_bytes(), (2, 2))
    before = {k: bytes(v) for k, v in before.items()}
    a[9:12, 33:35] = -1  # inside inner chunk (1, 1) of shard (0, 1) only
    x[9:12, 33:35] = -1
    after = {k: bytes(v) for k, v in codec.split((path / "c" / "0" / "1").read_bytes(), (2, 2)).items()}
    assert set(after) == set(before)
    assert [k for k in before if before[k] != after[k]] == [(1, 1)]  # untouched inner chunks: same bytes
    a[14:19, 0:45] = 9  # across shard rows, partial in every shard, including edge shards
    x[14:19, 0:45] = 9
    a[29, 44] = 11  # last element: the edge shard that was empty
    x[29, 44] = 11
    for reader in ("zarrconv", "zarr", "tensorstore"):
        np.testing.assert_array_equal(_read(reader, path), x)


def test_partial_write_into_peer_written_shard(tmp_path):
    path = _new(tmp_path / "pw.zarr", "start-zstd")
    x = _data(seed=4)
    _write("tensorstore", path, x)
    zc.open_array(str(path), mode="r+").oindex[[1, 17, 18], 3:41:4] = 123
    x[np.ix_([1, 17, 18], np.arange(3, 41, 4))] = 123
    np.testing.assert_array_equal(_read("tensorstore", path), x)
    np.testing.assert_array_equal(_read("zarr", path), x)


def test_whole_shard_write_writes_each_shard_once_without_reading(tmp_path):
    path = _new(tmp_path / "w.zarr", "end-zstd")
    rec = RecordingStore(LocalStore(str(path)))
    a = zc.open_array(rec, mode="r+")
    rec.clear()
    x = _data()
    a[...] = x
    shard_keys = [f"c/{i}/{j}" for i in range(2) for j in range(3)]
    assert sorted(rec.written) == sorted(k for k in shard_keys if k != "c/1/2")  # (1, 2) is all fill
    assert rec.read_calls == []  # nothing to merge: no reads
    rec.clear()
    a[16:30, 0:20] = x[16:30, 0:20] + 1  # the whole edge shard (1, 0): still no read
    assert rec.written == ["c/1/0"] and rec.read_calls == []
    rec.clear()
    a[0:3, 0:3] = 1  # a partial shard: one read of that shard, one write
    assert rec.requests == [("c/0/0", None)] and rec.written == ["c/0/0"]


def test_concurrent_partial_writes_to_one_shard(tmp_path):
    """Threads writing different inner chunks of one shard lose nothing (the shard is locked)."""
    from concurrent.futures import ThreadPoolExecutor

    path = _new(tmp_path / "c.zarr", "end-zstd")
    a = zc.open_array(str(path), mode="r+")

    def work(k: int) -> None:
        i, j = divmod(k, 4)
        a[i * 4:(i + 1) * 4, j * 5:(j + 1) * 5] = k + 1  # 16 blocks inside shard (0, 0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(16)))
    expected = np.zeros(SHAPE, np.int16)
    for k in range(16):
        i, j = divmod(k, 4)
        expected[i * 4:(i + 1) * 4, j * 5:(j + 1) * 5] = k + 1
    np.testing.assert_array_equal(zc.open_array(str(path))[...], expected)


# -- what a read asks the store for -----------------------------------------------------------

def _recorded(tmp_path: Path, chain: str, single_batch: bool | None = None):
    path = _new(tmp_path / "rec.zarr", chain)
    x = _data()
    zc.open_array(str(path), mode="r+")[...] = x
    rec = RecordingStore(LocalStore(str(path), read_only=True), prefers_single_batch=single_batch)
    a = zc.open_array(rec)
    rec.clear()
    return a, rec, x, path


@pytest.mark.parametrize("chain", ["end-zstd", "start-zstd"])
def test_one_inner_chunk_is_two_ranges_in_two_batches(tmp_path, chain):
    a, rec, x, path = _recorded(tmp_path, chain)
    location = CHAINS[chain][2]
    np.testing.assert_array_equal(a[8:16, 20:30], x[8:16, 20:30])  # inner chunk (1, 0) of shard (0, 1)
    assert rec.batched == [True, True]  # both calls are get_many batches
    (idx_req,), (chunk_req,) = rec.read_calls
    nidx = 2 * 2 * 16 + 4
    assert idx_req == ("c/0/1", (0, nidx) if location == "start" else (-nidx, None))
    shard = (path / "c" / "0" / "1").read_bytes()
    off, n = _index(shard, (2, 2), location)[1, 0]
    assert chunk_req == ("c/0/1", (int(off), int(off + n)))
    assert 0 < n < len(shard) // 2
    assert all(r is not None for _, r in rec.requests)  # never the whole shard


def test_several_inner_chunks_of_one_shard_in_one_batch(tmp_path):
    a, rec, x, _ = _recorded(tmp_path, "end-zstd")
    np.testing.assert_array_equal(a[4:12, 22:29], x[4:12, 22:29])  # 2 of the 4 inner chunks of shard (0, 1)
    assert len(rec.read_calls) == 2
    assert len(rec.read_calls[1]) == 2
    assert {k for k, _ in rec.requests} == {"c/0/1"}


def test_empty_inner_chunk_needs_no_second_request(tmp_path):
    a, rec, x, _ = _recorded(tmp_path, "end-zstd")
    np.testing.assert_array_equal(a[0:8, 10:20], 0)  # the empty inner chunk: index says so
    assert len(rec.read_calls) == 1
    rec.clear()
    assert a[20, 41] == 0  # in the missing shard: the index request finds nothing, no second request
    assert rec.requests == [("c/1/2", (-(4 * 16 + 4), None))]


def test_many_shards_remote_style_two_batches_in_total(tmp_path):
    """With a high-latency store, all indexes go in one batch, then all inner chunks in one more."""
    a, rec, x, _ = _recorded(tmp_path, "end-zstd", single_batch=True)
    sel = (slice(9, 20), slice(12, 44))  # 6 shards, each only partly
    np.testing.assert_array_equal(a[sel], x[sel])
    assert rec.batched == [True, True]
    first, second = rec.read_calls
    assert sorted(k for k, _ in first) == sorted(f"c/{i}/{j}" for i in range(2) for j in range(3))
    assert all(r == (-(4 * 16 + 4), None) for _, r in first)
    assert all(r is not None and r[0] >= 0 for _, r in second)


def test_whole_shard_selection_reads_the_shard_once_when_requests_are_expensive(tmp_path):
    a, rec, x, _ = _recorded(tmp_path, "end-zstd", single_batch=True)
    np.testing.assert_array_equal(a[0:16, 20:40], x[0:16, 20:40])
    assert rec.requests == [("c/0/1", None)]  # every inner chunk needed: one plain read, no index round trip
    rec.clear()
    np.testing.assert_array_equal(a[16:30, 0:20], x[16:30, 0:20])  # edge shard: all in-bounds inner chunks
    assert rec.requests == [("c/1/0", None)]


def test_whole_shard_selection_on_local_disk_reads_ranges(tmp_path):
    """Local requests are cheap: index then one range per inner chunk (less CPU than one big read)."""
    a, rec, x, _ = _recorded(tmp_path, "end-zstd")
    np.testing.assert_array_equal(a[0:16, 20:40], x[0:16, 20:40])
    assert len(rec.read_calls) == 2 and len(rec.read_calls[1]) == 4
    assert all(r is not None for _, r in rec.requests)


def test_memory_store_partial_reads(tmp_path):
    store = MemoryStore()
    a = zc.create_array(store, shape=SHAPE, dtype="int16", chunks=INNER, shards=SHARDS, fill_value=0)
    x = _data()
    a[...] = x
    rec = RecordingStore(store)
    b = zc.open_array(rec)
    rec.clear()
    np.testing.assert_array_equal(b[17, 3], x[17, 3])
    assert len(rec.requests) == 2 and all(r is not None for _, r in rec.requests)


# -- corruption is reported, not returned -----------------------------------------------------

def test_corrupt_index_raises_checksum_error_naming_the_shard(tmp_path):
    path = _new(tmp_path / "x.zarr", "end-zstd")
    zc.open_array(str(path), mode="r+")[...] = _data()
    shard = bytearray((path / "c" / "0" / "1").read_bytes())
    shard[-10] ^= 0xFF
    (path / "c" / "0" / "1").write_bytes(bytes(shard))
    a = zc.open_array(str(path))
    with pytest.raises(zc.ChecksumError, match="c/0/1"):
        a[8:16, 20:30]
    with pytest.raises(zc.ChecksumError, match="c/0/1"):
        a[0:16, 20:40]  # every inner chunk of the shard
    remote_like = zc.open_array(RecordingStore(LocalStore(str(path), read_only=True), prefers_single_batch=True))
    with pytest.raises(zc.ChecksumError, match="c/0/1"):
        remote_like[0:16, 20:40]  # whole-shard read path
    np.testing.assert_array_equal(a[0:16, 0:20], _data()[0:16, 0:20])  # other shards unaffected


def test_index_pointing_outside_the_shard_is_corrupt(tmp_path):
    path = _new(tmp_path / "o.zarr", "end-raw-index-no-crc")
    zc.open_array(str(path), mode="r+")[...] = _data()
    key = path / "c" / "0" / "0"
    shard = bytearray(key.read_bytes())
    index = np.frombuffer(bytes(shard[-4 * 16:]), "<u8").copy().reshape(2, 2, 2)  # no crc32c after it
    index[1, 1] = (len(shard) + 100, 50)
    shard[-4 * 16:] = index.tobytes()
    key.write_bytes(bytes(shard))
    a = zc.open_array(str(path))
    with pytest.raises(zc.CorruptChunkError, match="c/0/0"):
        a[8:16, 10:20]
    with pytest.raises(zc.CorruptChunkError, match="c/0/0"):
        a[0:16, 0:20]


def test_truncated_shard_is_corrupt(tmp_path):
    path = _new(tmp_path / "t.zarr", "end-zstd")
    zc.open_array(str(path), mode="r+")[...] = _data()
    (path / "c" / "0" / "0").write_bytes(b"\x01\x02\x03")
    a = zc.open_array(str(path))
    with pytest.raises(zc.CorruptChunkError, match="c/0/0"):
        a[...]


def test_bytes_read_for_one_inner_chunk_are_a_fraction_of_the_shard(tmp_path):
    """Counted in bytes: index + one inner chunk, not the shard (CountingStore)."""
    from zarrconv.store.wrappers import CountingStore

    path = tmp_path / "big.zarr"
    x = np.random.default_rng(5).integers(0, 2**31 - 1, (128, 128), dtype=np.int32)  # incompressible
    zc.create_array(str(path), shape=x.shape, dtype=x.dtype, chunks=(8, 8), shards=(128, 128))[...] = x
    counting = CountingStore(LocalStore(str(path), read_only=True))
    a = zc.open_array(counting)
    before = counting.bytes_read
    np.testing.assert_array_equal(a[40:48, 8:16], x[40:48, 8:16])
    shard_size = (path / "c" / "0" / "0").stat().st_size
    got = counting.bytes_read - before
    assert counting.calls["get_many"] >= 2
    assert got < shard_size / 10, (got, shard_size)
    assert got >= 256 * 16 + 4 + 8 * 8 * 4  # the index (256 inner chunks) and one chunk were read
