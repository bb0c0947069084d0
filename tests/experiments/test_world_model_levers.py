"""The settings that make the world model use the saccade: pretraining policy, grey periphery,
fovea-only target, anti-collapse terms; and the shortcut diagnostics that tell whether it does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from envs.engine.retina import grey_periphery
from experiments.pretrain.source import SequenceSource
from experiments.evaluate.features import SplitFeatures
from experiments.evaluate.metrics import model_measurements, state_features
from experiments.evaluate.report import check_claims, summarise
from experiments.evaluate.runner import headline
from experiments.pretrain.config import DataConfig, EvalConfig, ModelConfig, OptimConfig
from experiments.pretrain.data import describe_policy, make_source, policy_kwargs
from experiments.pretrain.cli import pretrain as main  # training with its end-of-training evaluation
from seqjepa import load_pretrained
from tests.experiments.test_pretrain import FakeSource, tiny_config


# ------------------------------------------------------------------ config
@pytest.mark.parametrize("field,value,match", [
    ("data.policy", "random", r"data.policy must be one of \('saliency', 'uniform', 'mixture', 'world_model', 'walk'\)"),
    ("data.periphery", "blue", r"data.periphery must be one of \('colour', 'grey'\)"),
    ("model.target", "periphery", r"model.target must be one of \('all', 'fovea'\)"),
    ("data.uniform_weight", 1.5, r"data.uniform_weight must be a finite number in \[0, 1\]"),
    ("optim.var_weight", -1.0, r"optim.var_weight must be a finite number >= 0"),
    ("optim.cov_weight", float("nan"), r"optim.cov_weight must be a finite number >= 0"),
])
def test_bad_lever_settings_name_the_field(tmp_path: Path, field: str, value: object, match: str) -> None:
    cfg = tiny_config(tmp_path)
    section, name = field.split(".")
    setattr(getattr(cfg, section), name, value)
    with pytest.raises(ValueError, match=match):
        cfg.validate()


def test_saccade_policy_is_refused_for_other_worlds(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, data=DataConfig(dataset="worlds", policy="uniform", glimpse_size=8))
    with pytest.raises(ValueError, match=r"data.policy='uniform' is a saccade policy"):
        cfg.validate()


def test_fovea_target_sets_the_target_channels(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, data=DataConfig(glimpse_size=8, scales=(1, 3)), model=ModelConfig(
        encoder="convnet", embed_dim=16, action_embed_dim=8, agg_heads=2, agg_ffn=32, pred_hidden=32,
        target="fovea"))
    assert cfg.seqjepa_config(in_channels=6, action_dim=2).target_channels == 3
    cfg.model.target = "all"
    assert cfg.seqjepa_config(in_channels=6, action_dim=2).target_channels == 0


def test_policy_is_described_and_passed_on() -> None:
    assert policy_kwargs(DataConfig(policy="uniform")) == {"policy": "uniform", "mode": "sample"}
    assert policy_kwargs(DataConfig(policy="mixture", uniform_weight=0.25, fixation_mode="argmax")) == \
        {"policy": "mixture", "mode": "argmax", "uniform_weight": 0.25}
    assert "uniform" in describe_policy(DataConfig(policy="uniform"))
    assert "p=0.25" in describe_policy(DataConfig(policy="mixture", uniform_weight=0.25))
    assert "trajector" in describe_policy(DataConfig(dataset="worlds"))


# ------------------------------------------------------------------ data
def test_grey_periphery_keeps_the_fovea_and_greys_the_rest() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 3, 2, 4, 4, 3), dtype=np.uint8)  # [B, T, S, G, G, C]
    y = grey_periphery(x.copy())
    np.testing.assert_array_equal(y[:, :, 0], x[:, :, 0])
    assert np.all(y[:, :, 1, ..., 0] == y[:, :, 1, ..., 1]) and np.all(y[:, :, 1, ..., 1] == y[:, :, 1, ..., 2])
    lum = np.rint(x[:, :, 1].astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
    assert np.abs(y[:, :, 1, ..., 0] - lum).max() <= 1
    one = rng.integers(0, 256, (1, 1, 2, 4, 4, 1), dtype=np.uint8)  # not RGB: unchanged
    np.testing.assert_array_equal(grey_periphery(one.copy()), one)


def test_make_source_uses_the_configured_policy_and_periphery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACCADE_DATA", str(tmp_path / "data"))
    cfg = DataConfig(dataset="scenes", scene_style="shapes_flat", max_objects=3, keep_inside=True, glimpse_size=8,
                     scales=(1, 3), seq_len=4, batch_size=8, n_train=16, n_test=8, ior_radius=4,
                     policy="uniform", periphery="grey")
    src = make_source(cfg, seed=0)
    assert src.periphery == "grey" and type(src.agent).__name__ == "BatchedUniformAgent"
    batch = next(iter(src.batches(0)))
    g = batch["glimpses"]  # [B, T, S*C, G, G]
    assert torch.equal(g[:, :, 3], g[:, :, 4]) and torch.equal(g[:, :, 4], g[:, :, 5])
    assert not torch.equal(g[:, :, 0], g[:, :, 1])  # the fovea keeps its colour
    low, high = src.env.world.fixation_bounds
    size = np.array(src.env.world.image_shape)
    pix = np.rint(batch["positions"][:, 1:].numpy() * size).astype(np.int64)
    assert np.all(pix >= low) and np.all(pix <= high)
    with pytest.raises(ValueError, match=r"periphery must be one of \('colour', 'grey'\)"):
        SequenceSource("Saccade-Scenes-v0", {"n_train": 16}, batch_size=8, periphery="sepia")


# ------------------------------------------------------------------ shortcut diagnostics
def _split(n: int, seed: int, signature: bool) -> SplitFeatures:
    """Targets that are either a per-sequence constant visible in z_AGG (a signature) or a
    function of the next position only (a place code)."""
    gen = torch.Generator().manual_seed(seed)
    positions = torch.rand(n, 3, 2, generator=gen)
    actions = torch.zeros(n, 3, 2)
    actions[:, 1:] = positions[:, 1:] - positions[:, :-1]
    const = torch.randn(n, 8, generator=gen)
    if signature:
        target = torch.cat([const, torch.zeros(n, 8)], 1) + 3.0
    else:
        target = state_features(positions[:, 2]).float()[:, :16] + 3.0
    z_agg = {m: torch.cat([const, torch.randn(n, 4, generator=gen)], 1) for m in (1, 2)}
    return SplitFeatures(z_views=torch.randn(n, 3, 4, generator=gen), z_agg=z_agg, z_agg_no_action=z_agg,
                         z_agg_no_vision=z_agg, actions=actions, labels=torch.full((n,), -1),
                         pixels=torch.rand(n, 3, 4), colour=torch.zeros(n, 3, 0),
                         pred_losses={"true_action": torch.full((n,), 0.1)}, states=positions,
                         pred_target=target, m_pred=2)


@pytest.mark.parametrize("signature", [True, False])
def test_diagnostics_tell_a_copied_constant_from_a_place_code(signature: bool) -> None:
    rows = model_measurements("trained", _split(600, 0, signature), _split(300, 1, signature), [1, 2], seed=0)
    got = {r["metric"]: r["value"] for r in rows if r["m"] is None}
    if signature:
        assert got["target_r2_z_agg"] > 0.95 and got["target_r2_next_state"] < 0.1
        assert got["pred_loss_next_state"] > got["pred_loss_mean_target"] * 0.5
    else:
        assert got["target_r2_next_state"] > 0.9 and got["target_r2_z_agg"] < 0.1
        assert got["pred_loss_next_state"] < 0.2 * got["pred_loss_mean_target"]
    assert 0.0 <= got["pred_loss_mean_target"] <= 2.0


def test_mean_target_loss_is_zero_for_a_constant_target() -> None:
    train, test = _split(100, 0, True), _split(60, 1, True)
    for split in (train, test):
        split.pred_target = torch.ones(len(split.labels), 16) * torch.arange(1.0, 17.0)
    rows = model_measurements("trained", train, test, [1, 2], seed=0)
    got = {r["metric"]: r["value"] for r in rows if r["m"] is None}
    assert got["pred_loss_mean_target"] == pytest.approx(0.0, abs=1e-9)


def test_state_features_of_rotations_are_sign_free_matrices() -> None:
    q = torch.nn.functional.normalize(torch.randn(5, 4), dim=1)
    torch.testing.assert_close(state_features(q), state_features(-q))
    assert state_features(q).shape == (5, 9) and state_features(torch.rand(5, 2)).shape == (5, 256)


def test_action_use_claims_need_a_margin_over_the_seed_spread() -> None:
    def row(metric: str, seed: int, value: float) -> dict:
        return {"metric": metric, "subject": "trained", "m": None, "seed": seed, "value": value}

    close = [row("pred_loss_true_action", s, 0.20 + 0.02 * s) for s in range(3)] + \
            [row("pred_loss_shuffled_action", s, 0.23 + 0.02 * s) for s in range(3)] + \
            [row("pred_loss_mean_target", s, 0.60) for s in range(3)]
    claims = {c["claim"]: c["holds"] for c in check_claims(summarise(close))}
    shuffled = next(k for k in claims if "below the shuffled action loss" in k)
    mean = next(k for k in claims if "below the mean target loss" in k)
    assert claims[shuffled] is False and claims[mean] is True  # 0.03 < 2 x 0.02; 0.38 > 2 x 0.02
    far = [dict(r, value=r["value"] + (0.3 if r["metric"] == "pred_loss_shuffled_action" else 0)) for r in close]
    assert {c["claim"]: c["holds"] for c in check_claims(summarise(far))}[shuffled] is True


def test_headline_prints_the_shortcut_floors_and_the_policy() -> None:
    rows = model_measurements("trained", _split(200, 0, False), _split(100, 1, False), [1, 2], seed=0)
    text = headline(summarise(rows), 2, "uniform fixations inside the allowed bounds")
    assert "mean target" in text and "next state" in text
    assert "by the next position alone" in text and text.endswith("uniform fixations inside the allowed bounds")


# ------------------------------------------------------------------ training
def test_training_with_the_levers_records_the_policy(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, data=DataConfig(glimpse_size=8, seq_len=3, batch_size=8, scales=(1, 2),
                                                policy="mixture", uniform_weight=0.3, periphery="grey"),
                      model=ModelConfig(encoder="convnet", embed_dim=16, action_embed_dim=8, agg_heads=2,
                                        agg_layers=1, agg_ffn=32, pred_hidden=32, target="fovea"),
                      optim=OptimConfig(lr=1e-3, warmup_epochs=0.5, probe_lr=1e-2, var_weight=1.0, cov_weight=0.04),
                      eval=EvalConfig(m_val=(1, 2), batch_size=32))
    summary = main(cfg, source_factory=FakeSource.factory(cfg, channels=6))
    assert np.isfinite(summary["final_loss"]) and 0.0 <= summary["final_loss"] <= 2.0  # the prediction loss alone
    model, meta = load_pretrained(tmp_path / "tiny" / "ckpt_last.pt")
    assert meta["policy"] == {"policy": "mixture", "mode": "sample", "uniform_weight": 0.3}
    assert meta["periphery"] == "grey" and model.config.target_channels == 3
    assert "mixture: uniform with p=0.3" in summary["eval"]["headline"]
    metrics = {r["metric"] for r in summary["eval"]["summary"]}
    assert {"pred_loss_mean_target", "target_r2_z_agg"} <= metrics
