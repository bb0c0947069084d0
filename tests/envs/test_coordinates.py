"""envs/engine/coordinates.py: pixel <-> normalised round trips, nearest-grid-point rounding,
clipping, relative actions and input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.engine.coordinates import (
    clip_norm,
    max_norm_position,
    norm_to_pixel,
    pixel_to_norm,
    relative_action,
)

SIZES = st.tuples(st.integers(1, 400), st.integers(1, 400))


def all_pixels(h: int, w: int) -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.stack([rows, cols], axis=-1)  # [h, w, 2]


@settings(max_examples=40, deadline=None)
@given(SIZES)
def test_round_trip_every_pixel(shape):
    pix = all_pixels(*shape)
    norm = pixel_to_norm(pix, shape)
    assert norm.dtype == np.float32 and norm.shape == pix.shape
    np.testing.assert_allclose(norm[..., 0], pix[..., 0] / shape[0], rtol=1e-6, atol=0)
    np.testing.assert_allclose(norm[..., 1], pix[..., 1] / shape[1], rtol=1e-6, atol=0)
    back = norm_to_pixel(norm, shape)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, pix)


@settings(max_examples=40, deadline=None)
@given(SIZES, st.floats(-0.49, 0.49))
def test_norm_to_pixel_picks_the_nearest_grid_point(shape, frac):
    pix = all_pixels(*shape).reshape(-1, 2)
    jittered = (pix + frac) / np.asarray(shape, np.float64)  # within half a pixel of a grid point
    np.testing.assert_array_equal(norm_to_pixel(jittered, shape), pix)


def test_norm_to_pixel_clips_to_the_image():
    shape = (10, 20)
    out = norm_to_pixel(np.array([[-0.5, 2.0], [1.0, 1.0], [0.0, -1e9]]), shape)
    np.testing.assert_array_equal(out, [[0, 19], [9, 19], [0, 0]])


@settings(max_examples=40, deadline=None)
@given(SIZES, st.lists(st.floats(-3.0, 3.0, width=32), min_size=2, max_size=2))
def test_clip_norm_bounds_and_idempotence(shape, pos):
    clipped = clip_norm(np.array(pos, np.float32), shape)
    hi = max_norm_position(shape)
    assert clipped.dtype == np.float32
    assert np.all(clipped >= 0.0) and np.all(clipped <= hi)
    np.testing.assert_array_equal(clip_norm(clipped, shape), clipped)
    inside = (np.array(pos) >= 0) & (np.array(pos) <= hi)
    np.testing.assert_array_equal(clipped[inside], np.array(pos, np.float32)[inside])
    # the reachable maximum is the last pixel's grid point
    np.testing.assert_array_equal(norm_to_pixel(hi, shape), np.asarray(shape) - 1)


def test_max_norm_position_values():
    np.testing.assert_allclose(max_norm_position((96, 4)), [95 / 96, 3 / 4], rtol=1e-7)
    np.testing.assert_array_equal(max_norm_position((1, 1)), [0.0, 0.0])


@settings(max_examples=40, deadline=None)
@given(SIZES, st.integers(0, 2**31 - 1))
def test_relative_action_is_the_difference(shape, seed):
    rng = np.random.default_rng(seed)
    a = pixel_to_norm(rng.integers(0, shape, (5, 2)), shape)
    b = pixel_to_norm(rng.integers(0, shape, (5, 2)), shape)
    act = relative_action(a, b)
    assert act.dtype == np.float32 and act.shape == (5, 2)
    np.testing.assert_allclose(act, b.astype(np.float64) - a, atol=1e-6)
    np.testing.assert_array_equal(norm_to_pixel(a + act, shape), norm_to_pixel(b, shape))
    assert not relative_action(a, a).any()
    np.testing.assert_array_equal(relative_action(b, a), -act)


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match="pixels"):
        pixel_to_norm(np.zeros((4, 3)), (8, 8))
    with pytest.raises(ValueError, match="positions"):
        norm_to_pixel(np.zeros(3), (8, 8))
    with pytest.raises(ValueError, match="positions"):
        norm_to_pixel(np.array([np.nan, 0.1]), (8, 8))
    with pytest.raises(ValueError, match="positions"):
        clip_norm(np.array([np.inf, 0.1]), (8, 8))
    with pytest.raises(ValueError, match="positions"):
        clip_norm(np.zeros((2, 3)), (8, 8))
    with pytest.raises(ValueError, match="shape"):
        pixel_to_norm(np.zeros(2), (0, 8))
    with pytest.raises(ValueError, match="shape"):
        norm_to_pixel(np.zeros(2), (8,))
    with pytest.raises(ValueError, match="shape"):
        max_norm_position((8, -1))
    with pytest.raises(ValueError, match="from_positions"):
        relative_action(np.zeros((3, 2)), np.zeros((2, 2)))
