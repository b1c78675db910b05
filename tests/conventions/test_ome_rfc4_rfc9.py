"""RFC-4 (anatomical orientation of axes) and RFC-9 (zipped OME-Zarr, ``.ozx``), both ways
with ngff-zarr."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.conventions import ome
from zarrconv.conventions.ome import parse_attrs
from zarrconv.errors import MetadataError

nz = pytest.importorskip("ngff_zarr")


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    return np.random.default_rng(9).integers(0, 4000, (6, 40, 32), dtype=np.uint16)


def _level0(path: Path):
    """Level 0 of an image as a Dataset, whatever its dataset path."""
    return next(iter(ome.image_datasets(zc.open_group(path, mode="r")).values()))


# ------------------------------------------------------------------------ RFC-4


@pytest.mark.parametrize("version", ["0.5", "0.6"])
def test_orientation_written_is_read_by_ngff_zarr(tmp_path: Path, volume: np.ndarray, version: str) -> None:
    ome.write_image(volume, tmp_path / "o.ome.zarr", axes="zyx", orientation="LPS", version=version, levels=1)
    theirs = nz.from_ngff_zarr(str(tmp_path / "o.ome.zarr"))
    got = {k: v.value for k, v in theirs.images[0].axes_orientations.items()}
    assert got == {"x": "right-to-left", "y": "anterior-to-posterior", "z": "inferior-to-superior"}
    assert _level0(tmp_path / "o.ome.zarr")["y"].attrs["orientation"] == "anterior-to-posterior"


def test_orientation_written_by_ngff_zarr_is_read_and_kept(tmp_path: Path, volume: np.ndarray) -> None:
    from ngff_zarr.rfc4 import RAS

    img = nz.to_ngff_image(volume, dims=["z", "y", "x"])
    img.axes_orientations = RAS
    nz.to_ngff_zarr(str(tmp_path / "nz.ome.zarr"), nz.to_multiscales(img, scale_factors=[]), version="0.5")
    image = _level0(tmp_path / "nz.ome.zarr")["image"]
    assert {d: image[d].attrs["orientation"] for d in "zyx"} == {
        "z": "inferior-to-superior", "y": "posterior-to-anterior", "x": "left-to-right"}
    # through a DataArray the orientation travels on: written again, ngff-zarr reads RAS back
    ome.write_image(image, tmp_path / "again.ome.zarr", levels=1)
    back = nz.from_ngff_zarr(str(tmp_path / "again.ome.zarr")).images[0].axes_orientations
    assert {k: v.value for k, v in back.items()} == {k: v.value for k, v in RAS.items()}


@pytest.mark.parametrize("axis, match", [
    ({"name": "x", "type": "space", "orientation": {"type": "anatomical", "value": "up"}},
     "unknown anatomical orientation 'up'"),
    ({"name": "c", "type": "channel", "orientation": {"type": "anatomical", "value": "left-to-right"}},
     "only for space axes"),
])
def test_bad_orientation_is_refused(axis: dict, match: str) -> None:
    attrs = {"ome": {"version": "0.5", "multiscales": [{"axes": [axis, {"name": "y", "type": "space"}],
                                                         "datasets": [{"path": "0"}]}]}}
    with pytest.raises(MetadataError, match=match):
        parse_attrs(attrs)


# ------------------------------------------------------------------------ RFC-9


def test_ozx_we_write_ngff_zarr_reads(tmp_path: Path, volume: np.ndarray) -> None:
    ome.write_image(volume, tmp_path / "img.ome.zarr", axes="zyx", scale=[2, 0.5, 0.5], chunks=(2, 16, 16),
                    shards=(6, 32, 32), levels=2)
    assert ome.write_ozx(tmp_path / "img.ome.zarr", tmp_path / "img.ozx") == "0.5"
    with zipfile.ZipFile(tmp_path / "img.ozx") as zf:
        names = [i.filename for i in zf.infolist()]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    docs = [n for n in names if n.endswith("zarr.json")]
    assert names[0] == "zarr.json" and names[: len(docs)] == docs  # metadata first, breadth-first
    assert ome.ozx_comment(tmp_path / "img.ozx") == {
        "version": "0.5", "zipFile": {"centralDirectory": {"jsonFirst": True}}}
    from ngff_zarr.rfc9_zip import read_ozx_json_first, read_ozx_version

    assert read_ozx_version(tmp_path / "img.ozx") == "0.5" and read_ozx_json_first(tmp_path / "img.ozx")
    theirs = nz.from_ngff_zarr(str(tmp_path / "img.ozx"))
    np.testing.assert_array_equal(np.asarray(theirs.images[0].data), volume)
    assert theirs.images[0].scale == {"z": 2.0, "y": 0.5, "x": 0.5}
    np.testing.assert_array_equal(_level0(tmp_path / "img.ozx")["image"].values, volume)


def test_ozx_ngff_zarr_writes_we_read(tmp_path: Path, volume: np.ndarray) -> None:
    img = nz.to_ngff_image(volume, dims=["z", "y", "x"], scale={"z": 2.0, "y": 0.5, "x": 0.5})
    nz.to_ngff_zarr(str(tmp_path / "nz.ozx"), nz.to_multiscales(img, scale_factors=[2]), version="0.5")
    assert zipfile.is_zipfile(tmp_path / "nz.ozx")
    assert ome.ozx_comment(tmp_path / "nz.ozx")["version"] == "0.5"
    first = _level0(tmp_path / "nz.ozx")
    np.testing.assert_array_equal(first["image"].values, volume)
    np.testing.assert_allclose(first["z"].values, 2.0 * np.arange(6))


def test_ozx_refuses_v2(tmp_path: Path, volume: np.ndarray) -> None:
    ome.write_image(volume, tmp_path / "v2.ome.zarr", axes="zyx", version="0.4", levels=1)
    with pytest.raises(MetadataError, match="upgrade it first"):
        ome.write_ozx(tmp_path / "v2.ome.zarr", tmp_path / "v2.ozx")
    assert not (tmp_path / "v2.ozx").exists()
    assert json.loads((tmp_path / "v2.ome.zarr" / ".zattrs").read_text())["multiscales"]


def test_write_image_to_an_ozx_path(tmp_path: Path, volume: np.ndarray) -> None:
    group = ome.write_image(volume, tmp_path / "direct.ozx", axes="zyx", scale=[2, 0.5, 0.5], version="0.6",
                            levels=2)
    assert group.read_only and [p.name for p in tmp_path.iterdir()] == ["direct.ozx"]  # nothing left behind
    assert ome.ozx_comment(tmp_path / "direct.ozx")["version"] == "0.6rc0"
    theirs = nz.from_ngff_zarr(str(tmp_path / "direct.ozx"))
    np.testing.assert_array_equal(np.asarray(theirs.images[0].data), volume)
    assert len(theirs.images) == 2
    with pytest.raises(zc.errors.ContainsNodeError):
        ome.write_image(volume, tmp_path / "direct.ozx", axes="zyx", version="0.6")
