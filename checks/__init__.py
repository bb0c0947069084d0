"""Scalar range checks shared by every package (the ground floor: imports nothing of this project).

Each check returns the value in a plain Python type (``int``, ``float``, ``bool``) or raises a
one-line error naming the parameter and the allowed range or values:

- a value of the wrong type (a string for a number, a bool or a float for an int) raises
  :class:`CheckTypeError`, which is both a ``TypeError`` and a ``ValueError``, so callers that
  catch bad input as either keep working;
- a value of the right type outside the allowed range raises ``ValueError``.

Array and shape checks belong to the module that owns the array (``saliency.validation``,
``envs.engine.input_checks``, ...), not here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["CheckTypeError", "check_int", "check_real", "check_choice", "check_bool", "check_seed", "show"]

_BOOLS = (bool, np.bool_)
_SHOW_MAX = 80  # characters of a value shown in a message


class CheckTypeError(TypeError, ValueError):
    """A value of the wrong type: a ``TypeError``, and a ``ValueError`` for callers that catch bad input as such."""


def show(value: Any) -> str:
    """``repr(value)`` on one line, cut to about 80 characters (for error messages)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= _SHOW_MAX else text[:_SHOW_MAX - 3] + "..."


def _bound(x: float) -> str:
    """A range end as written in a message (``3``, ``0.5``, ``1e+30``)."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def _range_text(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    """``" in [lo, hi]"``, ``" >= lo"``, ``" < hi"``, ... (empty when unbounded)."""
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {_bound(lo)}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {_bound(hi)}"
    return ""


def check_int(name: str, value: Any, lo: int | None = 0, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``[lo, hi]`` (None: no bound); Python and NumPy integers accepted.

    Raises :class:`CheckTypeError` for bools, floats (even integral ones) and non-numbers, and
    ``ValueError`` outside the range; both name ``name`` and the range.
    """
    what = f"{name} must be an int{_range_text(lo, hi)}, got {show(value)}"
    if isinstance(value, _BOOLS) or not isinstance(value, numbers.Integral):
        raise CheckTypeError(what)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(what)
    return int(value)


def check_real(name: str, value: Any, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite ``float`` between ``lo`` and ``hi`` (None: no bound; ends open as flagged).

    Python and NumPy reals accepted; :class:`CheckTypeError` for bools and non-numbers, ``ValueError``
    for NaN, inf, ints beyond float64 and values outside the range; both name ``name`` and the range.
    """
    what = f"{name} must be a finite number{_range_text(lo, hi, lo_open, hi_open)}, got {show(value)}"
    if isinstance(value, _BOOLS) or not isinstance(value, numbers.Real):
        raise CheckTypeError(what)
    try:
        v = float(value)
    except OverflowError:  # an int beyond float64
        v = math.nan
    if not math.isfinite(v) or (lo is not None and (v <= lo if lo_open else v < lo)) \
            or (hi is not None and (v >= hi if hi_open else v > hi)):
        raise ValueError(what)
    return v


def _same(value: Any, allowed: Any) -> bool:
    """``value == allowed`` without mixing bools and numbers (``True`` is not ``1``)."""
    if isinstance(value, _BOOLS) != isinstance(allowed, _BOOLS):
        return False
    try:
        return bool(value == allowed)
    except (TypeError, ValueError):  # an array compared elementwise, say
        return False


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """``value`` if it equals one of ``allowed`` (bools never match numbers); ``ValueError`` naming
    ``name`` and every allowed value otherwise."""
    if not any(_same(value, a) for a in allowed):
        raise ValueError(f"{name} must be one of {tuple(allowed)!r}, got {show(value)}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` (Python or NumPy bools only); :class:`CheckTypeError` naming ``name`` otherwise."""
    if not isinstance(value, _BOOLS):
        raise CheckTypeError(f"{name} must be True or False, got {show(value)}")
    return bool(value)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """``seed`` as None or an ``int >= 0`` (what ``np.random.default_rng`` takes); an error naming ``name`` otherwise."""
    if seed is None:
        return None
    what = f"{name} must be None or an int >= 0, got {show(seed)}"
    if isinstance(seed, _BOOLS) or not isinstance(seed, numbers.Integral):
        raise CheckTypeError(what)
    if seed < 0:
        raise ValueError(what)
    return int(seed)
