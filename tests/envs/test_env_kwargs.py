"""``envs.check_env_kwargs``: every registered id checks its keywords with its own rules, before any data."""

from __future__ import annotations

import gymnasium as gym
import pytest

import envs
from envs import check_env_kwargs, env_keywords

IDS = list(envs.ENV_IDS) + list(envs.VARIANTS)


@pytest.mark.parametrize("env_id", IDS)
def test_defaults_pass_and_unknown_keywords_are_refused_naming_them(env_id: str) -> None:
    check_env_kwargs(env_id, 4)  # the registered defaults are valid, and no data is needed to say so
    with pytest.raises(TypeError, match="image_sise"):
        check_env_kwargs(env_id, 4, image_sise=64)
    assert "glimpse_size" in env_keywords(env_id) and "render_mode" not in env_keywords(env_id)


@pytest.mark.parametrize("env_id, kwargs, match", [
    ("Saccade-Scenes-v0", {"ior_radius": 0}, "ior_radius"),
    ("Saccade-Scenes-v0", {"style": "x"}, "style"),
    ("Saccade-Scenes-v0", {"scales": (2, 4)}, "scales"),
    ("Saccade-STL10-Classify-v0", {"split": "unlabeled"}, "split"),
    ("PathIntegration-Scenes-v0", {"tiles": 0}, "tiles"),
    ("Rotation3D-Shapes-v0", {"max_angle": 9.0}, "max_angle"),
    ("Rotation3D-Shapes-Classify-v0", {"logit_scale": 0}, "logit_scale"),
    ("Rotation3D-3DIEBench-v0", {"max_steps": 0}, "max_steps"),
])
def test_bad_values_are_refused_by_the_envs_rule_and_by_the_env_alike(env_id: str, kwargs: dict, match: str,
                                                                      tmp_path) -> None:
    with pytest.raises(ValueError, match=match):
        check_env_kwargs(env_id, 2, **kwargs)
    if "STL10" in env_id or "3DIEBench" in env_id:
        return  # building these needs data on disk
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, root=str(tmp_path), **kwargs) if env_id.startswith("Saccade") else gym.make(env_id, **kwargs)


def test_rows_are_checked_like_num_envs() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        check_env_kwargs("Saccade-Scenes-v0", 70_000)


def test_nothing_is_generated_or_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import envs.datasets.scenes as scenes
    import envs.datasets.stl10 as stl10
    import envs.families.path_world as path_world

    def never(*args, **kwargs):
        raise AssertionError("data was generated or loaded by a keyword check")

    monkeypatch.setattr(scenes, "generate_scenes", never)
    monkeypatch.setattr(stl10, "load_stl10", never)
    monkeypatch.setattr(path_world, "make_worlds", never)
    for env_id in IDS:
        check_env_kwargs(env_id, 8)


def test_the_keyword_check_builds_no_world(monkeypatch: pytest.MonkeyPatch) -> None:
    from envs.engine.world import World

    def never(self, *args, **kwargs):
        raise AssertionError(f"a {type(self).__name__} was built by a keyword check")

    monkeypatch.setattr(World, "__init__", never)
    for env_id in IDS:
        check_env_kwargs(env_id, 8)
    with pytest.raises(ValueError, match="max_step must be"):
        check_env_kwargs("PathIntegration-Scenes-v0", 2, max_step=2.0)


def test_defaults_and_ranges_have_one_home_read_by_the_docs() -> None:
    from envs.families.path_world import PathWorld
    from envs.families.saccade_world import SaccadeWorld

    assert PathWorld.keyword_defaults()["max_step"] == 0.25
    assert "``max_step``" in PathWorld.__doc__ and "real in (0, 1]; default 0.25" in PathWorld.__doc__
    assert "``ior_radius``" in SaccadeWorld.__doc__ and set(SaccadeWorld.keyword_ranges) <= set(env_keywords(
        "Saccade-Scenes-v0"))
