"""A scene style's objects must fit its scenes (issue 28, item 14): a style whose layout places two or more
objects with glyphs too large for them is refused when the keywords are checked, never while generating."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs
from envs.datasets.scenes import SCENE_STYLES, check_scene_args, render_scene

UNIFORM = [name for name, style in SCENE_STYLES.items() if style.layout == "uniform"]


def test_the_issues_case_is_refused_by_the_env_and_the_config():
    with pytest.raises(ValueError, match="max_objects must be 1 for style 'shapes_flat_large'"):
        envs.check_env_kwargs("Saccade-Scenes-v0", 4, style="shapes_flat_large", max_objects=3)
    from experiments.pretrain.config import load_config
    with pytest.raises(ValueError, match="data.max_objects must be 1 for style 'shapes_flat_large'"):
        load_config("scenes_cpu", ["data.scene_style=shapes_flat_large"])
    load_config("scenes_cpu", ["data.scene_style=shapes_flat_large", "data.max_objects=1"])


@settings(max_examples=20, deadline=None)
@given(style=st.sampled_from(UNIFORM), max_objects=st.integers(1, 6), image_size=st.sampled_from([64, 96, 128]),
       seed=st.integers(0, 2 ** 16))
def test_accepted_styles_always_place_their_objects(style, max_objects, image_size, seed):
    try:
        check_scene_args("train", 0, 10, 10, image_size, max_objects, style)
    except ValueError as exc:
        assert "max_objects" in str(exc)
        return
    rng = np.random.default_rng(seed)
    for _ in range(15):
        render_scene(rng, None, image_size, max_objects, SCENE_STYLES[style])  # never "could not place"
