"""The zstd codec (the ``zstandard`` binding) writes the frames numcodecs and zarr-python write
and read, and reads theirs: content size in the header, checksum when asked, every frame of a
concatenation, and corrupt or oversized data refused with a zarrconv error."""

from __future__ import annotations

import threading

import numcodecs
import numpy as np
import pytest
import zstandard

import zarrconv as zc
from zarrconv.codecs.compression import ZstdCodec
from zarrconv.errors import CorruptChunkError

RAW = (np.arange(4096, dtype="<f8") % 97 * 0.5).view(np.uint8)


@pytest.mark.parametrize("level,checksum", [(0, False), (3, True), (-5, False), (19, True)])
def test_our_frames_and_numcodecs_frames_read_both_ways(level, checksum):
    ours = ZstdCodec(level, checksum).encode(RAW, None)
    params = zstandard.get_frame_parameters(ours)
    assert params.content_size == RAW.nbytes and params.has_checksum == checksum
    np.testing.assert_array_equal(np.frombuffer(numcodecs.Zstd(level=level).decode(ours), np.uint8), RAW)
    theirs = numcodecs.Zstd(level=level, checksum=checksum).encode(RAW)
    np.testing.assert_array_equal(np.frombuffer(ZstdCodec().decode_exact(theirs, RAW.nbytes), np.uint8), RAW)
    out = np.empty(RAW.nbytes, np.uint8)
    ZstdCodec().decode(theirs, None, out=out)
    np.testing.assert_array_equal(out, RAW)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_reads_what_we_write_and_we_read_what_it_writes(tmp_path, zarr_format):
    zarr = pytest.importorskip("zarr")
    data = np.arange(40 * 30, dtype="i4").reshape(40, 30) % 251
    comp = {"id": "zstd", "level": 2, "checksum": True} if zarr_format == 2 else {
        "name": "zstd", "configuration": {"level": 2, "checksum": True}}
    ours = zc.create_array(str(tmp_path / "ours"), shape=data.shape, dtype="i4", chunks=(16, 16),
                           compressors=comp, zarr_format=zarr_format)
    ours[...] = data
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "ours"), mode="r")[...], data)
    key = "0.0" if zarr_format == 2 else "c/0/0"
    params = zstandard.get_frame_parameters((tmp_path / "ours" / key).read_bytes())
    assert params.content_size == 16 * 16 * 4 and params.has_checksum
    theirs = zarr.create_array(str(tmp_path / "theirs"), shape=data.shape, dtype="i4", chunks=(16, 16),
                               compressors=zarr.codecs.ZstdCodec(level=2, checksum=True) if zarr_format == 3
                               else numcodecs.Zstd(level=2, checksum=True), zarr_format=zarr_format)
    theirs[...] = data
    np.testing.assert_array_equal(zc.open_array(str(tmp_path / "theirs"), mode="r")[...], data)


def test_concatenated_frames_decode_whole_and_trailing_garbage_is_corrupt():
    half = RAW.nbytes // 2
    two = ZstdCodec().encode(RAW[:half], None) + ZstdCodec().encode(RAW[half:], None)
    np.testing.assert_array_equal(np.frombuffer(ZstdCodec().decode(two, None, RAW.nbytes), np.uint8), RAW)
    assert bytes(ZstdCodec().decode(two, None)) == bytes(RAW)
    with pytest.raises(CorruptChunkError, match="expected"):
        ZstdCodec().decode_exact(two, RAW.nbytes)  # the first frame declares half the chunk
    frame = ZstdCodec().encode(RAW, None)
    with pytest.raises(CorruptChunkError):
        ZstdCodec().decode_exact(frame + b"not a frame", RAW.nbytes)
    with pytest.raises(CorruptChunkError):
        ZstdCodec().decode_exact(frame[:-5], RAW.nbytes)


def test_streaming_frame_is_bounded_by_the_limit():
    stream = zstandard.ZstdCompressor(write_content_size=False).compress(bytes(RAW))
    assert zstandard.get_frame_parameters(stream).content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert bytes(ZstdCodec().decode(stream, None, RAW.nbytes)) == bytes(RAW)
    assert bytes(ZstdCodec().decode_exact(stream, RAW.nbytes)) == bytes(RAW)
    with pytest.raises(CorruptChunkError, match="beyond"):
        ZstdCodec().decode(stream, None, RAW.nbytes - 1)
    with pytest.raises(CorruptChunkError):
        ZstdCodec().decode_exact(stream, RAW.nbytes + 8)


def test_threads_use_their_own_contexts():
    """Contexts are per thread: many threads coding at once all get their own data back."""
    arrays = [np.random.default_rng(i).integers(0, 50, 20000, dtype=np.uint8) for i in range(8)]
    codec, failures = ZstdCodec(1, True), []

    def work(a: np.ndarray) -> None:
        for _ in range(20):
            if not np.array_equal(np.frombuffer(codec.decode_exact(codec.encode(a, None), a.nbytes), np.uint8), a):
                failures.append(a)

    threads = [threading.Thread(target=work, args=(a,)) for a in arrays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


@pytest.mark.parametrize("level,checksum", [(0, False), (3, True), (-5, False)])
def test_a_batch_compressed_in_one_call_is_the_frames_of_one_by_one(level, checksum):
    rows = (np.arange(50 * 1024, dtype="<f8") % 89 * 0.25).reshape(50, 1024).view(np.uint8)
    codec = ZstdCodec(level, checksum)
    frames = codec.encode_many(rows)
    assert frames == [codec.encode(r, None) for r in rows]
    assert all(type(f) is bytes for f in frames)
    np.testing.assert_array_equal(np.frombuffer(numcodecs.Zstd().decode(frames[7]), np.uint8), rows[7])
    assert codec.encode_many(rows[:0]) == []
