"""``PathWorld``: N retinas wandering over large world images, one displacement per step, in batch."""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from checks import check_int
from envs.datasets.base import ImageDataset
from envs.engine.coordinates import pixel_to_norm
from envs.engine.input_checks import check_in_episode, check_real_vector, pick_index
from envs.engine.keywords import flag, int_in, noted, one_of, real_in
from envs.engine.retina import Retina
from envs.families import PATH
from envs.render.drawing import FOVEA_COLOR, PERIPHERY_COLOR, SCANPATH_COLOR, to_rgb
from envs.engine.world import (
    MAX_RENDER_SIZE,
    MAX_RETINA_TO_IMAGE,
    MAX_ROWS,
    MAX_STEPS,
    World,
    check_retina_fits,
)

__all__ = ["PathWorld", "PATH_REWARDS", "make_worlds"]

PATH_REWARDS = ("none", "home")
MAX_WORLDS = 65536               # n_worlds
WORLD_SIZE_RANGE = (16, 4096)    # world_size (pixels)
MAX_WORLD_PIXELS = 1 << 30       # n_worlds * world_size ** 2 (3 GiB of RGB)
MIN_TILE = 8                     # world_size // tiles (pixels)
MAX_SEED = 2 ** 63 - 1
_START_COLOR = (255, 80, 200)


def make_worlds(n: int = 16, size: int = 256, tiles: int = 2, seed: int = 0) -> ImageDataset:
    """``n`` world images, uint8 ``[n, size, size, 3]``: ``tiles x tiles`` mosaics of natural
    backgrounds (photographs and textures shipped with scikit-image, see
    ``envs.datasets.textures``). World ``i`` draws from ``SeedSequence(seed, spawn_key=(i,))``,
    so the same seed gives the same bytes and a smaller ``n`` a prefix. Labels are -1.

    Ranges: ``n`` in [1, 65536], ``size`` in [16, 4096] with ``n * size ** 2 <= 2 ** 30``,
    ``tiles`` in [1, size // 8] dividing ``size``, ``seed`` in [0, 2 ** 63 - 1].
    """
    from envs.datasets.textures import load_backgrounds, sample_background

    check_world_args(n, size, tiles, seed, ("n", "size", "tiles", "seed"))
    backgrounds = load_backgrounds()
    side = size // tiles
    images = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for r in range(tiles):
            for c in range(tiles):
                tile = sample_background(rng, backgrounds, side)
                images[i, r * side:(r + 1) * side, c * side:(c + 1) * side] = np.rint(tile).astype(np.uint8)
    return ImageDataset(name="worlds", images=images, labels=np.full(n, -1, np.int64), class_names=(),
                        fingerprint=f"worlds-seed{seed}-n{n}-{size}x{size}x3-t{tiles}", split="train")


def check_world_args(n: Any, size: Any, tiles: Any, seed: Any,
                     names: tuple[str, str, str, str] = ("n_worlds", "world_size", "tiles", "seed")) -> None:
    """The ranges of :func:`make_worlds` (``names``: how the caller calls the four arguments)."""
    n = check_int(names[0], n, 1, MAX_WORLDS)
    size = check_int(names[1], size, *WORLD_SIZE_RANGE)
    tiles = check_int(names[2], tiles, 1, size // MIN_TILE)
    check_int(names[3], seed, 0, MAX_SEED)
    if size % tiles:
        raise ValueError(f"{names[1]} must be a multiple of {names[2]}, got {names[1]}={size}, {names[2]}={tiles}")
    if n * size * size > MAX_WORLD_PIXELS:
        raise ValueError(f"{names[0]} * {names[1]} ** 2 must be at most {MAX_WORLD_PIXELS} pixels, "
                         f"got {names[0]}={n}, {names[1]}={size}")


class PathWorld(World):
    """The path-integration family's state: per row a world image, the start and the path so far.

    Arguments are those of :class:`envs.families.path_integration_env.PathIntegrationEnv`, plus ``n`` rows
    (``num_envs``, an int in [1, 65536]) and the data: ``dataset`` (default: ``make_worlds(n_worlds,
    world_size, tiles, seed)``).
    """

    family = PATH
    action_dim = 2
    action_meaning = "(d_row, d_col) / max_step"
    reset_options = ("index", "position")
    reset_option_shapes = {"position": (2,)}
    window_caption = "path integration env"
    data_arguments = ("dataset",)
    keyword_ranges = {
        "n_worlds": noted(f"int in [1, {MAX_WORLDS}], ``n_worlds * world_size ** 2 <= 2 ** 30``"),
        "world_size": noted(f"int in [{WORLD_SIZE_RANGE[0]}, {WORLD_SIZE_RANGE[1]}] pixels"),
        "tiles": noted(f"int in [1, world_size // {MIN_TILE}], dividing ``world_size``"),
        "seed": noted("int in [0, 2 ** 63 - 1]"),
        "glimpse_size": noted(f"as the retina's; the largest square <= {MAX_RETINA_TO_IMAGE} x the world's longer "
                              "side, and with ``keep_inside`` the fovea inside the world"),
        "scales": noted("as the retina's"),
        "padding": noted("'zero' | 'reflect' (the retina's)"),
        "max_step": real_in(0.0, 1.0, lo_open=True),
        "max_steps": int_in(1, MAX_STEPS),
        "keep_inside": flag(),
        "action_noise": real_in(0.0, 1.0),
        "reward": one_of(PATH_REWARDS),
        "render_size": int_in(16, MAX_RENDER_SIZE),
        "outbound_steps": noted("int in [0, max_steps); None: max_steps // 2 with ``reward='home'``, else 0"),
    }

    @classmethod
    def check_keywords(cls, n: int, world_hw: tuple[int, int] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Every keyword checked for ``n`` rows over world images of ``world_hw`` (None: the generated
        worlds, whose arguments are checked too), without data: the values normalised
        (``outbound_steps`` resolved), plus the ``retina``."""
        check_int("num_envs", n, 1, MAX_ROWS)
        k = cls.keyword_values(kwargs)
        if k["outbound_steps"] is None:
            k["outbound_steps"] = k["max_steps"] // 2 if k["reward"] == "home" else 0
        k["outbound_steps"] = check_int(f"outbound_steps (below max_steps={k['max_steps']})", k["outbound_steps"], 0,
                                        k["max_steps"] - 1)
        k["retina"] = retina = Retina(glimpse_size=k["glimpse_size"], scales=k["scales"], padding=k["padding"])
        if world_hw is None:
            check_world_args(k["n_worlds"], k["world_size"], k["tiles"], k["seed"])
            world_hw = (k["world_size"], k["world_size"])
        check_retina_fits(retina, world_hw)
        g, (h, w) = retina.glimpse_size, world_hw
        if k["keep_inside"] and (g > h or g > w):
            raise ValueError(f"glimpse_size {g} must not exceed the world size {h}x{w} when keep_inside=True")
        return k

    def __init__(
        self,
        n: int,
        dataset: ImageDataset | None = None,
        n_worlds: int = 16,
        world_size: int = 256,
        tiles: int = 2,
        seed: int = 0,
        glimpse_size: int = 32,
        scales: tuple[int, ...] = (1,),
        padding: str = "zero",
        max_step: float = 0.25,
        max_steps: int = 16,
        keep_inside: bool = True,
        action_noise: float = 0.0,
        reward: str = "none",
        render_size: int = 512,
        outbound_steps: int | None = None,
    ) -> None:
        if dataset is not None and len(dataset) == 0:
            raise ValueError("dataset is empty: the environment needs at least one world image")
        shape = None if dataset is None else tuple(int(d) for d in dataset.images.shape[1:])
        k = self.check_keywords(
            n, None if shape is None else shape[:2], n_worlds=n_worlds, world_size=world_size, tiles=tiles, seed=seed,
            glimpse_size=glimpse_size, scales=scales, padding=padding, max_step=max_step, max_steps=max_steps,
            keep_inside=keep_inside, action_noise=action_noise, reward=reward, render_size=render_size,
            outbound_steps=outbound_steps)
        if dataset is None:  # every keyword checked before the worlds are generated
            dataset = make_worlds(n_worlds, world_size, tiles, seed)
            shape = tuple(int(d) for d in dataset.images.shape[1:])
        max_step, max_steps, action_noise, keep_inside = k["max_step"], k["max_steps"], k["action_noise"], k["keep_inside"]
        retina, render_size, outbound_steps = k["retina"], k["render_size"], k["outbound_steps"]
        h, w = shape[:2]
        g = retina.glimpse_size
        channels = shape[2] if len(shape) == 3 else 1
        # |last_action| <= max_step + one pixel of grid snapping, plus the reported noise (6 std)
        bound = max_step + 1.0 / min(h, w) + 6.0 * float(action_noise)
        super().__init__(n, retina, channels, max_steps, action_scale=max_step, last_action_bound=bound)

        self.dataset = dataset
        self.world_shape = (h, w)
        self.max_step = max_step
        self.keep_inside = bool(keep_inside)
        self.action_noise = float(action_noise)
        self.reward_mode = reward
        self.outbound_steps = int(outbound_steps)
        self.render_size = render_size
        # reachable fixations (pixels, inclusive): the fovea crop is rows fix - G//2 .. fix - G//2 + G - 1
        lo = g // 2 if keep_inside else 0
        self._lo = np.array([lo, lo], np.int64)
        self._hi = np.array([h - g + lo, w - g + lo], np.int64) if keep_inside else np.array([h - 1, w - 1], np.int64)
        self._sizes = np.asarray(self.world_shape, np.float64)

        self.index = np.zeros(self.n, np.int64)
        self._stack = np.ascontiguousarray(dataset.images, np.uint8).reshape(len(dataset), h, w, channels)
        self.path = np.zeros((self.n, max_steps + 1, 2), np.int64)
        self.n_positions = np.zeros(self.n, np.int64)

    @property
    def position_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The reachable box in normalised units, float32 ``(low [2], high [2])``."""
        return pixel_to_norm(self._lo, self.world_shape), pixel_to_norm(self._hi, self.world_shape)

    def _snap(self, position: np.ndarray) -> np.ndarray:
        """Normalised positions ``[..., 2]`` -> the nearest reachable pixels (int64)."""
        return np.clip(np.rint(np.asarray(position, np.float64) * self._sizes).astype(np.int64), self._lo, self._hi)

    # ------------------------------------------------------------------ episode
    def check_reset_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = super().check_reset_options(options)
        if "position" in out:
            out["position"] = check_real_vector(out["position"], 2, "options['position']",
                                                "a normalised (row, col) of shape (2,)")
        return out

    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        start = np.empty((len(rows), 2), np.int64)
        index = np.empty(len(rows), np.int64)
        for k, (o, g) in enumerate(zip(options, rngs)):
            index[k] = pick_index(o, len(self.dataset), g)
            if "position" in o:  # checked by check_reset_options
                start[k] = self._snap(o["position"])
            else:
                start[k] = g.integers(self._lo, self._hi + 1)
        self.index[rows] = index
        self.path[rows, 0] = start
        self.n_positions[rows] = 1

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_in_episode(self.n_positions, rows, self.max_steps)  # the path holds max_steps + 1 positions
        current_px = self.path[rows, self.n_positions[rows] - 1]
        current = pixel_to_norm(current_px, self.world_shape)
        outbound = self.n_positions[rows] <= self.outbound_steps  # the env leads the way out
        if outbound.any():
            actions = actions.copy()
            for k in np.flatnonzero(outbound):
                actions[k] = rngs[k].uniform(-1.0, 1.0, 2)
        before = np.linalg.norm(self.displacement()[rows].astype(np.float64), axis=1)
        target = self._snap(current.astype(np.float64) + actions * np.float32(self.max_step))
        applied = pixel_to_norm(target, self.world_shape) - current
        self.path[rows, self.n_positions[rows]] = target
        self.n_positions[rows] += 1
        reported = applied
        if self.action_noise > 0:
            noise = np.stack([g.normal(0.0, self.action_noise, 2) for g in rngs]).astype(np.float32)
            reported = applied + noise
        reward = np.zeros(len(rows), np.float64)
        if self.reward_mode == "home":  # on the way back: how much nearer home this step brought
            after = np.linalg.norm(self.displacement()[rows].astype(np.float64), axis=1)
            reward = np.where(outbound, 0.0, before - after)
        return reported.astype(np.float32), reward

    # ------------------------------------------------------------------ views
    def current(self) -> np.ndarray:
        """The fixation of every row, int64 ``[N, 2]`` pixels."""
        return self.path[np.arange(self.n), self.n_positions - 1]

    def displacement(self) -> np.ndarray:
        """Position minus start position of every row, float32 ``[N, 2]`` (the exact sum of moves)."""
        return pixel_to_norm(self.current(), self.world_shape) - pixel_to_norm(self.path[:, 0], self.world_shape)

    def image(self, row: int = 0) -> np.ndarray:
        """The world image of row ``row``, uint8 ``[H, W, C]``."""
        return self._stack[self.index[row]]

    def scanpath(self, row: int = 0) -> np.ndarray:
        """Fixations of row ``row``'s episode so far, int64 ``[K, 2]`` pixels (row, col)."""
        return self.path[row, : self.n_positions[row]].copy()

    def glimpses(self) -> np.ndarray:
        return self.retina.gather(self._stack, self.index, self.current())

    def info(self) -> dict[str, np.ndarray]:
        fixation = self.current()
        return {
            "position": pixel_to_norm(fixation, self.world_shape),
            "fixation": fixation,
            "start_position": pixel_to_norm(self.path[:, 0], self.world_shape),
            "displacement": self.displacement(),
            "index": self.index.copy(),
            "label": self.item_labels[self.index],
            "outbound": self.n_positions - 1 < self.outbound_steps,  # the env, not the agent, moves next
        }

    def render_frame(self, row: int = 0) -> np.ndarray:
        """uint8 RGB: the world resized so its long side is ``render_size``, with the path (start
        in magenta), and the retina's squares at the current fixation."""
        h, w = self.world_shape
        f = self.render_size / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_NEAREST
        canvas = np.ascontiguousarray(cv2.resize(to_rgb(self._stack[self.index[row]]), size, interpolation=interp))
        shift = 4
        path = self.path[row, : self.n_positions[row]]
        pts = np.rint(path[:, ::-1] * f * (1 << shift)).astype(np.int32)  # (x, y) fixed point
        cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, SCANPATH_COLOR, 2, cv2.LINE_AA, shift)
        cv2.circle(canvas, tuple(pts[0]), 5 << shift, _START_COLOR, -1, cv2.LINE_AA, shift)
        cv2.circle(canvas, tuple(pts[-1]), 4 << shift, SCANPATH_COLOR, -1, cv2.LINE_AA, shift)
        g = self.retina.glimpse_size
        for k, s in enumerate(self.retina.scales):
            top_left = (path[-1] - (g * s) // 2)[::-1] * f
            p0 = np.rint(top_left * (1 << shift)).astype(int)
            p1 = np.rint((top_left + g * s * f) * (1 << shift)).astype(int)
            cv2.rectangle(canvas, tuple(p0), tuple(p1), FOVEA_COLOR if k == 0 else PERIPHERY_COLOR, 2 if k == 0 else 1,
                          cv2.LINE_AA, shift)
        return canvas
