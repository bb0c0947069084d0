"""Input checks shared by every environment's ``reset`` and ``step`` (clear errors naming the input)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_options", "pick_index", "check_action"]


def check_options(options: dict[str, Any] | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``options`` as a dict; ValueError naming any key outside ``allowed``."""
    options = dict(options or {})
    unknown = set(options) - set(allowed)
    if unknown:
        names = " and ".join(repr(k) for k in allowed)
        raise ValueError(f"options may only hold {names}, got unknown keys {sorted(unknown)}")
    return options


def pick_index(options: dict[str, Any], n: int, np_random: np.random.Generator) -> int:
    """``options["index"]`` checked to be an int in ``[0, n)``, else a uniform draw from ``np_random``."""
    if "index" not in options:
        return int(np_random.integers(n))
    index = options["index"]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
        raise ValueError(f"options['index'] must be an int in [0, {n}), got {index!r}")
    return int(index)


def check_action(action: Any, dim: int, meaning: str, dtype: type = np.float32) -> np.ndarray:
    """``action`` as a finite ``dtype`` array of shape ``(dim,)``; ValueError otherwise."""
    action = np.asarray(action, dtype=dtype)
    if action.shape != (dim,):
        raise ValueError(f"action must have shape ({dim},) = {meaning}, got {action.shape}")
    if not np.all(np.isfinite(action)):
        raise ValueError(f"action must be finite, got {action}")
    return action
