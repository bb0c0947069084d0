"""Bad and extreme input to the public saliency API: every call works or raises a ValueError naming
the parameter; no NaN, no silent uniform map, no integer overflow in the IoR kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saliency import (
    argmax_fixation,
    method_params,
    new_inhibition,
    priority_map,
    sample_fixation,
    sample_scanpath,
    saliency_map,
    update_inhibition,
)
from saliency.batch_ior import PriorityBatch
from saliency.validation import RANGES

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# numbers over the whole float64 line, the specials and the integers just past int64
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from([0, 1e-320, 1e-200, 2.7, 1e19, 2 ** 62, 2 ** 63, -1, True]),
)


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((24, 24, 3))


def _check_outcome(call, name: str) -> np.ndarray | None:
    """Run ``call``: a ValueError must name ``name``; a result must be finite."""
    try:
        out = call()
    except ValueError as exc:
        assert name in str(exc), str(exc)
        return None
    arr = np.asarray(out, dtype=np.float64)
    assert np.all(np.isfinite(arr))
    return arr


@SETTINGS
@given(value=NUMBERS, key=st.sampled_from(["gamma", "blur_sigma", "size", "avg_size"]))
def test_spectral_params_work_or_name_themselves(value, key):
    out = _check_outcome(lambda: saliency_map(_image(), "spectral_residual", **{key: value}), key)
    if out is not None:
        assert out.min() >= 0 and math.isclose(out.sum(), 1.0, rel_tol=1e-4)


@SETTINGS
@given(value=NUMBERS, key=st.sampled_from(["gamma", "gabor_sigma", "gabor_wavelength", "size"]))
def test_itti_params_work_or_name_themselves(value, key):
    out = _check_outcome(lambda: saliency_map(_image(), "itti_koch", **{key: value}), key)
    if out is not None:
        assert out.min() >= 0 and math.isclose(out.sum(), 1.0, rel_tol=1e-4)


@pytest.mark.parametrize("key,value", [("centres", (2 ** 62,)), ("deltas", (1, 2 ** 40)), ("centres", 11)])
def test_huge_pyramid_levels_are_rejected_before_any_big_int(key, value):
    with pytest.raises(ValueError, match=rf"{key} must be an int in \[\d, 10\]"):
        method_params("itti_koch", **{key: value})


@SETTINGS
@given(radius=NUMBERS, mode=st.sampled_from(["square", "disc", "gaussian"]))
def test_ior_radius_works_or_names_itself(radius, mode):
    inhib = np.ones((20, 20), np.float32)
    out = _check_outcome(lambda: update_inhibition(inhib, (5, 5), mode, radius), "radius")
    if out is not None:
        assert out[5, 5] == 0.0 and out.max() <= 1.0  # the fixated pixel is always inhibited


def test_ior_radius_range_is_documented_and_enforced():
    lo, hi = RANGES["radius"]
    inhib = np.ones((8, 8), np.float32)
    assert update_inhibition(inhib, (0, 0), "square", hi).max() == 0.0  # a huge radius inhibits all
    for bad in (1e19, 1e-200, hi * 2, lo / 2, float("nan")):
        with pytest.raises(ValueError, match=r"radius must be a finite number in \[0.01, 65536\]"):
            update_inhibition(inhib, (0, 0), "gaussian", bad)
    with pytest.raises(ValueError, match="radius"):
        PriorityBatch(1, (8, 8), "square", 1e19)
    with pytest.raises(ValueError, match="radius"):
        sample_scanpath(np.ones((8, 8)), 2, uniforms=np.zeros(2), radius=1e19)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e38])
@pytest.mark.parametrize("method", ["spectral_residual", "itti_koch"])
def test_float_images_beyond_float32_give_the_right_map(method, scale):
    img = _image(1)
    ref = saliency_map(img, method)
    out = saliency_map(img * scale, method)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-8)
    assert out.max() > 2 * out.min()  # not the uniform map of a flattened image


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_priority_and_sampling_of_maps_beyond_float32(scale):
    sal = np.random.default_rng(2).random((6, 7))
    sal[2, 3] = 5.0
    inhib = np.ones((6, 7), np.float32)
    ref = priority_map(sal, inhib)
    out = priority_map(sal * scale, inhib)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    assert sample_fixation(sal * scale, 0.5) == sample_fixation(sal, 0.5) != (-1, -1)
    assert argmax_fixation(sal * scale) == (2, 3)
    path = sample_scanpath(sal * scale, 3, uniforms=np.array([0.1, 0.5, 0.9]))
    np.testing.assert_array_equal(path, sample_scanpath(sal, 3, uniforms=np.array([0.1, 0.5, 0.9])))


def test_inhibition_outside_unit_range_and_batch_maps_are_rejected():
    with pytest.raises(ValueError, match=r"inhibition must lie in \[0, 1\]"):
        priority_map(np.ones((4, 4)), np.full((4, 4), 1e300))
    pb = PriorityBatch(2, (4, 4))
    with pytest.raises(ValueError, match="maps must be finite"):
        pb.start(np.arange(2), np.full((2, 4, 4), np.inf))
    pb.start(np.arange(2), np.full((2, 4, 4), 1e300))  # rescaled: finite, uniform priority
    np.testing.assert_allclose(pb.priority, 1 / 16)
    with pytest.raises(ValueError, match="source maps must be finite"):
        PriorityBatch(1, (4, 4), materialize=False).start_from(np.zeros(1), np.full((1, 4, 4), 1e300),
                                                               np.zeros(1, np.int64))


@SETTINGS
@given(h=NUMBERS, w=NUMBERS)
def test_inhibition_shape_works_or_names_itself(h, w):
    try:
        out = new_inhibition((h, w))
    except ValueError as exc:
        assert "shape" in str(exc)
    else:
        assert out.shape == (h, w) and out.size <= 1 << 26


@SETTINGS
@given(n=NUMBERS)
def test_scanpath_length_works_or_names_itself(n):
    _check_outcome(lambda: sample_scanpath(np.ones((5, 5)), n, mode="argmax"), "n_fixations")
