"""Chunk grids (regular, rectilinear) and chunk key encodings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import MetadataError
from .extensions import parse_extension

#: Most chunks zarrconv plans along one dimension (the planner keeps one offset per chunk,
#: so this bounds what a hostile or absurd grid can make it allocate: 256 MiB per dimension).
MAX_CHUNKS_PER_DIM = 2**25


@dataclass(frozen=True)
class RegularChunkGrid:
    """Chunks of one shape; edge chunks are stored at full size and cropped on read."""

    chunk_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if any((not isinstance(c, int | np.integer)) or c <= 0 for c in self.chunk_shape):
            raise MetadataError(f"chunk shape {self.chunk_shape} must be positive integers")

    def grid_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Number of chunks along each dimension."""
        return tuple(-(-s // c) for s, c in zip(shape, self.chunk_shape))

    def offsets(self, shape: tuple[int, ...], dim: int) -> np.ndarray:
        """Start of every chunk along ``dim``, followed by the end of the last (len = n + 1)."""
        c = self.chunk_shape[dim]
        if -(-shape[dim] // c) > MAX_CHUNKS_PER_DIM:
            raise MetadataError(
                f"{-(-shape[dim] // c)} chunks along dimension {dim} (length {shape[dim]}, chunk {c}) is more than "
                f"zarrconv supports ({MAX_CHUNKS_PER_DIM}); rechunk the array with larger chunks"
            )
        return np.append(np.arange(0, shape[dim], c, dtype=np.int64), np.int64(max(shape[dim], 0)))

    def stored_shape(self, coords: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the stored chunk at ``coords`` (always the full chunk shape)."""
        return self.chunk_shape

    @property
    def is_regular(self) -> bool:
        return True

    def to_json(self) -> dict:
        return {"name": "regular", "configuration": {"chunk_shape": list(self.chunk_shape)}}

    def resized(self, shape: tuple[int, ...]) -> RegularChunkGrid:
        return self


@dataclass(frozen=True)
class RectilinearChunkGrid:
    """Chunks of varying size along each axis (the ``rectilinear`` chunk grid extension).

    ``edges[d]`` is the list of chunk lengths along dimension ``d``; chunks are stored at
    their exact size and edges may reach beyond the array. ``steps[d]`` is the step size of
    a dimension declared by a single integer (a regular step repeated to cover the axis,
    kept as an integer in the JSON), else None. The JSON is what zarr-python writes: bare
    integers for regular dimensions, explicit lists run-length encoded (``[size, count]``)
    when that is shorter.
    """

    edges: tuple[tuple[int, ...], ...]
    steps: tuple[int | None, ...] | None = None

    def __post_init__(self) -> None:
        if self.steps is None:
            object.__setattr__(self, "steps", (None,) * len(self.edges))
        for e in self.edges:
            if not e or any(not isinstance(x, int | np.integer) or x <= 0 for x in e):
                raise MetadataError(f"rectilinear chunk edges {e!r} must be non-empty lists of positive integers")

    @classmethod
    def from_spec(cls, specs: Any, shape: tuple[int, ...]) -> RectilinearChunkGrid:
        """From one entry per dimension: a step size (int) or a sequence of chunk lengths."""
        edges: list[tuple[int, ...]] = []
        steps: list[int | None] = []
        for spec, n in zip(specs, shape):
            if isinstance(spec, int | np.integer) and not isinstance(spec, bool):
                if spec <= 0:
                    raise MetadataError(f"rectilinear chunk size {spec} must be positive")
                edges.append((int(spec),) * max(1, math.ceil(n / spec)))
                steps.append(int(spec))
            else:
                sizes = tuple(int(x) for x in spec)
                if sum(sizes) < n:
                    raise MetadataError(f"rectilinear chunks {list(sizes)} sum to {sum(sizes)} < dimension length {n}")
                edges.append(sizes)
                steps.append(None)
        return cls(tuple(edges), tuple(steps))

    def grid_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(len(e) for e in self.edges)

    @cached_property
    def _offsets(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([[0], np.cumsum(e, dtype=np.int64)]) for e in self.edges)

    def offsets(self, shape: tuple[int, ...], dim: int) -> np.ndarray:
        return np.minimum(self._offsets[dim], shape[dim])

    def stored_shape(self, coords: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(e[i] for e, i in zip(self.edges, coords))

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """The first chunk's shape (what users see as ``chunks`` of a varying grid)."""
        return tuple(e[0] for e in self.edges)

    @property
    def is_regular(self) -> bool:
        return False

    def to_json(self) -> dict:
        dims: list[Any] = []
        for e, step in zip(self.edges, self.steps):  # type: ignore[arg-type]
            if step is not None:
                dims.append(step)
                continue
            rle = run_length_encode(e)
            dims.append(rle if len(rle) < len(e) else [int(x) for x in e])
        return {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": dims}}

    def resized(self, shape: tuple[int, ...]) -> RectilinearChunkGrid:
        """The grid for a new shape: step dimensions re-cover the axis, explicit ones get one more chunk."""
        specs: list[Any] = []
        for e, step, n in zip(self.edges, self.steps, shape):  # type: ignore[arg-type]
            if step is not None:
                specs.append(step)
            else:
                total = sum(e)
                specs.append((*e, n - total) if n > total else e)
        return RectilinearChunkGrid.from_spec(specs, shape)


def run_length_encode(sizes: Any) -> list[Any]:
    """``[10, 10, 10, 5] -> [[10, 3], 5]``: runs longer than one become ``[size, count]``."""
    out: list[Any] = []
    for size in sizes:
        size = int(size)
        if out and isinstance(out[-1], list) and out[-1][0] == size:
            out[-1][1] += 1
        elif out and out[-1] == size:
            out[-1] = [size, 2]
        else:
            out.append(size)
    return out


def parse_chunk_grid(value: Any, shape: tuple[int, ...]) -> RegularChunkGrid | RectilinearChunkGrid:
    """Parse a v3 ``chunk_grid`` document (an extension object or a short-hand name)."""
    name, conf = parse_extension(value, "chunk_grid")
    if name == "regular":
        cs = conf.get("chunk_shape")
        if not isinstance(cs, list) or len(cs) != len(shape) or not all(isinstance(c, int) for c in cs):
            raise MetadataError(f"regular chunk_shape {cs!r} must be {len(shape)} integers (array shape {shape})")
        return RegularChunkGrid(tuple(cs))
    if name == "rectilinear":
        if conf.get("kind") != "inline":
            raise MetadataError(f"rectilinear chunk grid kind {conf.get('kind')!r} must be 'inline'")
        specs = conf.get("chunk_shapes")
        if not isinstance(specs, list) or len(specs) != len(shape):
            raise MetadataError(f"rectilinear chunk_shapes {specs!r} must have one entry per dimension of {shape}")
        parsed: list[Any] = []
        for spec in specs:
            if isinstance(spec, int) and not isinstance(spec, bool):
                parsed.append(spec)
                continue
            if not isinstance(spec, list) or not spec:
                raise MetadataError(f"rectilinear chunk spec {spec!r} must be an integer or a non-empty list")
            sizes: list[int] = []
            for item in spec:
                if isinstance(item, int) and not isinstance(item, bool) and item > 0:
                    sizes.append(item)
                elif (isinstance(item, list) and len(item) == 2 and all(isinstance(x, int) for x in item)
                      and item[0] > 0 and 1 <= item[1] <= MAX_CHUNKS_PER_DIM - len(sizes)):
                    sizes.extend([item[0]] * item[1])
                else:
                    raise MetadataError(f"rectilinear chunk entry {item!r} must be a size or [size, count]")
            parsed.append(sizes)
        return RectilinearChunkGrid.from_spec(parsed, shape)
    raise MetadataError(f"unknown chunk grid {name!r}; zarrconv knows 'regular' and 'rectilinear'")


@dataclass(frozen=True)
class ChunkKeyEncoding:
    """How chunk grid coordinates become store keys.

    ``kind="default"`` gives ``c/1/2`` (or ``c.1.2``); ``kind="v2"`` gives ``1.2`` (or ``1/2``).
    """

    kind: str = "default"
    separator: str = "/"

    def __post_init__(self) -> None:
        if self.kind not in ("default", "v2"):
            raise MetadataError(f"unknown chunk key encoding {self.kind!r}")
        if self.separator not in ("/", "."):
            raise MetadataError(f"chunk key separator {self.separator!r} must be '/' or '.'")

    def encode(self, coords: tuple[int, ...]) -> str:
        """The key (relative to the array) of the chunk at ``coords``."""
        return self.template(len(coords)) % tuple(coords)

    def template(self, ndim: int) -> str:
        """The ``%``-format of the keys of an ``ndim``-dimensional array: ``template % coords``
        is the key. Arrays keep it, since formatting is ~4x faster than joining strings (it runs
        once per chunk read)."""
        if ndim == 0:
            return "c" if self.kind == "default" else "0"
        body = self.separator.join(["%d"] * ndim)
        return "c" + self.separator + body if self.kind == "default" else body

    def decode(self, key: str) -> tuple[int, ...] | None:
        """Inverse of :meth:`encode`; None for keys that are not chunk keys."""
        try:
            if self.kind == "default":
                if key == "c":
                    return ()
                if not key.startswith("c" + self.separator):
                    return None
                return tuple(int(p) for p in key[2:].split(self.separator))
            return tuple(int(p) for p in key.split(self.separator))
        except ValueError:
            return None

    def to_json(self) -> dict:
        return {"name": self.kind, "configuration": {"separator": self.separator}}


def parse_chunk_key_encoding(value: Any) -> ChunkKeyEncoding:
    """Parse a v3 ``chunk_key_encoding`` document (an extension object or a short-hand name such as
    ``"default"``)."""
    name, conf = parse_extension(value, "chunk_key_encoding")
    sep = conf.get("separator", "/" if name == "default" else ".")
    return ChunkKeyEncoding(name, sep)
