"""experiments.rl.active: the seq-JEPA backbone option, the resumable study and its results page."""

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from experiments.rl import active  # noqa: E402
from seqjepa import pretrained_meta  # noqa: E402
from seqjepa.serialization import write_checkpoint_file  # noqa: E402
from tests.seqjepa.conftest import tiny_model  # noqa: E402

KWARGS = {"style": "shapes", "max_objects": 3, "keep_inside": True, "glimpse_size": 8, "scales": (1, 2),
          "split": "train", "max_saccades": 3}


def _checkpoint(tmp_path: Path) -> Path:
    model = tiny_model(in_channels=6)
    mean, std = [0.5] * 6, [0.2] * 6
    model.set_input_stats(mean, std)
    meta = pretrained_meta(model.config, mean, std, "Saccade-Scenes-v0", KWARGS)
    path = tmp_path / "c.pt"
    with path.open("wb") as fh:
        write_checkpoint_file(fh, {"model": model.state_dict(), "pretrained": meta, "step": 1, "config": {}})
    return path


@pytest.mark.parametrize("init", ["frozen", "finetuned", "random", "random_frozen"])
def test_backbone_encoder_is_frozen_finetuned_or_reinitialised_on_the_checkpoints_world(tmp_path, init):
    from agents.active import ActiveAgent, AgentConfig
    from seqjepa import load_pretrained
    path = _checkpoint(tmp_path)
    kwargs, world = active._backbone(str(path), init)
    assert world["env"] == "Saccade-Scenes-Classify-v0" and world["env_kwargs"]["glimpse_size"] == 8
    trained = load_pretrained(path)[0].encoder.state_dict()
    start = {k: v.clone() for k, v in kwargs["encoder"].state_dict().items()}
    assert all(torch.equal(trained[k], start[k]) for k in start) == (init in ("frozen", "finetuned"))
    venv = active.make_env(world["env"], 4, world["env_kwargs"])
    agent = ActiveAgent(venv, AgentConfig(movement="still", batch_transitions=24), seed=0, **kwargs)
    agent.learn(4 * 3 * 4)
    after = agent.perception.encoder.state_dict()
    assert all(torch.equal(start[k], after[k]) for k in start) == (init in ("frozen", "random_frozen"))
    np.testing.assert_allclose(agent.perception.mean.flatten().numpy(), 0.5)  # the checkpoint's statistics
    venv.close()


def test_study_with_a_backbone_runs_every_init_on_its_world(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: calls.append((env, init)))
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out))
    active.main(["--backbone", str(_checkpoint(tmp_path)), "--seeds", "0", "--movements", "learned",
                 "--out", str(tmp_path)], study=True)
    assert calls == [("Saccade-Scenes-Classify-v0", i) for i in active.INITS]


def _run(out: Path, movement: str, seed: int, acc: float, **fields) -> dict:
    curve = [{"steps": s, "accuracy": acc + 0.01 * seed, "return": -1.0} for s in (20_000, 61_000, 128_000)]
    run = {"name": active.run_name("CircleSquare-v0", movement, seed), "env": "CircleSquare-v0",
           "movement": movement, "seed": seed, "init": "random", "steps": 128_000, "wall_s": 10.0,
           "curve": curve, "at": {str(c): active._at(curve, c) for c in active.CHECKPOINTS}, **fields}
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "runs" / f"{run['name']}.json").write_text(json.dumps(run))
    return run


def test_results_page_has_the_table_apple_and_the_figure(tmp_path):
    for seed in (0, 1):
        _run(tmp_path, "learned", seed, 0.9)
        _run(tmp_path, "random", seed, 0.6)
    page = active.write_results(tmp_path, "python -m experiments.rl active-study --env CircleSquare-v0").read_text()
    assert "`python -m experiments.rl active-study --env CircleSquare-v0`" in page
    assert "| CircleSquare-v0 | learned | random | 2 | 0.905 ± 0.005 | 0.905 ± 0.005 | 0.905 ± 0.005 |" in page
    assert "| CircleSquare-v0 | APPLE-CrossQ (paper) | - | - | 0.53 | 0.79 | 0.94 |" in page
    assert "| CircleSquare-v0 | APPLE-SAC (paper) | - | - | 0.61 | 0.78 | 0.95 |" in page
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_every_published_reference_gets_its_row(tmp_path, monkeypatch):
    refs = {f"Ref-{i}": (0.5, None, 0.9) for i in range(5)}  # more than the figure has markers
    monkeypatch.setattr(active, "APPLE", {"CircleSquare-v0": refs})
    _run(tmp_path, "learned", 0, 0.9)
    page = active.write_results(tmp_path, "cmd").read_text()
    assert all(f"| CircleSquare-v0 | {name} (paper) | - | - | 0.50 | - | 0.90 |" in page for name in refs)


def test_redrawn_page_keeps_its_analysis(tmp_path):
    _run(tmp_path, "learned", 0, 0.9)
    page = active.write_results(tmp_path, "first")
    page.write_text(page.read_text() + f"\n{active.ANALYSIS}\n\nLearned movement wins.\n")
    _run(tmp_path, "learned", 1, 0.5)
    text = active.write_results(tmp_path, "second").read_text()
    assert "`second`" in text and "`first`" not in text and "| 2 |" in text
    assert text.count(active.ANALYSIS) == 1 and text.endswith("\n\nLearned movement wins.\n")


def test_study_skips_kept_runs_and_saliency_outside_saccade_worlds(tmp_path, monkeypatch):
    _run(tmp_path, "learned", 0, 0.9)
    calls = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: calls.append((movement, seed)))
    assert active.main(["--env", "CircleSquare-v0", "--seeds", "0", "1", "--out", str(tmp_path), "--steps", "128000",
                        "--movements", "learned", "saliency", "still"], study=True) == 0
    assert calls == [("still", 0), ("learned", 1), ("still", 1)]
    assert (tmp_path / "README.md").exists()


@pytest.mark.parametrize("argv, study, named", [
    (["--steps", "0"], False, "--steps must be an int >= 1, got 0"),
    (["--num-envs", "-2"], True, "--num-envs must be an int >= 1"),
    (["--policy-updates", "0"], False, "--policy-updates must be an int >= 1"),
    (["--updates-per-step", "-1"], True, "--updates-per-step must be an int >= 0, got -1"),
    (["--gamma", "1.5"], True, "--gamma must be a finite number in [0, 1], got 1.5"),
    (["--lr", "0"], False, "--lr must be a finite number > 0"),
    (["--movement", "fly"], False, "--movement must be one of ('learned', 'random', 'still', 'saliency', 'world_model'), got 'fly'"),
    (["--movements", "learned", "fly"], True, "--movements must be one of"),
    (["--seed", "-1"], False, "--seed must be None or an int >= 0, got -1"),
    (["--seeds", "0", "-3"], True, "--seeds must be None or an int >= 0, got -3"),
    (["--env", "Saccade-Shapes-v0"], False, "--env must be a recognition id"),
    (["--env", "NoSuchEnv-v9"], True, "--env must be a recognition id"),
    (["--env", "CircleSquare-v0", "--movement", "saliency"], False, "--movement saliency needs one of our saccade"),
    (["--backbone", "missing.pt"], False, "--backbone missing.pt is not a checkpoint file"),
])
def test_cli_rejects_bad_arguments_in_one_line_before_any_env(tmp_path, monkeypatch, capsys, argv, study, named):
    def no_env(*args, **kwargs):
        raise AssertionError("an env was made before the arguments were checked")
    monkeypatch.setattr(active, "make_env", no_env)
    monkeypatch.setattr(active, "train_run", no_env)
    with pytest.raises(SystemExit) as exit_info:
        active.main([*argv, "--out", str(tmp_path / "out")], study=study)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and named in err
    assert not (tmp_path / "out").exists()


def test_resumed_study_refuses_to_mix_agent_settings(tmp_path, monkeypatch, capsys):
    from agents.active import AgentConfig
    _run(tmp_path, "still", 0, 0.5, config={"batch_transitions": 100, "policy_updates": 1})
    monkeypatch.setattr(active, "train_run", lambda *a, **k: pytest.fail("trained before the settings were checked"))
    with pytest.raises(SystemExit) as exit_info:
        active.main(["--env", "CircleSquare-v0", "--movements", "still", "--out", str(tmp_path), "--steps", "128000"],
                    study=True)
    err = capsys.readouterr().err
    asked = AgentConfig.for_env("CircleSquare-v0").batch_transitions  # the value tuned for the world
    assert exit_info.value.code == 2 and f"--batch-transitions 100 (asked: {asked})" in err
    # SAC's gamma: never used by a fixed movement
    _run(tmp_path, "still", 0, 0.5, config={"batch_transitions": 512, "gamma": 0.5})
    active._check_kept_runs(tmp_path, {"batch_transitions": 512, "gamma": 0.99})
    (tmp_path / "runs" / "CircleSquare-v0_still_random_s0.json").unlink()
    _run(tmp_path, "learned", 0, 0.5, config={"gamma": 0.5})
    with pytest.raises(ValueError, match=r"--gamma 0.5 \(asked: 0.99\)"):
        active._check_kept_runs(tmp_path, {"batch_transitions": 512, "gamma": 0.99})
    (tmp_path / "runs" / "CircleSquare-v0_learned_random_s0.json").unlink()
    _run(tmp_path, "still", 0, 0.5, config={"updates_per_step": 1})
    with pytest.raises(ValueError, match=r"--updates-per-step 1 \(asked: 2\)"):  # the head's updates: every movement
        active._check_kept_runs(tmp_path, {"updates_per_step": 2})


def test_cli_passes_every_agent_flag_to_the_run(tmp_path, monkeypatch):
    seen = {}
    def train_run(env, movement, **kw):
        seen.update(kw["agent_config"])
        return {"name": "run", "steps": 1, "wall_s": 0.0, "at": {}}
    monkeypatch.setattr(active, "train_run", train_run)
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out) / "README.md")
    active.main(["--env", "CircleSquare-v0", "--out", str(tmp_path), "--updates-per-step", "2", "--policy-updates",
                 "3", "--batch-transitions", "256", "--gamma", "0.9", "--lr", "0.0003"])
    assert seen == {"updates_per_step": 2, "policy_updates": 3, "batch_transitions": 256, "gamma": 0.9, "lr": 0.0003}


@pytest.mark.parametrize("env", ["CircleSquare-v0", "Saccade-Shapes-Classify-v0", "Saccade-Scenes-Classify-v0"])
def test_cli_defaults_are_the_values_tuned_for_the_world_and_flags_win(tmp_path, monkeypatch, env):
    from agents.active import TUNED, AgentConfig
    seen = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, **kw: seen.append(kw["agent_config"]) or {
        "name": "run", "steps": 1, "wall_s": 0.0, "at": {}})
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out) / "README.md")
    active.main(["--env", env, "--out", str(tmp_path / "a")])
    active.main(["--env", env, "--out", str(tmp_path / "b"), "--updates-per-step", "3", "--batch-transitions", "64"])
    tuned = {**{f: getattr(AgentConfig(), f) for f in active.AGENT_FLAGS}, **TUNED.get(env, {})}
    assert seen[0] == tuned
    assert seen[1] == {**tuned, "updates_per_step": 3, "batch_transitions": 64}
    for tuned_env in TUNED:  # every tuned world is one the CLI runs
        active.check_recognition_id(tuned_env)


def test_one_run_never_replaces_a_kept_run_unless_asked(tmp_path, monkeypatch, capsys):
    kept = tmp_path / "runs" / "CircleSquare-v0_random_random_s4.json"
    kept.parent.mkdir()
    kept.write_text("{}")
    calls = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: calls.append(seed))
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out) / "README.md")
    argv = ["--env", "CircleSquare-v0", "--movement", "random", "--seed", "4", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        active.main(argv)
    assert exit_info.value.code == 2 and "--overwrite" in capsys.readouterr().err and calls == []
    assert kept.read_text() == "{}"
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: {
        "name": "n", "steps": 1, "wall_s": 0.0, "at": {}} if not calls.append(seed) else None)
    assert active.main([*argv, "--overwrite"]) == 0 and calls == [4]


def test_one_run_keeps_its_curve_tensorboard_log_and_page(tmp_path):
    torch.set_num_threads(1)
    result = active.train_run("Saccade-Shapes-Classify-v0", "random", steps=2048 + 64, seed=3, num_envs=16,
                              out=tmp_path, progress=False, agent_config={"batch_transitions": 64})
    assert result["steps"] >= 2048 + 64 and [p["steps"] for p in result["curve"]][0] == 2048
    assert all(0.0 <= p["accuracy"] <= 1.0 and p["return"] < 0 for p in result["curve"])
    kept = json.loads((tmp_path / "runs" / "Saccade-Shapes-Classify-v0_random_random_s3.json").read_text())
    assert kept["curve"] == result["curve"]
    assert kept["config"]["batch_transitions"] == 64 and kept["config"]["movement"] == "random"
    assert list((tmp_path / "tb" / kept["name"]).glob("events.out.tfevents.*"))


def test_module_cli_dispatches_active(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "experiments.rl", "active", "--steps", "-1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "python -m experiments.rl active: error: --steps must be an int >= 1, got -1"]


@pytest.mark.parametrize("argv, init", [([], "finetuned"), (["--init", "random_frozen"], "random_frozen"),
                                        (["--init", "frozen"], "frozen")])
def test_one_backbone_run_starts_its_encoder_as_asked(tmp_path, monkeypatch, argv, init):
    calls = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: calls.append((env, init)) or {
        "name": "n", "steps": 1, "wall_s": 0.0, "at": {}})
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out) / "README.md")
    assert active.main(["--backbone", str(_checkpoint(tmp_path)), *argv, "--out", str(tmp_path / "o")]) == 0
    assert calls == [("Saccade-Scenes-Classify-v0", init)]


def test_library_entry_points_check_before_any_env(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="env must be a recognition id .* got 'Saccade-Shapes-v0'"):
        active.make_env("Saccade-Shapes-v0", 2)
    monkeypatch.setattr(active, "make_env", lambda *a, **k: pytest.fail("an env was made before the checks"))
    with pytest.raises(ValueError, match="movement must be one of"):
        active.train_run("CircleSquare-v0", "fly", out=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"gamma must be a finite number in \[0, 1\], got 2.0"):
        active.train_run("CircleSquare-v0", "learned", out=tmp_path, progress=False, agent_config={"gamma": 2.0})


def test_a_one_point_curve_is_drawn_as_a_marker_and_the_page_says_so(tmp_path, monkeypatch):
    """A run too short for a second window has a curve of one point: a line through it draws nothing (the
    empty curves.png of issue 27), so it is a marker with its std bar, and the page says why."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = [{"steps": 2048, "accuracy": 0.5, "return": -1.0}]
    _run(tmp_path, "learned", 0, 0.5, curve=curve, at={}, steps=2048)
    figures = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig) or close(fig))
    page = active.write_results(tmp_path, "python -m experiments.rl active --steps 2048").read_text()
    assert "drawn as a marker" in page
    (fig,) = figures
    for ax in fig.axes:
        drawn = [line for line in ax.get_lines() if len(line.get_xdata()) == 1 and line.get_xdata()[0] == 2048]
        assert drawn and all(line.get_marker() not in (None, "None", "", " ") for line in drawn)
    _run(tmp_path, "learned", 0, 0.9)  # three points: lines, no note
    assert "drawn as a marker" not in active.write_results(tmp_path, "cmd").read_text()
