"""Inhibition of return, priority maps and fixation selection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency import (
    IOR_MODES,
    argmax_fixation,
    new_inhibition,
    priority_map,
    sample_fixation,
    update_inhibition,
)
from tests.saliency.reference import (
    argmax_fixation_ref,
    priority_map_ref,
    sample_fixation_ref,
    update_inhibition_ref,
)


def test_new_inhibition_is_ones():
    inhib = new_inhibition((5, 7))
    assert inhib.shape == (5, 7) and inhib.dtype == np.float32 and np.all(inhib == 1)


def test_square_zeroes_a_block_of_half_width_radius_clipped_at_border():
    inhib = update_inhibition(new_inhibition((40, 50)), (10, 3), "square", radius=4)
    zero = inhib == 0
    rows, cols = np.nonzero(zero)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (6, 14, 0, 7)
    assert zero.sum() == 9 * 8 and np.all(inhib[~zero] == 1)


def test_disc_zeroes_exactly_the_disc():
    inhib = update_inhibition(new_inhibition((30, 30)), (15, 12), "disc", radius=5)
    yy, xx = np.mgrid[:30, :30]
    np.testing.assert_array_equal(inhib == 0, (yy - 15) ** 2 + (xx - 12) ** 2 <= 25)


def test_gaussian_multiplies_soft_suppression_and_recovers_with_decay():
    inhib = update_inhibition(new_inhibition((21, 21)), (10, 10), "gaussian", radius=3)
    yy, xx = np.mgrid[:21, :21]
    expected = 1 - np.exp(-((yy - 10) ** 2 + (xx - 10) ** 2) / (2 * 9.0))
    np.testing.assert_allclose(inhib, expected, atol=1e-6)
    assert inhib[10, 10] == 0
    again = update_inhibition(inhib, (0, 0), "gaussian", radius=3, decay=0.5)
    recovered = 1 - (1 - expected) * 0.5
    expected2 = recovered * (1 - np.exp(-(yy ** 2 + xx ** 2) / (2 * 9.0)))
    np.testing.assert_allclose(again, expected2, atol=1e-6)
    assert again[10, 10] == pytest.approx(0.5, rel=1e-4)  # half recovered (the new fixation is far)


@pytest.mark.parametrize("mode", IOR_MODES)
def test_update_matches_reference_and_leaves_input_alone(mode):
    rng = np.random.default_rng(0)
    inhib = rng.random((33, 47)).astype(np.float32)
    before = inhib.copy()
    decay = 0.8 if mode == "gaussian" else 1.0
    for fix, radius in [((0, 0), 16), ((32, 46), 2.5), ((17, 20), 100), ((5, 40), 1)]:
        got = update_inhibition(inhib, fix, mode, radius, decay)
        np.testing.assert_allclose(got, update_inhibition_ref(inhib, fix, mode, radius, decay), atol=1e-6)
    np.testing.assert_array_equal(inhib, before)


def test_priority_is_normalised_product():
    rng = np.random.default_rng(1)
    sal = rng.random((20, 30)).astype(np.float32)
    inhib = update_inhibition(new_inhibition((20, 30)), (5, 5), "disc", 4)
    p = priority_map(sal, inhib)
    assert p.dtype == np.float32 and abs(float(p.sum(dtype=np.float64)) - 1) < 1e-5
    np.testing.assert_allclose(p, sal * inhib / (sal * inhib).sum(), rtol=1e-5)
    np.testing.assert_allclose(p, priority_map_ref(sal, inhib), rtol=1e-6)


def test_fully_suppressed_priority_is_uniform_never_nan():
    sal = np.random.default_rng(2).random((12, 9)).astype(np.float32)
    p = priority_map(sal, np.zeros((12, 9), np.float32))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, 1 / 108)
    p0 = priority_map(np.zeros((12, 9)), new_inhibition((12, 9)))  # no saliency at all
    np.testing.assert_allclose(p0, 1 / 108)


def test_priority_without_saliency_left_stays_out_of_inhibited_region():
    sal = np.zeros((10, 10), np.float32)
    sal[2, 2] = 1.0
    inhib = update_inhibition(new_inhibition((10, 10)), (2, 2), "square", 1)
    p = priority_map(sal, inhib)
    assert np.all(p[1:4, 1:4] == 0) and np.allclose(p[inhib > 0], 1 / 91)


def test_sample_matches_cumsum_searchsorted():
    rng = np.random.default_rng(3)
    p = priority_map(rng.random((23, 31)) ** 4, new_inhibition((23, 31)))
    p[rng.random(p.shape) < 0.3] = 0
    for u in np.concatenate([rng.random(300), [0.0, 1 - 1e-16, 0.5]]):
        assert sample_fixation(p, float(u)) == sample_fixation_ref(p, float(u))


def test_sample_never_returns_zero_probability_pixel():
    p = np.zeros((6, 8), np.float32)
    p[1, 2], p[4, 7] = 0.25, 0.75
    assert sample_fixation(p, 0.0) == (1, 2)
    assert sample_fixation(p, 0.2499) == (1, 2)
    assert sample_fixation(p, 0.25) == (4, 7)
    assert sample_fixation(p, np.nextafter(1.0, 0.0)) == (4, 7)


def test_sampling_frequencies_follow_priority():
    p = np.array([[0.1, 0.0, 0.2], [0.0, 0.3, 0.4]], np.float32)
    u = np.random.default_rng(4).random(20000)
    counts = np.zeros(p.shape)
    for x in u:
        counts[sample_fixation(p, float(x))] += 1
    np.testing.assert_allclose(counts / len(u), p, atol=0.015)
    assert counts[0, 1] == 0 and counts[1, 0] == 0


def test_argmax_takes_first_of_ties():
    p = np.zeros((4, 5), np.float32)
    p[2, 1] = p[1, 3] = p[3, 0] = 0.3
    assert argmax_fixation(p) == (1, 3) == argmax_fixation_ref(p)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), seed=st.integers(0, 2 ** 31), zeros=st.floats(0, 0.95),
       u=st.floats(0, 1, exclude_max=True))
def test_sample_in_bounds_and_on_mass(h, w, seed, zeros, u):
    rng = np.random.default_rng(seed)
    sal = rng.random((h, w)).astype(np.float32)
    sal[rng.random((h, w)) < zeros] = 0
    p = priority_map(sal, new_inhibition((h, w)))
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and abs(float(p.sum(dtype=np.float64)) - 1) < 1e-5
    r, c = sample_fixation(p, u)
    assert 0 <= r < h and 0 <= c < w and p[r, c] > 0


def test_bad_input_names_the_parameter():
    sal, inhib = np.ones((8, 8), np.float32), new_inhibition((8, 8))
    with pytest.raises(ValueError, match=r"mode must be one of \('square', 'disc', 'gaussian'\)"):
        update_inhibition(inhib, (1, 1), mode="circle")
    with pytest.raises(ValueError, match=r"radius must be a finite number in \[0.01, 65536\]"):
        update_inhibition(inhib, (1, 1), radius=0)
    with pytest.raises(ValueError, match=r"radius must be a finite number in \[0.01, 65536\]"):
        update_inhibition(inhib, (1, 1), radius=-3)
    with pytest.raises(ValueError, match=r"decay must be a finite number in \(0, 1\]"):
        update_inhibition(inhib, (1, 1), mode="gaussian", decay=1.5)
    with pytest.raises(ValueError, match=r"decay must be a finite number in \(0, 1\]"):
        update_inhibition(inhib, (1, 1), mode="gaussian", decay=0.0)
    with pytest.raises(ValueError, match=r"decay must be 1.0 for the hard IoR mode 'square'"):
        update_inhibition(inhib, (1, 1), mode="square", decay=0.5)
    with pytest.raises(ValueError, match=r"fixation must lie in \[0, 8\) x \[0, 8\)"):
        update_inhibition(inhib, (8, 0))
    with pytest.raises(ValueError, match=r"fixation must be an integer pair"):
        update_inhibition(inhib, (1.5, 2))
    with pytest.raises(ValueError, match=r"inhibition must be a 2-D \[H, W\] array"):
        update_inhibition(np.ones(8), (1, 1))
    with pytest.raises(ValueError, match=r"shape must be a pair \(H, W\)"):
        new_inhibition((3,))
    with pytest.raises(ValueError, match=r"shape\[1\] must be an int in \[1, 67108864\]"):
        new_inhibition((3, 0))
    with pytest.raises(ValueError, match=r"inhibition must have the saliency's shape \(8, 8\)"):
        priority_map(sal, new_inhibition((8, 7)))
    with pytest.raises(ValueError, match=r"saliency must be finite"):
        priority_map(np.full((8, 8), np.nan), inhib)
    with pytest.raises(ValueError, match=r"saliency must be non-negative"):
        priority_map(-sal, inhib)
    with pytest.raises(ValueError, match=r"u must be a finite number in \[0, 1\)"):
        sample_fixation(sal, 1.0)
    with pytest.raises(ValueError, match=r"u must be a finite number in \[0, 1\)"):
        sample_fixation(sal, -0.1)
    with pytest.raises(ValueError, match=r"priority must have positive mass"):
        sample_fixation(np.zeros((3, 3)), 0.5)
    with pytest.raises(ValueError, match=r"priority must be a 2-D \[H, W\] array"):
        argmax_fixation(np.ones((2, 3, 3)))
