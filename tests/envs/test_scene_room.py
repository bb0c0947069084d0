"""A scene style's objects must fit its scenes (issue 28, item 14): a style whose layout places two or more
objects with glyphs too large for them is refused when the keywords are checked, never while generating; and
every accepted style, the majority layout included, always places the objects its scenes must hold (a scene
whose random places leave no room is drawn again, the last time with the required objects in the corners)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs
from envs.datasets import scenes
from envs.datasets.scenes import SCENE_STYLES, check_scene_args, render_scene, required_objects
from envs.datasets.shapes import SCENE_CLASSES, glyph_alpha

MULTI = [name for name, style in SCENE_STYLES.items() if style.layout in ("uniform", "majority")]


def test_the_issues_case_is_refused_by_the_env_and_the_config():
    with pytest.raises(ValueError, match="max_objects must be 1 for style 'shapes_flat_large'"):
        envs.check_env_kwargs("Saccade-Scenes-v0", 4, style="shapes_flat_large", max_objects=3)
    from experiments.pretrain.config import load_config
    with pytest.raises(ValueError, match="data.max_objects must be 1 for style 'shapes_flat_large'"):
        load_config("scenes_cpu", ["data.scene_style=shapes_flat_large"])
    load_config("scenes_cpu", ["data.scene_style=shapes_flat_large", "data.max_objects=1"])


def _check(scene: scenes.Scene, style: str, max_objects: int) -> None:
    layout = SCENE_STYLES[style].layout
    assert len(scene.box_labels) >= required_objects(layout, max_objects)
    assert scene.label == scene.box_labels[0]
    if layout == "majority":  # the label is the shape most objects share
        assert (scene.box_labels == scene.label).sum() == max_objects // 2 + 1


@pytest.mark.parametrize("index", [146, 289, 774])
def test_the_majority_scenes_that_found_no_room_now_hold_their_objects(index):
    """Scenes of shapes_majority with max_objects=6 whose fourth shared-shape glyph found no room ("could not
    place object 3"): an early glyph near the middle had taken it."""
    rng = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(0, index)))  # generate_scenes' stream
    _check(render_scene(rng, None, 96, 6, SCENE_STYLES["shapes_majority"]), "shapes_majority", 6)


@settings(max_examples=30, deadline=None)
@given(style=st.sampled_from(MULTI), max_objects=st.integers(1, 6), image_size=st.sampled_from([64, 96, 128]),
       seed=st.integers(0, 2 ** 16))
def test_accepted_styles_always_place_their_objects(style, max_objects, image_size, seed):
    try:
        check_scene_args("train", 0, 10, 10, image_size, max_objects, style)
    except ValueError as exc:
        assert "max_objects" in str(exc)
        return
    rng = np.random.default_rng(seed)
    for _ in range(15):
        _check(render_scene(rng, None, image_size, max_objects, SCENE_STYLES[style]), style, max_objects)


@settings(max_examples=30, deadline=None)
@given(style=st.sampled_from(MULTI), max_objects=st.integers(1, 6), image_size=st.integers(32, 256),
       seed=st.integers(0, 2 ** 16))
def test_the_corner_layout_always_holds_the_required_objects(style, max_objects, image_size, seed):
    """The last draw (every draw here: no redraws) places the required objects in the corners, no matter
    where random places would put them."""
    try:
        check_scene_args("train", 0, 10, 10, image_size, max_objects, style)
    except ValueError:
        return
    rng = np.random.default_rng(seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scenes, "_RESTARTS", 0)
        for _ in range(3):
            _check(render_scene(rng, None, image_size, max_objects, SCENE_STYLES[style]), style, max_objects)


@pytest.mark.parametrize("style", MULTI)
def test_four_of_the_largest_glyphs_at_any_turn_fit_in_the_corners(style):
    """The worst case of the corner layout, for every size check_scene_args accepts: four glyphs of the
    style's largest size, turned so their boxes are widest."""
    spec = SCENE_STYLES[style]
    for image_size in [*range(32, 257, 9), 96, 256]:
        try:
            check_scene_args("train", 0, 10, 10, image_size, 6, style)
        except ValueError:
            continue
        largest = spec.object_size[1] * image_size / 96.0
        margin = int(round(spec.object_margin * image_size))
        for angle in (0.0, math.pi / 4, math.pi / 8, 3 * math.pi / 8):
            for cls in range(len(SCENE_CLASSES)):
                boxes: list[np.ndarray] = []
                alpha = glyph_alpha(cls, largest, angle)
                rows, cols = np.nonzero(alpha >= 0.5)
                local = np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])
                for corner in range(4):
                    tl = scenes._place(np.random.default_rng(0), alpha, image_size, boxes, margin, corner=corner)
                    assert tl is not None, (style, image_size, angle, cls, corner)
                    boxes.append(np.concatenate([tl, tl]) + local)
