"""``PriorityBatch``: batched IoR equals the one-map functions; the fused sampler draws from the same maps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency import argmax_fixation, new_inhibition, priority_map, sample_fixation, update_inhibition
from saliency.batch_ior import PriorityBatch

H, W = 24, 20


def random_maps(seed: int, n: int, sparse: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    maps = rng.random((n, H, W)).astype(np.float32) ** 3
    if sparse:
        maps *= rng.random((n, H, W)) < 0.1
    return maps


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["square", "disc", "gaussian"]), st.floats(0.5, 9.0),
       st.booleans())
def test_rows_match_priority_map_after_the_same_fixations(seed, mode, radius, sparse):
    maps = random_maps(seed, 3, sparse)
    decay = 0.7 if mode == "gaussian" else 1.0
    batch = PriorityBatch(3, (H, W), mode, radius, decay)
    batch.start(np.arange(3), maps)
    rng = np.random.default_rng(seed)
    inhib = [new_inhibition((H, W)) for _ in range(3)]
    for _ in range(4):
        rows = np.flatnonzero(rng.random(3) < 0.7)
        fix = np.stack([rng.integers(0, H, len(rows)), rng.integers(0, W, len(rows))], axis=1)
        before = batch.priority
        batch.fixate(rows, fix)
        for r, f in zip(rows, fix):
            inhib[r] = update_inhibition(inhib[r], tuple(f), mode, radius, decay)
        for r in range(3):
            np.testing.assert_array_equal(batch.priority[r], priority_map(maps[r], inhib[r]))
            np.testing.assert_allclose(batch.row_totals[r], (maps[r].astype(np.float64) * inhib[r]).sum(1),
                                       rtol=1e-12, atol=1e-300)
        assert before is not batch.priority  # handed-out maps are never written again


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_fused_draws_without_maps_match_the_one_map_functions(seed, sparse):
    maps = random_maps(seed, 4, sparse)
    fused = PriorityBatch(4, (H, W), "square", 3, materialize=False)
    fused.start_from(np.arange(4), maps, np.arange(4))
    fused.fixate(np.arange(4), np.array([[3, 4], [10, 10], [0, 19], [23, 0]]))
    assert fused.priority is None
    u = np.random.default_rng(seed).random(4)
    drawn, peaks = fused.sample(u), fused.argmax()
    for r in range(4):
        inhib = update_inhibition(new_inhibition((H, W)), tuple([[3, 4], [10, 10], [0, 19], [23, 0]][r]), "square", 3)
        p = priority_map(maps[r], inhib)
        assert p[tuple(drawn[r])] > 0  # never a pixel without mass
        assert tuple(peaks[r]) == argmax_fixation(p)
        expected = sample_fixation(p, u[r])
        # the same inverse CDF, accumulated in float64 before instead of after normalising:
        # the drawn pixel is the expected one or its neighbour in row-major order
        flat = lambda f: f[0] * W + f[1]  # noqa: E731
        assert abs(flat(drawn[r]) - flat(expected)) <= 1 or p[tuple(expected)] == 0


def test_fused_sampling_follows_the_priority_distribution():
    maps = np.zeros((1, 4, 4), np.float32)
    maps[0, 0, 0], maps[0, 2, 3], maps[0, 3, 1] = 1.0, 2.0, 1.0
    batch = PriorityBatch(1, (4, 4), "square", 0.5, materialize=False)
    batch.start(np.arange(1), maps)
    counts = {}
    for u in np.linspace(0, 1, 400, endpoint=False):
        f = tuple(batch.sample(np.array([u]))[0])
        counts[f] = counts.get(f, 0) + 1
    assert counts == {(0, 0): 100, (2, 3): 200, (3, 1): 100}
    batch.fixate(np.arange(1), np.array([[2, 3]]))  # inhibited: the other two share the mass
    assert {tuple(batch.sample(np.array([u]))[0]) for u in (0.1, 0.6)} == {(0, 0), (3, 1)}


def test_start_from_applies_the_mask_and_bad_uniforms_are_named():
    maps = random_maps(0, 5)
    mask = np.zeros((H, W), np.float32)
    mask[5:10, 5:10] = 1
    batch = PriorityBatch(2, (H, W), materialize=False)
    batch.start_from(np.array([1, 0]), maps, np.array([4, 2]), mask)
    np.testing.assert_array_equal(batch.saliency[1], maps[4] * mask)
    np.testing.assert_array_equal(batch.saliency[0], maps[2] * mask)
    f = batch.sample(np.array([0.3, 0.9]))
    assert np.all((f >= 5) & (f < 10))
    with pytest.raises(ValueError, match="uniforms"):
        batch.sample(np.array([0.3, 1.0]))
    with pytest.raises(ValueError, match="uniforms"):
        batch.sample(np.array([0.3]))
