"""The command lines' input checks of issue 28: the pretraining config routes, the study
runner, the reference-agent study's --root; every case one line on stderr naming the thing, exit 2, before
any data, training or folder is made."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.evaluate import cli as eval_cli
from experiments.evaluate import study
from experiments.pretrain import cli as pretrain_cli
from experiments.pretrain import train
from experiments.pretrain.config import DataConfig, load_config
from experiments.pretrain.envspec import NOT_ENV, RENAMED, env_parameters
from tests.experiments.test_cli_errors_checkpoints_and_outputs import _error_line, _never, run_dir  # noqa: F401  (a fixture)


def _pretrain(capsys, monkeypatch, argv) -> str:
    monkeypatch.setattr(train, "make_source", _never("data preparation"))
    monkeypatch.setattr(train, "main", _never("training"))
    return _error_line(capsys, pretrain_cli.cli, argv)


# ---------------------------------------------------------------- 6. env_kwargs never overrides a data field
@pytest.mark.parametrize("kwargs, named", [
    ("{split: test}", "data.env_kwargs sets 'split', which data.split sets"),
    ("{glimpse_size: 8}", "which data.glimpse_size sets"),
    ("{n_train: 10}", "which data.n_train sets"),
    ("{style: natural}", "which data.scene_style sets"),
    ("{max_saccades: 9}", "the episode length, which data.seq_len sets"),
    ("{max_steps: 9}", "the episode length, which data.seq_len sets"),
])
def test_env_kwargs_never_set_what_a_data_field_sets(tmp_path, capsys, monkeypatch, kwargs, named):
    line = _pretrain(capsys, monkeypatch, ["--config", "scenes_cpu", "--set", f"data.env_kwargs={kwargs}",
                                           "--run-dir", str(tmp_path / "r")])
    assert named in line


def test_every_forwarded_data_field_is_refused_in_env_kwargs():
    from experiments.pretrain.config import config_from_dict
    from experiments.pretrain.envspec import ENV_IDS
    checked = 0
    for field in [f.name for f in dataclasses.fields(DataConfig) if f.name not in NOT_ENV]:  # every one
        key = RENAMED.get(field, field)
        for dataset, env_id in ENV_IDS.items():
            if key in env_parameters(env_id):
                with pytest.raises(ValueError, match=f"which data.{field} sets"):
                    config_from_dict({"data": {"dataset": dataset, "env_kwargs": {key: 1}}})
                checked += 1
    assert checked > 20


# ---------------------------------------------------------------- 7 and 15. names that become folders
@pytest.mark.parametrize("override, named", [
    ("preset=x/../../../esc", "preset must be a plain folder name"),
    ("preset=..", "preset must be a plain folder name"),
    ("preset=" + "p" * 240, "preset must be at most 239 bytes"),
    ("run_name=" + "r" * 300, "run_name must be at most 255 bytes"),
    ("out_dir=/tmp/" + "o" * 300, "out_dir /tmp/"),
])
def test_names_of_the_run_folder_are_checked_at_load(tmp_path, capsys, monkeypatch, override, named):
    line = _pretrain(capsys, monkeypatch, ["--config", "scenes_cpu", "--set", override])
    assert named in line


def test_a_preset_name_in_a_config_file_cannot_escape_out_dir(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"preset": "../../escape", "out_dir": str(tmp_path / "runs")}))
    with pytest.raises(ValueError, match="preset must be a plain folder name"):
        load_config(path)


def test_eval_out_with_a_name_too_long_is_one_line_before_any_probe(run_dir, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(eval_cli, "evaluate_runs", _never("evaluation"))
    line = _error_line(capsys, eval_cli.cli, [str(run_dir), "--out", str(tmp_path / ("e" * 300))])
    assert "--out" in line and "255" in line


# ---------------------------------------------------------------- 13. unbounded numbers
@pytest.mark.parametrize("override, named", [
    ("threads=100000", "threads must be an int in [1, 1024], got 100000"),
    ("data.epoch_size=4611686018427387904", "data.epoch_size must be an int in [1, 2147483647]"),
    ("seed=18446744073709551616", "seed must be an int in [0, 2147483647]"),
])
def test_numbers_that_would_crash_mid_run_are_refused_at_load(tmp_path, capsys, monkeypatch, override, named):
    assert named in _pretrain(capsys, monkeypatch, ["--config", "scenes_cpu", "--set", override])


# ---------------------------------------------------------------- 16. recursive, deep and binary config files
@pytest.mark.parametrize("content, named", [
    ("data:\n  env_kwargs: &x\n    a: *x\n", "holds itself (a recursive YAML alias)"),
    ("[" * 5000 + "\n", "nested too deeply"),
    (b"\xff\xfe\x00\x01binary", "not a YAML text file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a YAML text file"),
])
def test_config_files_that_would_recurse_or_are_binary_are_one_line_naming_the_file(tmp_path, capsys, monkeypatch,
                                                                                     content, named):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    line = _pretrain(capsys, monkeypatch, ["--config", str(path)])
    assert str(path) in line and named in line


def test_a_recursive_set_value_is_one_line(tmp_path, capsys, monkeypatch):
    line = _pretrain(capsys, monkeypatch, ["--config", "scenes_cpu", "--set", "data.env_kwargs={a: &x [*x]}"])
    assert "recursive YAML alias" in line


# ---------------------------------------------------------------- 10. the study runner
@pytest.fixture
def no_study_work(monkeypatch):
    monkeypatch.setattr(study, "run_seed", _never("training"))
    monkeypatch.setattr(study, "evaluate_seed", _never("evaluation"))
    monkeypatch.setattr(study, "evaluate", _never("the joint report"))


@pytest.mark.parametrize("argv, named", [
    (["--set", "foo=1"], "unknown field 'foo'"),
    (["--config", "/nonexistent/c.yaml"], "--config: config file not found: /nonexistent/c.yaml"),
    (["--name", "a/b"], "--name must be a plain folder name"),
    (["--name", ".."], "--name must be a plain folder name"),
    (["--name", "n" * 260], "--name is 260 bytes"),
    (["--name", "n" * 250], "longer than the 255 bytes"),  # its _noaction_s<seed> folders would be
    (["--seeds", "0", "0"], "--seeds must be distinct"),
    (["--seeds", "-1"], "--seeds must be an int in [0, 2147483647], got -1"),
    (["--jobs", "0"], "--jobs must be an int in [1, 64], got 0"),
    (["--m-val", "0"], "--m-val must be an int in [1, 1024], got 0"),
    (["--out-dir", "{file}"], "--out-dir {file} is a file"),
    (["--out", "{file}"], "--out {file} is a file"),
    (["--out", "{file}/sub"], "lies inside {file}, which is a file"),
    (["--out", "{results}"], "already holds results.json"),
])
def test_study_inputs_are_one_line_before_any_training(tmp_path, capsys, no_study_work, argv, named):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "results.json").write_text("{}")
    fill = {"file": str(blocker), "results": str(tmp_path / "res")}
    argv = [a.format(**fill) for a in argv]
    out = [] if "--out" in argv else ["--out", str(tmp_path / "report")]
    line = _error_line(capsys, study.cli, [*argv, *out, "--out-dir", str(tmp_path / "runs")]
                       if "--out-dir" not in argv else [*argv, *out])
    assert line.startswith("python -m experiments.evaluate.study: error: ") and named.format(**fill) in line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "report").exists()


@pytest.mark.parametrize("name", ["#", "*x", "&a", "a: b", "null", "1e3"])
def test_study_names_are_passed_as_text_never_read_as_yaml(tmp_path, monkeypatch, name):
    seen = []

    def fake_run(cmd, stdout=None, stderr=None, env=None):
        sets = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--set"]
        config = load_config(cmd[cmd.index("--config") + 1], sets)
        seen.append((config.run_name, config.out_dir))
        return subprocess.CompletedProcess(cmd, 0)
    monkeypatch.setattr(study.subprocess, "run", fake_run)
    study.check_name(name, [0])
    run_dir = study.run_seed(str(study.resolve_config_path("scenes_cpu")), 0, f"{name}_s0", str(tmp_path / "#runs"),
                             [])
    assert seen == [(f"{name}_s0", str(tmp_path / "#runs"))] and run_dir == tmp_path / "#runs" / f"{name}_s0"


def test_a_fifo_summary_in_a_study_run_is_never_opened(tmp_path, monkeypatch):
    import os
    run = tmp_path / "n_s0"
    run.mkdir()
    os.mkfifo(run / "summary.json")
    monkeypatch.setattr(study.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0))
    assert study.run_seed("scenes_cpu", 0, "n_s0", str(tmp_path), []) == run  # retrained, not hung


# ---------------------------------------------------------------- 7. the reference study's --root
def test_rl_root_that_is_not_a_folder_is_refused_and_nothing_is_made(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sb3_contrib")
    from experiments.rl import sb3_study
    monkeypatch.setattr(sb3_study, "make_env", _never("an env"))
    monkeypatch.setattr(sb3_study, "run_learner", _never("a learner"))
    missing = tmp_path / "nonexistent" / "data"
    line = _error_line(capsys, sb3_study.cli, ["--root", str(missing), "--out", str(tmp_path / "o")])
    assert f"--root {missing} is not a folder" in line
    assert not missing.parent.exists() and not (tmp_path / "o").exists()


def test_rl_out_with_a_name_too_long_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sb3_contrib")
    from experiments.rl import sb3_study
    monkeypatch.setattr(sb3_study, "make_env", _never("an env"))
    line = _error_line(capsys, sb3_study.cli, ["--out", str(tmp_path / ("o" * 300))])
    assert "--out" in line and "255" in line


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=300))
def test_any_study_name_is_a_folder_name_or_one_line(tmp_path, name):
    try:
        study.check_name(name, [0, 1])
    except ValueError as exc:
        assert str(exc).startswith("--name") and "\n" not in str(exc)
        return
    folder = f"{name}_noaction_s1"
    assert "/" not in name and len(folder.encode("utf-8", "surrogateescape")) <= 255
    cfg = load_config("scenes_cpu", [f"run_name={study._quoted(folder)}"])
    assert cfg.run_name == folder
