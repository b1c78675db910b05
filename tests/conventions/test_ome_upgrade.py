"""``zarrconv ome upgrade``: OME-Zarr 0.4 -> 0.5 -> 0.6 in place, no chunk touched, read back
by the peers (ome-zarr-py for 0.5, ngff-zarr for 0.6) with equal data and scales."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import zarrconv as zc
from zarrconv.cli import main
from zarrconv.conventions import ome
from zarrconv.conventions.ome.upgrade import upgrade
from zarrconv.errors import MetadataError

zarr = pytest.importorskip("zarr")
METADATA = {"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"}


def _chunks(root: Path) -> dict[str, str]:
    """Digest of every non-metadata file of a hierarchy."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in METADATA and not p.name.startswith(".zarrconv")}


def _ome_zarr_py_04(path: Path, x: np.ndarray) -> None:
    pytest.importorskip("ome_zarr")
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image, write_labels

    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    with pytest.warns(UserWarning):  # ome-zarr-py warns about the channel axis' missing scale
        write_image(x, root, axes="czyx", fmt=FormatV04(), scale={"z": 2.0, "y": 0.5, "x": 0.25},
                    axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"}, scale_factors=(2, 4))
    write_labels((x[:1] > 2000).astype(np.uint8), root, name="mask", axes="czyx", fmt=FormatV04(),
                 scale_factors=(2, 4))


@pytest.fixture
def image04(tmp_path: Path) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(4).integers(0, 4000, (2, 8, 64, 48), dtype=np.uint16)
    _ome_zarr_py_04(tmp_path / "img.ome.zarr", x)
    return tmp_path / "img.ome.zarr", x


def test_04_to_05_then_06_keeps_every_chunk(image04: tuple[Path, np.ndarray], capsys) -> None:
    path, x = image04
    before = _chunks(path)
    levels04 = {k: v["image"].values for k, v in ome.open_image(path).children.items() if k != "labels"}
    assert main(["ome", "upgrade", str(path), "--to", "0.5"]) == 0
    assert "upgraded" in capsys.readouterr().out
    assert _chunks(path) == before
    assert not list(path.rglob(".zarray")) and not list(path.rglob(".zattrs"))
    root = zc.open_group(path, mode="r")
    assert root.zarr_format == 3 and root.attrs["ome"]["version"] == "0.5"
    first = root.attrs["ome"]["multiscales"][0]["datasets"][0]["path"]
    assert root[first].metadata.dimension_names == ("c", "z", "y", "x")
    assert [p for p in ome.validate(path) if "labels" not in p.split(":")[0]] == []

    # ome-zarr-py reads the 0.5 result: same data at every level
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    node = next(iter(Reader(parse_url(str(path), mode="r"))()))
    assert node.metadata["axes"][1]["name"] == "z"
    for got, (name, want) in zip(node.data, levels04.items()):
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=name)

    assert main(["ome", "upgrade", str(path), "--to", "0.6"]) == 0
    assert _chunks(path) == before
    attrs = json.loads((path / "zarr.json").read_text())["attributes"]
    assert attrs["ome"]["version"] == "0.6rc0"
    nz = pytest.importorskip("ngff_zarr")
    nz.validate(attrs, version="0.6", model="image")
    theirs = nz.from_ngff_zarr(str(path))
    for image, want in zip(theirs.images, levels04.values()):
        np.testing.assert_array_equal(np.asarray(image.data), want)
    assert theirs.images[0].scale == {"c": 1.0, "z": 2.0, "y": 0.5, "x": 0.25}
    label = zc.open_group(path, path="labels/mask", mode="r")
    assert label.attrs["ome"]["version"] == "0.6rc0" and "image-label" in label.attrs["ome"]
    tree = ome.open_image(path)
    np.testing.assert_array_equal(tree[f"labels/mask/{first}"]["image"].values, (x[:1] > 2000).astype(np.uint8))
    # once more: nothing to do
    assert main(["ome", "upgrade", str(path), "--to", "0.6"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_04_plate_straight_to_06(tmp_path: Path) -> None:
    pytest.importorskip("ome_zarr")
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    root = zarr.open_group(str(tmp_path / "plate.zarr"), mode="w", zarr_format=2)
    write_plate_metadata(root, ["A"], ["1", "2"], ["A/1", "A/2"], fmt=FormatV04())
    fields = {}
    for well in ("A/1", "A/2"):
        wg = root.require_group(well)
        write_well_metadata(wg, [{"path": "0"}], fmt=FormatV04())
        fields[well] = np.random.default_rng(len(fields)).integers(0, 255, (16, 16), dtype=np.uint8)
        write_image(fields[well], wg.require_group("0"), axes="yx", fmt=FormatV04(), scale_factors=())
    before = _chunks(tmp_path / "plate.zarr")
    assert sorted(upgrade(tmp_path / "plate.zarr", "0.6")) == ["", "A/1", "A/1/0", "A/2", "A/2/0"]
    assert _chunks(tmp_path / "plate.zarr") == before
    plate = ome.open_plate(tmp_path / "plate.zarr")
    assert plate.version == "0.6rc0" and plate.wells == ["A/1", "A/2"]
    for well, data in fields.items():
        field = zc.open_group(tmp_path / "plate.zarr", path=plate.field_paths(well)[0], mode="r")
        level0 = next(iter(ome.image_datasets(field).values()))
        np.testing.assert_array_equal(level0["image"].values, data)


def test_what_cannot_be_upgraded_is_refused(tmp_path: Path, image04: tuple[Path, np.ndarray]) -> None:
    path, _ = image04
    upgrade(path, "0.6")
    with pytest.raises(MetadataError, match="does not downgrade"):
        upgrade(path, "0.5")
    with pytest.raises(MetadataError, match="choose one of"):
        upgrade(path, "0.4")

    binary = tmp_path / "binary.zarr"
    g = zc.open_group(binary, mode="w", zarr_format=3)
    g.create_array("0", shape=(4, 4), dtype="u1", chunks=(4, 4))
    g.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "path": "scales"}]}]}]}
    with pytest.raises(MetadataError, match="binary data at 'scales' cannot be expressed in OME-Zarr 0.6"):
        upgrade(binary, "0.6")
    assert zc.open_group(binary, mode="r").attrs["ome"]["version"] == "0.5"  # nothing written

    old = tmp_path / "old.zarr"
    g = zc.open_group(old, mode="w", zarr_format=2)
    g.create_array("0", shape=(4, 4), dtype="u1", chunks=(4, 4))
    g.attrs["multiscales"] = [{"version": "0.3", "axes": ["y", "x"], "datasets": [{"path": "0"}]}]
    with pytest.raises(MetadataError, match="OME-Zarr 0.3 cannot be upgraded"):
        upgrade(old, "0.5")
    assert main(["ome", "upgrade", str(old), "--to", "0.5"]) == 2


def test_bioformats2raw_container_04_to_06(tmp_path: Path) -> None:
    """A bioformats2raw layout (root with ``bioformats2raw.layout``, an ``OME`` group listing
    the series, one image per series) written as 0.4 by zarrconv."""
    root = zc.open_group(tmp_path / "bf.zarr", mode="w", zarr_format=2)
    series = [np.random.default_rng(i).integers(0, 255, (12, 10), dtype=np.uint8) for i in range(2)]
    for i, data in enumerate(series):
        ome.write_image(data, root, path=str(i), axes="yx", scale=[0.5, 0.5], version="0.4", levels=1)
    root.attrs["bioformats2raw.layout"] = 3
    root.create_group("OME").attrs["series"] = ["0", "1"]
    before = _chunks(tmp_path / "bf.zarr")
    assert sorted(upgrade(tmp_path / "bf.zarr", "0.6")) == ["", "0", "1", "OME"]
    assert _chunks(tmp_path / "bf.zarr") == before
    assert zc.open_group(tmp_path / "bf.zarr", mode="r").attrs["ome"] == {
        "version": "0.6rc0", "bioformats2raw.layout": 3}
    assert ome.list_series(tmp_path / "bf.zarr") == ["0", "1"]
    for i, data in enumerate(series):
        level0 = ome.open_image(tmp_path / "bf.zarr", series=i)["0"]
        np.testing.assert_array_equal(level0["image"].values, data)
        np.testing.assert_allclose(level0["x"].values, 0.5 * np.arange(10))
