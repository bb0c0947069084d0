"""Every command's ``--help`` is complete plain text: a whole description, no reStructuredText
markup, a help for every flag, defaults shown, subcommands named (issue 27).

The parsers are taken from the commands themselves: ``ArgumentParser.parse_args`` is patched to
hand over the parser the command built instead of parsing, so nothing runs.
"""

from __future__ import annotations

import argparse
import configparser
import importlib
import re
from pathlib import Path

import pytest

from experiments.helpformat import RST_MARKUP, HelpFormatter, plain

ROOT = Path(__file__).resolve().parents[2]


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__(parser.prog)
        self.parser = parser


def console_scripts() -> dict[str, str]:
    """``name -> "module:function"`` of setup.cfg's console scripts."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict((part.strip() for part in line.split("=")) for line in lines)


# command -> (module, function, positional args); every console script, every python -m command
COMMANDS: dict[str, tuple[str, str, tuple]] = {
    **{name: (*target.split(":"), ()) for name, target in console_scripts().items()},
    "python -m experiments.rl": ("experiments.rl.sb3_study", "cli", ([],)),
    "python -m experiments.rl active": ("experiments.rl.active", "main", ([], False)),
    "python -m experiments.rl active-study": ("experiments.rl.active", "main", ([], True)),
    "python -m experiments.evaluate.study": ("experiments.evaluate.study", "cli", ([],)),
    "python -m experiments.evaluate.curve": ("experiments.evaluate.curve", "cli", ([],)),
    "python -m experiments.benchmarks.bench_envs": ("experiments.benchmarks.bench_envs", "cli", ([],)),
    "python -m experiments.benchmarks.bench_render3d": ("experiments.benchmarks.bench_render3d", "main", ([],)),
    "python -m experiments.benchmarks.bench_saliency": ("experiments.benchmarks.bench_saliency", "cli", ()),
    "python -m experiments.benchmarks.bench_train": ("experiments.benchmarks.bench_train", "cli", ([],)),
    "python -m experiments.benchmarks.bench_vector": ("experiments.benchmarks.bench_vector", "main", ([],)),
    "python -m experiments.benchmarks.bench_world_model_agent": ("experiments.benchmarks.bench_world_model_agent", "cli",
                                                                 ([],)),
    "python -m experiments.benchmarks.saliency_quality": ("experiments.benchmarks.saliency_quality", "cli", ([],)),
}

DANGLING = re.compile(r"\b(the|a|an|of|is|are|and|or|to|with|for|in|on|by|from|as|its|their)\s*$", re.I)


def parser_of(command: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    module, function, args = COMMANDS[command]
    fn = getattr(importlib.import_module(module), function)

    def capture(self, args=None, namespace=None):
        raise _Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    monkeypatch.setattr("sys.argv", [command])
    with pytest.raises(_Captured) as info:
        fn(*args)
    return info.value.parser


def _balanced(text: str) -> bool:
    """As many closing as opening brackets (a half-open interval [0, 1) counts as closed)."""
    return text.count("(") + text.count("[") == text.count(")") + text.count("]")


def test_every_console_script_is_checked():
    assert set(console_scripts()) <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_and_whole(command, monkeypatch):
    parser = parser_of(command, monkeypatch)
    text = parser.format_help()
    assert not RST_MARKUP.search(text), f"{command} --help shows markup: {RST_MARKUP.search(text).group()}"
    description = (parser.description or "").strip()
    assert description, f"{command} --help has no description"
    assert _balanced(description) and _balanced(parser.epilog or ""), f"{command}: description cut mid-sentence"
    first = re.split(r"\n\s*\n", description)[0].strip()
    assert first[-1] in ".!?):", f"{command}: the description's first paragraph stops mid-sentence: {first!r}"
    assert not DANGLING.search(first), f"{command}: the description stops mid-sentence: {first!r}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_has_help_and_shows_its_default(command, monkeypatch):
    parser = parser_of(command, monkeypatch)
    formatter = parser._get_formatter()
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        flag = action.option_strings[-1]
        assert action.help, f"{command} {flag} has no help"
        rendered = formatter._get_help_string(action)
        assert _balanced(rendered) and not DANGLING.search(rendered), f"{command} {flag}: {rendered!r}"
        default = action.default
        meaningful = not (default is None or default is False or default is argparse.SUPPRESS
                          or (isinstance(default, (list, tuple)) and not default))
        if meaningful:
            assert "default" in rendered.lower(), f"{command} {flag}: default {default!r} not shown"


def test_rl_help_names_its_subcommands(monkeypatch):
    text = parser_of("python -m experiments.rl", monkeypatch).format_help()
    assert "python -m experiments.rl active " in text and "python -m experiments.rl active-study " in text


def test_list_presets_shows_whole_descriptions(capsys):
    from experiments.pretrain.cli import cli
    from experiments.pretrain.config import PRESETS_DIR
    from experiments.pretrain.presets import preset_description

    cli(["--list-presets"])
    out = capsys.readouterr().out
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        description = preset_description(path)
        assert description[-1] in ".)", f"{path.name}: its header's description stops mid-sentence"
        assert f"{path.stem:<22} {description}\n" in out


def test_help_formatter():
    parser = argparse.ArgumentParser(prog="x", formatter_class=HelpFormatter,
                                     description="Uses ``a`` and :func:`b.c` and **d**.",
                                     epilog="examples:\n  x --n 3   # three\n")
    parser.add_argument("--n", type=int, default=2, help="count")
    parser.add_argument("--m", default=None, help="maybe")
    parser.add_argument("--k", default=[1, 2], nargs="+", help="ks (default: one and two)")
    parser.add_argument("--flag", action="store_true", help="a switch")
    text = parser.format_help()
    assert "Uses a and b.c and d." in text and "  x --n 3   # three" in text
    assert "count (default: 2)" in text and "(default: one and two)" in text
    assert "maybe\n" in text and "a switch\n" in text and "default: None" not in text
    assert plain(":class:`~envs.World` and ``x``") == "envs.World and x"
    assert plain("in [0, 2**31), **bold**") == "in [0, 2**31), bold"
