"""The world model in the active-recognition study: the movement ``world_model`` and the intrinsic reward of the
learned movement (experiments.rl.active, agents.active), at tiny sizes."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agents.active import ActiveAgent, AgentConfig  # noqa: E402
from experiments.rl import active  # noqa: E402
from tests.experiments.test_active_study import _checkpoint  # noqa: E402

ENV = "Saccade-Scenes-Classify-v0"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    return _checkpoint(tmp_path_factory.mktemp("ckpt"))


def _venv(ckpt: Path, n: int = 4):
    _, world = active._backbone(str(ckpt), "random")
    return active.make_env(world["env"], n, world["env_kwargs"])


def test_world_model_movement_moves_where_the_world_model_says(ckpt: Path) -> None:
    venv = _venv(ckpt)
    agent = ActiveAgent(venv, AgentConfig(movement="world_model", updates_per_step=0, wm_candidates=5,
                                          wm_score="disagreement"), seed=0, world_model=str(ckpt))
    for _ in range(4):
        action, seen = agent.act()
        plan = agent.wm.last_plan
        assert plan.candidates.shape == (4, 5, 2)
        np.testing.assert_array_equal(action["action"], plan.action)
        obs, _, terminated, truncated, info = venv.step(action)
        agent.record(seen, action, obs, terminated, truncated, info)
    venv.close()


def test_intrinsic_reward_is_the_world_models_error_and_enters_sac_only(ckpt: Path) -> None:
    venv = _venv(ckpt)
    agent = ActiveAgent(venv, AgentConfig(movement="learned", updates_per_step=0, intrinsic_scale=2.0), seed=0,
                        world_model=str(ckpt))
    finished = []
    for _ in range(8):  # two episodes of 3 moves per row (and the autoreset steps)
        action, seen = agent.act()
        obs, _, terminated, truncated, info = venv.step(action)
        finished += agent.record(seen, action, obs, terminated, truncated, info)
    bonus = agent.buffer.data["bonus"][:agent.buffer.size]  # [episodes, T]
    assert bonus.shape[1] == 3 and np.all(bonus > 0) and np.all(bonus <= 4.0)
    base = agent.buffer.data["base"][:agent.buffer.size]
    assert np.all(base == 0)  # the env's reward is kept apart: returns stay the task's
    assert finished and all(e["return"] < 0 for e in finished)
    venv.close()
    with pytest.raises(ValueError, match=r"^intrinsic_scale: the world model's intrinsic reward is for the learned"):
        AgentConfig(movement="random", intrinsic_scale=0.1)
    with pytest.raises(ValueError, match=r"^world_model: movement='world_model' and intrinsic_scale > 0 need"):
        ActiveAgent(_venv(ckpt), AgentConfig(movement="world_model"), seed=0)


def test_study_runs_world_model_and_intrinsic_learned_as_their_own_runs(ckpt: Path, tmp_path: Path) -> None:
    base = ["--backbone", str(ckpt), "--inits", "random", "--seeds", "0", "--steps", "48", "--num-envs", "4",
            "--threads", "1", "--batch-transitions", "24", "--out", str(tmp_path)]
    assert active.main([*base, "--movements", "world_model", "random", "--wm-candidates", "4"], study=True) == 0
    assert active.main([*base, "--movements", "learned", "--intrinsic-reward", "world_model",
                        "--intrinsic-scale", "0.5"], study=True) == 0
    runs = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")}
    assert set(runs) == {f"{ENV}_{m}_random_s0" for m in ("world_model", "random", "learned+wm0.5")}
    wm = runs[f"{ENV}_world_model_random_s0"]
    assert (wm["env"], wm["movement"], wm["seed"]) == (ENV, "world_model", 0) and wm["curve"]
    assert wm["config"]["wm_candidates"] == 4 and wm["config"]["wm_score"] == "novelty"
    assert runs[f"{ENV}_learned+wm0.5_random_s0"]["config"]["intrinsic_scale"] == 0.5
    assert runs[f"{ENV}_random_random_s0"]["config"]["intrinsic_scale"] == 0.0
    page = (tmp_path / "README.md").read_text()
    assert "| world_model | random | 1 |" in page and "| learned+wm0.5 | random | 1 |" in page
    # resumed with another score: the kept world_model run was made otherwise (random runs are not compared)
    with pytest.raises(ValueError, match=r"keeps .*world_model.*--wm-score novelty \(asked: disagreement\)"):
        active._check_kept_runs(tmp_path, {"wm_score": "disagreement", "wm_candidates": 4, "wm_layout": "grid"})


@pytest.mark.parametrize("argv, named", [
    (["--movements", "world_model"], "--movements world_model needs --backbone CKPT"),
    (["--movements", "learned", "--intrinsic-reward", "world_model"], "--intrinsic-reward world_model needs --backbone"),
    (["BACKBONE", "--movements", "random", "--intrinsic-reward", "world_model"],
     "--intrinsic-reward world_model rewards the learned movement: add learned to --movements"),
    (["BACKBONE", "--movements", "learned", "--intrinsic-reward", "world_model", "--intrinsic-scale", "0"],
     "--intrinsic-scale must be a finite number in (0, 1e+06], got 0.0"),
    (["BACKBONE", "--movements", "world_model", "--wm-candidates", "0"], "--wm-candidates must be an int in [1, 4096]"),
    (["BACKBONE", "--movements", "random", "--wm-candidates", "8"],
     "--wm-candidates sets the movement world_model, which is not asked for"),
])
def test_cli_rejects_bad_world_model_arguments_before_any_env(ckpt, tmp_path, monkeypatch, capsys, argv, named):
    monkeypatch.setattr(active, "make_env", lambda *a, **k: pytest.fail("an env was made before the checks"))
    monkeypatch.setattr(active, "train_run", lambda *a, **k: pytest.fail("trained before the checks"))
    argv = [a for x in argv for a in (["--backbone", str(ckpt)] if x == "BACKBONE" else [x])]
    with pytest.raises(SystemExit) as exit_info:
        active.main([*argv, *([] if "--backbone" in argv else ["--env", ENV]), "--out", str(tmp_path / "o")],
                    study=True)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "o").exists()
