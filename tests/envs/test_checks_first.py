"""Env constructors check every keyword before the data is loaded or generated and before any
saliency map is computed (spies on those calls fail the test if they run first); messages name
the user's keyword."""

from __future__ import annotations

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the ids)
import envs.families.saccade_env as saccade_env
import envs.families.saccade_scenes as saccade_scenes
import envs.families.saccade_stl10 as saccade_stl10


def _never(what: str):
    def fail(*args, **kwargs):
        pytest.fail(f"{what} ran before the keywords were checked")
    return fail


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saccade_scenes, "load_scenes", _never("scene generation"))
    monkeypatch.setattr(saccade_stl10, "load_stl10", _never("STL-10 loading"))
    monkeypatch.setattr(saccade_env, "precomputed_saliency", _never("the saliency maps"))


SACCADE_IDS = ["Saccade-Scenes-v0", "Saccade-STL10-v0", "Saccade-Scenes-Classify-v0", "Saccade-STL10-Classify-v0",
               "Saccade-Shapes-v0", "Saccade-Shapes-Classify-v0"]


@pytest.mark.parametrize("env_id", SACCADE_IDS)
def test_an_unknown_keyword_is_named_before_any_data(no_data, env_id: str) -> None:
    with pytest.raises(TypeError, match=r"unknown keyword\(s\) 'image_size'; allowed: \[.*'glimpse_size'") as exc:
        gym.make(env_id, image_size=64)
    message = str(exc.value)
    assert "\n" not in message
    assert ("'download'" if "STL10" in env_id else "'seed'") in message  # the id's own keywords are listed too


@pytest.mark.parametrize("env_id", SACCADE_IDS)
@pytest.mark.parametrize("kwargs,expected", [
    (dict(saliency_method="x"), "saliency_method must be one of"),
    (dict(glimpse_size=0), "glimpse_size must be"),
    (dict(ior_radius=float("nan")), "ior_radius must be"),
    (dict(max_saccades=-1), "max_saccades must be"),
    (dict(glimpse_size=32, scales=(1, 100)), "glimpse_size \\* max\\(scales\\)"),
])
def test_a_bad_value_is_named_before_any_data(no_data, env_id: str, kwargs: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize("maker", [gym.make, lambda env_id, **kw: gym.make_vec(env_id, num_envs=2, **kw)])
def test_vector_and_single_constructors_check_first_alike(no_data, maker) -> None:
    with pytest.raises(ValueError, match="saliency_method must be one of"):
        maker("Saccade-Scenes-v0", saliency_method="x")


@pytest.mark.parametrize("env_id", ["Saccade-Scenes-Classify-v0", "Saccade-STL10-Classify-v0",
                                    "Rotation3D-Shapes-Classify-v0"])
def test_recognition_keywords_are_checked_before_any_data(no_data, env_id: str, monkeypatch) -> None:
    import envs.families.classify_env as classify_env

    monkeypatch.setattr(classify_env, "RotationWorld", _never("object rendering"))
    with pytest.raises(ValueError, match="logit_scale must be"):
        gym.make(env_id, logit_scale=0.0)


@pytest.mark.parametrize("split", ["unlabeled", "train+unlabeled"])
def test_stl10_recognition_on_an_unlabelled_split_fails_before_the_saliency_cache(no_data, split: str) -> None:
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\)"):
        gym.make("Saccade-STL10-Classify-v0", split=split)


def test_a_reward_needing_boxes_is_refused_before_stl10_is_read(no_data) -> None:
    with pytest.raises(ValueError, match="reward='object' needs a dataset with object boxes"):
        gym.make("Saccade-STL10-v0", reward="object")
