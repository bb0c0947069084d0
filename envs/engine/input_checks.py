"""Input checks shared by every environment's ``reset`` and ``step`` (clear errors naming the input):
the ``options`` dict, item indices, action and state vectors, and whether rows are inside an episode.

The scalar checks (ints, reals, choices, seeds) are the ground floor's, in :mod:`checks`; these are the
checks of the envs' own inputs and arrays, built on them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from checks import check_int

__all__ = ["check_options", "check_index", "check_real_vector", "pick_index", "check_action",
           "check_in_episode"]


def check_options(options: Mapping[str, Any] | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``options`` (a mapping or None) as a new dict; ValueError naming any key outside ``allowed``."""
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"options must be a dict (keys {allowed}) or None, got {type(options).__name__}")
    options = dict(options or {})
    unknown = set(options) - set(allowed)
    if unknown:
        names = " and ".join(repr(k) for k in allowed)
        raise ValueError(f"options may only hold {names}, got unknown keys {sorted(unknown)}")
    return options


def check_index(value: Any, n: int, name: str = "options['index']") -> int:
    """``value`` as an int in ``[0, n)`` (bools refused, NumPy ints accepted); an error naming ``name`` otherwise."""
    return check_int(name, value, 0, n - 1)


def check_real_vector(value: Any, size: int, name: str, meaning: str) -> np.ndarray:
    """``value`` as a finite float64 ``[size]``; ValueError naming ``name`` (``meaning``: what it
    is, for the message) for another shape, NaN or inf, bools, strings or non-numbers."""
    try:
        arr = np.asarray(value)
        ok = arr.shape == (size,) and arr.dtype.kind in "iuf" and bool(np.all(np.isfinite(arr)))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be {meaning}: {size} finite numbers, got {value!r}")
    return arr.astype(np.float64)


def pick_index(options: dict[str, Any], n: int, np_random: np.random.Generator) -> int:
    """``options["index"]`` checked to be an int in ``[0, n)``, else a uniform draw from ``np_random``."""
    if "index" not in options:
        return int(np_random.integers(n))
    return check_index(options["index"], n)


_FLOAT_MAX = {np.dtype(np.float32): float(np.finfo(np.float32).max), np.dtype(np.float64): float(np.finfo(np.float64).max)}


def _one_line(a: np.ndarray) -> str:
    """``a`` printed on one line (summarised when large), for error messages."""
    return " ".join(np.array2string(a, threshold=12, edgeitems=2).split())


def check_action(action: Any, dim: int | tuple[int, ...], meaning: str, dtype: type = np.float32,
                 name: str = "action") -> np.ndarray:
    """``action`` as a finite ``dtype`` array of shape ``(dim,)`` (or ``dim`` when a tuple); ValueError
    naming ``name`` otherwise: wrong shape, NaN or inf, or a finite value beyond ``dtype``'s range."""
    shape = tuple(dim) if isinstance(dim, tuple) else (dim,)
    wide = np.asarray(action, dtype=np.float64)
    if wide.shape != shape:
        raise ValueError(f"{name} must have shape {shape} = {meaning}, got {wide.shape}")
    if not np.all(np.isfinite(wide)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {_one_line(wide)}")
    limit = _FLOAT_MAX.get(np.dtype(dtype), None) or float(np.finfo(dtype).max)
    if np.any(np.abs(wide) > limit):
        raise ValueError(f"{name} lies outside the {np.dtype(dtype).name} range (|value| <= {limit:.3g}); normalised "
                         f"actions lie in [-1, 1] (larger values are clipped), got {_one_line(wide)}")
    return wide.astype(dtype)


def check_in_episode(counts: np.ndarray, rows: np.ndarray, max_steps: int) -> None:
    """Direct ``World.apply`` use: every row of ``rows`` must be inside an episode, i.e. hold
    ``counts[row]`` in ``[1, max_steps]`` positions (reset, and not yet at its last step's end);
    RuntimeError saying to reset those rows otherwise."""
    k = counts[rows]
    bad = (k < 1) | (k > max_steps)
    if bad.any():
        raise RuntimeError(f"rows {rows[bad].tolist()[:8]} are not inside an episode (never reset, or past "
                           f"max_steps={max_steps} steps); call reset() (World.reset_rows) for them before stepping")
