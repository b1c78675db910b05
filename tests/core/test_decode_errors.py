"""Bad bytes in a chunk become a CorruptChunkError naming the array, the store and the key; a bug in a
codec (here a registered codec whose decode raises AttributeError or TypeError) surfaces as itself,
not disguised as corrupt data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.codecs import CODECS, register_codec
from zarrconv.codecs.base import ChunkSpec, Codec


class _BuggyCodec(Codec):
    """Stores bytes as they are; decoding raises the error named in its configuration, as a bug would."""

    name = "test.buggy"
    kind = "bytes_bytes"

    def __init__(self, error: str = "AttributeError") -> None:
        self.error = error

    def get_config(self) -> dict:
        return {"error": self.error}

    def encode(self, data: Any, spec: ChunkSpec) -> bytes:
        return bytes(data)

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> Any:
        if self.error == "AttributeError":
            return data.no_such_method()  # a real AttributeError from a real slip
        return len(None)  # a real TypeError


@pytest.fixture
def buggy_codec():
    register_codec(_BuggyCodec)
    yield
    CODECS.pop(_BuggyCodec.name, None)


@pytest.mark.parametrize("error", ["AttributeError", "TypeError"])
@pytest.mark.parametrize("selection", [np.s_[0:4], np.s_[...]], ids=["one chunk", "all chunks"])
def test_a_bug_in_a_codec_surfaces_as_itself(tmp_path, buggy_codec, error, selection):
    a = zc.create_array(tmp_path / "b.zarr", shape=(16,), chunks=(4,), dtype="i4",
                        compressors=[{"name": "test.buggy", "configuration": {"error": error}}])
    a[...] = np.arange(16)
    assert (tmp_path / "b.zarr" / "c" / "0").read_bytes() == np.arange(4, dtype="<i4").tobytes()
    with pytest.raises({"AttributeError": AttributeError, "TypeError": TypeError}[error]) as info:
        a[selection]
    assert not isinstance(info.value, zc.CorruptChunkError)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("compressor", ["zstd", "blosc", "gzip"])
def test_a_truncated_chunk_is_a_corrupt_chunk_naming_array_store_and_key(tmp_path, zarr_format, compressor):
    root = tmp_path / "t.zarr"
    a = zc.create_array(root, "grp/v", shape=(64,), chunks=(32,), dtype="f8", compressors=compressor,
                        zarr_format=zarr_format)
    a[...] = np.linspace(0, 1, 64)
    key = "c/1" if zarr_format == 3 else "1"
    chunk = root / "grp" / "v" / key
    chunk.write_bytes(chunk.read_bytes()[: len(chunk.read_bytes()) // 2])
    np.testing.assert_array_equal(a[:32], np.linspace(0, 1, 64)[:32])  # the intact chunk still reads
    with pytest.raises(zc.CorruptChunkError) as info:
        a[...]
    message = str(info.value)
    assert "'grp/v'" in message and f"grp/v/{key}" in message and str(root) in message
