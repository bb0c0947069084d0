"""``World``: the state of N independent episodes of one env family, advanced in batch.

Every family (saccades, path integration, 3D rotation) writes one ``World`` subclass: its state
arrays, how a (normalised) action applies, its view and its info. The single env
(:class:`envs.base.ActiveVisionEnv`, a world of one row) and the native vector env
(:class:`envs.vector.ActiveVisionVectorEnv`, a world of ``num_envs`` rows) own everything else:
spaces, truncation, ``last_action``, observation and info assembly, option checks, seeding,
autoreset and rendering. Because both run the very same batched code, row ``i`` of a vector env
and a single env seeded alike see the same observations.

Randomness: each row has its own ``np.random.Generator`` (the single env's ``np_random``; row
``i`` of a vector env reset with ``seed=s`` gets ``s + i``, as Gymnasium's ``SyncVectorEnv``
seeds its copies). A world draws a row's numbers from that row's generator only, in a fixed
order, so the draws do not depend on which other rows exist.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from envs.retina import Retina

__all__ = ["World", "check_positive_int", "check_unit_fraction"]


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_unit_fraction(name: str, value: Any, hi: float = 1.0) -> float:
    """``value`` as a float in ``(0, hi]``; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        np.isfinite(value) and 0 < value <= hi
    ):
        raise ValueError(f"{name} must be a number in (0, {hi:g}], got {value!r}")
    return float(value)


class World:
    """N rows of one env family. Subclasses set the class attributes and write the five methods.

    Class attributes:
        action_dim: ``A``, the size of the action and of ``last_action``.
        action_meaning: what the action is, for error messages (e.g. ``"(d_row, d_col)"``).
        reset_options: the keys ``reset(options=...)`` accepts.
        window_caption: the pygame window's title in ``render_mode="human"``.

    Instance attributes set by ``__init__``: ``n`` (rows), ``retina``, ``channels`` (C of the
    glimpse), ``max_steps`` (truncation), ``action_scale`` (world units per unit of normalised
    action: 1 for saccades, ``max_step`` for path integration, ``max_angle`` for rotations) and
    ``last_action_bound`` (``|last_action|`` never exceeds it).
    """

    action_dim: int = 2
    last_action_dim: int | None = None  # size of last_action when it differs from action_dim (None: the same)
    action_meaning: str = "(d_row, d_col)"
    reset_options: tuple[str, ...] = ("index",)
    window_caption: str = "active vision"

    def __init__(self, n: int, retina: Retina, channels: int, max_steps: int, action_scale: float,
                 last_action_bound: float) -> None:
        self.n = check_positive_int("num_envs", n)
        self.retina = retina
        self.channels = int(channels)
        self.max_steps = check_positive_int("max_steps", max_steps)
        self.action_scale = float(action_scale)
        self.last_action_bound = float(last_action_bound)

    @property
    def transform_dim(self) -> int:
        """Size of ``last_action``: the transformation part of the action (``action_dim`` unless set)."""
        return self.action_dim if self.last_action_dim is None else self.last_action_dim

    @property
    def n_items(self) -> int:
        """How many images / worlds / objects ``reset`` picks from (``options["index"]`` range)."""
        raise NotImplementedError

    @property
    def item_labels(self) -> np.ndarray:
        """int64 ``[n_items]``: the class of every item, -1 where there is none."""
        raise NotImplementedError

    @property
    def glimpse_shape(self) -> tuple[int, int, int, int]:
        """``(S, G, G, C)`` of one observation's glimpse."""
        return self.retina.output_shape(self.channels)

    # ------------------------------------------------------------------ what a family writes
    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        """Start a new episode in each row of ``rows`` (int64 ``[K]``), ``rngs[k]`` and
        ``options[k]`` (keys already checked against ``reset_options``) belonging to ``rows[k]``."""
        raise NotImplementedError

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply float32 ``actions [K, A]`` (normalised, already clipped to [-1, 1]) to ``rows [K]``.

        ``last`` bool ``[K]`` marks rows whose episode ends with this step (truncation). Returns
        the transformation actually applied in world units, float32 ``[K, A]`` (the next
        ``last_action``), and the rewards, float64 ``[K]``.
        """
        raise NotImplementedError

    def glimpses(self) -> np.ndarray:
        """The current view of every row, uint8 ``[N, S, G, G, C]``."""
        raise NotImplementedError

    def info(self) -> dict[str, np.ndarray]:
        """Ground truth of every row as arrays with a leading ``[N]`` axis (fresh arrays)."""
        raise NotImplementedError

    def render_frame(self, row: int) -> np.ndarray:
        """A picture of row ``row`` for humans, uint8 RGB ``[H, W, 3]``."""
        raise NotImplementedError
