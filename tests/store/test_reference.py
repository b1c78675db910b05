"""kerchunk-style references (``reference://``): metadata inline, chunks as byte ranges of a packed file,
local or on S3."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest

import zarrconv as zc


def _pack(src: str, pack_path: str, pack_url: str) -> dict:
    """References for every file of the local hierarchy ``src``: JSON documents inline, chunks
    packed one after another into ``pack_path`` (addressed as ``pack_url``), the first chunk inline
    as base64."""
    refs: dict = {}
    offset = 0
    inlined = False
    with open(pack_path, "wb") as pack:
        for dirpath, _, files in sorted(os.walk(src)):
            for name in sorted(files):
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, src).replace(os.sep, "/")
                data = open(full, "rb").read()
                if name in (".zarray", ".zgroup", ".zattrs", "zarr.json"):
                    refs[key] = data.decode()
                elif not inlined:
                    refs[key] = "base64:" + base64.b64encode(data).decode()
                    inlined = True
                else:
                    pack.write(b"\0" * 3)  # padding, so offsets matter
                    offset += 3
                    pack.write(data)
                    refs[key] = [pack_url, offset, len(data)]
                    offset += len(data)
    return {"version": 1, "refs": refs}


@pytest.mark.parametrize("fmt", [2, 3])
def test_local_references(tmp_path, fmt):
    x = np.arange(240, dtype="f8").reshape(12, 20)
    src = str(tmp_path / "src.zarr")
    g = zc.create_group(src, zarr_format=fmt)
    g.create_array("x", shape=x.shape, chunks=(4, 5), dtype=x.dtype, zarr_format=fmt, compressors=None)[:] = x
    refs = _pack(src, str(tmp_path / "pack.bin"), str(tmp_path / "pack.bin"))
    (tmp_path / "refs.json").write_text(json.dumps(refs))
    opts = {"fo": str(tmp_path / "refs.json"), "remote_protocol": "file"}
    group = zc.open_group("reference://", mode="r", storage_options=opts)
    assert list(dict(group.members())) == ["x"]
    np.testing.assert_array_equal(group["x"][:], x)
    np.testing.assert_array_equal(group["x"][5:11, 3], x[5:11, 3])
    with pytest.raises(zc.ReadOnlyError):
        zc.open_array("reference://", "x", mode="r+", storage_options=opts)[0, 0] = 1
    # references given as a dict, not a file
    arr = zc.open_array("reference://", "x", storage_options={"fo": refs, "remote_protocol": "file"})
    np.testing.assert_array_equal(arr[:], x)


def test_references_to_chunks_on_s3(tmp_path, s3_bucket, s3_storage_options):
    s3fs = pytest.importorskip("s3fs")
    x = np.arange(200, dtype="i2").reshape(10, 20)
    src = str(tmp_path / "src.zarr")
    zc.create_array(src, shape=x.shape, chunks=(5, 5), dtype=x.dtype, zarr_format=2)[:] = x
    refs = _pack(src, str(tmp_path / "pack.bin"), f"{s3_bucket}/pack.bin")
    s3fs.S3FileSystem(**s3_storage_options).put_file(str(tmp_path / "pack.bin"), f"{s3_bucket}/pack.bin")
    arr = zc.open_array("reference://", storage_options={
        "fo": refs, "remote_protocol": "s3", "remote_options": s3_storage_options})
    np.testing.assert_array_equal(arr[:], x)
