"""One evaluation for every world: path-integration and rotation targets, label-free data, reports."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from experiments.evaluate.features import (
    SplitFeatures,
    relative_motion,
    relative_transform,
    rotation_matrices,
)
from experiments.evaluate.report import ROTATION_DESCRIPTIONS, check_claims, summarise, write_report
from experiments.evaluate.runner import evaluate_model, headline
from experiments.pretrain.config import DataConfig, EvalConfig, TrainConfig
from experiments.pretrain.data import make_source
from seqjepa import SeqJEPA
from tests.experiments.test_pretrain import tiny_config

S = math.sqrt(0.5)
QX90 = [S, S, 0.0, 0.0]    # (w, x, y, z): 90 degrees about x
QZ90 = [S, 0.0, 0.0, S]    # 90 degrees about z
RX90 = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]
RZ90 = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]


@pytest.fixture(autouse=True)
def _data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACCADE_DATA", str(tmp_path / "data"))


# ----------------------------------------------------------------------------- targets

def test_relative_motion_of_positions_is_the_displacement_from_view_0() -> None:
    states = torch.tensor([[[0.5, 0.5], [0.6, 0.4], [0.9, 0.1]],
                           [[0.0, 1.0], [0.25, 0.75], [0.5, 0.5]]])
    expected = torch.tensor([[[0.0, 0.0], [0.1, -0.1], [0.4, -0.4]],
                             [[0.0, 0.0], [0.25, -0.25], [0.5, -0.5]]])
    torch.testing.assert_close(relative_motion(states), expected)
    torch.testing.assert_close(relative_transform(states, 1, 2), torch.tensor([[0.3, -0.3], [0.25, -0.25]]))


def test_rotation_matrices_are_scalar_first_and_sign_free() -> None:
    q = torch.tensor([[[1.0, 0.0, 0.0, 0.0], QX90, [-v for v in QZ90]]])   # identity, Rx(90), -q of Rz(90)
    mats = rotation_matrices(q)
    assert mats.shape == (1, 3, 9) and mats.dtype == torch.float32
    expected = torch.tensor(np.array([np.eye(3).ravel(), np.ravel(RX90), np.ravel(RZ90)]), dtype=torch.float32)[None]
    torch.testing.assert_close(mats, expected, atol=1e-6, rtol=0)


def test_relative_rotation_is_q_m_times_q_0_inverse() -> None:
    """q_1 = exp(a) q_0 with a = 90 degrees about z (left-multiplied, camera frame); q_0 = Rx(90).

    q_1 q_0^{-1} = Rz(90); the other order, q_0^{-1} q_1 = Rx^T Rz Rx, would differ."""
    rz, rx = np.array(RZ90, float), np.array(RX90, float)
    q1 = [0.5, 0.5, 0.5, 0.5]  # the quaternion of Rz(90) Rx(90)
    assert np.allclose(rotation_matrices(torch.tensor(q1)).reshape(3, 3).numpy(), rz @ rx, atol=1e-6)
    states = torch.tensor([[QX90, q1, [-v for v in QX90]]])   # view 2: back at view 0's orientation (-q)
    rel = relative_motion(states)
    assert rel.shape == (1, 3, 9)
    expected = torch.tensor(np.array([np.eye(3).ravel(), rz.ravel(), np.eye(3).ravel()]), dtype=torch.float32)[None]
    torch.testing.assert_close(rel, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(relative_transform(states, 0, 1), torch.tensor([[0.0, 0.0, math.pi / 2]]),
                               atol=1e-6, rtol=0)


def test_targets_agree_with_the_envs_noise_free_actions() -> None:
    """The rotation env's convention (q_new = exp(a) q, camera frame) and the position families'
    displacements match the target builders: states and noise-free actions tell the same story."""
    for dataset, kwargs in (("objects", {"n_objects": 4, "image_size": 16}), ("worlds", {"n_worlds": 2, "world_size": 32})):
        data = DataConfig(dataset=dataset, glimpse_size=16, seq_len=4, batch_size=8, epoch_size=8, prefetch=0,
                          env_kwargs=kwargs)
        batch = next(iter(make_source(data, "train").batches(0)))
        states, actions = batch["states"], batch["actions"]
        for t in (1, 3):
            torch.testing.assert_close(relative_transform(states, t - 1, t), actions[:, t], atol=1e-5, rtol=0)
        if dataset == "worlds":
            torch.testing.assert_close(relative_motion(states), actions.cumsum(1), atol=1e-5, rtol=0)


def _features(actions: torch.Tensor, states: torch.Tensor | None) -> SplitFeatures:
    n, t, _ = actions.shape
    empty = {1: torch.zeros(n, 1)}
    return SplitFeatures(z_views=torch.zeros(n, t, 1), z_agg=empty, z_agg_no_action=empty, z_agg_no_vision=empty,
                         actions=actions, labels=torch.full((n,), -1), pixels=torch.zeros(n, t, 1),
                         colour=torch.zeros(n, t, 0), states=states)


def test_split_features_targets_come_from_states_when_present() -> None:
    actions = torch.tensor([[[0.0, 0.0], [0.1, 0.0], [0.1, 0.1]]])
    positions = torch.tensor([[[0.5, 0.5], [0.5, 0.5], [0.7, 0.6]]])   # the reported actions were noisy
    with_states, without = _features(actions, positions), _features(actions, None)
    torch.testing.assert_close(with_states.motion[0, 2], torch.tensor([0.2, 0.1]))
    torch.testing.assert_close(without.motion[0, 2], torch.tensor([0.2, 0.1]))  # summed actions
    torch.testing.assert_close(with_states.first_step[0], torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(without.first_step[0], torch.tensor([0.1, 0.0]))
    assert with_states.orientation is None and not with_states.is_rotation
    rot = _features(torch.zeros(1, 2, 3), torch.tensor([[[1.0, 0, 0, 0], QZ90]]))
    assert rot.is_rotation and rot.orientation.shape == (1, 2, 9) and rot.motion.shape == (1, 2, 9)
    with pytest.raises(ValueError, match="states"):
        _features(actions, torch.zeros(1, 3, 3))


# ----------------------------------------------------------------------------- end to end

def _tiny(tmp_path: Path, dataset: str, env_kwargs: dict[str, Any], glimpse: int,
          m_val: tuple[int, ...] = (1, 2, 3)) -> TrainConfig:
    data = DataConfig(dataset=dataset, glimpse_size=glimpse, seq_len=3, batch_size=32, epoch_size=128,
                      prefetch=0, env_kwargs=env_kwargs)
    return tiny_config(tmp_path / "runs", data=data, eval=EvalConfig(m_val=m_val, batch_size=32))


def _evaluate(config: TrainConfig) -> list[dict[str, Any]]:
    src = make_source(config.data, "train", seq_len=2)
    torch.manual_seed(0)
    model = SeqJEPA(config.seqjepa_config(src.channels, src.action_dim))
    rows = evaluate_model(model, config, torch.device("cpu"))
    assert rows and all(math.isfinite(r["value"]) for r in rows)
    return rows


def _cells(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int | None], float]:
    return {(r["metric"], r["subject"], r["m"]): r["value"] for r in rows}


def test_worlds_evaluation_with_action_noise(tmp_path: Path) -> None:
    config = _tiny(tmp_path, "worlds", {"n_worlds": 3, "world_size": 64, "action_noise": 0.05}, 16)
    rows = _evaluate(config)
    got = _cells(rows)
    assert not any(r["metric"].startswith(("top1", "rot_")) for r in rows)   # no labels, no rotation
    assert not {"chance", "colour_hist"} & {r["subject"] for r in rows}
    for m in (1, 2, 3):
        for subject in ("trained", "random_init"):
            for metric in ("pathint_r2", "pathint_r2_no_action", "pathint_r2_no_vision"):
                assert (metric, subject, m) in got
        assert 0.3 < got[("pathint_r2", "dead_reckoning", m)] < 0.999   # noisy self-motion drifts
        for subject in ("trained", "random_init", "raw_pixels"):   # vision + actions, step by step
            assert -1.0 < got[("pathint_r2_odometry", subject, m)] <= 1.0
    assert {("equiv_r2_uniform", s, 2) for s in ("trained", "random_init", "raw_pixels")} <= set(got)
    summary = summarise(rows)
    text = headline(summary, 2)
    assert "top-1" not in text and "chance" not in text and "path integration R^2, 3 views" in text
    claims = [c["claim"] for c in check_claims(summary)]
    assert not any("top1" in c for c in claims) and any("dead_reckoning" in c for c in claims)
    md = write_report(tmp_path / "report", rows, {"title": "worlds"})["report"].read_text()
    assert "top1" not in md and "pathint_r2_vs_views.png" in md and "step by step" in md


def test_worlds_dead_reckoning_is_exact_without_noise(tmp_path: Path) -> None:
    config = _tiny(tmp_path, "worlds", {"n_worlds": 3, "world_size": 64}, 16)
    got = _cells(_evaluate(config))
    assert all(got[("pathint_r2", "dead_reckoning", m)] > 0.999 for m in (1, 2, 3))
    assert not any(k[0] == "pathint_r2_odometry" for k in got)   # nothing for vision to correct
    assert not any("dead_reckoning" in c["claim"] for c in check_claims(summarise(
        [{"metric": k[0], "subject": k[1], "m": k[2], "seed": 0, "value": v} for k, v in got.items()])))


def test_an_evaluation_may_set_the_reported_moves_noise_of_its_sequences(tmp_path: Path) -> None:
    """``data_overrides={"action_noise": s}`` (``saccade-eval --action-noise``) goes into the data's
    env_kwargs beside the run's other env keywords; a world without that keyword refuses it by name."""
    from experiments.evaluate.runner import _configured

    worlds = _tiny(tmp_path, "worlds", {"n_worlds": 3, "world_size": 64, "action_noise": 0.02}, 16)
    noisy = _configured(worlds, None, {"action_noise": 0.1})
    assert noisy.data.env_kwargs == {"n_worlds": 3, "world_size": 64, "action_noise": 0.1}
    assert worlds.data.env_kwargs["action_noise"] == 0.02   # the run's own config is left alone
    with pytest.raises(ValueError, match="action_noise"):
        _configured(worlds, None, {"action_noise": 2.0})
    scenes = _tiny(tmp_path, "scenes", {}, 16)
    with pytest.raises((ValueError, TypeError), match="action_noise"):
        _configured(scenes, None, {"action_noise": 0.1})


def test_objects_evaluation_reports_rotation(tmp_path: Path) -> None:
    config = _tiny(tmp_path, "objects", {"n_objects": 12, "image_size": 24}, 24, m_val=(1, 2))
    rows = _evaluate(config)
    got = _cells(rows)
    for subject in ("trained", "random_init", "raw_pixels"):
        assert ("rot_r2_absolute", subject, 1) in got and ("equiv_r2_uniform", subject, 2) in got
    assert [r["m"] for r in rows if r["metric"] == "rot_r2_absolute" and r["subject"] == "trained"] == [1]
    assert {("top1_z_agg", s, 2) for s in ("trained", "random_init", "chance")} <= set(got)   # classes exist
    for m in (1, 2):
        assert {("pathint_r2", "trained", m), ("pathint_r2_no_vision", "trained", m),
                ("pathint_r2", "dead_reckoning", m)} <= set(got)
    # composing rotations is not linear in the rotation vectors: a linear read-out of the actions is not exact
    assert got[("pathint_r2", "dead_reckoning", 2)] < 0.999
    summary = summarise(rows)
    text = headline(summary, 2)
    assert "relative rotation R^2 (views 0 -> 1)" in text and "absolute rotation R^2 (view 0)" in text
    claims = [c["claim"] for c in check_claims(summary)]
    assert any("rot_r2_absolute" in c for c in claims) and not any("dead_reckoning" in c for c in claims)
    md = write_report(tmp_path / "report", rows, {"title": "objects"})["report"].read_text()
    assert ROTATION_DESCRIPTIONS["equiv_r2_uniform"] in md and "`rot_r2_absolute` | 1 |" in md
