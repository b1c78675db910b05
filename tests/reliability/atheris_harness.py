"""Coverage-guided fuzzing of zarrconv's parsers and codecs with atheris (run as a script).

The first byte picks a target (a chunk of one of the fuzzed codec chains, or a metadata
document); the rest is the hostile input. Any exception other than a ZarrconvError is a
crash and makes atheris exit non-zero.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["zarrconv"]):
    import zarrconv as zc
    from zarrconv.store import MemoryStore

import numcodecs
import numpy as np

SHAPE = (4, 6)
CHAINS = [None, "gzip", "zstd", "blosc", "crc32c", numcodecs.BZ2(1), numcodecs.LZMA(), numcodecs.LZ4()]
V2 = [None, {"id": "zlib"}, {"id": "bz2"}, {"id": "lz4"}, {"id": "zstd"}, {"id": "blosc"}]
TEMPLATES = []
for c in CHAINS:
    s = MemoryStore()
    zc.create_array(s, shape=SHAPE, chunks=SHAPE, dtype="i2", compressors=c)
    TEMPLATES.append((s, "c/0/0"))
s = MemoryStore()
zc.create_array(s, shape=SHAPE, chunks=(2, 3), shards=SHAPE, dtype="i2")
TEMPLATES.append((s, "c/0/0"))
for c in V2:
    s = MemoryStore()
    zc.create_array(s, shape=SHAPE, chunks=SHAPE, dtype="i2", compressors=c, zarr_format=2)
    TEMPLATES.append((s, "0.0"))
DOCS = ["zarr.json", ".zarray", ".zgroup", ".zmetadata"]


def one_input(data: bytes) -> None:
    if not data:
        return
    target, body = data[0], data[1:]
    try:
        if target < 128:
            store, key = TEMPLATES[target % len(TEMPLATES)]
            st = MemoryStore(dict(store._data))
            st._data[key] = body
            a = zc.open_array(st, mode="r+")
            a[...]
            a[1, 1:3]
            a[0, 0] = np.int16(3)
        else:
            name = DOCS[target % len(DOCS)]
            st = MemoryStore({name: body, ".zgroup": b'{"zarr_format": 2}'} if name == ".zmetadata" else {name: body})
            node = zc.open(st)
            if isinstance(node, zc.Group):
                node.members(max_depth=None)
            elif node.size * node.dtype.itemsize < 4096 and np.prod(node.metadata.chunk_shape) < 4096:
                node[...]
    except zc.ZarrconvError:
        pass


def write_seeds(directory: str) -> None:
    """Valid inputs of every target, as a starting corpus."""
    import os

    os.makedirs(directory, exist_ok=True)
    for i, (store, key) in enumerate(TEMPLATES):
        st = MemoryStore(dict(store._data))
        zc.open_array(st, mode="r+")[...] = np.arange(24, dtype="i2").reshape(SHAPE)
        with open(os.path.join(directory, f"chunk{i}"), "wb") as f:
            f.write(bytes([i]) + st.get(key))
    for j, name in enumerate(DOCS):
        store = TEMPLATES[0 if name == "zarr.json" else len(CHAINS) + 2][0]
        doc = store.get(name if name != ".zgroup" else ".zarray") or b"{}"
        with open(os.path.join(directory, f"doc{j}"), "wb") as f:
            f.write(bytes([128 + (j - 128) % len(DOCS)]) + doc)


if __name__ == "__main__":
    # usage: atheris_harness.py [libFuzzer options] CORPUS_DIR  (an empty corpus is seeded first)
    import os

    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus and not (os.path.isdir(corpus[0]) and os.listdir(corpus[0])):
        write_seeds(corpus[0])
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
