"""Missing chunks of arrays written by zarr-python read as zarr-python reads them.

A v2 array with ``fill_value: null`` has no fill value to read a missing chunk as: zarr-python
answers with the empty value of the type (``''`` for strings, ``b''`` for bytes, zero for
numbers, NaT for times). zarrconv must give the same answer, and partial writes into such an
array must start from that value too.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import zarrconv as zc

zarr = pytest.importorskip("zarr")
from zarr.core.dtype import VariableLengthBytes, VariableLengthUTF8  # noqa: E402

CASES = {
    "vlen-utf8": (VariableLengthUTF8(), np.array(["a", "bé"], dtype=object)),
    "vlen-bytes": (VariableLengthBytes(), np.array([b"a", b"\x00b"], dtype=object)),
    "U3": ("U3", np.array(["a", "b"], dtype="U3")),
    "S3": ("S3", np.array([b"a", b"b"], dtype="S3")),
    "f8": ("f8", np.array([1.5, -2.0])),
    "i2": ("i2", np.array([3, -4], dtype="i2")),
    "M8[ns]": ("M8[ns]", np.array(["2000-01-01", "2001-01-01"], dtype="M8[ns]")),
}


def _as_list(values: np.ndarray) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


@pytest.mark.parametrize("name", list(CASES))
def test_missing_chunk_of_null_fill_v2_array_reads_like_zarr_python(tmp_path, name):
    dtype, head = CASES[name]
    path = tmp_path / "a.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr-python warns that v2 strings are not in the v3 spec
        a = zarr.create_array(path, shape=(6,), chunks=(2,), dtype=dtype, fill_value=None, zarr_format=2)
        a[:2] = head
        expected = a[:]
    assert json.loads((path / ".zarray").read_text())["fill_value"] is None
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) == ["0"]  # chunks 1 and 2 missing

    got = zc.open_array(path, mode="r")[:]
    assert _as_list(got) == _as_list(np.asarray(expected)), (got, expected)


@pytest.mark.parametrize("name", ["vlen-utf8", "vlen-bytes"])
def test_partial_write_into_missing_chunk_keeps_the_empty_value(tmp_path, name):
    """zarrconv writes one element of a missing chunk; zarr-python reads the rest of it as empty, not None."""
    dtype, head = CASES[name]
    path = tmp_path / "a.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.create_array(path, shape=(6,), chunks=(2,), dtype=dtype, fill_value=None, zarr_format=2)
    zc.open_array(path, mode="r+")[3] = head[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = zarr.open_array(path, mode="r")[:]
    empty = "" if name == "vlen-utf8" else b""
    assert _as_list(np.asarray(back)) == [empty, empty, empty, head[1], empty, empty]
