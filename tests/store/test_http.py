"""Reading Zarr over HTTP (``python -m http.server`` on 127.0.0.1): read-only, any format, faults retried."""

from __future__ import annotations

import fsspec
import numpy as np
import pytest

import zarrconv as zc
from zarrconv.store.fsspec_store import FsspecStore
from zarrconv.store.obstore_store import ObstoreStore
from zarrconv.store.wrappers import FaultInjectingFileSystem

zarr = pytest.importorskip("zarr")
pytest.importorskip("aiohttp")


@pytest.mark.parametrize("remote_store", ["obstore", "fsspec"])
@pytest.mark.parametrize("fmt,shards", [(2, None), (3, None), (3, (10, 10))])
def test_read_zarrconv_and_zarr_python_data_over_http(served, fmt, shards, remote_store):
    if remote_store == "obstore":
        pytest.importorskip("obstore")
    expected = ObstoreStore if remote_store == "obstore" else FsspecStore
    refusal = "HTTP stores cannot be written" if remote_store == "obstore" else None
    url, local = served
    x = np.arange(600, dtype="u2").reshape(30, 20)
    zc.create_array(str(local / "ours.zarr"), shape=x.shape, chunks=(5, 5), shards=shards, dtype=x.dtype,
                    zarr_format=fmt)[:] = x
    zarr.create_array(str(local / "theirs.zarr"), shape=x.shape, chunks=(5, 5), shards=shards, dtype=x.dtype,
                      zarr_format=fmt, fill_value=0)[:] = x
    for name in ("ours.zarr", "theirs.zarr"):
        with zc.config.set(remote_store=remote_store):
            a = zc.open_array(f"{url}/{name}", mode="a")
        assert isinstance(a.store, expected) and a.read_only
        np.testing.assert_array_equal(a[:], x)
        np.testing.assert_array_equal(a[3:27, 4], x[3:27, 4])  # shard indexes and inner chunks: byte ranges
        with pytest.raises(zc.ReadOnlyError, match=refusal):
            a.store.set("k", b"")


def test_group_listing_and_consolidated_over_http(served):
    url, local = served
    g = zc.create_group(str(local / "g.zarr"), attributes={"a": 1})
    g.create_array("x", shape=(4,), dtype="i1")[:] = [1, 2, 3, 4]
    g.create_group("sub").create_array("y", shape=(2, 2), dtype="f8")[:] = 1.5
    remote = zc.open_group(f"{url}/g.zarr", mode="r")
    assert sorted(dict(remote.members())) == ["sub", "x"]  # one directory listing
    assert remote["sub/y"][:].tolist() == [[1.5, 1.5], [1.5, 1.5]]
    zc.consolidate_metadata(str(local / "g.zarr"))
    again = zc.open_group(f"{url}/g.zarr", mode="r")
    assert again.attrs["a"] == 1 and again["x"][:].tolist() == [1, 2, 3, 4]
    with pytest.raises(zc.ReadOnlyError):
        again["x"][0] = 9


def test_http_faults_are_retried_and_missing_chunks_are_fill(served):
    url, local = served
    x = np.arange(400, dtype="i4").reshape(20, 20)
    a = zc.create_array(str(local / "f.zarr"), shape=x.shape, chunks=(4, 4), dtype=x.dtype, fill_value=-1)
    a[:] = x
    a[:4, :4] = -1  # not stored: reads as fill (HTTP 404)
    x[:4, :4] = -1
    http = fsspec.filesystem("http")
    fs = FaultInjectingFileSystem(http, transient_rate=0.3, seed=11)
    with zc.config.set(retries=10, retry_backoff=0.001):
        got = zc.open_array(FsspecStore(fs, f"{url}/f.zarr"))[:]
    assert fs.injected > 3
    np.testing.assert_array_equal(got, x)


def test_http_store_byte_ranges_from_a_server_that_ignores_range(served):
    """``http.server`` answers Range requests with the whole file: bounded and suffix ranges (all
    that Zarr reads need) still come back right."""
    url, local = served
    (local / "blob").write_bytes(b"0123456789")
    store = zc.store.make_store(url)
    assert store.get_many([("blob", (2, 5)), ("blob", (-3, None)), ("blob", None), ("none", None)]) == [
        b"234", b"789", b"0123456789", None]

