"""experiments.cliconfig, the command-line library of every command: each argument kind's parse and its
one-line error, the KEY=VALUE coercion (a property test), and no command building its parser by hand."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.cliconfig import (Parser, exit_error, flag_of, name_flag, parse_env_kwargs, parse_env_value,
                                   parse_overrides, parse_size, parse_value, split_key_value)
from experiments.helpformat import HelpFormatter

ROOT = Path(__file__).resolve().parents[2]


def _usage_error(parser: argparse.ArgumentParser, argv: list[str], capsys: pytest.CaptureFixture) -> str:
    """The error line of a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_parser_uses_the_shared_formatter_and_shows_defaults() -> None:
    parser = Parser("prog", description="A ``command``.")
    parser.add_seeds(help="seeds")
    parser.add_device()
    assert parser.formatter_class is HelpFormatter and parser.prog == "prog"
    text = parser.format_help()
    assert "(default: 0 1 2)" in text and "(default: cpu)" in text and "``" not in text


def test_seeds_and_seed(capsys: pytest.CaptureFixture) -> None:
    parser = Parser("prog")
    parser.add_seeds(default=[4])
    parser.add_seed("--first-seed", default=3)
    assert parser.parse_args([]).seeds == [4] and parser.parse_args([]).first_seed == 3
    assert parser.parse_args(["--seeds", "0", "7", "--first-seed", "9"]).seeds == [0, 7]
    assert "argument --seeds: invalid int value: 'x'" in _usage_error(parser, ["--seeds", "1", "x"], capsys)
    assert "argument --first-seed" in _usage_error(parser, ["--first-seed", "1.5"], capsys)


def test_overrides_are_kept_in_order_and_coerced_as_yaml() -> None:
    parser = Parser("prog")
    parser.add_overrides()
    args = parser.parse_args(["--set", "optim.lr=1e-3", "--set", "data.scales=[1, 2]", "--set", "name=", "--set",
                              "flag=true"])
    assert args.overrides == ["optim.lr=1e-3", "data.scales=[1, 2]", "name=", "flag=true"]
    assert parse_overrides(args.overrides) == [("optim.lr", "1e-3"), ("data.scales", [1, 2]), ("name", None),
                                               ("flag", True)]
    with pytest.raises(ValueError, match=r"^--set must look like KEY=VALUE, got 'novalue'$"):
        parse_overrides(["novalue"])
    with pytest.raises(ValueError, match=r"^--set 'a': cannot parse the value '\[1,' as YAML"):
        parse_overrides(["a=[1,"])


def test_env_kwargs() -> None:
    parser = Parser("prog")
    parser.add_env_kwargs()
    args = parser.parse_args(["--kw", "scales=1,2,4", "--kw", "glimpse_size=32", "--kw", "scales=(1, 2)"])
    assert parse_env_kwargs(args.kw) == {"scales": (1, 2), "glimpse_size": 32}
    assert parse_env_value("[1, 2]") == (1, 2) and parse_env_value("") is None and parse_env_value("disc") == "disc"
    for bad in ("novalue", "=3", "1x=2", "a b=1"):
        with pytest.raises(ValueError, match=r"^--kw must look like key=value"):
            parse_env_kwargs([bad])
    with pytest.raises(ValueError, match=r"^--kw 'a': cannot parse the value"):
        parse_env_kwargs(["a=[1"])


def test_output_with_overwrite(capsys: pytest.CaptureFixture) -> None:
    parser = Parser("prog")
    parser.add_output("--out", required=True, help="report folder", overwrite="replace an earlier report")
    parser.add_output("--cache", default="cache", help="cache folder")
    args = parser.parse_args(["--out", "x"])
    assert (args.out, args.overwrite, args.cache) == ("x", False, "cache")
    assert parser.parse_args(["--out", "x", "--overwrite"]).overwrite is True
    assert "--out" in _usage_error(parser, [], capsys)


def test_choices_name_the_flag_and_the_allowed_values(capsys: pytest.CaptureFixture) -> None:
    parser = Parser("prog")
    group = parser.add_argument_group("group")
    parser.add_choice("--agent", ("sample", "argmax"), default="sample", help="agent", group=group)
    parser.add_choice("--inits", ("random", "frozen"), default=["random"], nargs="+", help="inits")
    assert parser.parse_args(["--agent", "argmax", "--inits", "frozen", "random"]).inits == ["frozen", "random"]
    line = _usage_error(parser, ["--agent", "best"], capsys)
    assert line.startswith("prog: error: argument --agent: invalid choice: 'best'")
    assert "sample" in line and "argmax" in line
    assert "argument --inits" in _usage_error(parser, ["--inits", "random", "x"], capsys)


@dataclass
class _Toy:
    steps: int = 10
    seeds: tuple[int, ...] = (0, 1)


def test_config_flags_exit_with_one_line_naming_the_flag(capsys: pytest.CaptureFixture) -> None:
    parser = Parser("prog")
    parser.add_config_flags(_Toy)
    assert parser.config_from_flags(_Toy, parser.parse_args(["--steps", "3"])) == _Toy(steps=3)
    args = parser.parse_args([])
    args.steps = "many"
    with pytest.raises(SystemExit) as exc:
        parser.config_from_flags(_Toy, args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("prog: error: --steps: ") and err.count("\n") == 1


def test_user_errors_and_exit_error(capsys: pytest.CaptureFixture) -> None:
    parser = Parser("prog")
    with pytest.raises(SystemExit) as exc:
        with parser.user_errors():
            raise FileNotFoundError("no such\nfile")
    assert exc.value.code == 2 and capsys.readouterr().err == "prog: error: no such file\n"
    with pytest.raises(SystemExit):
        with parser.user_errors(fields=("eval_every",)):
            raise ValueError("eval_every must be positive")
    assert capsys.readouterr().err == "prog: error: --eval-every must be positive\n"
    with pytest.raises(KeyError):  # not a user error: a bug, with its traceback
        with parser.user_errors():
            raise KeyError("x")
    with pytest.raises(SystemExit):
        exit_error("other", RuntimeError())
    assert capsys.readouterr().err == "other: error: RuntimeError\n"
    assert flag_of("num_envs") == "--num-envs" and name_flag(ValueError("lr bad"), ("gamma",)) == "lr bad"


def test_size() -> None:
    assert parse_size("1160x760") == (1160, 760) and parse_size("8X9") == (8, 9)
    for bad, match in (("big", "WIDTHxHEIGHT"), ("0x5", "positive"), ("1x2x3", "WIDTHxHEIGHT")):
        with pytest.raises(ValueError, match=f"^--size must .*{match}"):
            parse_size(bad)


_KEYS = st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,8}){0,2}", fullmatch=True)
_SCALARS = st.one_of(st.integers(-10 ** 12, 10 ** 12), st.booleans(), st.none(),
                     st.floats(allow_nan=False, allow_infinity=False, width=64),
                     st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12))


@settings(max_examples=200, deadline=None)
@given(key=_KEYS, value=_SCALARS)
def test_key_value_coercion_reads_back_what_yaml_writes(key: str, value: object) -> None:
    raw = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).removesuffix("\n...\n").strip()
    item = f"{key}={raw}"
    assert split_key_value(item) == (key, raw)
    assert parse_overrides([item]) == [(key, value if raw else None)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_item_is_a_pair_or_one_value_error(item: str) -> None:
    try:
        pairs = parse_overrides([item])
    except ValueError as exc:
        assert str(exc).startswith("--set ")
    else:
        key, _, raw = item.partition("=")
        assert repr(pairs) == repr([(key.strip(), parse_value(raw))])


def test_no_command_builds_its_parser_by_hand() -> None:
    """Every parser in experiments/ is the library's (no ArgumentParser, no hand-written KEY=VALUE split)."""
    hand = []
    for path in sorted((ROOT / "experiments").rglob("*.py")):
        if path.name == "cliconfig.py":
            continue
        text = path.read_text()
        if re.search(r"ArgumentParser\(|yaml\.safe_load\(raw|partition\(\"=\"\)", text):
            hand.append(str(path.relative_to(ROOT)))
    assert not hand, f"parsers or KEY=VALUE coercion outside experiments/cliconfig.py: {hand}"
