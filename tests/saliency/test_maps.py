"""Saliency maps: Numba kernels against the NumPy reference, invariants, blobs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency import METHODS, method_params, saliency_map, saliency_maps
from tests.saliency.reference import itti_koch_ref, resize_ref, spectral_residual_ref

REFERENCES = {"spectral_residual": spectral_residual_ref, "itti_koch": itti_koch_ref}
PARAMS = {
    "spectral_residual": [{}, {"size": 48, "avg_size": 5, "blur_sigma": 1.5}, {"size": 30}],
    "itti_koch": [{}, {"size": 64, "centres": (2,), "deltas": (1, 3), "gabor_sigma": 1.0}],
}
RTOL = 1e-5  # of the map's maximum


def _images(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:70, :90]
    smooth = np.stack([np.sin(yy / 7.0) + np.cos(xx / 5.0) + 2.0, np.cos(yy / 9.0) * xx / 90.0 + 1.0,
                       np.sin((xx + yy) / 11.0) + 1.5], -1)
    return [
        (rng.random((96, 96, 3)) * 255).astype(np.uint8),
        rng.random((37, 53)).astype(np.float32),
        smooth,  # float64 RGB, non-square
        (rng.random((20, 33, 1)) * 255).astype(np.uint8),
    ]


def _scaled(img: np.ndarray) -> np.ndarray:
    return img / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)


@pytest.mark.parametrize("method", METHODS)
def test_numba_matches_numpy_reference(method):
    for params in PARAMS[method]:
        for img in _images():
            got = saliency_map(img, method, **params)
            want = REFERENCES[method](_scaled(img), **params)
            assert got.shape == img.shape[:2] and got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * want.max())


def test_resize_reference_is_area_average_and_bilinear():
    x = np.arange(16.0).reshape(4, 4)
    down = resize_ref(x, 2, 2)  # exact 2x2 block means
    np.testing.assert_allclose(down, [[2.5, 4.5], [10.5, 12.5]])
    up = resize_ref(np.array([[0.0, 4.0]]), 1, 4)  # half-pixel centres: 0, 1, 3, 4
    np.testing.assert_allclose(up, [[0.0, 1.0, 3.0, 4.0]])


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_single_images(method):
    rng = np.random.default_rng(1)
    imgs = (rng.random((5, 40, 56, 3)) * 255).astype(np.uint8)
    batch = saliency_maps(imgs, method)
    assert batch.shape == (5, 40, 56) and batch.dtype == np.float32
    for b in range(5):
        np.testing.assert_array_equal(batch[b], saliency_map(imgs[b], method))
    grey = saliency_maps(imgs[..., 0], method)  # [B, H, W] is a batch of grey images
    np.testing.assert_array_equal(grey[2], saliency_map(imgs[2, ..., 0], method))


@pytest.mark.parametrize("method", METHODS)
def test_uint8_and_unit_float_give_the_same_map(method):
    img = (np.random.default_rng(2).random((48, 48, 3)) * 255).astype(np.uint8)
    a = saliency_map(img, method)
    b = saliency_map(img.astype(np.float64) / 255.0, method)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * a.max())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(96, 96), (64, 100, 3), (1, 1), (3, 200, 3)])
def test_constant_image_gives_uniform_map(method, shape):
    img = np.full(shape, 0.7, np.float32)
    sal = saliency_map(img, method)
    assert np.all(np.isfinite(sal))
    np.testing.assert_allclose(sal, 1.0 / (shape[0] * shape[1]), rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape,centre,radius", [((96, 96), (30, 60), 5), ((96, 96), (64, 22), 4),
                                                 ((128, 80), (100, 60), 4), ((200, 256), (50, 190), 10)])
@pytest.mark.parametrize("rgb", [False, True])
def test_lone_blob_gets_the_maximum(method, shape, centre, radius, rgb):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    blob = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2
    img = np.where(blob, 0.9, 0.3).astype(np.float32)
    if rgb:  # a green blob on grey
        img = np.stack([np.full(shape, 0.3, np.float32), img, np.full(shape, 0.3, np.float32)], -1)
    sal = saliency_map(img, method)
    r, c = np.unravel_index(np.argmax(sal), sal.shape)
    assert np.hypot(r - centre[0], c - centre[1]) <= radius + 2, (r, c)  # on the blob or its edge


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 70), w=st.integers(1, 70), rgb=st.booleans(), seed=st.integers(0, 2 ** 31),
       method=st.sampled_from(METHODS), scale=st.sampled_from([1e-3, 1.0, 255.0, 1e4]))
def test_maps_are_probability_distributions(h, w, rgb, seed, method, scale):
    rng = np.random.default_rng(seed)
    img = (rng.random((h, w, 3) if rgb else (h, w)) * scale).astype(np.float32)
    sal = saliency_map(img, method)
    assert sal.shape == (h, w) and sal.dtype == np.float32
    assert np.all(np.isfinite(sal)) and np.all(sal >= 0)
    assert abs(float(sal.sum(dtype=np.float64)) - 1.0) < 1e-4


@pytest.mark.parametrize("bad,match", [
    (np.zeros((4, 5, 2)), r"image must have shape \[H, W\], \[H, W, 1\] or \[H, W, 3\]"),
    (np.zeros((2, 3, 4, 3)), r"image must have shape"),
    (np.zeros(5), r"image must have shape"),
    (np.zeros((0, 5)), r"image must be non-empty"),
    (np.zeros((4, 4), np.int64), r"image must have dtype uint8, float16, float32 or float64"),
    (np.zeros((4, 4), bool), r"image must have dtype"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), r"image must be finite"),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), r"image must be finite"),
])
def test_bad_image_is_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        saliency_map(bad)


def test_bad_batch_and_parameters_are_rejected():
    with pytest.raises(ValueError, match=r"images must have shape \[B, H, W\]"):
        saliency_maps(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"images must be non-empty"):
        saliency_maps(np.zeros((0, 4, 4)))
    with pytest.raises(ValueError, match=r"method must be one of \('spectral_residual', 'itti_koch'\)"):
        saliency_map(np.zeros((4, 4)), method="deepgaze")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['sigma'\] for method 'spectral_residual'"):
        saliency_map(np.zeros((4, 4)), method="spectral_residual", sigma=2.0)
    with pytest.raises(ValueError, match=r"gamma must be a finite number in \[0.001, 100\]"):
        saliency_map(np.zeros((4, 4)), gamma=0.0)
    with pytest.raises(ValueError, match=r"size must be an even integer >= 4"):
        method_params("spectral_residual", size=33)
    with pytest.raises(ValueError, match=r"size must be an int in \[4, 1024\]"):
        method_params("spectral_residual", size=2)
    with pytest.raises(ValueError, match=r"avg_size must be an odd integer"):
        method_params("spectral_residual", avg_size=4)
    with pytest.raises(ValueError, match=r"blur_sigma must be a finite number in \[0.01, 1024\]"):
        method_params("spectral_residual", blur_sigma=0.0)
    with pytest.raises(ValueError, match=r"size must be >= 2 \*\* \(max\(centres\) \+ max\(deltas\)\)"):
        method_params("itti_koch", size=32)
    with pytest.raises(ValueError, match=r"deltas must be a non-empty tuple of integers >= 1"):
        method_params("itti_koch", deltas=())
    with pytest.raises(ValueError, match=r"centres must be an int in \[0, 10\]"):
        method_params("itti_koch", centres=(-1, 2))


@pytest.mark.parametrize("method", METHODS)
def test_gamma_sharpens_the_map_into_a_power_of_itself(method):
    img = _images()[0]
    flat = saliency_map(img, method, gamma=1.0).astype(np.float64)
    sharp = saliency_map(img, method, gamma=2.5).astype(np.float64)
    want = flat ** 2.5 / (flat ** 2.5).sum()
    np.testing.assert_allclose(sharp, want, rtol=0, atol=1e-4 * want.max())
    assert sharp.max() > flat.max() and sharp.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(np.argmax(sharp), np.argmax(flat))
