"""Shared strategies and helpers of the reliability suite (fuzzing, crashes, concurrency)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import strategies as st

import zarrconv as zc

#: JSON scalars a hostile document may hold, including the awkward ones.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 2**64 - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "0x7fc00000", "0xZZ", "", "/", "..", "__x", "c", "r8",
                     "float32", "int8", "bytes", "gzip", "zstd", "blosc", "crc32c", "sharding_indexed",
                     "regular", "default", "v2", "array", "group", "inline", "<f8", "|O", "F", "C"]),
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=8), children, max_size=5),
    ),
    max_leaves=20,
)


def paths_of(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) into a JSON document, the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths_of(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: Any, doc: Any) -> Any:
    """``doc`` with one to three values replaced by random JSON or removed."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(json_values)
            continue
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return doc


@st.composite
def mutated_bytes(draw: Any, data: bytes) -> bytes:
    """``data`` with bytes flipped, cut, inserted or appended."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "append", "set"]))
        if op == "flip" and buf:
            i = draw(st.integers(0, len(buf) - 1))
            buf[i] ^= draw(st.integers(1, 255))
        elif op == "truncate" and buf:
            buf = buf[: draw(st.integers(0, len(buf) - 1))]
        elif op == "insert":
            i = draw(st.integers(0, len(buf)))
            buf[i:i] = draw(st.binary(max_size=8))
        elif op == "append":
            buf += draw(st.binary(max_size=64))
        elif op == "set" and len(buf) >= 8:
            i = draw(st.integers(0, len(buf) - 8))
            buf[i:i + 8] = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, (2**63).to_bytes(8, "little")]))
    return bytes(buf)


def expect_only_zarrconv_errors(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; a ZarrconvError is fine (returned), any other exception fails the test."""
    try:
        return fn(*args, **kwargs)
    except zc.ZarrconvError as e:
        assert str(e), "a ZarrconvError must carry a message"
        return e
    except Exception as e:  # noqa: BLE001 - this is the point of the check
        pytest.fail(f"{fn.__name__} raised {type(e).__name__} (not a ZarrconvError): {e}")


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()
