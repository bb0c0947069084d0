"""``ActiveVisionVectorEnv``: a native Gymnasium ``VectorEnv`` over a :class:`envs.engine.world.World` of N rows.

``gym.make_vec(id, num_envs=N)`` returns one for every registered id (``vector_entry_point``).
Whole batches run through the family's Numba kernels; there is no Python env per row. Row ``i``
reset with ``seed=s`` is seeded ``s + i`` (as ``SyncVectorEnv`` seeds its copies), so it sees
what ``gym.make(id).reset(seed=s + i)`` sees, step after step, resets included.

Autoreset follows Gymnasium's default ``AutoresetMode.NEXT_STEP``: the step after a row's
episode ends resets that row (its action is ignored; reward 0, not terminated, not truncated,
the info is the reset's). ``reset(options=...)`` takes the env's option keys with one value per
row (e.g. ``{"index": [N ints]}``) or one value for all rows, plus Gymnasium's
``"reset_mask"`` (bool ``[N]``: reset only those rows).

Saccade families write ``infos["priority"]`` (``[N, H, W]`` maps) only when asked:
``gym.make_vec(id, N, priority_info=True)``; by default (``priority_info=False``) batched stepping
does not pay for maps nobody reads, and ``venv.world.priority_maps(rows)`` computes them on request
(the same numbers). The single env keeps ``info["priority"]`` by default.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from checks import check_seed
from envs.engine.env import action_space, check_render_mode, observation_space
from envs.engine.input_checks import check_action, check_options
from envs.engine.world import World, delegate

__all__ = ["ActiveVisionVectorEnv", "vector_entry"]


def _row_seeds(seed: int | Sequence[int | None] | None, n: int) -> list[int | None]:
    """Every row's seed (``seed + i`` for an int), checked: ValueError naming ``seed`` otherwise."""
    if seed is None or isinstance(seed, (int, np.integer, bool, np.bool_)):
        first = check_seed(seed)
        return [None if first is None else first + i for i in range(n)]
    many = isinstance(seed, (Sequence, np.ndarray)) and not isinstance(seed, (str, bytes))
    if not many or len(seed) != n:
        got = f"{len(seed)} seeds" if many else repr(seed)
        raise ValueError(f"seed must be None, an int >= 0 or a sequence of {n} seeds (one per row), got {got}")
    return [check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]


class _RowRngs(Sequence[np.random.Generator]):
    """``rngs[rows[k]]`` for ``k`` in ``range(len(rows))``, without building a list every step (a world
    draws from a row's generator only when that row needs numbers, e.g. noise or an outbound move)."""

    __slots__ = ("_rngs", "_rows")

    def __init__(self, rngs: list[np.random.Generator], rows: np.ndarray) -> None:
        self._rngs, self._rows = rngs, rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self._rngs[r] for r in self._rows[k]]
        return self._rngs[self._rows[k]]


class ActiveVisionVectorEnv(VectorEnv):
    """``num_envs`` episodes of a family's world stepped together (see the module docstring).

    Observations are the single env's with a leading ``[N]`` axis; ``infos`` hold every key of the
    single env's info as an array ``[N, ...]`` plus Gymnasium's ``_key`` masks (all True: every
    row reports every key at every step).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, world: World, render_mode: str | None = None) -> None:
        self.world = world
        self.num_envs = world.n
        if render_mode == "human":
            raise ValueError("a vector env renders render_mode='rgb_array' (one frame per row) or None, not 'human'")
        self.render_mode = check_render_mode(render_mode)
        self.single_observation_space = observation_space(world)
        self.single_action_space = action_space(world)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.max_steps = world.max_steps
        n = self.num_envs
        self._rngs: list[np.random.Generator] = [seeding.np_random(None)[0] for _ in range(n)]
        self._steps = np.zeros(n, np.int64)
        self._last_action = np.zeros((n, world.transform_dim), np.float32)
        self._autoreset = np.zeros(n, bool)
        self._started = False
        self._all_rows = np.arange(n, dtype=np.int64)

    def __getattr__(self, name: str) -> Any:
        """Public attributes of the world (``retina``, ``dataset``, ...)."""
        return delegate(self, "world", name)

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None):
        """Reset every row (or those of ``options["reset_mask"]``). The seeds and every row's options
        are checked before anything changes or any number is drawn: a reset that raises leaves
        every row (state, step count, random generator) as it was."""
        options = check_options(options, self.world.reset_options + ("reset_mask",))
        mask = options.pop("reset_mask", None)
        rows = self._all_rows if mask is None else self._mask_rows(mask)
        seeds = _row_seeds(seed, self.num_envs)
        row_options = self._row_options(options, rows)
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seeds[0])
        for r in rows:
            if seeds[r] is not None:  # PCG64(s) is exactly gymnasium's seeding.np_random(s), without its checks
                self._rngs[r] = np.random.Generator(np.random.PCG64(seeds[r]))
            elif not self._started:
                self._rngs[r] = seeding.np_random(None)[0]
        self.world.reset_rows(rows, [self._rngs[r] for r in rows], row_options)
        self._steps[rows] = 0
        self._last_action[rows] = 0.0
        self._autoreset[rows] = False
        self._started = True
        return self._observations(), self._infos()

    def step(self, actions: np.ndarray):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = self._check_actions(actions)
        rewards = np.zeros(self.num_envs, np.float64)
        truncations = np.zeros(self.num_envs, bool)
        reset_rows = np.flatnonzero(self._autoreset)
        step_rows = np.flatnonzero(~self._autoreset)
        if len(reset_rows):
            self.world.reset_rows(reset_rows, _RowRngs(self._rngs, reset_rows), [{}] * len(reset_rows))
            self._steps[reset_rows] = 0
            self._last_action[reset_rows] = 0.0
        if len(step_rows):
            last = self._steps[step_rows] + 1 >= self.max_steps
            applied, reward = self.world.apply(step_rows, actions[step_rows], _RowRngs(self._rngs, step_rows), last)
            self._last_action[step_rows] = applied
            rewards[step_rows] = reward
            self._steps[step_rows] += 1
            truncations[step_rows] = last
        self._autoreset = truncations.copy()
        return self._observations(), rewards, np.zeros(self.num_envs, bool), truncations, self._infos()

    # ------------------------------------------------------------------ checks
    def _mask_rows(self, mask: Any) -> np.ndarray:
        mask = np.asarray(mask)
        if mask.shape != (self.num_envs,) or mask.dtype != bool:
            raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), "
                             f"got {mask.dtype} {mask.shape}")
        return np.flatnonzero(mask)

    def _row_options(self, options: dict[str, Any], rows: np.ndarray) -> list[dict[str, Any]]:
        """The options of the rows ``rows``, split and checked by the world (every row's values
        are checked, those of rows left alone by ``reset_mask`` too; nothing is drawn)."""
        per_row: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, value in options.items():
            for d, v in zip(per_row, self._split_option(key, value)):
                d[key] = v
        checked = []
        for r, d in enumerate(per_row):
            try:
                checked.append(self.world.check_reset_options(d))
            except ValueError as e:
                raise ValueError(f"{e} (row {r})") from None
        return [checked[r] for r in rows]

    def _split_option(self, key: str, value: Any) -> list[Any]:
        """``value`` as one value per row: the same for all rows, or row ``r``'s entry of ``N``
        values. Entries keep their own type (a list's ``True`` stays a bool, never becomes 1)."""
        single_ndim = len(self.world.reset_option_shapes.get(key, ()))
        try:
            ndim = np.ndim(np.asarray(value, dtype=object))
        except (TypeError, ValueError):
            ndim = -1
        if ndim == single_ndim:
            return [value] * self.num_envs
        if ndim > single_ndim and len(value) == self.num_envs:
            return [value[r] for r in range(self.num_envs)]
        raise ValueError(f"options[{key!r}] must be one value for all rows or {self.num_envs} values "
                         f"(one per row), got {value!r}")

    def _check_actions(self, actions: Any) -> np.ndarray:
        a = check_action(actions, (self.num_envs, self.world.action_dim),
                         f"[num_envs, {self.world.action_meaning}]", name="actions")
        return np.clip(a, -1.0, 1.0)

    # ------------------------------------------------------------------ assembly
    def _observations(self) -> dict[str, np.ndarray]:
        return {"glimpse": self.world.glimpses(), "last_action": self._last_action.copy()}

    def _infos(self) -> dict[str, np.ndarray]:
        infos: dict[str, np.ndarray] = {}
        every = np.ones(self.num_envs, bool)
        values = self.world.info()
        for key, value in values.items():
            if not key.startswith("_"):
                infos[key] = value
                infos["_" + key] = np.asarray(values.get("_" + key, every), bool)
        infos["step"] = self._steps.copy()
        infos["_step"] = every
        return infos

    # ------------------------------------------------------------------ rendering
    def render(self) -> tuple[np.ndarray, ...] | None:
        """``rgb_array``: one frame per row (tuple of uint8 ``[H, W, 3]``), as ``SyncVectorEnv`` returns."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        if not self._started:
            raise RuntimeError("call reset() before render()")
        return tuple(self.world.render_frame(i) for i in range(self.num_envs))


def vector_entry(build_world: Callable[..., World], **defaults: Any) -> Callable[..., ActiveVisionVectorEnv]:
    """A ``vector_entry_point`` for ``gymnasium.register``: ``(num_envs, render_mode, **kwargs)`` ->
    ``ActiveVisionVectorEnv(build_world(num_envs, **{**defaults, **kwargs}))``: ``defaults`` are the
    vector env's own defaults where they differ from the single env's (the saccade families:
    ``priority_info=False``, the ``[N, H, W]`` maps written into ``infos`` only when asked)."""

    def make(num_envs: int = 1, render_mode: str | None = None, **kwargs: Any) -> ActiveVisionVectorEnv:
        return ActiveVisionVectorEnv(build_world(num_envs, **{**defaults, **kwargs}), render_mode=render_mode)

    make.__doc__ = (f"A native vector env of ``{getattr(build_world, '__name__', 'world')}`` "
                    "(see envs.engine.vector_env).")
    return make
