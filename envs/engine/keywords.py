"""Keyword tables: what values a world's keywords take, written once per world.

A world's keyword *defaults* live in its ``__init__`` signature, their *ranges* in its
``keyword_ranges`` table (a :class:`Rule` per keyword). The world's own check
(``World.check_keywords``, no data needed), the env's keyword check (``envs.check_env_kwargs``) and
the world's docstring (the "Ranges" table, written from the table when the class is made) all read
these two places, so a default or a bound is changed in one line.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from checks import check_bool, check_choice, check_int, check_real

__all__ = ["Rule", "int_in", "real_in", "one_of", "flag", "noted", "check_table", "ranges_doc",
           "keyword_defaults", "refuse_unknown"]


@dataclass(frozen=True)
class Rule:
    """The allowed values of one keyword: ``text`` for the docs; ``check(name, value)`` returns the
    value normalised or raises a one-line error naming ``name`` (None: the world checks it together
    with other keywords, as ``text`` says)."""

    text: str
    check: Callable[[str, Any], Any] | None = None


def _bound(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def int_in(lo: int, hi: int | None = None) -> Rule:
    """An int in ``[lo, hi]`` (``hi`` None: no upper bound)."""
    text = f"int in [{lo}, {hi}]" if hi is not None else f"int >= {lo}"
    return Rule(text, lambda name, value: check_int(name, value, lo, hi))


def real_in(lo: float, hi: float, lo_open: bool = False, hi_text: str | None = None) -> Rule:
    """A finite real in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``); ``hi_text`` names ``hi`` in the docs."""
    text = f"real in {'(' if lo_open else '['}{_bound(lo)}, {hi_text or _bound(hi)}]"
    return Rule(text, lambda name, value: check_real(name, value, lo, hi, lo_open=lo_open))


def one_of(values: Iterable[Any]) -> Rule:
    """One of ``values``."""
    allowed = tuple(values)
    return Rule("one of " + " | ".join(repr(v) for v in allowed),
                lambda name, value: check_choice(name, value, allowed))


def flag() -> Rule:
    """``True`` or ``False``."""
    return Rule("True | False", check_bool)


def noted(text: str) -> Rule:
    """A keyword the world checks together with others (``text`` says how)."""
    return Rule(text)


def check_table(table: Mapping[str, Rule], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every keyword that has a checking rule in ``table`` checked and normalised
    (in the table's order; the first bad one raises)."""
    out = dict(values)
    for name, rule in table.items():
        if rule.check is not None and name in out:
            out[name] = rule.check(name, out[name])
    return out


def keyword_defaults(fn: Callable[..., Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    """The keyword parameters of ``fn`` with their defaults (those without one, and ``skip``, left out)."""
    skip = set(skip) | {"self"}
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in skip and p.default is not p.empty}


def refuse_unknown(kwargs: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """TypeError naming the keywords of ``kwargs`` outside ``allowed`` (and listing the allowed ones)."""
    allowed = set(allowed)
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"unknown keyword(s) {', '.join(map(repr, unknown))}; allowed: {sorted(allowed)}")


def ranges_doc(table: Mapping[str, Rule], defaults: Mapping[str, Any]) -> str:
    """``table`` as the reStructuredText table of a world's docstring (defaults from ``defaults``)."""
    rows = []
    for name, rule in table.items():
        default = f"; default {defaults[name]!r}" if defaults.get(name) is not None else ""
        rows.append((f"``{name}``", rule.text + default))
    width = max(len(r[0]) for r in rows) + 2
    rule_line = "=" * (width - 2) + "  " + "=" * 60
    lines = [rule_line] + [f"{key:<{width}}{text}" for key, text in rows] + [rule_line]
    return "\n".join("    " + line for line in lines)
