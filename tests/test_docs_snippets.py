"""Every code block of README.md and docs/*.md runs as written, and every shell command in them and
in the preset headers parses (issue 27).

- ``python`` blocks are executed, each in a fresh namespace, inside the :func:`small_data`
  fixture: data and caches in a temporary folder, this package's envs made with few images /
  worlds / objects (``SNIPPET_SIZES``, given only where a snippet does not set them), a tiny
  pretrained checkpoint at ``runs/<name>/ckpt_last.pt`` (the README's placeholder path, taken
  literally) and Stable-Baselines3's ``learn`` capped at a few steps (PPO with one short
  rollout and one epoch, ``PPO_SMALL``). A block preceded by
  ``<!-- not run: reason -->`` (API signatures, not code) is skipped, with its reason.
- Shell commands (``bash`` blocks, the indented commands of the preset headers): the project's
  commands run for real when cheap (``--help``, ``--list-presets``, ``--print-config``; a
  ``saccade-pretrain --config`` command is run with ``--print-config`` added, which resolves the
  config and its ``--set`` overrides) and are otherwise parsed by their own argument parser
  without running; ``pip install`` lines must name existing files and extras; other programs
  must be on the PATH.
"""

from __future__ import annotations

import argparse
import configparser
import importlib
import re
import runpy
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!--(?P<mark>[^>]*)-->\s*\n)?^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```", re.S | re.M)
SNIPPET_SIZES = {"n_train": 128, "n_test": 32, "n_worlds": 4, "n_objects": 20}
LEARN_CAP = 64  # Stable-Baselines3 learn(total_timesteps) in snippets
PPO_SMALL = {"n_steps": 64, "batch_size": 64, "n_epochs": 1}  # PPO's defaults in snippets (a snippet's own win)


def blocks(lang: str) -> list[tuple[str, str, str]]:
    """``(id, body, mark)`` of every ``lang`` fenced block; id = ``file:line``."""
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group("lang") == lang:
                line = text.count("\n", 0, m.start("body"))
                out.append((f"{path.relative_to(ROOT)}:{line}", m.group("body"), (m.group("mark") or "").strip()))
    return out


def preset_header_commands() -> list[tuple[str, str]]:
    from experiments.pretrain.config import PRESETS_DIR
    from experiments.pretrain.presets import preset_commands

    return [(f"{p.relative_to(ROOT)}", c) for p in sorted(PRESETS_DIR.glob("*.yaml")) for c in preset_commands(p)]


# ---------------------------------------------------------------------------- python blocks
@pytest.fixture
def small_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Small, isolated data for snippets (module docstring); yields the working folder."""
    import gymnasium as gym

    import envs

    shared = tmp_path_factory.getbasetemp() / "snippet_data"  # scenes generated once per session
    monkeypatch.setenv("SACCADE_DATA", str(shared))
    monkeypatch.delenv("SACCADE_CACHE", raising=False)
    work = tmp_path_factory.mktemp("snippet")
    monkeypatch.chdir(work)

    def small(env_id: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            accepted = envs.env_keywords(env_id)
        except (ValueError, TypeError):  # not one of our ids
            return kwargs
        return {**{k: v for k, v in SNIPPET_SIZES.items() if k in accepted}, **kwargs}

    make, make_vec = gym.make, gym.make_vec
    monkeypatch.setattr(gym, "make", lambda env_id, *a, **kw: make(env_id, *a, **small(env_id, kw)))
    monkeypatch.setattr(gym, "make_vec", lambda env_id, *a, **kw: make_vec(env_id, *a, **small(env_id, kw)))
    if importlib.util.find_spec("stable_baselines3") is not None:
        from stable_baselines3 import PPO

        learn, ppo_init = PPO.learn, PPO.__init__
        monkeypatch.setattr(PPO, "learn",
                            lambda self, total_timesteps, *a, **kw: learn(self, min(total_timesteps, LEARN_CAP), *a, **kw))
        monkeypatch.setattr(PPO, "__init__", lambda self, *a, **kw: ppo_init(self, *a, **{**PPO_SMALL, **kw}))
    yield work


@pytest.fixture
def pretrained_run(small_data: Path) -> Path:
    """A seconds-long pretraining run whose checkpoint sits at ``runs/<name>/ckpt_last.pt``."""
    from experiments.pretrain.config import DataConfig, EvalConfig
    from experiments.pretrain.train import main
    from tests.experiments.test_pretrain import tiny_config

    data = DataConfig(glimpse_size=8, scales=(1, 2), seq_len=4, batch_size=8, n_train=16, n_test=8,
                      scene_style="simple", max_objects=1, ior_radius=4)
    main(tiny_config("runs", run_name="<name>", data=data, total_steps=2, checkpoint_every=2,
                     eval=EvalConfig(enabled=False)))
    return small_data / "runs" / "<name>" / "ckpt_last.pt"


def _python_params() -> list[Any]:
    params = []
    for ident, body, mark in blocks("python"):
        marks = []
        if mark.startswith("not run"):
            marks.append(pytest.mark.skip(reason=mark))
        if "stable_baselines3" in body:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(body, id=ident, marks=marks))
    return params


@pytest.mark.parametrize("body", _python_params())
def test_python_block_runs(body: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture) -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if "stable_baselines3" in body:
            pytest.importorskip("stable_baselines3")
        request.getfixturevalue("pretrained_run" if "load_pretrained" in body else "small_data")
        exec(compile(body, request.node.callspec.id, "exec"), {"__name__": "__snippet__"})
    finally:
        torch.set_num_threads(threads)


def test_every_skipped_block_says_why() -> None:
    for ident, _, mark in blocks("python"):
        if mark.startswith("not run"):
            assert len(mark) > len("not run: ") + 5, f"{ident}: <!-- not run: ... --> needs a reason"


# ---------------------------------------------------------------------------- shell commands
class _Parsed(Exception):
    pass


def _console_scripts() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict((part.strip() for part in line.split("=")) for line in lines)


def _extras() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return set(cfg["options.extras_require"])


def commands(text: str) -> list[list[str]]:
    """The simple commands of a shell block: comments dropped, ``\\`` continuations joined, split
    on ``;``, ``&&`` and ``||``; leading ``VAR=value`` assignments and ``nice -n N`` removed."""
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in (";", "&&", "||"):
                while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
                    words.pop(0)
                if words[:1] == ["nice"]:
                    words = words[3:] if words[1:2] == ["-n"] else words[1:]
                if words:
                    out.append(words)
                words = []
            else:
                words.append(token)
    return out


def _all_commands() -> list[Any]:
    params = []
    for ident, body, _ in blocks("bash"):
        params += [pytest.param(cmd, id=f"{ident} {' '.join(cmd)[:60]}") for cmd in commands(body)]
    for ident, line in preset_header_commands():
        params += [pytest.param(cmd, id=f"{ident} {' '.join(cmd)[:60]}") for cmd in commands(line)]
    return params


def _target(cmd: list[str]) -> tuple[str, list[str], Any]:
    """``(prog, args, runner)`` of one of this project's commands (None for other programs)."""
    scripts = _console_scripts()
    if cmd[0] in scripts:
        module, function = scripts[cmd[0]].split(":")
        return cmd[0], cmd[1:], lambda: getattr(importlib.import_module(module), function)()
    if cmd[0] == "torchrun":  # torchrun [its flags] -m module args
        i = cmd.index("-m")
        cmd = ["python", *cmd[i:]]
    if Path(cmd[0]).name.startswith("python") and cmd[1:2] == ["-m"] and cmd[2].split(".")[0] == "experiments":
        module = cmd[2]
        return module, cmd[3:], lambda: runpy.run_module(module, run_name="__main__", alter_sys=False)
    return cmd[0], cmd[1:], None


def _cheap(prog: str, args: list[str]) -> list[str] | None:
    """The arguments to run for real (cheap), or None to parse only."""
    if {"--help", "-h", "--list-presets", "--print-config"} & set(args):
        return args
    pretrain = prog in ("saccade-pretrain", "experiments.pretrain")
    if pretrain and "--config" in args and "--run-dir" not in args and not args[args.index("--config") + 1].endswith(".yaml") \
            or pretrain and "--config" in args and (ROOT / args[args.index("--config") + 1]).is_file():
        return [*args, "--print-config"]  # resolves the preset or file and every --set
    return None


@pytest.mark.parametrize("cmd", _all_commands())
def test_shell_command(cmd: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(ROOT)
    if Path(cmd[0]).name.startswith("python") and cmd[1:3] in (["-m", "pip"], ["-m", "venv"]) or cmd[0] == "pip":
        for value in (cmd[i + 1] for i, w in enumerate(cmd) if w in ("-c", "-r")):
            assert (ROOT / value).is_file(), f"{cmd}: {value} not found"
        for spec in (w for w in cmd if w.startswith(".[")):
            assert set(spec[2:-1].split(",")) <= _extras(), f"{cmd}: unknown extra in {spec}"
        return
    if Path(cmd[0]).name.startswith("python") and cmd[1:3] == ["-m", "pytest"]:
        return  # the quick-start test command: .ci/run runs it
    prog, args, runner = _target(cmd)
    if runner is None:
        assert shutil.which(cmd[0]) or importlib.util.find_spec(cmd[0]), f"{cmd[0]} is not installed"
        return
    run_args = _cheap(prog, args)
    monkeypatch.setattr(sys, "argv", [prog, *(run_args if run_args is not None else args)])
    if run_args is None:
        parse = argparse.ArgumentParser.parse_args

        def parse_then_stop(self, args=None, namespace=None):
            parse(self, args, namespace)
            raise _Parsed(self.prog)

        monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    try:
        runner()
    except _Parsed:
        return
    except SystemExit as exc:
        assert exc.code in (0, None), f"{' '.join(cmd)} exited {exc.code}: {capsys.readouterr().err}"
    else:
        assert run_args is not None, f"{' '.join(cmd)}: its parser was never reached"
