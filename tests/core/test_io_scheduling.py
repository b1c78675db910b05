"""The chunk I/O scheduler and the read and write fast paths: real arrays on disk, real threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv import config
from zarrconv.codecs.compression import ZstdCodec
from zarrconv.core.io import run_batches, run_pipeline
from zarrconv.format.fill import is_fill
from zarrconv.store.wrappers import RecordingStore


def test_run_batches_keeps_batch_order_and_runs_at_most_threads_at_once() -> None:
    active, peak, lock = 0, 0, threading.Lock()

    def work(batch: list) -> list:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.01)
        with lock:
            active -= 1
        return [x * 2 for x in batch]

    for threads in (2, 3):
        peak = 0
        with config.set(threads=threads):
            results = run_batches(work, list(range(100)), per_worker=4)
        assert [x for r in results for x in r] == [x * 2 for x in range(100)]
        assert peak == threads  # the caller counts as one of the threads


def test_run_batches_finishes_every_batch_before_the_error_propagates() -> None:
    done: list[int] = []

    def work(batch: list) -> None:
        if batch[0] == 0:
            raise ValueError("first batch fails")
        time.sleep(0.005)
        done.extend(batch)

    with config.set(threads=2), pytest.raises(ValueError, match="first batch fails"):
        run_batches(work, list(range(64)), per_worker=8)
    assert sorted(done) == list(range(4, 64))  # all other 15 batches of 4 ran


def test_chunk_keys_of_a_path_with_percent_signs(tmp_path: Path) -> None:
    g = zc.create_group(tmp_path)
    a = g.create_array("100%_a%d", shape=(4, 4), chunks=(2, 2), dtype="i4")
    a[...] = np.arange(16).reshape(4, 4)
    assert (tmp_path / "100%_a%d" / "c" / "1" / "0").is_file()
    np.testing.assert_array_equal(zc.open_array(tmp_path, "100%_a%d")[...], np.arange(16).reshape(4, 4))
    v2 = g.create_array("b%s", shape=(4,), chunks=(2,), dtype="i4", zarr_format=2)
    v2[...] = 7
    assert (tmp_path / "b%s" / "1").is_file()


def test_a_chunk_declaring_another_size_is_refused_after_good_chunks(tmp_path: Path) -> None:
    """The zstd header is parsed once per array; a chunk whose header differs is checked in full."""
    a = zc.create_array(tmp_path, shape=(8, 8), chunks=(4, 4), dtype="f8")
    a[...] = np.arange(64.0).reshape(8, 8)
    np.testing.assert_array_equal(a[...], np.arange(64.0).reshape(8, 8))  # the header is known now
    wrong = ZstdCodec().encode(np.arange(15.0), None)  # 120 bytes where a chunk holds 128
    (tmp_path / "c" / "1" / "1").write_bytes(wrong)
    with pytest.raises(zc.CorruptChunkError, match=r"c/1/1.*decodes to 120 bytes, expected 128"):
        a[...]
    np.testing.assert_array_equal(a[:4, :], np.arange(32.0).reshape(4, 8))  # the others still read


@pytest.mark.parametrize("dtype", ["f8", "i2", "M8[s]", "c8"])
def test_fill_detection_looks_at_every_element(dtype: str) -> None:
    fill = np.zeros((), dtype)[()]
    chunk = np.zeros((5, 7), dtype)
    assert is_fill(chunk, fill)
    for where in ((0, 0), (4, 6), (2, 3)):
        other = chunk.copy()
        other[where] = np.ones((), dtype)[()] if dtype != "M8[s]" else np.datetime64(5, "s")
        assert not is_fill(other, fill)
        assert not is_fill(other.T, fill)  # strided too


def test_sharded_write_stores_each_shard_once_as_it_completes(tmp_path: Path) -> None:
    x = np.random.default_rng(1).random((16, 64))
    rec = RecordingStore(zc.store.LocalStore(tmp_path))
    a = zc.create_array(rec, shape=x.shape, chunks=(4, 8), shards=(8, 32), dtype="f8")
    rec.clear()
    with config.set(threads=2):
        a[...] = x
    assert sorted(rec.written) == sorted(f"c/{i}/{j}" for i in range(2) for j in range(2))
    np.testing.assert_array_equal(zc.open_array(tmp_path)[...], x)


def test_strided_and_contiguous_blocks_write_the_same_bytes(tmp_path: Path) -> None:
    """Strided blocks are compressed from a reused per-thread buffer: the chunks must not mix."""
    x = np.random.default_rng(2).integers(0, 1000, (64, 64)).astype("i4")
    for order, fmt in (("C", 3), ("C", 2), ("F", 3), ("F", 2)):
        a = zc.create_array(tmp_path / f"s{fmt}{order}", shape=x.shape, chunks=(8, 8), dtype="i4", zarr_format=fmt, order=order)
        b = zc.create_array(tmp_path / f"c{fmt}{order}", shape=x.shape, chunks=(8, 64), dtype="i4", zarr_format=fmt, order=order)
        with config.set(threads=2):
            a[...] = x  # 8x8 blocks of a 64x64 array: strided
            b[...] = x  # 8x64 blocks: contiguous
        np.testing.assert_array_equal(zc.open_array(tmp_path / f"s{fmt}{order}")[...], x)
        np.testing.assert_array_equal(zc.open_array(tmp_path / f"c{fmt}{order}")[...], x)


@pytest.mark.parametrize("shuffle", [0, 1, 2])
def test_v2_blosc_chunks_of_strided_blocks_are_byte_identical_to_zarr_python(tmp_path: Path, shuffle: int) -> None:
    """Blosc shuffles by the item size of what it is given: the direct write path must hand it
    the chunk in its own dtype, as zarr-python does, not as bytes."""
    zarr = pytest.importorskip("zarr")
    from numcodecs import Blosc

    x = np.random.default_rng(0).integers(0, 100, (64, 64)).astype("f4")
    ours = zc.create_array(tmp_path / "zc", shape=x.shape, chunks=(8, 8), dtype="f4", zarr_format=2,
                           compressors={"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": shuffle, "blocksize": 0})
    ours[...] = x  # 8x8 blocks of a 64x64 array: strided
    theirs = zarr.create_array(tmp_path / "zp", shape=x.shape, chunks=(8, 8), dtype="f4", zarr_format=2,
                               compressors=Blosc(cname="lz4", clevel=5, shuffle=shuffle), fill_value=0)
    theirs[...] = x
    for i in range(8):
        for j in range(8):
            assert (tmp_path / "zc" / f"{i}.{j}").read_bytes() == (tmp_path / "zp" / f"{i}.{j}").read_bytes()


def test_partial_chunks_on_a_high_latency_store_are_one_batched_read_modify_write(tmp_path: Path) -> None:
    x = np.arange(12 * 12, dtype="i4").reshape(12, 12)
    rec = RecordingStore(zc.store.LocalStore(tmp_path), prefers_single_batch=True)
    a = zc.create_array(rec, shape=x.shape, chunks=(4, 4), dtype="i4")
    a[...] = x
    rec.clear()
    a[1:11, 1:11] = -x[1:11, 1:11]  # 1 whole chunk (the middle one) and 8 partial ones
    x[1:11, 1:11] = -x[1:11, 1:11]
    partial = sorted(f"c/{i}/{j}" for i in range(3) for j in range(3) if (i, j) != (1, 1))
    assert rec.batched == [True] and sorted(k for k, _ in rec.read_calls[0]) == partial  # one get_many
    assert sorted(rec.written) == sorted([*partial, "c/1/1"])
    np.testing.assert_array_equal(zc.open_array(tmp_path)[...], x)
    rec.clear()
    a[0:4, 0] = 0
    rec.clear()
    a[0:4, 1:6] = 0  # two partial chunks; c/0/0 becomes all fill: deleted in the batch
    x[0:4, 0:6] = 0
    assert rec.batched == [True] and rec.deleted == ["c/0/0"] and rec.written == ["c/0/1"]
    np.testing.assert_array_equal(zc.open_array(tmp_path)[...], x)


@pytest.mark.parametrize(("concurrency", "per_call"), [(64, 32), (8, 4)])
def test_remote_writes_store_remote_concurrency_over_threads_chunks_per_call(concurrency: int, per_call: int) -> None:
    # a high-latency store: each set_many is what runs concurrently; batches of one chunk (as before) left
    # one request in flight per thread
    store = RecordingStore(zc.store.MemoryStore(), prefers_single_batch=True)
    data = np.arange(64 * 256 * 1024, dtype="f4").reshape(64, 256, 1024)  # 64 chunks of 1 MiB
    with config.set(threads=2, remote_concurrency=concurrency):
        a = zc.create_array(store, shape=data.shape, chunks=(1, 256, 1024), dtype="f4", compressors=None)
        store.clear()
        a[:] = data
    assert sorted(store.written) == sorted(f"c/{i}/0/0" for i in range(64))
    assert max(len(call) for call in store.write_calls) == per_call
    assert np.array_equal(a[:], data)


def _small_chunk_array(path: Path, zarr_format: int = 3) -> tuple[zc.Array, np.ndarray]:
    data = np.arange(40 * 36, dtype="f8").reshape(40, 36) * 0.5
    comp = {"name": "zstd", "configuration": {"level": 1}} if zarr_format == 3 else {"id": "zstd", "level": 1}
    a = zc.create_array(path, shape=data.shape, dtype="f8", chunks=(4, 4), compressors=comp,
                        zarr_format=zarr_format, fill_value=-1.0)
    a[...] = data
    return a, data


def _key(a: zc.Array, i: int, j: int) -> str:
    return f"c/{i}/{j}" if a.zarr_format == 3 else f"{i}.{j}"


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("threads", [1, 2])
def test_small_chunks_decoded_in_batches_read_like_numpy(tmp_path: Path, zarr_format: int, threads: int) -> None:
    """Many small zstd chunks (decoded a batch per native call): every kind of selection, missing
    chunks as the fill value, edge chunks, index arrays."""
    a, data = _small_chunk_array(tmp_path, zarr_format)
    (tmp_path / _key(a, 3, 2)).unlink()
    data[12:16, 8:12] = -1.0
    rng = np.random.default_rng(0)
    rows, cols = np.sort(rng.choice(40, 17, replace=False)), rng.permutation(36)[:11]
    with config.set(threads=threads):
        np.testing.assert_array_equal(a[...], data)
        np.testing.assert_array_equal(a[3:37, 1:35], data[3:37, 1:35])
        np.testing.assert_array_equal(a[5, :], data[5, :])
        np.testing.assert_array_equal(a[::3, 2::5], data[::3, 2::5])
        np.testing.assert_array_equal(a.oindex[rows, cols], data[np.ix_(rows, cols)])
        np.testing.assert_array_equal(a.oindex[rows, 4:30], data[rows, 4:30])


@pytest.mark.parametrize("threads", [1, 2])
def test_a_bad_chunk_in_a_batch_is_named_and_odd_good_frames_still_read(tmp_path: Path, threads: int) -> None:
    """A batch with a frame that is not exactly one chunk-sized frame is decoded chunk by chunk:
    a streaming frame (no declared size) reads; trailing bytes and truncation are refused, naming the key."""
    import zstandard

    a, data = _small_chunk_array(tmp_path)
    chunk = np.ascontiguousarray(data[8:12, 4:8])
    stream = zstandard.ZstdCompressor(write_content_size=False).compress(chunk.tobytes())
    (tmp_path / "c/2/1").write_bytes(stream)
    with config.set(threads=threads):
        np.testing.assert_array_equal(a[...], data)
        good = (tmp_path / "c/5/5").read_bytes()
        for bad in (good + b"\x00\x01trailing", good[:-3]):
            (tmp_path / "c/5/5").write_bytes(bad)
            with pytest.raises(zc.CorruptChunkError, match=r"c/5/5"):
                a[...]
        (tmp_path / "c/5/5").write_bytes(good)
        np.testing.assert_array_equal(a[...], data)


@pytest.mark.parametrize("threads", [1, 2])
def test_small_inner_chunks_of_shards_decoded_in_batches_read_like_numpy(tmp_path: Path, threads: int) -> None:
    """Inner chunks of 4x4 (one native decode per batch): several shards and one shard, a partial
    selection, index arrays, an empty inner chunk, a corrupt inner chunk named by its shard's key."""
    data = np.arange(48 * 40, dtype="f8").reshape(48, 40) * 0.25
    a = zc.create_array(tmp_path, shape=data.shape, dtype="f8", chunks=(4, 4), shards=(16, 20),
                        compressors={"name": "zstd", "configuration": {"level": 1}}, fill_value=-1.0)
    a[...] = data
    a[20:24, 4:8] = -1.0  # equal to the fill value: this inner chunk is not stored
    data[20:24, 4:8] = -1.0
    rows, cols = np.array([0, 3, 17, 18, 40, 47]), np.array([39, 2, 5, 21])
    with config.set(threads=threads):
        np.testing.assert_array_equal(a[...], data)
        np.testing.assert_array_equal(a[2:15, 3:19], data[2:15, 3:19])  # one shard
        np.testing.assert_array_equal(a[5:45:2, 1:39], data[5:45:2, 1:39])
        np.testing.assert_array_equal(a.oindex[rows, cols], data[np.ix_(rows, cols)])
    shard = tmp_path / "c" / "1" / "1"
    raw = bytearray(shard.read_bytes())
    raw[:4] = b"\xff\xff\xff\xff"  # the first inner chunk's frame header (the index is at the end)
    shard.write_bytes(bytes(raw))
    with config.set(threads=threads), pytest.raises(zc.CorruptChunkError, match=r"c/1/1"):
        a[...]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_run_pipeline_prepares_and_finishes_on_the_caller_and_keeps_going_after_an_error(threads: int) -> None:
    caller = threading.get_ident()
    seen: dict[str, set[int]] = {"prepare": set(), "finish": set(), "work": set()}
    finished: list[int] = []
    active, peak, lock = 0, 0, threading.Lock()

    def prepare(batch: list) -> list:
        seen["prepare"].add(threading.get_ident())
        return [x * 10 for x in batch]

    def work(prepared: list) -> list:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        seen["work"].add(threading.get_ident())
        time.sleep(0.002)
        with lock:
            active -= 1
        if prepared[0] == 30:
            raise ValueError("batch 3 fails")
        return [x + 1 for x in prepared]

    def finish(batch: list, result: list) -> None:
        seen["finish"].add(threading.get_ident())
        assert result == [x * 10 + 1 for x in batch]
        finished.extend(batch)

    with config.set(threads=threads), pytest.raises(ValueError, match="batch 3 fails"):
        run_pipeline([[i] for i in range(40)], prepare, work, finish)
    assert sorted(finished) == [i for i in range(40) if i != 3]  # every other batch finished
    assert seen["prepare"] == seen["finish"] == {caller}
    assert peak <= threads  # the pool runs at most threads - 1 at once, the caller one more
    if threads > 1:
        assert seen["work"] - {caller}  # the pool did some of the work


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("compressor", ["zstd", "blosc", None])
@pytest.mark.parametrize("threads", [1, 2])
def test_small_chunks_written_in_batches_store_what_one_by_one_encoding_stores(
        tmp_path: Path, zarr_format: int, compressor: str | None, threads: int) -> None:
    """Whole small chunks go through gather / fill check / encode_many / set_many: every stored
    chunk is byte for byte what encoding it alone gives, fill-valued chunks are not stored (or are,
    with write_empty_chunks), edge chunks hold the fill value beyond the array, and integer and
    index-array selections write the same as numpy."""
    comp = {"zstd": ({"name": "zstd", "configuration": {"level": 3, "checksum": True}}, {"id": "zstd", "level": 3}),
            "blosc": ({"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}},
                      {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}),
            None: (None, None)}[compressor][zarr_format == 2]
    data = np.random.default_rng(3).integers(1, 1000, (37, 45)).astype("f4")
    data[8:16, 8:16] = -2.0  # one whole chunk of the fill value
    expected = np.full(data.shape, -2.0, "f4")
    with config.set(threads=threads):
        a = zc.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 8), dtype="f4", fill_value=-2.0,
                            compressors=comp, zarr_format=zarr_format)
        a[...] = data
        expected[...] = data
        a[9, :] = np.arange(45, dtype="f4")  # partial chunks: read-modify-write, not the batch path
        expected[9, :] = np.arange(45, dtype="f4")
        rows, cols = np.array([0, 1, 2, 3, 4, 5, 6, 7]), np.array([33, 32, 34, 35, 36, 37, 38, 39, 1])
        a.oindex[rows, cols] = -data[np.ix_(rows, cols)]  # chunk (0, 4) whole through an index array
        expected[np.ix_(rows, cols)] = -data[np.ix_(rows, cols)]
        np.testing.assert_array_equal(a[...], expected)
        b = zc.create_array(tmp_path / "b", shape=data.shape, chunks=(8, 8), dtype="f4", fill_value=-2.0,
                            compressors=comp, zarr_format=zarr_format, write_empty_chunks=True)
        b[...] = np.full(data.shape, -2.0, "f4")
    cio = a.chunk_io
    sep = "/" if zarr_format == 3 else "."
    prefix = "c/" if zarr_format == 3 else ""
    for i in range(5):
        for j in range(6):
            key = f"{prefix}{i}{sep}{j}"
            chunk = np.full((8, 8), -2.0, "f4")
            part = expected[i * 8:(i + 1) * 8, j * 8:(j + 1) * 8]
            chunk[:part.shape[0], :part.shape[1]] = part
            stored = (tmp_path / "a" / key)
            if (chunk == -2.0).all():
                assert not stored.exists(), key
            else:
                assert stored.read_bytes() == bytes(cio.pipeline.encode(chunk)), key
            assert (tmp_path / "b" / key).exists(), key  # write_empty_chunks: stored all the same


@pytest.mark.parametrize(("dtype", "fill"), [("f8", 0.0), ("f4", float("nan")), ("c8", 1 + 2j), ("M8[s]", "NaT"),
                                             ("i2", 7), ("bool", True), ("V3", b"ab\x00")])
def test_fill_rows_agrees_with_is_fill_chunk_by_chunk(dtype: str, fill) -> None:
    from zarrconv.format.fill import fill_rows

    value = np.asarray(fill, dtype)[()] if dtype != "V3" else np.frombuffer(fill, "V3")[0]
    chunks = np.empty((6, 4, 5), dtype)
    chunks[...] = value
    other = {"M8[s]": np.datetime64(3, "s"), "bool": False, "V3": np.zeros((), "V3")[()]}.get(dtype, np.ones((), dtype)[()])
    chunks[1, 0, 0] = other  # differs at its first element
    chunks[2, 3, 4] = other  # differs at its last
    chunks[4, 2, 1] = other
    got = fill_rows(chunks, value)
    assert got.tolist() == [is_fill(c, value) for c in chunks] == [True, False, False, True, False, True]


def test_read_buffers_are_reused_and_bounded(tmp_path: Path) -> None:
    """Small-chunk reads of a local array go into per-thread buffers kept between reads: arrays of
    other chunk sizes read right, and the buffers kept stay within their bound, the smallest dropped."""
    from zarrconv.core import io

    arrays = []
    for i, (shape, chunks) in enumerate((((64, 64), (8, 8)), ((256, 256), (64, 64)), ((32, 4096), (16, 512)))):
        data = np.random.default_rng(i).random(shape)
        a = zc.create_array(tmp_path / str(i), shape=shape, chunks=chunks, dtype="f8")
        a[...] = data
        arrays.append((a, data))
    for _ in range(3):
        for a, data in arrays:
            for threads in (1, 2):
                with config.set(threads=threads):
                    np.testing.assert_array_equal(a[...], data)
    kept = io._local.read_buffers
    assert kept and sum(b.nbytes for b in kept) <= io._ReadBuffers._KEEP
    before = {id(b) for b in kept}
    with config.set(threads=2):
        np.testing.assert_array_equal(arrays[2][0][...], arrays[2][1])
    assert {id(b) for b in io._local.read_buffers} == before  # the same buffers again, none new


@pytest.mark.parametrize(("shape", "chunks"), [((20, 300), (1, 10)), ((6, 7, 500), (1, 2, 5)), ((4, 5000), (1, 10))])
def test_whole_small_chunks_are_stored_a_row_per_batch_where_rows_are_short(
        tmp_path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> None:
    """Each ``set_many`` of a write of whole small chunks ends at the end of a row of chunks (one
    directory of ``/``-separated keys, stored with one rename when new) unless the row is longer than
    two batches; no chunk is stored twice or left out."""
    rec = RecordingStore(zc.store.LocalStore(tmp_path))
    data = np.arange(int(np.prod(shape)), dtype="i4").reshape(shape) + 1
    with config.set(threads=2):
        a = zc.create_array(rec, shape=shape, chunks=chunks, dtype="i4")
        rec.clear()
        a[...] = data
    grid = [-(-s // c) for s, c in zip(shape, chunks)]
    row = grid[-1]
    calls = [[tuple(map(int, k.split("/")[1:])) for k in call] for call in rec.write_calls]
    assert sorted(c for call in calls for c in call) == sorted(np.ndindex(*grid))
    longest = max(len(call) for call in calls)
    for call in calls:
        ends_a_row = call[-1][-1] == row - 1
        assert ends_a_row or len(call) == longest, call[-1]
        if row <= longest // 2:  # short rows: never split between two calls
            assert call[0][-1] == 0 and ends_a_row
    np.testing.assert_array_equal(zc.open_array(tmp_path)[...], data)
