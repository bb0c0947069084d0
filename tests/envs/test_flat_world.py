"""The world without per-scene signatures ("shapes_flat"): only the content at a place differs between scenes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.datasets import load_scenes
from envs.datasets.place_code import FLAT_AMPLITUDE, FLAT_MEAN, place_code_background
from envs.datasets.scenes import SCENE_STYLES, generate_scenes


@pytest.fixture(scope="module")
def flat() -> dict[str, np.ndarray]:
    return generate_scenes(40, seed=5, split="train", max_objects=3, style="shapes_flat")


def test_background_is_the_same_in_every_scene(flat: dict[str, np.ndarray]) -> None:
    """Wherever two scenes both show background, they show the same bytes: no grey, tint, phase,
    blur or noise of their own."""
    images, background = flat["images"].astype(np.int16), flat["masks"] == 0
    # dilate the objects by 4 px: anti-aliased glyph edges and faint shading reach past the mask
    near = np.zeros_like(background)
    for dr in range(-4, 5):
        for dc in range(-4, 5):
            near |= np.roll(~background, (dr, dc), axis=(1, 2))
    free = ~near
    both = free[0] & free[1:]
    assert both.sum() > 1000
    for k in range(1, len(images)):
        np.testing.assert_array_equal(images[k][both[k - 1]], images[0][both[k - 1]])


def test_signature_style_differs_per_scene_and_flat_one_does_not() -> None:
    """The old "shapes" style gives each scene its own background grey; "shapes_flat" one grey for all."""
    shapes = generate_scenes(12, seed=5, split="train", max_objects=1, style="shapes")
    flat = generate_scenes(12, seed=5, split="train", max_objects=1, style="shapes_flat")

    def background_means(d: dict[str, np.ndarray]) -> np.ndarray:
        return np.array([img[m == 0].mean() for img, m in zip(d["images"], d["masks"])])

    assert background_means(shapes).std() > 5.0
    flat_means = background_means(flat)
    assert flat_means.std() < 1.5  # only the objects' footprints differ
    assert abs(flat_means.mean() - FLAT_MEAN) < 4.0


@settings(max_examples=10, deadline=None)
@given(seed_a=st.integers(0, 2 ** 32 - 1), seed_b=st.integers(0, 2 ** 32 - 1), size=st.sampled_from([32, 64, 96]))
def test_flat_background_ignores_the_generator(seed_a: int, seed_b: int, size: int) -> None:
    rng_a, rng_b = np.random.default_rng(seed_a), np.random.default_rng(seed_b)
    state = rng_a.bit_generator.state
    a = place_code_background(rng_a, size, signature=False)
    b = place_code_background(rng_b, size, signature=False)
    np.testing.assert_array_equal(a, b)
    assert rng_a.bit_generator.state == state  # nothing drawn
    assert a.shape == (size, size, 3) and np.all(a[..., 0] == a[..., 1])  # grey: no tint
    assert abs(float(a.mean()) - FLAT_MEAN) < 6.0 and 0.4 * FLAT_AMPLITUDE < float(a.std()) < 1.6 * FLAT_AMPLITUDE


def test_flat_background_still_codes_position() -> None:
    """Left and right halves differ (orientation turns with the column), top and bottom too (period)."""
    bg = place_code_background(np.random.default_rng(0), 96, signature=False)[..., 0]
    assert np.abs(bg[:, :48] - bg[:, 48:]).mean() > 10 and np.abs(bg[:48] - bg[48:]).mean() > 10


def test_flat_styles_keep_the_class_in_the_shape(flat: dict[str, np.ndarray]) -> None:
    for label, box_labels in zip(flat["labels"], flat["box_labels"]):
        placed = box_labels[box_labels >= 0]
        assert len(placed) >= 2 and np.all(placed == label)
    large = generate_scenes(20, seed=5, split="train", max_objects=1, style="shapes_flat_large")
    small = generate_scenes(20, seed=5, split="train", max_objects=1, style="shapes_flat")

    def extent(d: dict[str, np.ndarray]) -> float:
        b = d["boxes"][:, 0]
        return float(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]).mean())

    assert extent(large) > 1.5 * extent(small)


def test_fingerprints_tell_the_styles_apart_and_keep_the_old_ones(tmp_path) -> None:
    flat = load_scenes("test", root=tmp_path, n_test=3, max_objects=2, style="shapes_flat")
    shapes = load_scenes("test", root=tmp_path, n_test=3, max_objects=2, style="shapes")
    assert flat.fingerprint != shapes.fingerprint
    import hashlib
    import json

    old = dataclasses.asdict(SCENE_STYLES["shapes"])
    del old["scene_signature"]  # a default left out: caches of the older styles stay valid
    digest = hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:10]
    assert shapes.fingerprint.endswith(f"-shapes-{digest}")
