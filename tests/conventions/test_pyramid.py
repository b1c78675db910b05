"""Tests of zarrconv.conventions.pyramid: downsampling and pyramid planning."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zarrconv.conventions.pyramid import (
    METHODS,
    downsample,
    downsampled_shape,
    level_transform,
    plan_pyramid,
)

da = pytest.importorskip("dask.array")


def _blocks(x: np.ndarray, factors: tuple[int, ...]):
    """Yield (output index, block) pairs, computed the slow obvious way."""
    out_shape = downsampled_shape(x.shape, factors)
    for idx in itertools.product(*(range(n) for n in out_shape)):
        sl = tuple(slice(i * f, (i + 1) * f) for i, f in zip(idx, factors))
        yield idx, x[sl]


def _reference(x: np.ndarray, factors: tuple[int, ...], method: str) -> np.ndarray:
    out = np.empty(downsampled_shape(x.shape, factors), dtype=x.dtype)
    for idx, blk in _blocks(x, factors):
        if method == "mean":
            m = blk.astype(np.float64).mean()
            out[idx] = np.floor(m + 0.5) if x.dtype.kind in "iu" else m
        elif method == "nearest":
            out[idx] = blk[tuple(n // 2 for n in blk.shape)]
        elif method == "mode":
            vals, counts = np.unique(blk, return_counts=True)
            out[idx] = vals[np.argmax(counts)]  # first max = smallest tied value
    return out


@pytest.mark.parametrize("method", ["mean", "nearest", "mode"])
@pytest.mark.parametrize(
    "shape,factors",
    [((8, 8), (2, 2)), ((7, 9), (2, 2)), ((5, 6, 7), (2, 3, 2)), ((3, 11), (1, 4)), ((1, 5), (2, 2))],
)
def test_block_methods_match_reference(shape, factors, method):
    rng = np.random.default_rng(42)
    x = rng.integers(0, 5 if method == "mode" else 60000, size=shape).astype(np.uint16)
    got = downsample(x, factors, method)
    assert got.dtype == x.dtype
    assert got.shape == downsampled_shape(shape, factors)
    np.testing.assert_array_equal(got, _reference(x, factors, method))


def test_mean_partial_edge_block_is_average_of_what_it_has():
    x = np.arange(35, dtype=np.uint16).reshape(7, 5)
    got = downsample(x, (2, 2), "mean")
    assert got.shape == (4, 3)
    # last row block is [30..34] alone; last column block has one column
    assert got[3, 0] == 31  # mean(30, 31) = 30.5 rounds half up
    assert got[3, 2] == 34  # a block of one pixel
    assert got[0, 2] == 7  # mean(4, 9) = 6.5 rounds half up


def test_mean_float_and_signed():
    x = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    got = downsample(x, 2, "mean")
    assert got.dtype == np.float32 and got[0, 0] == pytest.approx(2.75)
    s = np.array([[-3, -2], [-2, -2]], dtype=np.int8)  # mean -2.25 -> -2
    assert downsample(s, 2, "mean")[0, 0] == -2
    big = np.full((2, 2, 2), 65535, dtype=np.uint16)  # no overflow in accumulation
    assert downsample(big, 2, "mean")[0, 0, 0] == 65535
    b = np.array([[True, True], [True, False]])
    assert downsample(b, 2, "mean").dtype == bool and downsample(b, 2, "mean")[0, 0]


def test_mode_ties_go_to_smallest_value_and_large_blocks():
    x = np.array([[7, 3], [3, 7]], dtype=np.int32)
    assert downsample(x, 2, "mode")[0, 0] == 3
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, size=(13, 14)).astype(np.uint32)  # 6x6 blocks: sort path
    np.testing.assert_array_equal(downsample(y, 6, "mode"), _reference(y, (6, 6), "mode"))


def test_gaussian_matches_scipy_smoothing_then_centre_sampling():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(1)
    x = rng.random((12, 12)).astype(np.float64)
    got = downsample(x, (2, 3), "gaussian")
    smooth = ndimage.gaussian_filter(x, (2 / 3, 1.0), mode="reflect", truncate=4.0)
    # even factor: mean of the two central samples; odd: the centre sample
    expect = 0.5 * (smooth[0::2] + smooth[1::2])
    expect = expect[:, 1::3]
    np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_gaussian_numpy_fallback_kernel_equals_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    from zarrconv.conventions.pyramid.downsampling import _smooth_numpy

    rng = np.random.default_rng(2)
    x = rng.random((9, 13))
    for sigmas in ([0.7, 1.3], [2.0, 0.0]):
        np.testing.assert_allclose(
            _smooth_numpy(x, sigmas),
            ndimage.gaussian_filter(x, sigmas, mode="reflect", truncate=4.0),
            rtol=1e-10,
        )
    tiny = x[:2]  # kernel wider than the axis: repeated mirroring
    np.testing.assert_allclose(
        _smooth_numpy(tiny, [2.0, 0.0]),
        ndimage.gaussian_filter(tiny, [2.0, 0.0], mode="reflect", truncate=4.0),
        rtol=1e-10,
    )


def test_gaussian_integer_output_is_rounded_and_in_range():
    x = np.zeros((16, 16), dtype=np.uint8)
    x[4:12, 4:12] = 255
    got = downsample(x, 2, "gaussian")
    assert got.dtype == np.uint8
    assert got.max() == 255 and got.min() == 0
    assert 0 < got[2, 4] < 255  # the edge is blurred


@pytest.mark.parametrize("method", METHODS)
def test_dask_is_lazy_chunkwise_and_equals_numpy(method):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 9 if method == "mode" else 4000, size=(21, 34, 17)).astype(np.uint16)
    dx = da.from_array(x, chunks=(8, 10, 9))  # 10 and 9 are not multiples of 2: realigned
    lazy = downsample(dx, (1, 2, 2), method)
    assert isinstance(lazy, da.Array)
    assert lazy.dtype == x.dtype
    assert lazy.shape == downsampled_shape(x.shape, (1, 2, 2))
    # every output chunk comes from one input chunk: as many output blocks as realigned input
    assert lazy.numblocks[0] == dx.numblocks[0]
    np.testing.assert_array_equal(lazy.compute(), downsample(x, (1, 2, 2), method))


def test_dask_aligned_chunks_map_one_to_one():
    x = da.zeros((64, 64), chunks=(16, 32), dtype=np.uint16)
    y = downsample(x, 2, "mean")
    assert y.chunks == ((8, 8, 8, 8), (16, 16))


def test_bad_arguments():
    x = np.zeros((4, 4))
    with pytest.raises(ValueError, match="method"):
        downsample(x, 2, "cubic")
    with pytest.raises(ValueError, match="factors"):
        downsample(x, (2, 2, 2), "mean")
    with pytest.raises(ValueError):
        downsample(x, 0, "mean")
    with pytest.raises(TypeError):
        downsample(np.array([["a", "b"], ["c", "d"]]), 2, "mean")


def test_plan_pyramid_until_one_chunk_only_spatial_axes():
    levels = plan_pyramid((2, 3, 1000, 700), (1, 1, 256, 256), axes=[2, 3])
    assert [lv.shape for lv in levels] == [
        (2, 3, 1000, 700),
        (2, 3, 500, 350),
        (2, 3, 250, 175),
    ]
    assert levels[1].factors == (1, 1, 2, 2)
    assert levels[2].cumulative == (1, 1, 4, 4)


def test_plan_pyramid_fixed_levels_and_flat_axes():
    levels = plan_pyramid((1, 9, 40), levels=5, axes=[True, True, True])
    # the length-1 axis is never reduced; the plan stops when nothing can shrink
    assert [lv.shape for lv in levels] == [(1, 9, 40), (1, 5, 20), (1, 3, 10), (1, 2, 5), (1, 1, 3)]
    assert plan_pyramid((4, 4), levels=10)[-1].shape == (1, 1)
    assert len(plan_pyramid((4, 4), levels=10)) == 3
    with pytest.raises(ValueError):
        plan_pyramid((4, 4))  # needs chunks or levels


def test_level_transform_keeps_block_centres():
    scale, translation = level_transform([1.0, 0.5, 0.25], [0.0, 10.0, -1.0], (1, 4, 2))
    assert scale == [1.0, 2.0, 0.5]
    assert translation == [0.0, 10.75, -0.875]
    # physical centre of level-1 pixel 0 == mean of centres of the base pixels it covers
    base = 10.0 + 0.5 * np.arange(4)
    assert translation[1] == pytest.approx(base.mean())
