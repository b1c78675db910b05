"""The implementations the benchmarks compare, behind one small interface.

Each :class:`Lib` creates an array with the same codecs as the others (bytes little
endian, zstd level 0 without checksum; sharded arrays use the default shard index codecs
bytes + crc32c at the end), writes a whole numpy array, reads it back whole, and reads a
region through an already opened handle.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

ZSTD_V3 = {"name": "zstd", "configuration": {"level": 0, "checksum": False}}
BYTES_V3 = {"name": "bytes", "configuration": {"endian": "little"}}


@dataclass
class Layout:
    """Shape, data type, chunk (inner chunk) shape and optional shard shape of an array."""

    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    @property
    def nchunks(self) -> int:
        return int(np.prod([-(-s // c) for s, c in zip(self.shape, self.chunks)]))


class Lib:
    """One implementation under test; ``threads`` (None: the implementation's default) is the
    number of threads it may use for chunk I/O and codecs, set as far as it allows."""

    name: str = ""
    module: str = ""
    threads: int | None = None

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def context(self) -> contextlib.AbstractContextManager:
        """Settings that must be active while opening, reading and writing."""
        return contextlib.nullcontext()

    def write(self, path: str, data: np.ndarray, layout: Layout) -> None:
        raise NotImplementedError

    def open(self, path: str) -> Any:
        raise NotImplementedError

    def read(self, handle: Any, selection: Any = Ellipsis) -> np.ndarray:
        raise NotImplementedError


class Zarrconv(Lib):
    name = "zarrconv"
    module = "zarrconv"

    def context(self) -> contextlib.AbstractContextManager:
        import zarrconv as zc

        return zc.config.set(threads=self.threads) if self.threads else contextlib.nullcontext()

    def write(self, path: str, data: np.ndarray, layout: Layout) -> None:
        import zarrconv as zc

        a = zc.create_array(path, shape=layout.shape, dtype=layout.dtype, chunks=layout.chunks,
                            shards=layout.shards, compressors=ZSTD_V3, fill_value=0, overwrite=True)
        a[...] = data

    def open(self, path: str) -> Any:
        import zarrconv as zc

        return zc.open_array(path, mode="r")

    def read(self, handle: Any, selection: Any = Ellipsis) -> np.ndarray:
        return handle[selection]


class ZarrPython(Lib):
    """zarr-python with one of its codec pipelines (None: the default one)."""

    module = "zarr"

    def __init__(self, name: str, pipeline: str | None) -> None:
        self.name = name
        self.pipeline = pipeline

    def available(self) -> bool:
        if not super().available():
            return False
        if self.pipeline is None:
            return True
        mod, _, cls = self.pipeline.rpartition(".")
        if importlib.util.find_spec(mod.split(".")[0]) is None:
            return False
        try:
            return hasattr(importlib.import_module(mod), cls)
        except ImportError:
            return False

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        import zarr

        settings: dict[str, Any] = {}
        if self.pipeline is not None:
            settings["codec_pipeline.path"] = self.pipeline
        if self.threads:  # zarr-python's thread pool; the zarrs pipeline sizes its Rust pool from it too
            settings["threading.max_workers"] = self.threads
        if not settings:
            yield
            return
        with zarr.config.set(settings):
            yield

    def write(self, path: str, data: np.ndarray, layout: Layout) -> None:
        import zarr
        from zarr.codecs import ZstdCodec

        a = zarr.create_array(store=path, shape=layout.shape, dtype=layout.dtype, chunks=layout.chunks,
                              shards=layout.shards, compressors=ZstdCodec(level=0, checksum=False),
                              fill_value=0, overwrite=True)
        a[...] = data

    def open(self, path: str) -> Any:
        import zarr

        return zarr.open_array(path, mode="r")

    def read(self, handle: Any, selection: Any = Ellipsis) -> np.ndarray:
        return handle[selection]


class Tensorstore(Lib):
    name = "tensorstore"
    module = "tensorstore"

    _context: Any = None

    def _spec(self, path: str) -> dict:
        return {"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}

    def _ts_context(self) -> Any:
        """One tensorstore context for the run: codec work gets ``threads`` threads. File I/O keeps
        its own concurrency: tensorstore syncs every file it writes, so fewer writes in flight
        measure the disk's sync latency, not the threads' work."""
        import tensorstore as ts

        if self._context is None:
            conf = {} if not self.threads else {"data_copy_concurrency": {"limit": self.threads}}
            self._context = ts.Context(conf)
        return self._context

    def write(self, path: str, data: np.ndarray, layout: Layout) -> None:
        import tensorstore as ts

        shutil.rmtree(path, ignore_errors=True)
        inner = [BYTES_V3, ZSTD_V3]
        if layout.shards is not None:
            codecs = [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": list(layout.chunks), "codecs": inner,
                "index_codecs": [BYTES_V3, {"name": "crc32c"}], "index_location": "end"}}]
            grid = layout.shards
        else:
            codecs, grid = inner, layout.chunks
        spec = {**self._spec(path), "create": True, "delete_existing": True, "metadata": {
            "shape": list(layout.shape), "data_type": layout.dtype, "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(grid)}},
            "chunk_key_encoding": {"name": "default"}, "codecs": codecs}}
        arr = ts.open(spec, context=self._ts_context()).result()
        arr.write(data).result()

    def open(self, path: str) -> Any:
        import tensorstore as ts

        return ts.open(self._spec(path), open=True, context=self._ts_context()).result()

    def read(self, handle: Any, selection: Any = Ellipsis) -> np.ndarray:
        return handle[selection].read().result()


def all_libs(threads: int | None = None) -> list[Lib]:
    """Every implementation, in table order, each limited to ``threads`` threads when given."""
    libs: list[Lib] = [
        Zarrconv(),
        ZarrPython("zarr-default", None),
        ZarrPython("zarr-fused", "zarr.core.codec_pipeline.FusedCodecPipeline"),
        ZarrPython("zarr-zarrs", "zarrs.ZarrsCodecPipeline"),
        Tensorstore(),
    ]
    for lib in libs:
        lib.threads = threads
    return libs


def lib_by_name(name: str, threads: int | None = None) -> Lib:
    for lib in all_libs(threads):
        if lib.name == name:
            return lib
    raise KeyError(f"unknown library {name!r}; known: {[lib.name for lib in all_libs()]}")
