"""Batched fixation selection: row i equals the single-map function exactly, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import saliency.batch_sample as batch_sample
from saliency import argmax_fixation, argmax_fixations, sample_fixation, sample_fixations


def _sparse_maps(rng: np.random.Generator, n: int, h: int, w: int, zero_fraction: float) -> np.ndarray:
    """Random non-negative maps with zeros (and at least one positive pixel per map)."""
    p = rng.random((n, h, w)).astype(np.float32) ** 3
    p[rng.random((n, h, w)) < zero_fraction] = 0
    flat = p.reshape(n, -1)
    flat[np.arange(n), rng.integers(0, h * w, n)] += np.float32(0.5)
    return p


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9), h=st.integers(1, 24), w=st.integers(1, 24), zero_fraction=st.sampled_from([0.0, 0.5, 0.98]),
       normalise=st.booleans(), seed=st.integers(0, 2 ** 31))
def test_sample_fixations_equals_sample_fixation_row_by_row(n, h, w, zero_fraction, normalise, seed):
    rng = np.random.default_rng(seed)
    p = _sparse_maps(rng, n, h, w, zero_fraction)
    if normalise:
        p = (p / p.sum(axis=(1, 2), keepdims=True)).astype(np.float32)
    u = rng.random(n)
    u[rng.random(n) < 0.2] = 0.0  # the ends of [0, 1)
    u[rng.random(n) < 0.2] = np.nextafter(1.0, 0.0)
    got = sample_fixations(p, u)
    assert got.shape == (n, 2) and got.dtype == np.int64
    for i in range(n):
        assert tuple(got[i]) == sample_fixation(p[i], float(u[i]))
        assert p[i, got[i, 0], got[i, 1]] > 0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9), h=st.integers(1, 24), w=st.integers(1, 24), levels=st.integers(1, 4),
       seed=st.integers(0, 2 ** 31))
def test_argmax_fixations_equals_argmax_fixation_row_by_row(n, h, w, levels, seed):
    rng = np.random.default_rng(seed)
    p = rng.integers(0, levels + 1, (n, h, w)).astype(np.float32)  # few levels: many ties
    p.reshape(n, -1)[:, 0] += 0.5 * (p.reshape(n, -1).max(axis=1) == 0)  # no all-zero map
    got = argmax_fixations(p)
    assert got.shape == (n, 2) and got.dtype == np.int64
    for i in range(n):
        assert tuple(got[i]) == argmax_fixation(p[i])


def test_threaded_path_equals_single_thread(monkeypatch):
    rng = np.random.default_rng(3)
    p = _sparse_maps(rng, 37, 20, 30, 0.5)
    u = rng.random(37)
    serial_sample, serial_argmax = sample_fixations(p, u), argmax_fixations(p)
    monkeypatch.setattr(batch_sample, "_PARALLEL_MIN_PIXELS", 1)
    np.testing.assert_array_equal(sample_fixations(p, u), serial_sample)
    np.testing.assert_array_equal(argmax_fixations(p), serial_argmax)
    np.testing.assert_array_equal(serial_sample, [sample_fixation(p[i], float(u[i])) for i in range(37)])


def test_sampling_follows_the_map():
    p = np.zeros((1, 4, 4), np.float32)
    p[0, 1, 2], p[0, 3, 0] = 0.25, 0.75
    u = np.linspace(0, 1, 400, endpoint=False)
    got = sample_fixations(np.repeat(p, 400, axis=0), u)
    assert np.all(got[u < 0.25] == [1, 2]) and np.all(got[u >= 0.25] == [3, 0])


def test_other_dtypes_are_taken_as_float32_like_the_single_function():
    p = np.random.default_rng(0).random((3, 5, 6))  # float64
    u = np.array([0.1, 0.5, 0.9])
    np.testing.assert_array_equal(sample_fixations(p, u), [sample_fixation(p[i], u[i]) for i in range(3)])
    np.testing.assert_array_equal(argmax_fixations(p.astype(np.int64) + 1), np.zeros((3, 2), np.int64))


@pytest.mark.parametrize("priority,uniforms,match", [
    (np.ones((4, 4), np.float32), np.zeros(1), r"priority must be a 3-D \[B, H, W\]"),
    (np.ones((2, 4, 4), bool), np.zeros(2), "real-valued"),
    (np.ones((2, 4, 4), np.complex64), np.zeros(2), "real-valued"),
    (np.zeros((0, 4, 4), np.float32), np.zeros(0), "non-empty"),
    (np.full((2, 4, 4), np.nan, np.float32), np.zeros(2), "finite"),
    (np.full((2, 4, 4), np.inf, np.float32), np.zeros(2), "finite"),
    (-np.ones((2, 4, 4), np.float32), np.zeros(2), "non-negative"),
    (np.stack([np.ones((4, 4)), np.zeros((4, 4))]).astype(np.float32), np.zeros(2), r"positive mass.*\[1\]"),
    (np.ones((2, 4, 4), np.float32), np.zeros(3), r"uniforms must have shape \(2,\)"),
    (np.ones((2, 4, 4), np.float32), np.array([0.5, 1.0]), r"uniforms must lie in \[0, 1\)"),
    (np.ones((2, 4, 4), np.float32), np.array([-0.1, 0.5]), r"uniforms must lie in \[0, 1\)"),
    (np.ones((2, 4, 4), np.float32), np.array([np.nan, 0.5]), r"uniforms must lie in \[0, 1\)"),
])
def test_sample_fixations_errors(priority, uniforms, match):
    with pytest.raises(ValueError, match=match):
        sample_fixations(priority, uniforms)


def test_argmax_fixations_errors():
    with pytest.raises(ValueError, match="positive mass"):
        argmax_fixations(np.zeros((2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="3-D"):
        argmax_fixations(np.ones((2, 3, 3, 1), np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        argmax_fixations(-np.ones((1, 3, 3), np.float32))
