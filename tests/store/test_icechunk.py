"""icechunk repositories written and read through zarrconv: commits, appends in new sessions,
branches, tags and snapshots read back with ``engine="zarrconv"``, distributed writes on forked
sessions merged before the commit, conflicting commits, and a repository on the moto S3 server."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

import zarrconv as zc

ic = pytest.importorskip("icechunk")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _ds(times: np.ndarray) -> xr.Dataset:
    t = np.asarray(times)
    data = (t[:, None] * 10 + np.arange(6)[None, :]).astype("f4")
    return xr.Dataset({"temp": (("time", "x"), data, {"units": "K"})},
                      coords={"time": t, "x": np.arange(6) * 0.5})


def _open(session, **kw) -> xr.Dataset:
    return xr.open_dataset(session.store, engine="zarrconv", **kw).load()


@pytest.fixture
def repo(tmp_path):
    return ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "repo")))


def test_commit_append_and_time_travel(repo):
    first = _ds(np.arange(3))
    session = repo.writable_session("main")
    zc.to_zarr(first, session.store)
    c1 = session.commit("first three steps")
    repo.create_tag("v1", c1)

    session = repo.writable_session("main")
    zc.to_zarr(_ds(np.arange(3, 5)), session.store, append_dim="time")
    c2 = session.commit("append two")

    repo.create_branch("dev", c1)
    dev = repo.writable_session("dev")
    zc.to_zarr(first[["temp"]].rename(temp="other") * 2, dev.store, mode="a")
    dev.commit("a variable on dev")

    both = _ds(np.arange(5))
    xr.testing.assert_identical(_open(repo.readonly_session(branch="main")), both)
    xr.testing.assert_identical(_open(repo.readonly_session(snapshot_id=c2)), both)
    xr.testing.assert_identical(_open(repo.readonly_session(tag="v1")), first)
    xr.testing.assert_identical(_open(repo.readonly_session(snapshot_id=c1)), first)
    on_dev = _open(repo.readonly_session(branch="dev"))
    assert sorted(on_dev.data_vars) == ["other", "temp"]
    np.testing.assert_array_equal(on_dev["other"].values, first["temp"].values * 2)
    # icechunk's own reader (zarr-python) sees the same data
    theirs = xr.open_dataset(repo.readonly_session(branch="main").store, engine="zarr", consolidated=False).load()
    xr.testing.assert_identical(theirs, both)
    tree = xr.open_datatree(repo.readonly_session(tag="v1").store, engine="zarrconv")
    xr.testing.assert_identical(tree.to_dataset().load(), first)


def test_zarrconv_reads_what_icechunk_writes(repo):
    from icechunk.xarray import to_icechunk

    ds = _ds(np.arange(4))
    session = repo.writable_session("main")
    to_icechunk(ds, session)
    session.commit("written by icechunk")
    xr.testing.assert_identical(_open(repo.readonly_session(branch="main")), ds)
    group = zc.open_group(repo.readonly_session(branch="main").store, mode="r")
    assert sorted(group.array_keys()) == ["temp", "time", "x"]
    np.testing.assert_array_equal(group["temp"].vindex[[0, 3], [1, 5]], ds["temp"].values[[0, 3], [1, 5]])


def test_arrays_and_groups_in_a_session(repo):
    session = repo.writable_session("main")
    g = zc.create_group(session.store, attributes={"title": "core API"})
    a = g.create_array("sub/a", shape=(8, 8), chunks=(2, 4), shards=(4, 8), dtype="i2")
    a[...] = np.arange(64).reshape(8, 8)
    a.resize((10, 8))
    session.commit("arrays")
    read = zc.open_group(repo.readonly_session(branch="main").store, mode="r")
    assert read.attrs["title"] == "core API" and read["sub/a"].shape == (10, 8)
    expected = np.zeros((10, 8), "i2")
    expected[:8] = np.arange(64).reshape(8, 8)
    np.testing.assert_array_equal(read["sub/a"][...], expected)
    with pytest.raises(zc.ReadOnlyError):
        zc.to_zarr(_ds(np.arange(2)), repo.readonly_session(branch="main").store, mode="w")


def test_conflicting_commit_is_an_error_and_loses_nothing(repo):
    session = repo.writable_session("main")
    zc.to_zarr(_ds(np.arange(4)), session.store)
    session.commit("base")

    ours, theirs = repo.writable_session("main"), repo.writable_session("main")
    zc.open_array(ours.store, "temp", mode="r+")[0] = -1
    zc.open_array(theirs.store, "temp", mode="r+")[0] = -2
    ours.commit("ours first")
    with pytest.raises(ic.ConflictError):
        theirs.commit("theirs second")
    # the committed data stand, and the losing session still holds its writes
    np.testing.assert_array_equal(_open(repo.readonly_session(branch="main"))["temp"].values[0], -1)
    np.testing.assert_array_equal(zc.open_array(theirs.store, "temp")[0], -2)
    theirs.rebase(ic.BasicConflictSolver(on_chunk_conflict=ic.VersionSelection.UseOurs))
    theirs.commit("theirs after rebase")
    after = _open(repo.readonly_session(branch="main"))["temp"].values
    np.testing.assert_array_equal(after[0], -2)
    np.testing.assert_array_equal(after[1:], _ds(np.arange(4))["temp"].values[1:])


@pytest.mark.slow
def test_distributed_writes_on_forked_sessions(repo):
    distributed = pytest.importorskip("distributed")

    ds = _ds(np.arange(8)).chunk({"time": 2, "x": 3})
    session = repo.writable_session("main")
    # spawned workers (distributed's default): icechunk's runtime does not survive a fork of a process using it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        zc.to_zarr(ds, session.store)  # the writable session never leaves this process
        session.commit("written by two worker processes")
        more = _ds(np.arange(8, 12)).chunk({"time": 2, "x": 3})
        appending = repo.writable_session("main")
        zc.to_zarr(more, appending.store, append_dim="time")
        appending.commit("appended by the workers")
    xr.testing.assert_identical(_open(repo.readonly_session(branch="main")), _ds(np.arange(12)))
    with pytest.raises(NotImplementedError, match="compute=True"):
        zc.to_zarr(ds, repo.writable_session("main").store, mode="w", compute=False)


@pytest.mark.slow
def test_repository_on_s3(s3_bucket, s3_endpoint):
    storage = ic.s3_storage(bucket=s3_bucket.removeprefix("s3://"), prefix="repo", endpoint_url=s3_endpoint,
                            allow_http=True, region="us-west-2", access_key_id="testing",
                            secret_access_key="testing", force_path_style=True)
    repo = ic.Repository.create(storage)
    session = repo.writable_session("main")
    zc.to_zarr(_ds(np.arange(3)), session.store)
    c1 = session.commit("on s3")
    session = repo.writable_session("main")
    zc.to_zarr(_ds(np.arange(3, 6)), session.store, append_dim="time")
    session.commit("append on s3")
    reopened = ic.Repository.open(storage)
    xr.testing.assert_identical(_open(reopened.readonly_session(branch="main")), _ds(np.arange(6)))
    xr.testing.assert_identical(_open(reopened.readonly_session(snapshot_id=c1)), _ds(np.arange(3)))


def test_info_names_the_wrapped_store(repo, tmp_path):
    session = repo.writable_session("main")
    g = zc.open_group(session.store, mode="w")
    a = g.create_array("a", shape=(4,), chunks=(2,), dtype="i1")
    a[:] = 1
    assert a.info.store_type == g.info.store_type == "ZarrPythonStore(icechunk.IcechunkStore)"
    assert re.search(r"^Store type *: ZarrPythonStore\(icechunk.IcechunkStore\)$", str(a.info), re.M)
    assert g.info_complete().store_type == "ZarrPythonStore(icechunk.IcechunkStore)"
    zarr = pytest.importorskip("zarr")
    local = zc.open_group(zarr.storage.LocalStore(str(tmp_path / "z")), mode="w")
    assert local.info.store_type == "ZarrPythonStore(zarr.storage.LocalStore)"
    assert zc.open_group(str(tmp_path / "plain"), mode="w").info.store_type == "LocalStore"
