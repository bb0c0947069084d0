"""Command-line mistakes are one-line usage errors (exit code 2, no traceback), found before any
data is prepared; presets resolve by name from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from experiments.pretrain import train
from experiments.pretrain.config import TrainConfig, list_presets
from experiments.pretrain.cli import cli
from experiments.pretrain.train import RunDirError, check_run_dir


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], run=cli) -> str:
    with pytest.raises(SystemExit) as exc:
        run(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    return err[-1]


def test_broken_yaml_names_file_line_and_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  batch_size: [1\n  seq_len: 3\n")
    line = _usage_error(capsys, ["--config", str(bad), "--run-dir", str(tmp_path / "r")])
    assert f"{bad}:3:" in line and "invalid YAML" in line


@pytest.mark.parametrize("override,expected", [
    ("data.nope=1", "unknown field 'nope'; allowed: ["),
    ("nope.x=1", "'nope' is not a config section"),
    ("data.batch_size=abc", "data.batch_size: Value 'abc'"),
    ("data.ior=round", "data.ior must be one of ('square', 'disc', 'gaussian')"),  # the env's own rule, named by field
    ("data.scales=[1,", "override 'data.scales': cannot parse the value"),
    ("data.glimpse_size=100000", "data.glimpse_size must be an int in [1, 1024]"),
    ("data.ior_radius=1000000000", "data.ior_radius must be a finite number in [0.01, 65536]"),
    ("run_name=../../x", "run_name must be a plain folder name"),
])
def test_bad_set_is_one_line_naming_the_key(tmp_path, capsys, override, expected):
    line = _usage_error(capsys, ["--config", "scenes_cpu", "--set", override, "--run-dir", str(tmp_path / "r")])
    assert expected in line


def test_presets_resolve_from_any_folder_and_print(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cli(["--config", "scenes_cpu", "--set", "data.batch_size=8", "--print-config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["preset"] == "scenes_cpu" and printed["data"]["batch_size"] == 8
    cli(["--config", "pathint_cpu.yaml", "--print-config"])
    assert yaml.safe_load(capsys.readouterr().out)["data"]["dataset"] == "worlds"
    (tmp_path / "scenes_cpu.yaml").write_text("preset: mine\nseed: 7\n")  # a file in the cwd wins
    cli(["--config", "scenes_cpu.yaml", "--print-config"])
    assert yaml.safe_load(capsys.readouterr().out)["seed"] == 7
    assert "no_such_preset" in _usage_error(capsys, ["--config", "no_such_preset"])


def test_list_presets(capsys):
    cli(["--list-presets"])
    out = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in out]
    assert "scenes_cpu" in names and len(out) == len(list_presets())
    assert all(len(line.split(None, 1)) == 2 for line in out)  # every preset has its comment line


def test_run_dir_under_a_file_fails_before_data(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(train, "make_source", lambda *a, **k: pytest.fail("data prepared before the check"))
    line = _usage_error(capsys, ["--config", "scenes_cpu", "--run-dir", str(blocker / "run")])
    assert "is a file, not a folder" in line
    line = _usage_error(capsys, ["--config", "scenes_cpu", "--set", f"out_dir={blocker}/sub"])
    assert "is a file, not a folder" in line


def test_unwritable_run_folder_fails_before_data(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(RunDirError, match="cannot be written"):
        check_run_dir(tmp_path / "ro" / "run")

    def no_data(*args):
        pytest.fail("data prepared before the run folder was checked")

    with pytest.raises(RunDirError, match="cannot be written"):
        train.main(TrainConfig(), run_dir=tmp_path / "ro" / "run", source_factory=no_data)


def test_the_training_module_is_not_a_command_and_says_which_is(tmp_path):
    """``python -m experiments.pretrain.train`` once exited 0 without training (issue 27): one line naming
    the command that trains, exit 2, nothing made."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "experiments.pretrain.train", "--config", "scenes_cpu"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m experiments.pretrain.train: error: ")
    assert "saccade-pretrain --config NAME" in lines[0] and "python -m experiments.pretrain --config NAME" in lines[0]
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the viewer
def _viewer_error(capsys, argv):
    from experiments.viewer.cli import cli as view_cli

    return _usage_error(capsys, argv, run=view_cli)


def test_viewer_unknown_keyword_is_a_usage_error(capsys, tmp_path):
    line = _viewer_error(capsys, ["--kw", "foo=1", "--headless", "--out", str(tmp_path)])
    assert "--kw foo: not a keyword of Saccade-Scenes-v0; allowed: [" in line and "glimpse_size" in line


def test_viewer_non_checkpoint_is_a_usage_error(capsys, tmp_path):
    fake = tmp_path / "fake.pt"
    fake.write_text("not a checkpoint")
    line = _viewer_error(capsys, ["--checkpoint", str(fake), "--headless", "--out", str(tmp_path / "o")])
    assert f"--checkpoint {fake} is not a usable seq-JEPA pretraining checkpoint" in line


@pytest.mark.parametrize("extra,expected", [
    (["--out", "{file}/sub"], "is a file, not a folder"),
    (["--fps", "nan"], "--fps must be a number in (0, 120]"),
    (["--image-size", "100000"], "--image-size must be an int in [8, 4096]"),
    (["--frames", "0"], "--frames must be an int in [1, 100000]"),
])
def test_viewer_bad_options_are_usage_errors(capsys, tmp_path, extra, expected):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = _viewer_error(capsys, ["--headless", *[e.format(file=blocker) for e in extra]])
    assert expected in line
