"""ObstoreStore on Azure Blob Storage, served by Azurite (the Azure Storage emulator) started on 127.0.0.1 by the
session: an ``az://`` URL through ``make_store`` with obstore's own Azure options, the store contract (byte
ranges, parts, listing, deletes), arrays written by zarrconv read back by zarr-python's ObjectStore on the same
container and the other way round, and an xarray round trip through ``engine="zarrconv"``."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc
from zarrconv.store import ObstoreStore, make_store

obstore = pytest.importorskip("obstore")
zarr = pytest.importorskip("zarr")


def _native(url: str, options: dict, prefix: str) -> obstore.store.AzureStore:
    """The same container as an obstore AzureStore built by hand (as a zarr-python user would)."""
    return obstore.store.AzureStore(url[len("az://"):], prefix=prefix, account_name=options["account_name"],
                                    account_key=options["account_key"], endpoint=options["endpoint"],
                                    client_options={"allow_http": True})


def test_store_contract_on_azure(azure_container):
    url, options = azure_container
    with zc.config.set(remote_store="obstore"):  # az:// goes to obstore when asked (fsspec by default)
        st = make_store(f"{url}/k", mode="w", storage_options=options)
    assert isinstance(st, ObstoreStore) and st.url == f"{url}/k"
    st.set("blob", b"0123456789")
    st.set("d/parts", [b"ab", memoryview(b"cd"), bytearray(b"ef")])
    assert st.get_many([("blob", (2, 5)), ("blob", (-3, None)), ("blob", (4, None)), ("blob", None),
                        ("blob", (8, 20)), ("blob", (3, 3)), ("nope", None), ("nope", (0, 2)),
                        ("d/parts", (1, 4))]) == [
        b"234", b"789", b"456789", b"0123456789", b"89", b"", None, None, b"bcd"]
    st.set_many({"d/sub/x": b"1", "e": b""})
    assert st.list_dir("") == (["blob", "e"], ["d"])
    assert st.list_dir("d/") == (["parts"], ["sub"])
    assert list(st.list_prefix("d/")) == ["d/parts", "d/sub/x"]
    st.delete_many(["blob", "never-there"])
    st.delete_prefix("d/")
    assert st.get("blob") is None and list(st.list_prefix("")) == ["e"]
    with pytest.raises(zc.ReadOnlyError):
        st.with_read_only(True).set("x", b"1")


def test_arrays_both_ways_with_zarr_python(azure_container):
    url, options = azure_container
    data = np.arange(600, dtype="f8").reshape(20, 30) / 7
    with zc.config.set(remote_store="obstore"):
        zc.create_array(f"{url}/ours.zarr", shape=data.shape, chunks=(8, 8), shards=(16, 16), dtype="f8",
                        storage_options=options)[:] = data
        theirs = zarr.create_array(zarr.storage.ObjectStore(_native(url, options, "theirs.zarr")),
                                   shape=data.shape, chunks=(7, 9), dtype="f8")
        theirs[:] = data
        assert np.array_equal(zc.open_array(f"{url}/theirs.zarr", storage_options=options)[3:17, 5:29],
                              data[3:17, 5:29])
    back = zarr.open_array(zarr.storage.ObjectStore(_native(url, options, "ours.zarr"), read_only=True), mode="r")
    assert np.array_equal(back[:], data)


def test_xarray_round_trip_on_azure(azure_container):
    url, options = azure_container
    ds = xr.Dataset({"t": (("y", "x"), np.arange(48, dtype="i4").reshape(6, 8), {"units": "K"})},
                    coords={"y": np.arange(6) * 0.5})
    with zc.config.set(remote_store="obstore"):
        zc.to_zarr(ds, f"{url}/ds.zarr", storage_options=options)
        back = xr.open_dataset(f"{url}/ds.zarr", engine="zarrconv", storage_options=options).load()
    xr.testing.assert_identical(back, ds)
