"""Scanpaths: the batched Numba loop against the public step functions and the NumPy reference."""

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
    saliency_maps,
    sample_fixation,
    sample_scanpath,
    sample_scanpaths,
    update_inhibition,
)
from tests.saliency.reference import sample_scanpath_ref

IOR_SETTINGS = [("square", 16, 1.0), ("disc", 7, 1.0), ("gaussian", 5.0, 1.0), ("gaussian", 9.0, 0.7)]


def _maps(b: int = 6, h: int = 48, w: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return saliency_maps((rng.random((b, h, w, 3)) * 255).astype(np.uint8))


def _stepwise(sal, uniforms, mode, ior, radius, decay):
    """The environment's way: the public functions, one fixation at a time."""
    inhib = new_inhibition(sal.shape)
    out = []
    for u in uniforms:
        p = priority_map(sal, inhib)
        fix = argmax_fixation(p) if mode == "argmax" else sample_fixation(p, float(u))
        out.append(fix)
        inhib = update_inhibition(inhib, fix, ior, radius, decay)
    return np.array(out, np.int64)


@pytest.mark.parametrize("ior,radius,decay", IOR_SETTINGS)
@pytest.mark.parametrize("mode", ["sample", "argmax"])
def test_stepwise_public_api_equals_batched_bit_for_bit(ior, radius, decay, mode):
    maps = _maps()
    uniforms = np.random.default_rng(1).random((len(maps), 12))
    batched = sample_scanpaths(maps, 12, uniforms=uniforms, mode=mode, ior=ior, radius=radius, decay=decay)
    assert batched.shape == (len(maps), 12, 2) and batched.dtype == np.int64
    for b in range(len(maps)):
        np.testing.assert_array_equal(batched[b], _stepwise(maps[b], uniforms[b], mode, ior, radius, decay))
        single = sample_scanpath(maps[b], 12, uniforms=uniforms[b], mode=mode, ior=ior, radius=radius, decay=decay)
        np.testing.assert_array_equal(single, batched[b])


@pytest.mark.parametrize("ior,radius,decay", IOR_SETTINGS[:2])
def test_scanpath_matches_numpy_reference(ior, radius, decay):
    maps = _maps(3)
    uniforms = np.random.default_rng(2).random((3, 8))
    got = sample_scanpaths(maps, 8, uniforms=uniforms, ior=ior, radius=radius, decay=decay)
    for b in range(3):
        np.testing.assert_array_equal(got[b], sample_scanpath_ref(maps[b], uniforms[b], "sample", ior, radius, decay))


def test_same_seed_same_scanpath_and_rng_draws_b_by_n_uniforms():
    maps = _maps(4)
    a = sample_scanpaths(maps, 5, rng=np.random.default_rng(7))
    b = sample_scanpaths(maps, 5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    u = np.random.default_rng(7).random((4, 5))
    np.testing.assert_array_equal(a, sample_scanpaths(maps, 5, uniforms=u))
    one = sample_scanpath(maps[0], 5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(one, sample_scanpath(maps[0], 5, uniforms=np.random.default_rng(3).random(5)))
    assert not np.array_equal(a, sample_scanpaths(maps, 5, rng=np.random.default_rng(8)))


@pytest.mark.parametrize("ior,radius", [("square", 6), ("disc", 6)])
def test_hard_ior_region_is_never_refixated(ior, radius):
    maps = _maps(8, 64, 64)
    paths = sample_scanpaths(maps, 20, rng=np.random.default_rng(5), ior=ior, radius=radius)
    for path in paths:
        for k in range(1, len(path)):
            d = path[k] - path[:k]  # offsets to every earlier fixation
            if ior == "square":
                inside = (np.abs(d[:, 0]) <= radius) & (np.abs(d[:, 1]) <= radius)
            else:
                inside = (d ** 2).sum(1) <= radius ** 2
            assert not inside.any(), (k, path[:k + 1])


def test_argmax_mode_visits_peaks_in_descending_order():
    sal = np.full((60, 60), 1e-3, np.float32)
    peaks = [((10, 50), 0.9), ((45, 12), 0.7), ((30, 30), 0.5), ((52, 52), 0.3)]
    for (r, c), v in peaks:
        sal[r, c] = v
    path = sample_scanpath(sal, 4, mode="argmax", ior="disc", radius=3)
    np.testing.assert_array_equal(path, [p for p, _ in peaks])
    # no uniforms/rng needed in argmax mode; given ones are ignored
    np.testing.assert_array_equal(path, sample_scanpath(sal, 4, rng=np.random.default_rng(0), mode="argmax",
                                                        ior="disc", radius=3))


def test_fully_inhibited_image_keeps_going_uniformly():
    sal = np.random.default_rng(6).random((5, 5)).astype(np.float32)
    path = sample_scanpath(sal, 6, uniforms=np.linspace(0, 0.99, 6), ior="square", radius=10)
    assert path.shape == (6, 2) and np.all((path >= 0) & (path < 5))
    # after the first fixation everything is inhibited: u -> uniform index u * 25
    np.testing.assert_array_equal(path[1:, 0] * 5 + path[1:, 1], (np.linspace(0, 0.99, 6)[1:] * 25).astype(int))


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 4), h=st.integers(1, 30), w=st.integers(1, 30), n=st.integers(1, 8),
       ior=st.sampled_from(IOR_MODES), radius=st.floats(0.5, 20), seed=st.integers(0, 2 ** 31))
def test_fixations_in_bounds(b, h, w, n, ior, radius, seed):
    rng = np.random.default_rng(seed)
    sal = rng.random((b, h, w)).astype(np.float32) ** 3
    paths = sample_scanpaths(sal, n, rng=rng, ior=ior, radius=radius)
    assert paths.shape == (b, n, 2) and paths.dtype == np.int64
    assert np.all((paths[..., 0] >= 0) & (paths[..., 0] < h) & (paths[..., 1] >= 0) & (paths[..., 1] < w))


def test_bad_input_names_the_parameter():
    sal = np.ones((8, 8), np.float32)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"n_fixations must be an int in \[1, 100000\]"):
        sample_scanpath(sal, 0, rng=rng)
    with pytest.raises(ValueError, match=r"n_fixations must be an int in \[1, 100000\]"):
        sample_scanpath(sal, -2, rng=rng)
    with pytest.raises(ValueError, match=r"pass exactly one of rng .* or uniforms"):
        sample_scanpath(sal, 3)
    with pytest.raises(ValueError, match=r"pass at most one of rng or uniforms"):
        sample_scanpath(sal, 3, rng=rng, uniforms=np.zeros(3))
    with pytest.raises(ValueError, match=r"uniforms must have shape \(3,\)"):
        sample_scanpath(sal, 3, uniforms=np.zeros(4))
    with pytest.raises(ValueError, match=r"uniforms must have shape \(2, 3\)"):
        sample_scanpaths(np.ones((2, 8, 8)), 3, uniforms=np.zeros(3))
    with pytest.raises(ValueError, match=r"uniforms must lie in \[0, 1\)"):
        sample_scanpath(sal, 2, uniforms=np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"uniforms must lie in \[0, 1\)"):
        sample_scanpath(sal, 2, uniforms=np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match=r"mode must be one of \('sample', 'argmax'\)"):
        sample_scanpath(sal, 2, rng=rng, mode="greedy")
    with pytest.raises(ValueError, match=r"ior must be one of \('square', 'disc', 'gaussian'\)"):
        sample_scanpath(sal, 2, rng=rng, ior="none")
    with pytest.raises(ValueError, match=r"radius must be a finite number in \[0.01, 65536\]"):
        sample_scanpath(sal, 2, rng=rng, radius=0)
    with pytest.raises(ValueError, match=r"decay must be a finite number in \(0, 1\]"):
        sample_scanpath(sal, 2, rng=rng, ior="gaussian", decay=2)
    with pytest.raises(ValueError, match=r"saliency must be a 2-D \[H, W\] array"):
        sample_scanpath(np.ones((2, 8, 8)), 2, rng=rng)
    with pytest.raises(ValueError, match=r"saliency must be a 3-D \[B, H, W\] array"):
        sample_scanpaths(sal, 2, rng=rng)
    with pytest.raises(ValueError, match=r"saliency must be non-empty"):
        sample_scanpaths(np.ones((0, 8, 8)), 2, rng=rng)
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        sample_scanpath(sal, 2, rng=np.random.RandomState(0))
