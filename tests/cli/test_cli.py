"""The installed ``zarrconv`` command, run in a subprocess on data written by peers and by zarrconv."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios

import numpy as np
import pytest
import zarr

from .conftest import ZARRCONV, run

pytestmark = pytest.mark.usefixtures("zarrconv_bin")


@pytest.fixture(scope="module")
def peer_store(tmp_path_factory: pytest.TempPathFactory):
    """A v3 hierarchy written by zarr-python: a sharded image and a chunked time series."""
    root = tmp_path_factory.mktemp("peer") / "peer.zarr"
    g = zarr.open_group(root, mode="w", zarr_format=3, attributes={"title": "peer"})
    rng = np.random.default_rng(1)
    img = rng.integers(0, 50, (128, 96), dtype="u2")
    a = g.create_array("images/img", shape=img.shape, dtype="u2", chunks=(32, 32), shards=(64, 96))
    a[...] = img
    ts = np.linspace(0, 1, 40 * 30, dtype="f4").reshape(40, 30)
    b = g.create_array("series", shape=ts.shape, dtype="f4", chunks=(10, 30), dimension_names=["time", "x"])
    b[...] = ts
    zarr.consolidate_metadata(root)
    return root, img, ts


@pytest.fixture()
def v2_store(tmp_path):
    """A v2 array written by zarr-python with xarray's ``_ARRAY_DIMENSIONS`` attribute."""
    path = tmp_path / "v2.zarr"
    data = np.arange(60 * 50, dtype="<i4").reshape(60, 50)
    a = zarr.create_array(path, shape=data.shape, dtype="<i4", chunks=(20, 25), zarr_format=2,
                          compressors=None, attributes={"_ARRAY_DIMENSIONS": ["y", "x"], "units": "m"})
    a[...] = data
    return path, data


def test_info_reports_format_chunks_shards_sizes(peer_store):
    root, img, _ = peer_store
    out = run("info", root / "images" / "img").stdout
    assert "zarr format:        3" in out
    assert "shape:              (128, 96)" in out
    assert "chunks:             (32, 32)" in out
    assert "shards:             (64, 96)" in out
    assert "sharding_indexed" not in out.split("codecs:")[0]
    facts = json.loads(run("info", "--json", root / "images" / "img").stdout)
    shard_files = [f for _, _, fs in os.walk(root / "images" / "img" / "c") for f in fs]
    assert facts["stored_objects"] == len(shard_files) == 2
    assert facts["stored_bytes"] == sum(os.path.getsize(os.path.join(d, f))
                                        for d, _, fs in os.walk(root / "images" / "img" / "c") for f in fs)
    assert facts["logical_bytes"] == img.nbytes
    assert facts["compression_ratio"] == pytest.approx(img.nbytes / facts["stored_bytes"])
    assert facts["codecs"][0].startswith("sharding_indexed(chunk_shape=(32, 32)")


def test_info_of_a_group_lists_arrays_and_consolidation(peer_store):
    root, _, _ = peer_store
    facts = json.loads(run("info", root, "--json").stdout)
    assert facts["node"] == "group" and facts["consolidated"] is True
    assert facts["arrays"] == 2 and facts["groups"] == 1
    assert set(facts["members"]) == {"images/img", "series"}
    assert facts["members"]["series"]["dimension_names"] == ["time", "x"]
    text = run("info", root).stdout
    assert "2 arrays, 1 groups" in text and "images/img" in text


def test_tree_shows_hierarchy_shapes_dtypes(peer_store):
    root, _, _ = peer_store
    lines = run("tree", root).stdout.splitlines()
    assert lines[0] == "/"
    assert any(line.endswith("images/") for line in lines)
    assert any("img (128, 96) uint16 chunks=(32, 32) shards=(64, 96)" in line for line in lines)
    assert any("series (40, 30) float32 chunks=(10, 30)" in line for line in lines)


def test_validate_finds_corrupt_chunk_only_with_data(tmp_path, peer_store):
    import shutil

    root = tmp_path / "copy.zarr"
    shutil.copytree(peer_store[0], root)
    ok = run("validate", root, "--data")
    assert "valid" in ok.stdout and "INVALID" not in ok.stdout
    assert ok.stderr == ""  # no progress bar when stderr is not a terminal
    victim = root / "series" / "c" / "1" / "0"
    victim.write_bytes(victim.read_bytes()[:-7])  # truncated zstd frame
    assert run("validate", root).returncode == 0  # metadata alone is fine
    bad = run("validate", root, "--data", "--json", check=1)
    report = json.loads(bad.stdout)
    assert report["valid"] is False and "data" in report["checks"]
    assert [p["node"] for p in report["problems"]] == ["/series"]
    assert "series/c/1/0" in report["problems"][0]["message"]


def test_validate_reports_broken_metadata_and_stale_consolidation(tmp_path, peer_store):
    import shutil

    root = tmp_path / "copy.zarr"
    shutil.copytree(peer_store[0], root)
    (root / "series" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array"}')
    zarr.open_group(root / "images", mode="a", use_consolidated=False).create_array("extra", shape=(4,), dtype="i1")
    proc = run("validate", root, check=1)
    assert "/series: [spec]" in proc.stdout and "'shape'" in proc.stdout
    assert "'images/extra' exists but is missing from the consolidated metadata" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith(f"{root}: INVALID")


def test_convert_v2_to_v3_rechunk_reshard_read_by_peers(tmp_path, v2_store):
    src, data = v2_store
    dst = tmp_path / "v3.zarr"
    run("convert", src, dst, "--zarr-format", "3", "--chunks", "10,25", "--shards", "20,50",
        "--compressor", "zstd:3")
    a = zarr.open_array(dst, mode="r")
    assert a.metadata.zarr_format == 3
    assert a.chunks == (10, 25) and a.shards == (20, 50)
    assert a.metadata.dimension_names == ("y", "x")
    # zarr-python's v2 fill_value 0 is, to xarray, the CF _FillValue of this variable: v3 keeps it as the attribute
    assert dict(a.attrs) == {"units": "m", "_FillValue": 0}
    np.testing.assert_array_equal(a[...], data)
    import tensorstore as ts

    t = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(dst)}}, open=True).result()
    np.testing.assert_array_equal(t.read().result(), data)


@pytest.mark.parametrize("option, expected", [
    ("zstd:7", {"name": "zstd", "configuration": {"level": 7, "checksum": False}}),
    ("gzip:2", {"name": "gzip", "configuration": {"level": 2}}),
    ("blosc:9", {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 9, "shuffle": "shuffle", "blocksize": 0}}),
])
def test_convert_compressor_level_keeps_the_codec_defaults(tmp_path, v2_store, option, expected):
    """``--compressor NAME:LEVEL`` sets the level; every other setting is the codec's default,
    written out in full, and zarr-python reads the result with that codec."""
    src, data = v2_store
    dst = tmp_path / "v3.zarr"
    run("convert", src, dst, "--zarr-format", "3", "--compressor", option)
    doc = json.loads((dst / "zarr.json").read_text())
    assert doc["codecs"][-1] == expected
    a = zarr.open_array(dst, mode="r")
    np.testing.assert_array_equal(a[...], data)


def test_convert_group_v3_to_v2_read_by_zarr_python(tmp_path, peer_store):
    root, img, ts = peer_store
    dst = tmp_path / "v2.zarr"
    run("convert", root, dst, "--zarr-format", "2", "--compressor", "gzip:4")
    g = zarr.open_group(dst, mode="r", zarr_format=2)
    np.testing.assert_array_equal(g["images/img"][...], img)
    np.testing.assert_array_equal(g["series"][...], ts)
    assert g["series"].attrs["_ARRAY_DIMENSIONS"] == ["time", "x"]
    assert g["series"].metadata.compressor.codec_id == "gzip"
    assert g.attrs["title"] == "peer"
    assert (dst / ".zmetadata").exists()
    again = run("convert", root, dst, check=2)
    assert "--overwrite" in again.stderr


def test_errors_are_one_line_and_debug_shows_traceback(tmp_path):
    missing = tmp_path / "missing.zarr"
    proc = run("info", missing, check=2)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zarrconv: error: no Zarr array or group")
    assert str(missing) in lines[0]
    debug = run("info", missing, "--debug", check=2)
    assert "Traceback (most recent call last)" in debug.stderr
    assert "NodeNotFoundError" in debug.stderr
    bad_opt = run("info", "s3://bucket/x.zarr", "-S", "novalue", check=2)
    assert bad_opt.stderr.strip() == "zarrconv: error: --storage-option 'novalue' must look like KEY=VALUE"
    bad_chunks = run("convert", tmp_path, tmp_path / "o.zarr", "--chunks", "a,b", check=2)
    assert "--chunks 'a,b' must be comma-separated integers" in bad_chunks.stderr


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run zarrconv with stderr on a 100-column pseudo-terminal; returns (exit status, terminal output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.run([str(ZARRCONV), *map(str, args)], stdout=subprocess.PIPE, stderr=slave, timeout=300)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_unless_quiet(peer_store):
    root = peer_store[0]
    status, tty = _on_a_terminal("validate", root, "--data")
    assert status == 0
    assert "checking chunks: " in tty and "chunk/s]" in tty
    status, tty = _on_a_terminal("validate", root, "--data", "--quiet")
    assert status == 0 and tty == ""


def test_s3_round_trip_with_storage_options(v2_store, s3_bucket, s3_storage_options):
    src, data = v2_store
    opts = [a for k, v in s3_storage_options.items() if k != "client_kwargs"
            for a in ("-S", f"{k}={json.dumps(v) if isinstance(v, bool) else v}")]
    opts += ["-S", f"client_kwargs.region_name={s3_storage_options['client_kwargs']['region_name']}"]
    url = f"{s3_bucket}/data.zarr"
    run("convert", src, url, "--shards", "auto", "--quiet", *opts)
    facts = json.loads(run("info", url, "--json", *opts).stdout)
    assert facts["shape"] == [60, 50] and facts["shards"] == [60, 50] and facts["stored_objects"] == 1
    import s3fs

    fs = s3fs.S3FileSystem(**s3_storage_options)
    path = url.removeprefix("s3://")
    assert facts["stored_bytes"] == fs.size(f"{path}/c/0/0")
    peer = zarr.open_array(fs.get_mapper(path), mode="r")
    np.testing.assert_array_equal(peer[...], data)

def test_ome_pyramid_from_tiff_read_by_ome_zarr_py(tmp_path):
    import tifffile

    y, x = np.mgrid[0:120, 0:160]
    img = (1000 + 800 * np.sin(x / 9) * np.cos(y / 13)).astype("u2")
    stack = np.stack([img, img // 2])
    tif = tmp_path / "cells.tif"
    tifffile.imwrite(tif, stack, photometric="minisblack", metadata={"axes": "CYX"})
    dst = tmp_path / "cells.ome.zarr"
    out = run("ome", "pyramid", tif, dst, "--scale", "1,0.5,0.5", "--units", ",um,um", "--chunks", "1,32,32",
              "--levels", "3").stdout
    assert "3 levels (0: (2, 120, 160), 1: (2, 60, 80), 2: (2, 30, 40))" in out
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    node = next(iter(Reader(parse_url(str(dst)))()))
    levels = [np.asarray(d) for d in node.data]
    np.testing.assert_array_equal(levels[0], stack)
    block_mean = stack.reshape(2, 60, 2, 80, 2).mean(axis=(2, 4))
    assert np.abs(levels[1].astype("f8") - block_mean).max() <= 0.5  # mean, rounded to uint16
    transforms = node.metadata["coordinateTransformations"]
    assert transforms[0][0]["scale"] == [1.0, 0.5, 0.5] and transforms[2][0]["scale"] == [1.0, 2.0, 2.0]
    assert [a.get("unit") for a in node.metadata["axes"]] == [None, "micrometer", "micrometer"]
    assert run("validate", dst).stdout.endswith("checks: spec, ome)\n")


def test_ome_pyramid_from_zarr_array_uses_dimension_names(tmp_path):
    src = tmp_path / "vol.zarr"
    vol = np.arange(8 * 64 * 64, dtype="u1").reshape(8, 64, 64)
    a = zarr.create_array(src, shape=vol.shape, dtype="u1", chunks=(4, 32, 32), dimension_names=["z", "y", "x"])
    a[...] = vol
    dst = tmp_path / "vol.ome.zarr"
    run("ome", "pyramid", src, dst, "--version", "0.4", "--method", "nearest", "--quiet")
    g = zarr.open_group(dst, mode="r", zarr_format=2)
    ms = g.attrs["multiscales"][0]
    assert [ax["name"] for ax in ms["axes"]] == ["z", "y", "x"] and ms["version"] == "0.4"
    np.testing.assert_array_equal(g["1"][...], vol[1::2, 1::2, 1::2])  # "nearest" samples each block centre


def test_geo_info_reports_crs_bounds_resolution(tmp_path):
    import xarray as xr

    import zarrconv as zc
    from zarrconv.conventions import geo

    x = 500_500.0 + 1000 * np.arange(40)
    y = 5_599_500.0 - 1000 * np.arange(30)
    ds = xr.Dataset({"t2m": (("y", "x"), np.full((30, 40), 280, "f4"), {"units": "K"})}, coords={"x": x, "y": y})
    store = tmp_path / "utm.zarr"
    zc.to_zarr(geo.assign_crs(ds, "EPSG:32633"), store)
    facts = json.loads(run("geo", "info", store, "--json").stdout)["nodes"]
    assert len(facts) == 1
    f = facts[0]
    assert f["crs_code"] == "EPSG:32633" and f["crs"] == "WGS 84 / UTM zone 33N"
    assert f["resolution"] == [1000.0, 1000.0] and f["units"] == "metre"
    assert f["bounds"] == [500_000.0, 5_570_000.0, 540_000.0, 5_600_000.0]
    assert f["variables"] == ["t2m"]
    assert run("validate", store).returncode == 0


def test_validate_reports_ome_recommendations_as_warnings_and_strict_as_errors(tmp_path):
    """An OME-Zarr image whose axis unit is 'micron' breaks a SHOULD of the specification
    (units from its list): valid with a warning; invalid with --strict."""
    import zarrconv as zc
    from zarrconv.conventions import ome

    store = tmp_path / "img.ome.zarr"
    ome.write_image(np.zeros((16, 16), "u1"), store, axes="yx", levels=1)
    g = zc.open_group(store, mode="r+")
    meta = dict(g.attrs["ome"])
    meta["multiscales"][0]["axes"][0]["unit"] = "micron"
    g.attrs["ome"] = meta

    proc = run("validate", store)
    assert "[ome] warning: axis 'y': unit 'micron' is not spelled as the specification requires; " \
           "write 'micrometer'" in proc.stdout
    assert ": valid (" in proc.stdout and "1 warning)" in proc.stdout
    report = json.loads(run("validate", store, "--json").stdout)
    assert report["valid"] is True and report["problems"] == []
    assert [w["check"] for w in report["warnings"]] == ["ome"]

    strict = run("validate", store, "--strict", "--json", check=1)
    report = json.loads(strict.stdout)
    assert report["valid"] is False and report["warnings"] == []
    assert any("'micron'" in p["message"] for p in report["problems"])
