"""experiments.cliconfig: --flags made from a config dataclass, values checked by OmegaConf."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import pytest

from experiments.cliconfig import add_config_flags, config_from_flags


@dataclass
class Toy:
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 10
    lr: float = 0.5
    name: str | None = None
    fast: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _parse(argv: list[str]) -> Toy:
    parser = argparse.ArgumentParser()
    add_config_flags(parser, Toy)
    return config_from_flags(Toy, parser.parse_args(argv))


def test_flags_cover_the_fields_and_only_given_ones_override() -> None:
    assert _parse([]) == Toy()
    got = _parse(["--seeds", "3", "4", "--steps", "7", "--lr", "1e-3", "--name", "x", "--fast"])
    assert got == Toy(seeds=(3, 4), steps=7, lr=1e-3, name="x", fast=True)
    assert _parse(["--no-fast"]).fast is False
    with pytest.raises(SystemExit):  # mappings are not flags
        _parse(["--extra", "a"])


def test_bad_values_are_one_line_errors_naming_the_flag() -> None:
    parser = argparse.ArgumentParser()
    add_config_flags(parser, Toy)
    args = parser.parse_args([])
    args.steps = "many"  # what a flag without a type would pass on
    with pytest.raises(ValueError, match=r"^--steps: .*") as exc:
        config_from_flags(Toy, args)
    assert "\n" not in str(exc.value)
