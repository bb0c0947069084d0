"""A missing optional package is one line naming the extra that installs it (issue 27). Absence is
simulated: ``sys.modules[name] = None`` makes ``import name`` fail as if it were not installed."""

from __future__ import annotations

import configparser
import runpy
import sys
from pathlib import Path

import pytest

from checks import extras
from checks.extras import EXTRAS, MissingExtraError, check_extra, require

ROOT = Path(__file__).resolve().parents[2]


def _extras_in_setup_cfg() -> dict[str, set[str]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    section = cfg["options.extras_require"]
    return {name: {line.split(">")[0].split("=")[0].split("<")[0].strip()
                   for line in section[name].strip().splitlines()} for name in section}


def test_extras_match_setup_cfg():
    declared = _extras_in_setup_cfg()
    for extra, packages in EXTRAS.items():
        assert set(packages.values()) == declared[extra]
        assert set(packages.values()) <= declared["dev"]  # CI installs dev and tests the rl commands


def test_require_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    with pytest.raises(MissingExtraError) as info:
        require("stable_baselines3", what="the reference agents")
    message = str(info.value)
    assert "\n" not in message and "'rl' extra" in message and 'pip install -c constraints.txt -e ".[rl]"' in message
    assert message.startswith("the reference agents needs stable_baselines3")
    assert isinstance(info.value, ImportError)


def test_require_names_a_missing_dependency_of_the_extra(monkeypatch):
    pytest.importorskip("ap_gym")
    for name in [m for m in sys.modules if m == "ap_gym" or m.startswith("ap_gym.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # ap_gym is installed, one of its imports is not
    with pytest.raises(MissingExtraError, match="needs aiohttp.*'rl' extra"):
        require("ap_gym", what="CircleSquare-v0")


def test_present_packages_pass():
    check_extra("numpy")  # not in an extra, installed: nothing to say
    assert extras.is_available("gymnasium") and not extras.is_available("no_such_package_xyz")
    with pytest.raises(KeyError):
        extras.extra_of("numpy")


def _run_module(monkeypatch, capsys, argv: list[str]) -> str:
    monkeypatch.setattr(sys, "argv", ["python -m experiments.rl", *argv])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("experiments.rl", run_name="__main__", alter_sys=False)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_active_without_ap_gym_names_the_extra(monkeypatch, capsys, tmp_path):
    import gymnasium as gym

    monkeypatch.setitem(sys.modules, "ap_gym", None)
    monkeypatch.delitem(gym.registry, "CircleSquare-v0", raising=False)  # as if ap_gym was never imported
    err = _run_module(monkeypatch, capsys, ["active", "--env", "CircleSquare-v0", "--out", str(tmp_path)])
    assert err.startswith("python -m experiments.rl active: error: --env CircleSquare-v0")
    assert 'pip install -c constraints.txt -e ".[rl]"' in err
    err = _run_module(monkeypatch, capsys, ["active-study", "--out", str(tmp_path)])  # the default --env
    assert "CircleSquare-v0" in err and ".[rl]" in err


def test_reference_agents_without_sb3_name_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    err = _run_module(monkeypatch, capsys, ["--tasks", "classify", "--out", str(tmp_path / "rl")])
    assert err.startswith("python -m experiments.rl: error:") and "stable_baselines3" in err and ".[rl]" in err
    assert not (tmp_path / "rl").exists()  # refused before any work


def test_reference_agents_without_sb3_contrib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)
    err = _run_module(monkeypatch, capsys, ["--learners", "recurrent_ppo", "--out", str(tmp_path / "rl")])
    assert "sb3_contrib" in err and ".[rl]" in err


def test_check_recognition_id_names_the_extra(monkeypatch, capsys, tmp_path):
    """The check itself says ap_gym is missing (it no longer passes over a failed import and reports an
    unknown id), so every caller (the CLI, make_env) gives the same line."""
    import gymnasium as gym

    from experiments.rl import active

    monkeypatch.setitem(sys.modules, "ap_gym", None)
    monkeypatch.delitem(gym.registry, "CircleSquare-v0", raising=False)
    for env in ("CircleSquare-v0", "Nope-v0"):
        with pytest.raises(MissingExtraError) as info:
            active.check_recognition_id(env, "--env")
        message = str(info.value)
        assert message.startswith(f"--env {env} ") and "needs ap_gym" in message and ".[rl]" in message
        assert "\n" not in message
    with pytest.raises(ValueError, match="must be a recognition id"):  # registered, not ap_gym's: no extra helps
        active.check_recognition_id("CartPole-v1", "--env")
    active.check_recognition_id("Saccade-Shapes-Classify-v0", "--env")  # ours: no extra needed
    with pytest.raises(SystemExit) as exit_info:  # the command, without experiments.rl.__main__'s help
        active.main(["--env", "CircleSquare-v0", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and ".[rl]" in err
    assert not (tmp_path / "out").exists()


def test_glimpse_extractor_without_sb3_names_the_extra(monkeypatch):
    import importlib

    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    monkeypatch.delitem(sys.modules, "agents.sb3", raising=False)
    with pytest.raises(MissingExtraError) as info:
        importlib.import_module("agents.sb3")
    message = str(info.value)
    assert "\n" not in message and "needs stable_baselines3" in message and "'rl' extra" in message
