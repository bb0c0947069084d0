"""DESIGN.md section 2, "a pretrained world model from Python", end to end: a tiny real pretraining
run on the embedded scenes -> load_pretrained -> gym.make(meta env) rollout -> represent()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401 - registers the ids
from agents.saliency_agent import SaliencyAgent
from experiments.pretrain.checkpoint import LAST_NAME
from experiments.pretrain.config import DataConfig, EvalConfig, config_to_dict
from experiments.pretrain.data import make_source
from seqjepa import normalize_glimpses
from experiments.pretrain.envspec import env_spec
from experiments.pretrain.cli import pretrain as main  # training with its end-of-training evaluation
from experiments.viewer.cli import build_parser, make_viewer
from seqjepa import CheckpointError, load_pretrained
from tests.experiments.test_pretrain import tiny_config

T = 4


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A 4-step pretraining run on 16 real scenes (2-scale retina), through the default data path."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("pretrained")
    data = DataConfig(glimpse_size=8, scales=(1, 2), seq_len=T, batch_size=8, n_train=16, n_test=8,
                      root=str(tmp / "data"), scene_style="simple", max_objects=1, ior_radius=4)
    cfg = tiny_config(tmp, data=data, total_steps=4, checkpoint_every=2, eval=EvalConfig(enabled=False))
    main(cfg)
    return tmp / "tiny" / LAST_NAME, cfg


def _rollout(env: gym.Env, episodes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``episodes`` rollouts of T views with the saliency agent: stacked obs["glimpse"], obs["last_action"]."""
    agent = SaliencyAgent(seed=seed)
    glimpses, actions = [], []
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        g, a = [obs["glimpse"]], [obs["last_action"]]
        for t in range(1, T):
            obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
            g.append(obs["glimpse"])
            a.append(obs["last_action"])
            assert not terminated and truncated == (t == T - 1)  # one episode = one training sequence
        glimpses.append(np.stack(g))
        actions.append(np.stack(a))
    return np.stack(glimpses), np.stack(actions)


def test_load_pretrained_builds_the_training_world_and_represents_it(run: tuple[Path, Any]) -> None:
    path, cfg = run
    model, meta = load_pretrained(path)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    assert meta["step"] == 4 and meta["train_config"] == config_to_dict(cfg)
    assert meta["config"]["in_channels"] == 6 and meta["config"]["embed_dim"] == 16
    source = make_source(cfg.data, seed=cfg.seed)
    assert meta["mean"] == pytest.approx(source.mean) and meta["std"] == pytest.approx(source.std)
    assert (meta["env_id"], meta["env_kwargs"]) == env_spec(cfg.data)
    kw = meta["env_kwargs"]
    assert meta["env_id"] == "Saccade-Scenes-v0" and kw["scales"] == (1, 2) and kw["glimpse_size"] == 8
    assert (kw["n_train"], kw["n_test"], kw["style"], kw["max_objects"], kw["max_saccades"]) == (16, 8, "simple", 1, 3)

    env = gym.make(meta["env_id"], **meta["env_kwargs"])
    glimpses, actions = _rollout(env, episodes=3)
    assert glimpses.shape == (3, T, 2, 8, 8, 3) and glimpses.dtype == np.uint8
    assert np.all(actions[:, 0] == 0) and np.any(actions[:, 1:] != 0)
    out = model.represent(glimpses, actions)
    assert out["z_agg"].shape == (3, 16 + 8) and out["z_views"].shape == (3, T, 16)

    # the model's own forward on the same batch, laid out and normalised as pretraining does
    b, t, s, g, _, c = glimpses.shape
    x = torch.from_numpy(np.ascontiguousarray(glimpses.transpose(0, 1, 2, 5, 3, 4).reshape(b, t, s * c, g, g)))
    x = normalize_glimpses(x, torch.tensor(meta["mean"]), torch.tensor(meta["std"]))
    a = torch.from_numpy(actions)
    with torch.no_grad():
        z = model.encode(x)
        assert torch.allclose(out["z_views"], z, atol=1e-6)
        assert torch.allclose(out["z_agg"], model.aggregate(z, a), atol=1e-6)
        fwd = model(x, a, n_observed=T - 1)  # views 0..T-2 observed
    part = model.represent(glimpses[:, :T - 1], actions[:, :T - 1])
    assert torch.allclose(part["z_agg"], fwd.z_agg, atol=1e-6)
    assert torch.allclose(part["z_views"], fwd.z_views, atol=1e-6)


def test_checkpoint_opens_with_plain_torch_load_and_corruption_is_refused(run: tuple[Path, Any],
                                                                         tmp_path: Path) -> None:
    path, _ = run
    plain = torch.load(path, weights_only=True)
    assert plain["pretrained"]["env_id"] == "Saccade-Scenes-v0" and plain["step"] == 4
    for name, damage in (("flip.pt", lambda d: d[:len(d) // 2] + bytes([d[len(d) // 2] ^ 1]) + d[len(d) // 2 + 1:]),
                         ("cut.pt", lambda d: d[:-1000])):
        (tmp_path / name).write_bytes(damage(path.read_bytes()))
        with pytest.raises(CheckpointError, match=name):
            load_pretrained(tmp_path / name)


@pytest.mark.filterwarnings("error::UserWarning")  # only the expected warnings
def test_viewer_shows_the_training_env_and_warns_about_changes(run: tuple[Path, Any], tmp_path: Path) -> None:
    path, cfg = run
    base = ["--checkpoint", str(path), "--n-cache", "8", "--out", str(tmp_path)]
    viewer = make_viewer(build_parser().parse_args(base))
    env_id, kwargs = env_spec(cfg.data)
    assert viewer.factory.env_id == env_id and viewer.factory.kwargs == kwargs
    assert viewer.base.retina.glimpse_size == 8 and len(viewer.base.dataset) == 16
    viewer.agent_step()
    assert len(viewer.predictions) == 1
    with pytest.warns(UserWarning, match=r"ior_radius=6 \(trained with 4\)"):
        viewer = make_viewer(build_parser().parse_args([*base, "--kw", "ior_radius=6"]))
    assert viewer.factory.kwargs["ior_radius"] == 6 and viewer.factory.kwargs["n_train"] == 16
    with pytest.raises(ValueError, match="saccade"):
        make_viewer(build_parser().parse_args([*base, "--env", "PathIntegration-Scenes-v0"]))
    monitor = viewer.monitor
    with pytest.warns(UserWarning, match=r"--env Saccade-STL10-v0 is not the env the model was trained on "
                                         r"\(Saccade-Scenes-v0\)"):
        other_id, other = monitor.viewer_env("Saccade-STL10-v0", {})
    assert other_id == "Saccade-STL10-v0" and "style" not in other and other["scales"] == (1, 2)
    same_id, same = monitor.viewer_env(None, {"ior_radius": 4, "scales": [1, 2]})
    assert same_id == env_id and same == {**kwargs, "scales": [1, 2]}  # equal values: no warning
