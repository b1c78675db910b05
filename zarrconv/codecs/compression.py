"""Bytes-to-bytes codecs: gzip, zstd, blosc and the crc32c checksum.

Every decoder refuses output larger than the limit the pipeline computes from the chunk
size, so a corrupt or hostile chunk cannot make zarrconv allocate without bound.
"""

from __future__ import annotations

import threading
import zlib
from typing import Any

import numpy as np
import zstandard

from ..errors import ChecksumError, CorruptChunkError, MetadataError
from .base import DECODE_ERRORS, ChunkSpec, Codec, register_codec


def _as_bytes_like(data: Any) -> Any:
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8) if data.flags.c_contiguous else np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    return data


def inflate(data: Any, limit: int | None, wbits: int = 47, name: str = "gzip") -> bytes:
    """Decompress gzip or zlib data (``wbits`` as zlib takes it: 47 for either header, 15 for zlib), stopping
    at ``limit + 1`` bytes: data that would expand beyond ``limit`` bytes, is truncated or corrupt raises a
    :class:`CorruptChunkError` (so a decompression bomb costs at most ``limit`` bytes)."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(_as_bytes_like(data), limit + 1 if limit else 0)
    except zlib.error as e:
        raise CorruptChunkError(f"{name} data is corrupt: {e}") from None
    if limit is not None and (len(out) > limit or d.unconsumed_tail):
        raise CorruptChunkError(f"{name} data expands beyond the {limit} bytes a chunk can hold")
    if not d.eof:
        raise CorruptChunkError(f"{name} data is truncated")
    return out


@register_codec
class GzipCodec(Codec):
    """gzip (RFC 1952) at a level 0-9, through zlib (which releases the GIL)."""

    name = "gzip"
    kind = "bytes_bytes"

    def __init__(self, level: int = 5) -> None:
        if not isinstance(level, int) or not 0 <= level <= 9:
            raise MetadataError(f"gzip level {level!r} must be an integer 0-9")
        self.level = level

    def get_config(self) -> dict:
        return {"level": self.level}

    def encode(self, data: Any, spec: ChunkSpec) -> bytes:
        c = zlib.compressobj(self.level, zlib.DEFLATED, 31)
        return c.compress(_as_bytes_like(data)) + c.flush()

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> bytes:
        return inflate(data, limit)  # gzip or zlib header


class _ZstdContexts(threading.local):
    """This thread's zstd contexts: one decompressor, and a compressor per (level, checksum).

    A context is reused for every chunk this thread handles (creating one per call costs ~10 us,
    the time of decompressing a few KiB), and is never shared: zstd contexts are not thread-safe.
    """

    def __init__(self) -> None:
        self.decompressor = zstandard.ZstdDecompressor()
        self.compressors: dict[tuple[int, bool], zstandard.ZstdCompressor] = {}

    def compressor(self, level: int, checksum: bool) -> zstandard.ZstdCompressor:
        c = self.compressors.get((level, checksum))
        if c is None:  # the content size goes into every frame header, as numcodecs and zarr-python write it
            c = self.compressors[(level, checksum)] = zstandard.ZstdCompressor(
                level=level, write_checksum=checksum, write_content_size=True)
        return c


_zstd = _ZstdContexts()


@register_codec
class ZstdCodec(Codec):
    """Zstandard at a level (negative for fast modes), optionally with its frame checksum.

    Through the ``zstandard`` binding: per-thread reusable contexts, the GIL released while
    (de)compressing, and decompression straight into the caller's buffer.
    """

    name = "zstd"
    kind = "bytes_bytes"

    def __init__(self, level: int = 0, checksum: bool = False) -> None:
        if not isinstance(level, int) or not -131072 <= level <= 22:
            raise MetadataError(f"zstd level {level!r} must be an integer <= 22")
        self.level = level
        self.checksum = bool(checksum)
        self._known_header: tuple[int, bytes] | None = None  # see decode_exact

    def get_config(self) -> dict:
        return {"level": self.level, "checksum": self.checksum}

    def encode(self, data: Any, spec: ChunkSpec) -> bytes:
        return _zstd.compressor(self.level, self.checksum).compress(_as_bytes_like(data))

    def encode_many(self, rows: np.ndarray) -> list[bytes]:
        """One frame per row of a C-contiguous 2-D ``uint8`` array, compressed in one native call
        (the GIL released for the whole batch); the frames are those :meth:`encode` makes."""
        n, nbytes = rows.shape
        if n == 0 or nbytes == 0:
            return [self.encode(r, None) for r in rows]
        segments = np.empty((n, 2), np.uint64)  # (offset, length) of each row, as BufferWithSegments takes them
        segments[:, 0] = np.arange(0, n * nbytes, nbytes, dtype=np.uint64)
        segments[:, 1] = nbytes
        frames = _zstd.compressor(self.level, self.checksum).multi_compress_to_buffer(
            zstandard.BufferWithSegments(rows, segments), threads=1)
        return [frames[i].tobytes() for i in range(n)]

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None, out: Any = None) -> Any:
        if out is not None:
            view = memoryview(out).cast("B")
            _zstd_read_exact(data, view, view.nbytes)
            return out
        if limit is None:  # no bound known (variable-size items): every frame, whole
            try:
                return _zstd.decompressor.stream_reader(data, read_across_frames=True).readall()
            except zstandard.ZstdError as e:
                raise CorruptChunkError(f"zstd data is corrupt: {e}") from None
        size, _ = _zstd_header(data)
        if size is not None and size > limit:
            raise CorruptChunkError(f"zstd frame declares {size} bytes, more than the {limit} a chunk can hold")
        # frames (streaming ones too, or several in a row) decode into at most ``limit`` bytes
        buf = np.empty(limit, np.uint8)
        done = _zstd_read(data, memoryview(buf), limit)
        return buf if done == limit else buf[:done]

    def decode_exact(self, data: Any, nbytes: int, out: Any = None) -> Any:
        """Decode a frame that must hold exactly ``nbytes`` bytes, into ``out`` (a writable
        buffer of that size) or, without it, into a new buffer.

        The frame header is checked first, so a hostile header never sizes an allocation. Chunks
        of one array share their header bytes up to the size field, so a header equal to the last
        one checked is not parsed again (~3 us a chunk).
        """
        known = self._known_header
        b = data if isinstance(data, bytes) else memoryview(data).cast("B")
        if known is None or known[0] != nbytes or b[:len(known[1])] != known[1]:
            size, end = _zstd_header(b)
            if size is not None and size != nbytes:
                raise CorruptChunkError(f"chunk decodes to {size} bytes, expected {nbytes}")
            if size is not None:
                self._known_header = (nbytes, bytes(b[:end]))
        if out is None:
            out = np.empty(nbytes, np.uint8)
        _zstd_read_exact(b, memoryview(out).cast("B"), nbytes)
        return out

    def frames_hold_exactly(self, frames: list, nbytes: int) -> bool:
        """Whether each of ``frames`` is one whole frame declaring ``nbytes`` bytes, so that
        :meth:`decompress_many` decodes the batch; False for any other (corrupt, a streaming frame,
        trailing bytes, several frames): the caller then decodes one by one, which names the culprit."""
        try:
            return self._frames_hold_exactly(frames, nbytes)
        except CorruptChunkError:  # a bad header
            return False

    @staticmethod
    def decompress_many(frames: list, nbytes: int) -> Any:
        """Decode frames of ``nbytes`` bytes each (see :meth:`frames_hold_exactly`) in one native call,
        the GIL released for the whole batch; indexing the result gives each as a buffer. None if
        libzstd refuses one. The output size of each is ``nbytes``, whatever its header says."""
        sizes = np.full(len(frames), nbytes, np.uint64)
        try:
            return _zstd.decompressor.multi_decompress_to_buffer(frames, decompressed_sizes=sizes, threads=1)
        except zstandard.ZstdError:
            return None

    def _frames_hold_exactly(self, frames: list, nbytes: int) -> bool:
        """Whether each of ``frames`` is one whole frame declaring ``nbytes`` bytes (headers equal to
        the codec's last checked one are compared bytewise, not parsed)."""
        known = self._known_header
        if known is None or known[0] != nbytes:
            if not frames:
                return True
            b = frames[0] if isinstance(frames[0], bytes) else memoryview(frames[0]).cast("B")
            size, end = _zstd_header(b)
            if size != nbytes:
                return False
            known = self._known_header = (nbytes, bytes(b[:end]))
        head = known[1]
        end = len(head)
        for f in frames:
            b = f if isinstance(f, bytes) else memoryview(f).cast("B")
            if b[:end] != head:
                size, fend = _zstd_header(b)
                if size != nbytes or _zstd_frame_end(b, fend) != len(b):
                    return False
            elif _zstd_frame_end(b, end) != len(b):
                return False
        return True


def _zstd_read(data: Any, view: memoryview, limit: int) -> int:
    """Decode every frame of ``data`` into ``view`` (``limit`` bytes at most); the count decoded.

    Frames are read as libzstd's one-shot decoder reads them: concatenated frames in turn, and
    anything after the last one that is not a frame is an error (never ignored).
    """
    try:
        reader = _zstd.decompressor.stream_reader(data, read_across_frames=True)
        done = 0
        while done < len(view):
            n = reader.readinto(view[done:])
            if not n:
                break
            done += n
        if done == len(view) and reader.read(1):
            raise CorruptChunkError(f"zstd data expands beyond the {limit} bytes a chunk can hold")
    except zstandard.ZstdError as e:
        raise CorruptChunkError(f"zstd data is corrupt: {e}") from None
    return done


def _zstd_read_exact(data: Any, view: memoryview, nbytes: int) -> None:
    """Decode ``data`` into ``view``, which it must fill exactly."""
    done = _zstd_read(data, view, nbytes)
    if done != nbytes:
        raise CorruptChunkError(f"chunk decodes to {done} bytes, expected {nbytes}")


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_FCS_BYTES = ((0, 1), (2, 2), (4, 4), (8, 8))  # per Frame_Content_Size_flag: (bytes if multi-segment, if single)
_DID_BYTES = (0, 1, 2, 4)


def _zstd_header(data: Any) -> tuple[int | None, int]:
    """``(content size or None, end of the header's size field)`` of a zstd frame."""
    b = data if isinstance(data, bytes) else memoryview(data).cast("B")
    if len(b) < 6 or b[:4] != _ZSTD_MAGIC:
        raise CorruptChunkError("not a zstd frame (bad magic number)")
    fhd = b[4]
    single = (fhd >> 5) & 1
    pos = 6 - single + _DID_BYTES[fhd & 3]
    nbytes = _FCS_BYTES[fhd >> 6][single]
    if nbytes == 0:
        return None, pos
    if len(b) < pos + nbytes:
        raise CorruptChunkError("zstd frame header is truncated")
    size = int.from_bytes(b[pos:pos + nbytes], "little")
    return (size + 256 if nbytes == 2 else size), pos + nbytes


def _zstd_frame_end(b: Any, pos: int) -> int:
    """Where the frame whose header ends at ``pos`` ends (-1 if its blocks run past the data)."""
    n = len(b)
    while True:
        if pos + 3 > n:
            return -1
        h = b[pos] | b[pos + 1] << 8 | b[pos + 2] << 16
        kind = (h >> 1) & 3  # raw, RLE (one byte stored), compressed, reserved
        if kind == 3:
            return -1
        pos += 3 + (1 if kind == 1 else h >> 3)
        if h & 1:  # the last block
            return pos + (4 if b[4] & 4 else 0)  # the content checksum


def blosc_sizes(data: Any) -> tuple[int, int]:
    """``(nbytes, cbytes)`` a blosc 1 header declares: decoded size and compressed size.

    Parsed here (16-byte header: version, versionlz, flags, typesize, then little-endian
    uint32 nbytes, blocksize, cbytes) so that no allocation depends on an unchecked header.
    """
    b = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    if len(b) < 16:
        raise CorruptChunkError(f"blosc data of {len(b)} bytes is shorter than its 16-byte header")
    nbytes = int.from_bytes(bytes(b[4:8]), "little")
    cbytes = int.from_bytes(bytes(b[12:16]), "little")
    if cbytes < 16:
        raise CorruptChunkError(f"blosc header declares an impossible compressed size of {cbytes} bytes")
    return nbytes, cbytes


_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
_SHUFFLE_NAMES = {v: k for k, v in _SHUFFLE.items()}


@register_codec
class BloscCodec(Codec):
    """Blosc with any of its compressors and byte/bit shuffling."""

    name = "blosc"
    kind = "bytes_bytes"

    def __init__(self, cname: str = "zstd", clevel: int = 5, shuffle: Any = "shuffle",
                 typesize: int | None = None, blocksize: int = 0) -> None:
        from numcodecs import Blosc

        if isinstance(shuffle, int):
            shuffle = _SHUFFLE_NAMES.get(shuffle, shuffle)
        if shuffle not in _SHUFFLE:
            raise MetadataError(f"blosc shuffle {shuffle!r} must be one of {list(_SHUFFLE)}")
        if cname not in ("lz4", "lz4hc", "blosclz", "zstd", "zlib", "snappy"):
            raise MetadataError(f"blosc cname {cname!r} is unknown")
        self.cname, self.clevel, self.shuffle = cname, int(clevel), shuffle
        self.typesize, self.blocksize = typesize, int(blocksize)
        self._codec = Blosc(cname=cname, clevel=self.clevel, shuffle=_SHUFFLE[shuffle],
                            blocksize=self.blocksize, typesize=typesize)

    def get_config(self) -> dict:
        conf: dict[str, Any] = {"cname": self.cname, "clevel": self.clevel, "shuffle": self.shuffle,
                                "blocksize": self.blocksize}
        if self.typesize is not None:
            conf["typesize"] = self.typesize
        return conf

    def encode(self, data: Any, spec: ChunkSpec) -> bytes:
        return self._codec.encode(_as_bytes_like(data))

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None, out: Any = None) -> Any:
        return self._decode(data, limit, out, exact=False)

    def decode_exact(self, data: Any, nbytes: int, out: Any = None) -> Any:
        """Decode data that must hold exactly ``nbytes`` bytes (into ``out`` when given)."""
        return self._decode(data, nbytes, out, exact=True)

    def _decode(self, data: Any, limit: int | None, out: Any, exact: bool) -> Any:
        """Check the sizes the header declares (once), then decode."""
        nbytes, cbytes = blosc_sizes(data)
        if exact and nbytes != limit:
            raise CorruptChunkError(f"chunk decodes to {nbytes} bytes, expected {limit}")
        if limit is not None and nbytes > limit:
            raise CorruptChunkError(f"blosc data declares {nbytes} bytes, more than the {limit} a chunk can hold")
        if cbytes > len(memoryview(data).cast("B")):
            raise CorruptChunkError(f"blosc data is truncated: {len(data)} of {cbytes} bytes")
        try:
            return self._codec.decode(data, out=out)
        except DECODE_ERRORS as e:  # numcodecs raises RuntimeError on bad data, ValueError on a bad out
            raise CorruptChunkError(f"blosc data is corrupt: {e}") from None


@register_codec
class Crc32cCodec(Codec):
    """Appends a CRC-32C checksum (4 bytes, little endian); a mismatch on read raises."""

    name = "crc32c"
    kind = "bytes_bytes"

    def __init__(self) -> None:
        pass

    def get_config(self) -> dict:
        return {}

    def encoded_size_bound(self, n: int | None) -> int | None:
        return None if n is None else n + 4

    def encode(self, data: Any, spec: ChunkSpec) -> bytes:
        import google_crc32c

        raw = bytes(_as_bytes_like(data))
        return raw + google_crc32c.value(raw).to_bytes(4, "little")

    def decode(self, data: Any, spec: ChunkSpec, limit: int | None = None) -> Any:
        import google_crc32c

        view = memoryview(data).cast("B")
        if len(view) < 4:
            raise CorruptChunkError(f"chunk of {len(view)} bytes is too short to hold a crc32c checksum")
        body = bytes(view[:-4])  # google_crc32c takes bytes, not views
        stored = int.from_bytes(view[-4:], "little")
        actual = google_crc32c.value(body)
        if stored != actual:
            raise ChecksumError(f"crc32c checksum mismatch (stored {stored:#010x}, computed {actual:#010x})")
        return body
