"""The world-model agent (agents.world_model): a tiny seq-JEPA saved through the real checkpoint path, loaded
with seqjepa.load_pretrained, choosing saccades in a tiny scenes world, single and batched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agents
import envs  # noqa: F401 - registers the ids
from agents.world_model import BatchedWorldModelAgent, WorldModelAgent
from experiments.pretrain.checkpoint import save_checkpoint
from seqjepa import SeqJEPA, SeqJEPAConfig, load_pretrained, normalize_glimpses, pretrained_meta

ENV = "Saccade-Scenes-v0"
S, G, C = 2, 8, 3


def _kwargs(root: Path, **extra: Any) -> dict[str, Any]:
    return {**dict(glimpse_size=G, scales=(1, 2), n_train=16, n_test=8, style="simple", max_objects=1, ior_radius=4,
                   max_saccades=3, root=str(root)), **extra}


def _checkpoint(path: Path, root: Path, seed: int = 0, env_id: str = ENV, **arch: Any) -> Path:
    """A tiny random seq-JEPA written the way pretraining writes its checkpoints."""
    torch.manual_seed(seed)
    config = SeqJEPAConfig(**{**dict(in_channels=S * C, action_dim=2, encoder="convnet", embed_dim=16,
                                     action_embed_dim=8, agg_heads=2, agg_layers=1, agg_ffn=32, dropout=0.1,
                                     pred_hidden=32), **arch})
    model = SeqJEPA(config).eval()
    mean, std = [0.4] * (S * C), [0.25] * (S * C)
    meta = pretrained_meta(config, mean, std, env_id, {k: v for k, v in _kwargs(root).items() if k != "root"})
    return save_checkpoint(path, {"model": model.state_dict(), "pretrained": meta, "step": 1, "config": {}})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("wm")
    root = tmp / "data"
    return {"root": root, "ckpt": _checkpoint(tmp / "a.pt", root), "ckpt2": _checkpoint(tmp / "b.pt", root, seed=1),
            "last": _checkpoint(tmp / "last.pt", root, predictor_context="agg_last", predictor_action_map=True),
            "nodrop": _checkpoint(tmp / "nodrop.pt", root, dropout=0.0),
            "stl": _checkpoint(tmp / "stl.pt", root, env_id="Saccade-STL10-v0"), "tmp": tmp, "venvs": {}}


def _venv(world: dict[str, Any], n: int) -> Any:
    if n not in world["venvs"]:
        world["venvs"][n] = gym.make_vec(ENV, n, **_kwargs(world["root"]))
    return world["venvs"][n]


def _head(model: Any, classes: int = 3, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(model.config.agg_dim, classes)


def test_exported_and_shapes_argmax_bounds(world: dict[str, Any]) -> None:
    assert agents.BatchedWorldModelAgent is BatchedWorldModelAgent and agents.WorldModelAgent is WorldModelAgent
    venv = _venv(world, 3)
    agent = BatchedWorldModelAgent(world["ckpt"], venv, k=9, seed=0)
    obs, info = venv.reset(seed=0)
    low, high = (np.asarray(b) / 96.0 for b in venv.world.fixation_bounds)
    for t in range(3):
        plan = agent.plan(obs, info)
        assert plan.candidates.shape == (3, 9, 2) and plan.candidates.dtype == np.float32
        assert plan.scores.shape == (3, 9) and np.all(np.isfinite(plan.scores)) and np.all(plan.scores >= 0)
        assert np.array_equal(plan.best, plan.scores.argmax(1))
        action = agent.act(obs, info)  # the same observation again: not added twice, the same decision
        assert np.array_equal(action, plan.action) and agent.length.tolist() == [t + 1] * 3
        assert np.all(np.abs(action) <= 1)
        landing = info["position"] + action
        assert np.all(landing >= low - 1e-6) and np.all(landing <= high + 1e-6)
        obs, _, _, _, info = venv.step(action)
        assert np.allclose(obs["last_action"], action, atol=1e-6)  # the candidates are what the env applies


def test_novelty_and_entropy_against_the_model_parts(world: dict[str, Any]) -> None:
    """Scores recomputed by hand from the model's own encode / aggregate / predict on the stacked views."""
    venv = _venv(world, 2)
    model, meta = load_pretrained(world["ckpt"])
    head = _head(model)
    nov = BatchedWorldModelAgent(model, venv, k=4, meta=meta, seed=0)
    ent = BatchedWorldModelAgent(model, venv, k=4, meta=meta, seed=0, score="entropy", head=head)
    obs, info = venv.reset(seed=3)
    glimpses, actions = [obs["glimpse"]], [obs["last_action"]]
    ent.observe(obs, info)
    obs, _, _, _, info = venv.step(nov.act(obs, info))
    glimpses.append(obs["glimpse"])
    actions.append(obs["last_action"])
    cand = nov.candidates(info)
    got_nov, got_ent = nov.scores(obs, info, cand), ent.scores(obs, info, cand)
    g = np.stack(glimpses, 1)  # [B, T, S, G, G, C]
    b, t = g.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(g.transpose(0, 1, 2, 5, 3, 4).reshape(b, t, S * C, G, G)))
    x = normalize_glimpses(x, meta["mean"], meta["std"])
    a = torch.from_numpy(np.stack(actions, 1))
    with torch.no_grad():
        z, zt = model.encode(x), model.encode_target(x)
        z_agg = model.aggregate(z, a)
        for k in range(4):
            ak = torch.from_numpy(cand[:, k])
            pred = model.predict(z_agg, ak)
            cos = torch.nn.functional.cosine_similarity(pred[:, None], zt, dim=-1)
            np.testing.assert_allclose(got_nov[:, k], (1 - cos).min(1).values.numpy(), atol=1e-5)
            after = model.aggregate(torch.cat([z, pred[:, None]], 1), torch.cat([a, ak[:, None]], 1))

            def h(logits: torch.Tensor) -> torch.Tensor:
                return -(logits.softmax(-1) * logits.log_softmax(-1)).sum(-1)
            np.testing.assert_allclose(got_ent[:, k], (h(head(z_agg)) - h(head(after))).numpy(), atol=1e-5)


@pytest.mark.parametrize("score", ["novelty", "disagreement", "entropy"])
def test_single_equals_batched_and_agg_last(world: dict[str, Any], score: str) -> None:
    """Row 0 of the batched agent scores as the single agent (MC-dropout masks are drawn per batch, so
    disagreement is compared with an ensemble, which is deterministic)."""
    model, meta = load_pretrained(world["last"])
    head = _head(model) if score == "entropy" else None
    if score == "disagreement":
        model = [world["last"], world["ckpt2"]]
    env = gym.make(ENV, **_kwargs(world["root"]))
    venv = _venv(world, 2)
    single = WorldModelAgent(model, env, k=5, score=score, head=head, meta=meta, seed=4)
    batched = BatchedWorldModelAgent(model, venv, k=5, score=score, head=head, meta=meta, seed=4)
    obs1, info1 = env.reset(seed=7)
    obs, info = venv.reset(seed=7)  # row 0 = the single env seeded alike
    for _ in range(3):
        cand = batched.candidates(info)
        s_b = batched.scores(obs, info, cand)
        s_1 = single.scores(obs1, info1, cand[:1])
        np.testing.assert_allclose(s_1[0], s_b[0], rtol=1e-4, atol=1e-6)
        assert np.argmax(s_1[0]) == np.argmax(s_b[0])
        action = cand[np.arange(2), s_b.argmax(1)]
        obs1, _, _, _, info1 = env.step(action[0])
        obs, _, _, _, info = venv.step(action)


def test_single_act_matches_batched_row_and_is_deterministic(world: dict[str, Any]) -> None:
    env = gym.make(ENV, **_kwargs(world["root"]))

    def episode(agent: Any, seed: int) -> list[np.ndarray]:
        obs, info = env.reset(seed=seed)
        agent.reset(seed=11)
        out = []
        for _ in range(3):
            a = agent.act(obs, info)
            assert a.shape == (2,) and a.dtype == np.float32
            out.append(a)
            obs, _, _, _, info = env.step(a)
        return out

    for kw in (dict(candidates="sample", score="disagreement"), dict(candidates="grid", score="novelty")):
        one = episode(WorldModelAgent(world["ckpt"], env, k=6, **kw), 5)
        two = episode(WorldModelAgent(world["ckpt"], env, k=6, **kw), 5)
        assert all(np.array_equal(p, q) for p, q in zip(one, two))


def test_disagreement_ensemble_and_prediction_errors(world: dict[str, Any]) -> None:
    venv = _venv(world, 2)
    ens = BatchedWorldModelAgent([world["ckpt"], world["ckpt2"]], venv, k=7, score="disagreement",
                                 prediction_errors=True)
    obs, info = venv.reset(seed=1)
    plan = ens.plan(obs, info)
    assert plan.scores.shape == (2, 7) and np.all(plan.scores >= 0) and np.all(np.isfinite(plan.scores))
    assert np.all(np.isnan(ens.errors))  # the first view: nothing was predicted
    obs, _, _, _, info = venv.step(plan.action)
    ens.observe(obs, info)
    assert np.all(np.isfinite(ens.errors)) and np.all((ens.errors >= 0) & (ens.errors <= 2))
    for _ in range(3):  # through the autoreset: rows start over at step 0
        obs, _, _, _, info = venv.step(ens.act(obs, info))
    assert ens.length.tolist() == [4, 4] and info["step"].tolist() == [0, 0]
    ens.observe(obs, info)
    assert ens.length.tolist() == [1, 1] and np.all(np.isnan(ens.errors))


def test_missed_steps_are_refused(world: dict[str, Any]) -> None:
    venv = _venv(world, 2)
    agent = BatchedWorldModelAgent(world["ckpt"], venv, k=2)
    obs, info = venv.reset(seed=0)
    obs, _, _, _, info = venv.step(agent.act(obs, info))
    obs, _, _, _, info = venv.step(np.zeros((2, 2), np.float32))
    obs, _, _, _, info = venv.step(np.zeros((2, 2), np.float32))
    with pytest.raises(RuntimeError, match="missed steps of row 0"):
        agent.act(obs, info)


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=0), r"^k must be an int in \[1, 16384\], got 0$"),
    (dict(k=2.0), r"^k must be an int"),
    (dict(score="surprise"), r"^score must be one of .*'novelty'.*got 'surprise'"),
    (dict(candidates="spiral"), r"^candidates must be one of \('grid', 'sample'\)"),
    (dict(score="entropy"), r"^head: score='entropy' needs a linear head on z_AGG"),
    (dict(score="entropy", head=torch.nn.Linear(7, 3)), r"^head must read z_AGG of width 24 .*in_features=7"),
    (dict(score="entropy", head=(np.zeros((3, 7)), np.zeros(3))), r"^head must be \(W \[C, 24\], b \[C\]\)"),
    (dict(score="entropy", head="probe.pt"), r"^head must be a torch.nn.Linear or a pair"),
    (dict(mc_passes=1), r"^mc_passes must be an int in \[2, 256\]"),
])
def test_bad_settings_name_the_parameter(world: dict[str, Any], kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        BatchedWorldModelAgent(world["ckpt"], _venv(world, 2), **kwargs)
    assert "\n" not in str(err.value)


def test_checkpoints_of_another_world_are_refused(world: dict[str, Any]) -> None:
    venv = _venv(world, 2)
    with pytest.raises(ValueError, match=r"^model: the checkpoint was trained on Saccade-STL10-v0 .*not on this "
                                         r"env's world Saccade-Scenes-v0 .*other world"):
        BatchedWorldModelAgent(world["stl"], venv)
    other = gym.make_vec(ENV, 2, **_kwargs(world["root"], glimpse_size=12))
    with pytest.raises(ValueError, match=r"^model: .*other glimpse size"):
        BatchedWorldModelAgent(world["ckpt"], other)
    mono = gym.make_vec(ENV, 2, **_kwargs(world["root"], scales=(1,)))
    with pytest.raises(ValueError, match=r"^model: the model reads 6 input channels, but .*S\*C = 1\*3 = 3"):
        BatchedWorldModelAgent(world["ckpt"], mono)
    path = gym.make_vec("PathIntegration-Scenes-v0", 2, glimpse_size=8, scales=(1, 2))
    with pytest.raises(ValueError, match=r"^model: .*other world, family"):
        BatchedWorldModelAgent(world["ckpt"], path)
    with pytest.raises(ValueError, match=r"^score: 'disagreement' needs MC dropout .*dropout=0"):
        BatchedWorldModelAgent(world["nodrop"], venv, score="disagreement")
    with pytest.raises(ValueError, match=r"^env must be one of this package's envs"):
        BatchedWorldModelAgent(world["ckpt"], object())
    with pytest.raises(ValueError, match=r"^model must be a seq-JEPA model"):
        BatchedWorldModelAgent(torch.nn.Linear(2, 2), venv)
    with pytest.raises(FileNotFoundError):
        BatchedWorldModelAgent(world["tmp"] / "missing.pt", venv)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(1, 20), n=st.sampled_from([1, 2, 3]), layout=st.sampled_from(["grid", "sample"]),
       seed=st.integers(0, 2 ** 16))
def test_property_any_k_and_batch(world: dict[str, Any], k: int, n: int, layout: str, seed: int) -> None:
    venv = _venv(world, n)
    agent = BatchedWorldModelAgent(world["ckpt"], venv, k=k, candidates=layout, seed=seed)
    obs, info = venv.reset(seed=seed)
    low, high = (np.asarray(b) / 96.0 for b in venv.world.fixation_bounds)
    for _ in range(2):
        plan = agent.plan(obs, info)
        assert plan.candidates.shape == (n, k, 2) and plan.scores.shape == (n, k)
        assert np.array_equal(plan.best, plan.scores.argmax(1))
        landing = info["position"][:, None] + plan.candidates
        assert np.all(landing >= low - 1e-6) and np.all(landing <= high + 1e-6)
        if layout == "grid":  # distinct landing points, the same for every row
            assert len(np.unique(np.round(landing[0], 5), axis=0)) == k
        obs, _, _, _, info = venv.step(plan.action)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(world: dict[str, Any]) -> None:
    venv = _venv(world, 2)
    cpu = BatchedWorldModelAgent(world["ckpt"], venv, k=8)
    gpu = BatchedWorldModelAgent(world["ckpt"], venv, k=8, device="cuda")
    obs, info = venv.reset(seed=0)
    np.testing.assert_allclose(cpu.scores(obs, info), gpu.scores(obs, info), rtol=1e-3, atol=1e-5)
