"""Every command line reports bad input as ONE line on stderr naming the thing (the file, the key,
the flag), with exit status 2 and no traceback; and checks it before any expensive work
(a spy on the expensive call fails the test if it runs first)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from experiments.evaluate import cli as eval_cli
from experiments.pretrain import cli as pretrain_cli
from experiments.pretrain import train
from experiments.pretrain.checkpoint import LAST_NAME
from experiments.pretrain.config import EvalConfig, load_config
from tests.experiments.test_pretrain import FakeSource, tiny_config


def _error_line(capsys: pytest.CaptureFixture[str], run, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        run(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _never(what: str):
    def fail(*args, **kwargs):
        pytest.fail(f"{what} ran before the input was checked")
    return fail


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run (4 steps) with its config.yaml and checkpoint."""
    out = tmp_path_factory.mktemp("runs")
    cfg = tiny_config(out, stop_after=4, eval=EvalConfig(enabled=False))
    train.main(cfg, source_factory=FakeSource.factory(cfg))
    return out / "tiny"


def _copy_run(run_dir: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in run_dir.iterdir():
        if f.is_file():
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


# ---------------------------------------------------------------- saccade-pretrain --resume
def test_resume_on_a_truncated_checkpoint_is_one_line_naming_it(run_dir, tmp_path, capsys, monkeypatch):
    run = _copy_run(run_dir, tmp_path / "run")
    _truncate(run / LAST_NAME)
    monkeypatch.setattr(train, "make_source", _never("data preparation"))
    line = _error_line(capsys, pretrain_cli.cli, ["--run-dir", str(run), "--resume"])
    assert line.startswith("saccade-pretrain: error: ") and str(run / LAST_NAME) in line


def test_resume_after_config_yaml_was_edited_names_the_keys_that_differ(run_dir, tmp_path, capsys, monkeypatch):
    run = _copy_run(run_dir, tmp_path / "run")
    values = yaml.safe_load((run / "config.yaml").read_text())
    assert values["data"]["glimpse_size"] == 8 and values["seed"] == 0
    values["data"]["glimpse_size"], values["seed"] = 16, 3
    (run / "config.yaml").write_text(yaml.safe_dump(values))
    load_config(run / "config.yaml")  # a valid config: only its difference from the checkpoint is wrong
    monkeypatch.setattr(train, "make_source", _never("data preparation"))
    line = _error_line(capsys, pretrain_cli.cli, ["--run-dir", str(run), "--resume"])
    assert "data.glimpse_size: 8 -> 16" in line and "seed: 0 -> 3" in line and str(run / LAST_NAME) in line
    assert len(line) < 400  # the keys, not the data section printed twice


@pytest.mark.parametrize("override,expected", [
    ("optim.lr=.inf", "optim.lr must be a finite number > 0, got inf"),
    ("optim.warmup_epochs=.nan", "optim.warmup_epochs must be a finite number >= 0, got nan"),
    ("optim.weight_decay=.nan", "optim.weight_decay must be a finite number >= 0, got nan"),
    ("optim.probe_lr=-1", "optim.probe_lr must be a finite number > 0, got -1"),
    ("seed=-1", "seed must be an int in [0, 2147483647], got -1"),
])
def test_values_that_would_poison_a_run_are_refused_at_load(tmp_path, capsys, monkeypatch, override, expected):
    monkeypatch.setattr(train, "make_source", _never("data preparation"))
    line = _error_line(capsys, pretrain_cli.cli, ["--config", "scenes_cpu", "--set", override,
                                           "--run-dir", str(tmp_path / "r")])
    assert expected in line


# ---------------------------------------------------------------- saccade-eval
def test_eval_on_a_truncated_checkpoint_is_one_line_naming_it(run_dir, tmp_path, capsys, monkeypatch):
    run = _copy_run(run_dir, tmp_path / "run")
    _truncate(run / LAST_NAME)
    monkeypatch.setattr(eval_cli, "evaluate_runs", _never("evaluation"))
    line = _error_line(capsys, eval_cli.cli, [str(run), "--out", str(tmp_path / "eval")])
    assert line.startswith("saccade-eval: error: ") and str(run / LAST_NAME) in line


def test_eval_checks_every_run_and_ablation_before_the_first_probe(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(eval_cli, "evaluate_runs", _never("evaluation"))
    missing = tmp_path / "nothing"
    line = _error_line(capsys, eval_cli.cli, [str(run_dir), "--out", str(tmp_path / "e"), "--ablation", str(missing)])
    assert str(missing) in line


@pytest.mark.parametrize("where", ["{file}", "{file}/sub"])
def test_eval_out_that_cannot_be_a_folder_fails_before_any_probe(run_dir, tmp_path, capsys, monkeypatch, where):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(eval_cli, "evaluate_runs", _never("evaluation"))
    monkeypatch.setattr(eval_cli, "check_runs", _never("checkpoint reading"))
    out = where.format(file=blocker)
    line = _error_line(capsys, eval_cli.cli, [str(run_dir), "--out", out])
    assert f"--out {out}" in line and "not a folder" in line


def test_eval_out_holding_results_is_refused_before_any_probe(run_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "results.json").write_text("{}")
    monkeypatch.setattr(eval_cli, "evaluate_runs", _never("evaluation"))
    line = _error_line(capsys, eval_cli.cli, [str(run_dir), "--out", str(tmp_path)])
    assert "already holds results.json" in line and "--overwrite" in line


@pytest.mark.parametrize("content,expected", [
    (None, "no results file at {path}"),
    ("not json {", "{path} is not a readable JSON file"),
    ("[]", "{path} is not a saccade-eval results file"),
    ('{"runs": 5}', "{path} is not a saccade-eval results file"),
    ('{"measurements": []}', "{path} holds no measurements"),
    ('{"measurements": [{"metric": 1}]}', "{path}: measurements[0] lacks keys"),
    ('{"summary": 5}', "{path}: "),
])
def test_compare_on_what_is_not_a_results_file_is_one_line_naming_it(tmp_path, capsys, content, expected):
    folder = tmp_path / "eval"
    folder.mkdir()
    path = folder / "results.json"
    if content is not None:
        path.write_text(content)
    line = _error_line(capsys, eval_cli.cli, ["--compare", str(folder)])
    assert line.startswith("saccade-eval: error: ") and expected.format(path=path) in line


def test_compare_never_opens_a_fifo(tmp_path, capsys):
    import os

    path = tmp_path / "results.json"
    os.mkfifo(path)
    line = _error_line(capsys, eval_cli.cli, ["--compare", str(path)])
    assert f"{path} is a FIFO" in line


# ---------------------------------------------------------------- experiments.rl
def _rl(argv: list[str]):
    from experiments.rl.sb3_study import cli

    return cli(argv)


@pytest.fixture
def no_training(monkeypatch):
    pytest.importorskip("sb3_contrib")
    from experiments.rl import sb3_study

    monkeypatch.setattr(sb3_study, "make_env", _never("an env"))
    monkeypatch.setattr(sb3_study, "run_learner", _never("a learner"))


@pytest.mark.parametrize("argv,expected", [
    (["--seeds", "-1"], "--seeds must be distinct ints in [0, 2**31), got [-1]"),
    (["--seeds", "0", "0"], "--seeds must be distinct ints"),
    (["--eval-every", "0"], "--eval-every must be a positive int, got 0"),
])
def test_rl_bad_numbers_are_one_line_naming_the_flag(tmp_path, capsys, no_training, argv, expected):
    line = _error_line(capsys, _rl, [*argv, "--out", str(tmp_path / "o")])
    assert expected in line


@pytest.mark.parametrize("where", ["{file}", "{file}/sub"])
def test_rl_out_that_cannot_be_a_folder_fails_before_training(tmp_path, capsys, no_training, where):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = where.format(file=blocker)
    line = _error_line(capsys, _rl, ["--out", out])
    assert f"--out {out}" in line and "not a folder" in line


def test_rl_never_replaces_an_earlier_study_unless_asked(tmp_path, capsys, no_training):
    from experiments.rl.sb3_study import RLConfig, main

    (tmp_path / "results.json").write_text('{"tasks": {}}')
    (tmp_path / "README.md").write_text("earlier")
    line = _error_line(capsys, _rl, ["--out", str(tmp_path)])
    assert "already holds results.json, README.md" in line and "--overwrite" in line
    with pytest.raises(FileExistsError):  # main() itself refuses too
        main(RLConfig(out=str(tmp_path)))
    assert (tmp_path / "README.md").read_text() == "earlier"
    with pytest.raises(pytest.fail.Exception, match="an env ran"):  # --overwrite passes the check
        _rl(["--out", str(tmp_path), "--overwrite"])
    assert json.loads((tmp_path / "results.json").read_text()) == {"tasks": {}}
