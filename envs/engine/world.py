"""``World``: the state of N independent episodes of one env family, advanced in batch.

Every family (saccades, path integration, 3D rotation) writes one ``World`` subclass: its state
arrays, how a (normalised) action applies, its view and its info. The single env
(:class:`envs.engine.env.ActiveVisionEnv`, a world of one row) and the native vector env
(:class:`envs.engine.vector_env.ActiveVisionVectorEnv`, a world of ``num_envs`` rows) own everything else:
spaces, truncation, ``last_action``, observation and info assembly, option checks, seeding,
autoreset and rendering. Because both run the very same batched code, row ``i`` of a vector env
and a single env seeded alike see the same observations.

Randomness: each row has its own ``np.random.Generator`` (the single env's ``np_random``; row
``i`` of a vector env reset with ``seed=s`` gets ``s + i``, as Gymnasium's ``SyncVectorEnv``
seeds its copies). A world draws a row's numbers from that row's generator only, in a fixed
order, so the draws do not depend on which other rows exist.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import numpy as np

from checks import check_int
from envs.engine.input_checks import check_index
from envs.engine.keywords import Rule, check_table, keyword_defaults, ranges_doc, refuse_unknown
from envs.engine.retina import Retina
from envs.families import Family

__all__ = ["World", "check_retina_fits", "MAX_ROWS", "MAX_STEPS", "MAX_RENDER_SCALE", "MAX_RENDER_SIZE",
           "MAX_RETINA_TO_IMAGE"]

# Upper bounds of the env keywords every family shares (documented in the env classes' docstrings).
MAX_ROWS = 65536          # num_envs (rows of a world)
MAX_STEPS = 10_000        # max_steps / max_saccades (episode length)
MAX_RENDER_SCALE = 32     # render_scale (frame = image side x render_scale)
MAX_RENDER_SIZE = 8192    # render_size (long side of a rendered frame, pixels)
MAX_RETINA_TO_IMAGE = 8   # glimpse_size * max(scales) <= this x the image's longer side


def check_retina_fits(retina: Retina, image_hw: tuple[int, int]) -> None:
    """The retina's largest square (``glimpse_size * max(scales)``) must be at most
    ``MAX_RETINA_TO_IMAGE`` times the image's longer side; ValueError naming both otherwise."""
    side = max(int(d) for d in image_hw[:2])
    n = retina.glimpse_size * max(retina.scales)
    if n > MAX_RETINA_TO_IMAGE * side:
        raise ValueError(f"glimpse_size * max(scales) = {retina.glimpse_size} * {max(retina.scales)} = {n} px must "
                         f"be at most {MAX_RETINA_TO_IMAGE} x the image's longer side ({side} px) = "
                         f"{MAX_RETINA_TO_IMAGE * side}; use a smaller glimpse_size or scales")


def delegate(owner: Any, field: str, name: str) -> Any:
    """``getattr(owner.<field>, name)`` for a public ``name``: the attribute forwarding of the env
    classes and wrapping worlds (AttributeError while ``field`` is unset, e.g. during unpickling)."""
    target = owner.__dict__.get(field)
    if target is None or name.startswith("_"):
        raise AttributeError(name)
    return getattr(target, name)


class World:
    """N rows of one env family. Subclasses set the class attributes and write the five methods.

    Class attributes:
        family: the :class:`envs.families.Family` (episode-length keyword, state key).
        action_dim: ``A``, the size of the action and of ``last_action``.
        action_meaning: what the action is, for error messages (e.g. ``"(d_row, d_col)"``).
        reset_options: the keys ``reset(options=...)`` accepts.
        reset_option_shapes: the shape of one row's value of each array-valued option (e.g.
            ``{"rotation": (4,)}``); options not listed take one scalar per row.
        window_caption: the pygame window's title in ``render_mode="human"``.
        keyword_ranges: the allowed values of the family's keywords (:mod:`envs.engine.keywords`), one
            table read by :meth:`check_keywords` and written into the class docstring; the
            defaults are those of ``__init__``.
        data_arguments: the ``__init__`` parameters that carry data (a dataset, meshes), not keywords.

    Shared ranges: ``n`` (``num_envs``) in [1, 65536], ``max_steps`` in [1, 10000]; a family
    checks its own keywords (:meth:`check_keywords`, no data needed) before building anything large.

    Instance attributes set by ``__init__``: ``n`` (rows), ``retina``, ``channels`` (C of the
    glimpse), ``max_steps`` (truncation), ``action_scale`` (world units per unit of normalised
    action: 1 for saccades, ``max_step`` for path integration, ``max_angle`` for rotations) and
    ``last_action_bound`` (``|last_action|`` never exceeds it).
    """

    family: Family
    action_dim: int = 2
    last_action_dim: int | None = None  # size of last_action when it differs from action_dim (None: the same)
    action_meaning: str = "(d_row, d_col)"
    reset_options: tuple[str, ...] = ("index",)
    reset_option_shapes: dict[str, tuple[int, ...]] = {}
    window_caption: str = "active vision"
    keyword_ranges: Mapping[str, Rule] = {}
    data_arguments: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "keyword_ranges" in cls.__dict__ and cls.__doc__:  # the docs read the one table
            cls.__doc__ = (cls.__doc__.rstrip() + "\n\n    Ranges (an error naming the keyword otherwise, checked "
                           "before any data is made):\n\n" + ranges_doc(cls.keyword_ranges, cls.keyword_defaults())
                           + "\n")

    @classmethod
    def keyword_defaults(cls) -> dict[str, Any]:
        """The family's keywords and their defaults (``__init__``'s signature, data arguments left out)."""
        return keyword_defaults(cls.__init__, skip=("n", *cls.data_arguments))

    @classmethod
    def keyword_values(cls, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``kwargs`` over the defaults, each checked by its rule in :attr:`keyword_ranges`; a
        TypeError lists the allowed keywords when one is unknown. The checks a family makes across
        keywords (and against the data's shape) follow in its :meth:`check_keywords`."""
        defaults = cls.keyword_defaults()
        refuse_unknown(kwargs, defaults)
        return check_table(cls.keyword_ranges, {**defaults, **kwargs})

    def __init__(self, n: int, retina: Retina, channels: int, max_steps: int, action_scale: float,
                 last_action_bound: float) -> None:
        self.n = check_int("num_envs", n, 1, MAX_ROWS)
        self.retina = retina
        self.channels = int(channels)
        self.max_steps = check_int("max_steps", max_steps, 1, MAX_STEPS)
        self.action_scale = float(action_scale)
        self.last_action_bound = float(last_action_bound)

    @property
    def transform_dim(self) -> int:
        """Size of ``last_action``: the transformation part of the action (``action_dim`` unless set)."""
        return self.action_dim if self.last_action_dim is None else self.last_action_dim

    @property
    def n_items(self) -> int:
        """How many images / worlds / objects ``reset`` picks from (``options["index"]`` range);
        by default the images of ``self.dataset`` (worlds without one override it)."""
        return len(self.dataset)

    @functools.cached_property
    def item_labels(self) -> np.ndarray:
        """int64 ``[n_items]``: the class of every item, -1 where there is none (default: the
        dataset's, read once as a plain array: ``info["label"]`` indexes it every step)."""
        return np.asarray(self.dataset.labels, np.int64)

    @property
    def glimpse_shape(self) -> tuple[int, int, int, int]:
        """``(S, G, G, C)`` of one observation's glimpse."""
        return self.retina.output_shape(self.channels)

    # ------------------------------------------------------------------ what a family writes
    def check_reset_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """One row's ``options`` (keys already checked against ``reset_options``) checked and
        normalised (``index`` an int in ``[0, n_items)``); ValueError naming the option otherwise.
        Draws nothing and changes nothing: envs check every row before any row is reset.
        A family with more options extends this (``super()`` first)."""
        out = dict(options)
        if "index" in out:
            out["index"] = check_index(out["index"], self.n_items)
        return out

    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        """Start a new episode in each row of ``rows`` (int64 ``[K]``), ``rngs[k]`` and
        ``options[k]`` (already passed through :meth:`check_reset_options`) belonging to ``rows[k]``."""
        raise NotImplementedError

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply float32 ``actions [K, A]`` (normalised, already clipped to [-1, 1]) to ``rows [K]``.

        ``last`` bool ``[K]`` marks rows whose episode ends with this step (truncation). Returns
        the transformation actually applied in world units, float32 ``[K, A]`` (the next
        ``last_action``), and the rewards, float64 ``[K]``.

        The envs never apply to a row outside an episode (the single env refuses to step after the
        end, the vector env autoresets). Called directly, a world that keeps an episode buffer
        (saccade scanpath, path) raises RuntimeError, before changing anything, for a row never
        reset or already ``max_steps`` steps in; rotation worlds keep no buffer and keep turning.
        ``rngs`` may be any sequence indexed like ``rows`` (the vector env passes a lazy view).
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
