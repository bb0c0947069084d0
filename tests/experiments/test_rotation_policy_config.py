"""``data.policy`` for the rotation worlds and ``model.predictor_context`` through the pretraining config."""

from __future__ import annotations

import pytest

from experiments.pretrain.config import apply_overrides, load_config, preset_path
from experiments.pretrain.data import describe_policy, policy_kwargs


def _rotation(*overrides: str):  # type: ignore[no-untyped-def]
    return apply_overrides(load_config(preset_path("rotation_cpu")), list(overrides)).validate()


def test_rotation_preset_uses_walks_body_palette_and_the_last_view() -> None:
    cfg = _rotation()
    assert cfg.data.policy == "walk" and cfg.data.env_kwargs["colouring"] == "body"
    assert cfg.model.predictor_context == "agg_last"
    assert policy_kwargs(cfg.data) == {} and "RotationWalkAgent" in describe_policy(cfg.data)
    uniform = _rotation("data.policy=uniform").data
    assert policy_kwargs(uniform) == {"policy": "uniform"} and "UniformRotationAgent" in describe_policy(uniform)
    seq = cfg.seqjepa_config(in_channels=3, action_dim=3)
    assert seq.predictor_context == "agg_last" and seq.predictor_in_dim == 96 + 64 + 32


@pytest.mark.parametrize("policy, expected", [("walk", {}), ("saliency", {})])
def test_walk_is_the_family_default(policy: str, expected: dict) -> None:
    cfg = _rotation(f"data.policy={policy}")
    assert policy_kwargs(cfg.data) == expected
    assert "RotationWalkAgent" in describe_policy(cfg.data)


def test_policies_of_another_family_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="data.policy for data.dataset='objects' must be one of"):
        _rotation("data.policy=mixture")
    scenes = load_config(preset_path("scenes_cpu"))
    with pytest.raises(ValueError, match="data.policy='walk' is a rotation policy"):
        apply_overrides(scenes, ["data.policy=walk"]).validate()
    with pytest.raises(ValueError, match="predictor_context"):
        apply_overrides(scenes, ["model.predictor_context=last"]).validate()
