"""Fuzzing the metadata parsers: hostile documents raise ZarrconvError subclasses, nothing else.

Covers v3 ``zarr.json`` (arrays, groups, consolidated metadata), v2 ``.zarray``/``.zgroup``/
``.zattrs``/``.zmetadata``, raw bytes that are not JSON at all, and opening the parsed node
(building its codec pipeline and reading it), which is where a document that parses but
lies (huge chunks, bad codecs) would hurt.
"""

from __future__ import annotations

import math
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zarrconv as zc
from zarrconv.core.nodes import parse_docs
from zarrconv.store import MemoryStore

from .conftest import expect_only_zarrconv_errors, json_bytes, json_values, mutated, mutated_bytes

FUZZ = settings(max_examples=int(os.environ.get("ZARRCONV_FUZZ_EXAMPLES", "120")), deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _seed_docs() -> dict[str, dict[str, Any]]:
    """Valid documents of every kind, written by zarrconv itself, by store key."""
    store = MemoryStore()
    g = zc.create_group(store, attributes={"title": "seed"})
    g.create_array("v3", shape=(6, 5), chunks=(3, 5), dtype="f4", compressors=["zstd", "crc32c"],
                   dimension_names=["y", "x"], fill_value=float("nan"))
    g.create_array("sharded", shape=(8,), chunks=(2,), shards=(4,), dtype="i2")
    zc.consolidate_metadata(store)
    s2 = MemoryStore()
    g2 = zc.create_group(s2, zarr_format=2, attributes={"a": 1})
    g2.create_array("v2", shape=(6, 5), chunks=(3, 5), dtype="<u2", compressors={"id": "zlib", "level": 1},
                    filters=[{"id": "delta", "dtype": "<u2"}], dimension_names=["y", "x"], fill_value=7)
    zc.consolidate_metadata(s2)
    import json

    docs = {k: json.loads(v) for k, v in store._data.items() if k.endswith("zarr.json")}
    docs.update({f"v2:{k}": json.loads(v) for k, v in s2._data.items() if k.rsplit("/", 1)[-1].startswith(".z")})
    return docs


SEEDS = _seed_docs()
V3_ARRAY = SEEDS["v3/zarr.json"]
V3_SHARDED = SEEDS["sharded/zarr.json"]
V3_ROOT = SEEDS["zarr.json"]  # a group with consolidated metadata
V2_ARRAY = SEEDS["v2:v2/.zarray"]
V2_CONSOLIDATED = SEEDS["v2:.zmetadata"]


def _exercise(store: MemoryStore) -> None:
    """Open whatever is at the root and use it the way a reader would."""
    node = zc.open(store)
    if isinstance(node, zc.Group):
        for _, child in node.members(max_depth=None):
            if isinstance(child, zc.Array):
                _read_small(child)
        return
    _read_small(node)


def _read_small(arr: zc.Array) -> None:
    if arr.size:  # one element of any array, however large it claims to be, costs one chunk at most
        arr[(0,) * arr.ndim]
        arr[(-1,) * arr.ndim]
    # whole reads only of arrays whose output and chunks are small: the fuzzer is not testing RAM size
    itemsize = max(arr.dtype.itemsize, 1)
    if math.prod(arr.shape) * itemsize > 1 << 16 or math.prod(arr.metadata.chunk_shape) * itemsize > 1 << 16:
        return
    arr[...]
    if arr.size:
        arr[(0,) * arr.ndim]


def _open_from(docs: dict[str, bytes]) -> None:
    store = MemoryStore(dict(docs))
    expect_only_zarrconv_errors(_exercise, store)


@FUZZ
@given(doc=json_values, name=st.sampled_from(["zarr.json", ".zarray", ".zgroup", ".zattrs"]))
def test_random_json_documents(doc: Any, name: str) -> None:
    expect_only_zarrconv_errors(parse_docs, MemoryStore(), "", {name: doc})
    _open_from({name: json_bytes(doc)})


@FUZZ
@given(doc=st.one_of(mutated(V3_ARRAY), mutated(V3_SHARDED)), chunk=st.binary(max_size=200))
def test_mutated_v3_array(doc: Any, chunk: bytes) -> None:
    _open_from({"zarr.json": json_bytes(doc), "c/0/0": chunk, "c/0": chunk})


@FUZZ
@given(doc=mutated(V2_ARRAY), attrs=st.one_of(st.none(), json_values), chunk=st.binary(max_size=200))
def test_mutated_v2_array(doc: Any, attrs: Any, chunk: bytes) -> None:
    docs = {".zarray": json_bytes(doc), "0.0": chunk}
    if attrs is not None:
        docs[".zattrs"] = json_bytes(attrs)
    _open_from(docs)


@FUZZ
@given(doc=mutated(V3_ROOT))
def test_mutated_v3_consolidated(doc: Any) -> None:
    _open_from({"zarr.json": json_bytes(doc)})


@FUZZ
@given(doc=mutated(V2_CONSOLIDATED))
def test_mutated_v2_consolidated(doc: Any) -> None:
    _open_from({".zgroup": b'{"zarr_format": 2}', ".zmetadata": json_bytes(doc)})


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), mutated_bytes(json_bytes(V3_ARRAY)), mutated_bytes(json_bytes(V2_ARRAY))),
       name=st.sampled_from(["zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"]))
def test_raw_bytes_as_metadata(raw: bytes, name: str) -> None:
    docs = {name: raw}
    if name in (".zattrs", ".zmetadata"):
        docs[".zgroup"] = b'{"zarr_format": 2}'
    _open_from(docs)


def test_deeply_nested_json_is_a_metadata_error() -> None:
    store = MemoryStore({"zarr.json": b"[" * 200_000 + b"]" * 200_000})
    err = expect_only_zarrconv_errors(zc.open, store)
    assert isinstance(err, zc.MetadataError) and "zarr.json" in str(err)


def test_lying_metadata_is_refused_before_allocating() -> None:
    """A document announcing an enormous chunk fails on read without allocating the chunk."""
    doc = dict(V3_ARRAY, shape=[2**40], chunk_grid={"name": "regular", "configuration": {"chunk_shape": [2**40]}},
               dimension_names=None, codecs=[{"name": "bytes", "configuration": {"endian": "little"}},
                                             {"name": "gzip", "configuration": {"level": 1}}])
    import gzip
    import tracemalloc

    store = MemoryStore({"zarr.json": json_bytes(doc), "c/0": gzip.compress(b"\0" * 1000)})
    arr = zc.open_array(store)
    tracemalloc.start()
    try:
        err = expect_only_zarrconv_errors(lambda: arr[:10])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(err, zc.CorruptChunkError) and "c/0" in str(err)
    assert peak < 16 * 2**20, f"reading a lying chunk allocated {peak} bytes"


def test_absurd_grids_are_metadata_errors_not_allocations() -> None:
    """Shapes beyond int64 and grids with more chunks than the planner supports fail clearly."""
    from zarrconv.format.chunks import MAX_CHUNKS_PER_DIM

    grid = {"name": "regular", "configuration": {"chunk_shape": [1]}}
    for doc in (dict(V3_ARRAY, shape=[2**63], chunk_grid=grid, dimension_names=None),
                dict(V3_ARRAY, shape=[10**30], chunk_grid=grid, dimension_names=None)):
        err = expect_only_zarrconv_errors(zc.open_array, MemoryStore({"zarr.json": json_bytes(doc)}))
        assert isinstance(err, zc.MetadataError) and "shape" in str(err)
    doc = dict(V3_ARRAY, shape=[MAX_CHUNKS_PER_DIM * 4], chunk_grid=grid, dimension_names=None)
    arr = zc.open_array(MemoryStore({"zarr.json": json_bytes(doc)}))
    err = expect_only_zarrconv_errors(lambda: arr[0])
    assert isinstance(err, zc.MetadataError) and "larger chunks" in str(err)
    rect = {"name": "rectilinear", "configuration": {"kind": "inline", "chunk_shapes": [[[1, 2**32]]]}}
    err = expect_only_zarrconv_errors(zc.open_array, MemoryStore({"zarr.json": json_bytes(
        dict(V3_ARRAY, shape=[10], chunk_grid=rect, dimension_names=None))}))
    assert isinstance(err, zc.MetadataError)
