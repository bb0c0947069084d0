"""The shortcut-free benchmark world: "shapes" scenes, the position-coded background, keep_inside."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.datasets import SCENE_CLASSES, load_scenes
from envs.datasets.place_code import place_code_background
from envs.datasets.scenes import SCENE_STYLES, generate_scenes
from envs.engine.retina import Retina
from envs.families.saccade_env import SaccadeEnv


@pytest.fixture(scope="module")
def shapes() -> dict[str, np.ndarray]:
    return generate_scenes(200, seed=3, split="train", max_objects=3, style="shapes")


def test_every_object_has_the_label_shape(shapes: dict[str, np.ndarray]) -> None:
    """Layout "uniform": every placed object (2 or 3; a third that does not fit is left out) is
    the label's shape."""
    assert SCENE_STYLES["shapes"].layout == "uniform"
    for label, box_labels in zip(shapes["labels"], shapes["box_labels"]):
        placed = box_labels[box_labels >= 0]
        assert 2 <= len(placed) <= 3 and np.all(placed == label)
    assert len(np.unique(shapes["labels"])) == len(SCENE_CLASSES)


def test_majority_layout_has_distractors() -> None:
    data = generate_scenes(60, seed=3, split="train", max_objects=3, style="shapes_majority")
    for label, box_labels in zip(data["labels"], data["box_labels"]):
        placed = box_labels[box_labels >= 0]
        counts = np.bincount(placed, minlength=len(SCENE_CLASSES))
        assert counts[label] == 2 and counts.max() == 2 and len(placed) in (2, 3)


def test_object_centres_keep_the_margin(shapes: dict[str, np.ndarray]) -> None:
    margin = round(SCENE_STYLES["shapes"].object_margin * 96)
    boxes = shapes["boxes"][shapes["box_labels"] >= 0]
    centres = (boxes[:, :2] + boxes[:, 2:]) // 2
    assert centres.min() >= margin and centres.max() <= 96 - margin


def test_object_colour_is_independent_of_the_class(shapes: dict[str, np.ndarray]) -> None:
    """Mean object colour per class: no class is separable by colour (the 'simple' style is)."""
    def class_colour_spread(data: dict[str, np.ndarray]) -> float:
        means = []
        for k in range(len(SCENE_CLASSES)):
            pick = data["labels"] == k
            pix = data["images"][pick][data["masks"][pick] > 0].astype(np.float64)
            means.append(pix.mean(0))
        return float(np.std(np.array(means), axis=0).mean())

    simple = generate_scenes(200, seed=3, split="train", max_objects=1, style="simple")
    assert class_colour_spread(shapes) < 0.4 * class_colour_spread(simple)


def test_place_code_background_codes_position() -> None:
    """The local orientation turns with the column: gradient-orientation histograms differ
    between the left and right thirds of every scene, the same way in every scene."""
    def dominant_orientation(patch: np.ndarray) -> float:
        gy, gx = np.gradient(patch.mean(2))
        # doubled-angle mean of the gradient orientation, weighted by magnitude
        z = ((gx + 1j * gy) ** 2).sum()
        return float(np.angle(z) / 2)

    lefts, rights = [], []
    for seed in range(6):
        img = place_code_background(np.random.default_rng(seed), 96)
        assert img.shape == (96, 96, 3) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 255
        lefts.append(dominant_orientation(img[32:64, 4:28]))
        rights.append(dominant_orientation(img[32:64, 68:92]))
    left, right = np.array(lefts), np.array(rights)
    diff = np.angle(np.exp(2j * (right - left))) / 2  # orientation difference modulo pi
    assert np.all(np.abs(diff) > 0.5)  # about 100 degrees apart, never the same
    assert np.std(np.angle(np.exp(2j * left)) / 2) < 0.35  # consistent across scenes


def test_shapes_scenes_are_deterministic_and_cached(tmp_path) -> None:
    a = load_scenes("test", root=tmp_path, n_test=12, max_objects=3, style="shapes")
    b = load_scenes("test", root=tmp_path, n_test=12, max_objects=3, style="shapes")
    c = load_scenes("test", root=tmp_path, n_test=12, max_objects=3, style="shapes", cache=False)
    assert "shapes" in a.fingerprint
    np.testing.assert_array_equal(np.asarray(a.images), np.asarray(c.images))
    np.testing.assert_array_equal(np.asarray(b.labels), np.asarray(c.labels))


@settings(max_examples=25, deadline=None)
@given(glimpse=st.integers(2, 12), scales=st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True),
       size=st.integers(24, 60), seed=st.integers(0, 10_000))
def test_inside_fixations_never_read_padding(glimpse: int, scales: list[int], size: int, seed: int) -> None:
    """At every fixation inside_bounds allows, zero and reflect padding give identical glimpses;
    one pixel further out they differ (for an image without a constant border)."""
    scales = tuple(sorted(set(scales) | {1}))
    zero, reflect = Retina(glimpse, scales, "zero"), Retina(glimpse, scales, "reflect")
    if glimpse * max(scales) > size:
        with pytest.raises(ValueError, match="does not fit"):
            zero.inside_bounds((size, size))
        return
    lo, hi = zero.inside_bounds((size, size))
    img = np.random.default_rng(seed).integers(1, 256, (size, size, 3), dtype=np.uint8)
    for fix in ([lo[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [(lo[0] + hi[0]) // 2, lo[1]]):
        np.testing.assert_array_equal(zero.glimpse(img, np.array(fix)), reflect.glimpse(img, np.array(fix)))
    out = np.array([lo[0] - 1, lo[1]])
    assert not np.array_equal(zero.glimpse(img, out), reflect.glimpse(img, out))  # one padded row
    mask = zero.inside_mask((size, size))
    assert mask.sum() == (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1)


def test_env_keep_inside_clips_saccades_and_fixations(tmp_path) -> None:
    data = load_scenes("test", root=tmp_path, n_test=8, max_objects=3, style="shapes")
    env = SaccadeEnv(data, glimpse_size=16, scales=(1, 3), max_saccades=30, ior_radius=8, keep_inside=True)
    lo, hi = env.retina.inside_bounds((96, 96))
    obs, info = env.reset(seed=0)
    assert np.all(info["fixation"] >= lo) and np.all(info["fixation"] <= hi)
    assert env.priority[: lo[0]].sum() == 0 and env.priority[hi[0] + 1:].sum() == 0
    rng = np.random.default_rng(0)
    for _ in range(30):
        before = info["position"]
        obs, _, _, truncated, info = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        assert np.all(info["fixation"] >= lo) and np.all(info["fixation"] <= hi)
        np.testing.assert_allclose(obs["last_action"], info["position"] - before, atol=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        SaccadeEnv(data, glimpse_size=32, scales=(1, 4), keep_inside=True)
    with pytest.raises(ValueError, match="keep_inside"):
        SaccadeEnv(data, keep_inside="yes")


def test_sequence_source_keep_inside(tmp_path) -> None:
    from experiments.pretrain.source import SequenceSource

    src = SequenceSource("Saccade-Scenes-v0", dict(root=tmp_path, split="test", glimpse_size=16, scales=(1, 3),
                                                   ior_radius=8, n_test=16, style="shapes", max_objects=3,
                                                   keep_inside=True), seq_len=9, batch_size=8)
    lo, hi = Retina(16, (1, 3)).inside_bounds((96, 96))
    for batch in src.batches(0):
        fix = np.rint(batch["positions"].numpy() * 96).astype(int)
        assert fix.min() >= lo.min() and fix.max() <= hi.max()