"""`make demo`: write a small multi-array hierarchy to local disk, read it back, print what happened."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np

import zarrconv as zc


def main(target: str = "demo-data") -> int:
    root = Path(target) / "demo.zarr"
    if root.exists():
        shutil.rmtree(root)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    g = zc.create_group(root, attributes={"title": "zarrconv demo"})
    temp = g.create_array("climate/temperature", shape=(24, 180, 360), dtype="f4", chunks=(6, 90, 90),
                          fill_value=np.nan, dimension_names=["time", "lat", "lon"], attributes={"units": "K"})
    field = (280 + 20 * np.cos(np.deg2rad(np.linspace(-90, 90, 180)))[None, :, None]
             + rng.normal(0, 1, (24, 180, 360))).astype("f4")
    temp[...] = field
    img = g.create_array("microscopy/image", shape=(512, 512), dtype="u2", chunks=(64, 64), shards=(256, 256))
    pixels = rng.integers(0, 4096, (512, 512), dtype="u2")
    img[...] = pixels
    v2 = zc.create_array(root.parent / "legacy_v2.zarr", shape=(1000,), dtype="<i8", chunks=(100,),
                         zarr_format=2, overwrite=True)
    v2[...] = np.arange(1000)
    zc.consolidate_metadata(root)
    written = time.perf_counter() - t0

    t0 = time.perf_counter()
    back = zc.open_group(root, mode="r")
    ok_temp = np.array_equal(back["climate/temperature"][...], field)
    ok_img = np.array_equal(back["microscopy/image"][100:300, 50:60], pixels[100:300, 50:60])
    ok_v2 = np.array_equal(zc.open_array(root.parent / "legacy_v2.zarr")[::10], np.arange(0, 1000, 10))
    read = time.perf_counter() - t0

    print(f"wrote {root} (Zarr v3, consolidated) and {root.parent / 'legacy_v2.zarr'} (Zarr v2) in {written:.2f} s")
    print(back.tree())
    t = back["climate/temperature"]
    print(f"temperature: shape={t.shape} chunks={t.chunks} codecs={[c['name'] for c in t.metadata.codecs]} "
          f"stored chunks={t.nchunks_initialized}/{t.nchunks}")
    i = back["microscopy/image"]
    print(f"image: chunks={i.chunks} shards={i.shards} stored shards={i.nshards_initialized}")
    print(f"read back in {read:.2f} s: temperature equal={ok_temp}, image slice equal={ok_img}, v2 equal={ok_v2}")
    return 0 if (ok_temp and ok_img and ok_v2) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
