"""``python -m experiments.rl active|active-study``, hardened (issue 28): the command never
replaces files it did not write, never opens a FIFO, never pools runs made with other settings, and checks
ids, checkpoints, numbers and output paths before any env (one line, exit 2, the flag named)."""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from experiments.rl import active  # noqa: E402
from tests.experiments.test_active_study import _checkpoint, _run  # noqa: E402

ENV = "CircleSquare-v0"


@contextmanager
def deadline(seconds: int = 20):
    """Fail (instead of hanging the suite) if the body blocks, e.g. on a FIFO."""
    def hung(*_):
        raise TimeoutError("blocked: a FIFO was opened")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def no_work(monkeypatch):
    """Spies: any env, training or page before the inputs are checked fails the test."""
    def never(*args, **kwargs):
        pytest.fail("an env, a run or the page was made before the inputs were checked")
    monkeypatch.setattr(active, "make_env", never)
    monkeypatch.setattr(active, "train_run", never)
    monkeypatch.setattr(active, "write_results", never)


def _error(capsys, argv, study=False) -> str:
    with deadline(), pytest.raises(SystemExit) as exit_info:
        active.main(argv, study=study)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- 1. files it did not write
@pytest.mark.parametrize("study", [False, True])
@pytest.mark.parametrize("files", [{"README.md": "# My project\n"}, {"curves.png": "not ours"},
                                   {"README.md": "# My project\n", "curves.png": "x"}])
def test_a_readme_or_figure_it_did_not_write_is_never_replaced(tmp_path, capsys, no_work, study, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    line = _error(capsys, ["--env", ENV, "--out", str(tmp_path)], study)
    assert "--out" in line and ("README.md" if "README.md" in files else "curves.png") in line
    assert all((tmp_path / name).read_text() == text for name, text in files.items())
    assert not (tmp_path / "runs").exists()


def test_write_results_never_replaces_a_page_it_did_not_write(tmp_path):
    _run(tmp_path, "learned", 0, 0.9)
    (tmp_path / "README.md").write_text("# The repository's README\n")
    with pytest.raises(FileExistsError, match="README.md this command did not write"):
        active.write_results(tmp_path, "cmd")
    assert (tmp_path / "README.md").read_text() == "# The repository's README\n"
    assert not (tmp_path / "curves.png").exists()
    (tmp_path / "README.md").unlink()
    page = active.write_results(tmp_path, "cmd")  # its own page is redrawn, the figure beside it too
    assert page.read_text().startswith(active.PAGE_TITLE) and (tmp_path / "curves.png").stat().st_size > 1000
    active.write_results(tmp_path, "again")


# ---------------------------------------------------------------- 2. FIFOs
@pytest.mark.parametrize("study", [False, True])
@pytest.mark.parametrize("where", ["runs/CircleSquare-v0_learned_random_s7.json", "README.md", "curves.png"])
def test_a_fifo_in_the_output_folder_is_never_opened(tmp_path, capsys, no_work, study, where):
    (tmp_path / "runs").mkdir()
    os.mkfifo(tmp_path / where)
    line = _error(capsys, ["--env", ENV, "--out", str(tmp_path)], study)
    assert Path(where).name in line


def test_write_results_never_opens_a_fifo(tmp_path):
    _run(tmp_path, "learned", 0, 0.9)
    os.mkfifo(tmp_path / "runs" / "x.json")
    with deadline(), pytest.raises(ValueError, match=r"x.json is a FIFO"):
        active.write_results(tmp_path, "cmd")


# ---------------------------------------------------------------- 12. kept run files that are not runs
@pytest.mark.parametrize("content, expected", [
    ("[1, 2]", "holds a list, not an object"),
    ('"a run"', "holds a str, not an object"),
    ("{", "is not a readable JSON file"),
    ('{"name": "x"}', "is not a run of python -m experiments.rl active"),
    ("folder", "is a folder"),
    ("link", "is a symbolic link"),
    ("[" * 100_000, "is not a readable JSON file"),
])
def test_kept_run_files_that_are_not_runs_are_one_line_naming_the_file(tmp_path, capsys, no_work, content,
                                                                        expected):
    bad = tmp_path / "runs" / "CircleSquare-v0_learned_random_s9.json"
    bad.parent.mkdir()
    if content == "folder":
        bad.mkdir()
    elif content == "link":
        (tmp_path / "elsewhere.json").write_text(json.dumps(_run(tmp_path / "o", "learned", 9, 0.5)))
        bad.symlink_to(tmp_path / "elsewhere.json")
    else:
        bad.write_text(content)
    line = _error(capsys, ["--env", ENV, "--out", str(tmp_path), "--steps", "128000"], study=True)
    assert str(bad) in line and expected in line


# ---------------------------------------------------------------- 5. a page never pools other settings
@pytest.mark.parametrize("kept, argv, named", [
    ({"asked_steps": 25_600, "num_envs": 16}, ["--steps", "51200"], "--steps 25600 (asked: 51200)"),
    ({"asked_steps": 128_000, "num_envs": 8}, ["--steps", "128000"], "--num-envs 8 (asked: 16)"),
    ({}, ["--steps", "25600"], "--steps 128000 (asked: 25600)"),  # a run kept by an earlier version
    ({"asked_steps": 128_000, "num_envs": 16, "backbone": "c.pt", "backbone_sha256": "ab" * 32},
     ["--steps", "128000"], "--backbone a checkpoint of SHA-256 abababababab (asked: none)"),
    ({"asked_steps": 128_000, "num_envs": 16, "env": "CircleSquare-s28-v0"}, ["--steps", "128000"],
     "--env CircleSquare-s28-v0 (asked: CircleSquare-v0)"),
])
@pytest.mark.parametrize("study", [True, False])
def test_runs_made_with_other_settings_are_never_pooled(tmp_path, capsys, no_work, kept, argv, named, study):
    _run(tmp_path, "random", 0, 0.5, **kept)
    line = _error(capsys, ["--env", ENV, "--out", str(tmp_path), "--seed" if not study else "--seeds", "1", *argv],
                  study)
    assert named in line and "choose another --out" in line


def test_a_study_with_a_backbone_refuses_runs_of_another_checkpoint(tmp_path, capsys, no_work):
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "o"
    env = "Saccade-Scenes-Classify-v0"
    _run(out, "random", 0, 0.5, env=env, name=active.run_name(env, "random", 0), asked_steps=128_000, num_envs=16,
         backbone="other.pt", backbone_sha256="cd" * 32)
    line = _error(capsys, ["--backbone", str(ckpt), "--out", str(out), "--steps", "128000", "--seeds", "1"], True)
    assert "--backbone a checkpoint of SHA-256 cdcdcdcdcdcd" in line


def test_runs_with_the_same_settings_resume(tmp_path, monkeypatch):
    _run(tmp_path, "random", 0, 0.5, asked_steps=128_000, num_envs=16)
    calls = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: calls.append((movement, seed)))
    active.main(["--env", ENV, "--out", str(tmp_path), "--steps", "128000", "--seeds", "0", "1", "--movements",
                 "random"], study=True)
    assert calls == [("random", 1)]


# ---------------------------------------------------------------- 18. repeated seeds, killed attempts
def test_repeated_seeds_and_movements_train_each_run_once(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(active, "train_run", lambda env, movement, seed, init, **kw: calls.append((movement, seed)))
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out) / "README.md")
    active.main(["--env", ENV, "--out", str(tmp_path), "--seeds", "0", "0", "1", "--movements", "random", "random",
                 "still"], study=True)
    assert calls == [("random", 0), ("still", 0), ("random", 1), ("still", 1)]


class _FakeAgent:
    """Two vector steps, each ending one episode: what train_run needs of ActiveAgent."""

    def __init__(self, venv, config, seed=0, **kwargs):
        self.steps = 0

    def learn(self, steps, callback):
        for _ in range(2):
            self.steps += 16
            callback(self.steps, [{"accuracy": 1.0, "return": -1.0}], {})


class _FakeEnv:
    def close(self):
        pass


def test_a_killed_attempts_tensorboard_curves_are_cleared_when_the_run_is_trained_again(tmp_path, monkeypatch):
    import agents.active
    monkeypatch.setattr(active, "make_env", lambda *a, **k: _FakeEnv())
    monkeypatch.setattr(agents.active, "ActiveAgent", _FakeAgent)
    name = active.run_name(ENV, "random", 0)
    tb = tmp_path / "tb" / name
    tb.mkdir(parents=True)
    (tb / "events.out.tfevents.1.killed").write_bytes(b"old curve")
    (tb / "notes.txt").write_text("mine")
    active.train_run(ENV, "random", steps=32, num_envs=16, out=tmp_path, progress=False)
    events = list(tb.glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].name != "events.out.tfevents.1.killed"
    assert (tb / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------- 9. shorter than an episode
@pytest.mark.parametrize("argv, named", [
    (["--env", ENV, "--steps", "1"], "--steps 1 ends no episode: CircleSquare-v0's episodes last 16 steps"),
    (["--env", "Saccade-Shapes-Classify-v0", "--steps", "7", "--num-envs", "8"], "give at least 8"),
    (["--backbone", "{ckpt}", "--steps", "40"], "last 3 steps on each of --num-envs 16 rows; give at least 48"),
])
def test_steps_shorter_than_an_episode_are_refused_before_any_env(tmp_path, capsys, no_work, argv, named):
    argv = [a.format(ckpt=_checkpoint(tmp_path)) for a in argv]
    line = _error(capsys, [*argv, "--out", str(tmp_path / "o")])
    assert named in line and not (tmp_path / "o").exists()


def test_a_run_that_ended_no_episode_is_not_kept_and_old_empty_runs_draw(tmp_path, monkeypatch):
    import agents.active

    class NoEpisode(_FakeAgent):
        def learn(self, steps, callback):
            self.steps = steps
            callback(steps, [], {})
    monkeypatch.setattr(active, "make_env", lambda *a, **k: _FakeEnv())
    monkeypatch.setattr(agents.active, "ActiveAgent", NoEpisode)
    with pytest.raises(active.NoEpisodeError, match="ended no episode"):
        active.train_run(ENV, "random", steps=1, out=tmp_path, progress=False, tensorboard=False)
    assert not list((tmp_path / "runs").glob("*.json"))
    _run(tmp_path, "learned", 0, 0.9)
    run = _run(tmp_path, "random", 0, 0.5)
    run.update(curve=[], at={})  # kept by an earlier version
    (tmp_path / "runs" / f"{run['name']}.json").write_text(json.dumps(run))
    page = active.write_results(tmp_path, "cmd").read_text()
    assert "| CircleSquare-v0 | random | random | 1 | - | - | - | - |" in page


# ---------------------------------------------------------------- 11. ids and checkpoints it cannot run
def _path_checkpoint(tmp_path: Path) -> Path:
    from seqjepa import pretrained_meta
    from seqjepa.serialization import write_checkpoint_file
    from tests.seqjepa.conftest import tiny_model
    model = tiny_model(in_channels=3)
    meta = pretrained_meta(model.config, [0.5] * 3, [0.2] * 3, "PathIntegration-Scenes-v0", {"glimpse_size": 8})
    path = tmp_path / "path.pt"
    with path.open("wb") as fh:
        write_checkpoint_file(fh, {"model": model.state_dict(), "pretrained": meta, "step": 1, "config": {}})
    return path


@pytest.mark.parametrize("case", ["rotation", "cartpole", "nonexistent", "path_backbone", "backbone_other_env",
                                  "not_a_checkpoint", "backbone_folder"])
@pytest.mark.parametrize("study", [False, True])
def test_ids_and_backbones_the_agent_cannot_run_are_refused_before_any_env(tmp_path, capsys, no_work, case, study):
    argv, named = {
        "rotation": (["--env", "Rotation3D-Shapes-Classify-v0"], "--env must be a recognition id the agent can run"),
        "cartpole": (["--env", "CartPole-v1"], "--env must be a recognition id the agent can run"),
        "nonexistent": (["--env", "Nope-v3"], "--env must be a recognition id"),
        "path_backbone": (["--backbone", str(_path_checkpoint(tmp_path))], "no recognition variant the agent runs"),
        "backbone_other_env": (["--backbone", str(_checkpoint(tmp_path)), "--env", ENV],
                               "--env CircleSquare-v0 is not the world --backbone"),
        "not_a_checkpoint": (["--backbone", str(tmp_path / "junk.pt")], "--backbone"),
        "backbone_folder": (["--backbone", str(tmp_path)], "--backbone"),
    }[case]
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    line = _error(capsys, [*argv, "--out", str(tmp_path / "o")], study)
    assert named in line and not (tmp_path / "o").exists()


def test_every_accepted_id_is_one_the_agent_observes():
    import gymnasium as gym
    import envs
    accepted = []
    for env_id in list(gym.registry):
        try:
            active.check_recognition_id(env_id)
        except ValueError:
            continue
        accepted.append(env_id)
        try:
            assert envs.family_of(env_id).state_key == "position"  # observe reads info["position"]
        except ValueError:  # not ours: an ap_gym classification id
            assert gym.spec(env_id).entry_point.__module__.startswith("ap_gym")
    assert {"CircleSquare-v0", "Saccade-Shapes-Classify-v0", "Saccade-Scenes-Classify-v0"} <= set(accepted)
    assert not {"CartPole-v1", "Rotation3D-Shapes-Classify-v0", "Saccade-Scenes-v0"} & set(accepted)


# ---------------------------------------------------------------- 13. unbounded numbers
@pytest.mark.parametrize("argv, named", [
    (["--batch-transitions", "4611686018427387904"], "--batch-transitions must be an int in [1, 1048576]"),
    (["--updates-per-step", str(2 ** 40)], "--updates-per-step must be an int in [0, 1024]"),
    (["--seed", "18446744073709551616"], "--seed must be an int in [0, 4294967295]"),
    (["--threads", "100000"], "--threads must be an int in [1, 1024]"),
    (["--num-envs", "1000000"], "--num-envs must be an int in [1, 1024]"),
    (["--steps", str(10 ** 30)], "--steps must be an int in [1, 10000000000]"),
])
def test_numbers_beyond_their_bounds_are_refused_before_any_env(tmp_path, capsys, no_work, argv, named):
    assert named in _error(capsys, ["--env", ENV, *argv, "--out", str(tmp_path / "o")])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(["--seed", "--steps", "--num-envs", "--threads", "--batch-transitions",
                             "--updates-per-step", "--policy-updates"]),
       value=st.integers(-2 ** 70, 2 ** 70))
def test_any_integer_is_either_in_range_or_one_line_naming_the_flag(tmp_path, capsys, monkeypatch, flag, value):
    seen = []
    monkeypatch.setattr(active, "train_run", lambda *a, **k: seen.append(1) or {
        "name": "n", "steps": 1, "wall_s": 0.0, "at": {}})
    monkeypatch.setattr(active, "write_results", lambda out, command: Path(out) / "README.md")
    argv = ["--env", ENV, "--steps", "1000000", flag, str(value), "--out", str(tmp_path / "o"), "--overwrite"]
    hi = {"--seed": active.MAX_SEED, "--steps": active.MAX_STEPS, "--num-envs": active.MAX_NUM_ENVS,
          "--threads": active.MAX_THREADS, "--batch-transitions": 1 << 20, "--updates-per-step": 1 << 10,
          "--policy-updates": 1 << 10}[flag]
    lo = 0 if flag in ("--seed", "--updates-per-step") else 1
    ok = lo <= value <= hi and not (flag == "--steps" and value < 256)  # CircleSquare: 16 rows x 16 steps
    if ok:
        assert active.main(argv) == 0 and seen == [1]
    else:
        with pytest.raises(SystemExit) as exit_info:
            active.main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1 and (flag in err or "--steps" in err) and not seen


# ---------------------------------------------------------------- 15. names too long, outputs blocked
@pytest.mark.parametrize("study", [False, True])
@pytest.mark.parametrize("blocker", ["long", "runs", "tb", "README.md", "curves.png"])
def test_outputs_it_cannot_write_are_refused_before_any_env(tmp_path, capsys, no_work, study, blocker):
    out = tmp_path / "out"
    if blocker == "long":
        out = tmp_path / ("x" * 300)
    else:
        out.mkdir()
        if blocker in ("runs", "tb"):
            (out / blocker).write_text("a file")
        else:
            (out / blocker).mkdir()
    line = _error(capsys, ["--env", ENV, "--out", str(out)], study)
    assert "--out" in line and ("255" in line if blocker == "long" else blocker in line)
