"""Per-family adapters: what the viewer shows and does for each environment family.

The :class:`~experiments.viewer.app.Viewer` is family-agnostic: it steps the env, keeps the
glimpse timeline and handles keys, and asks an :class:`Adapter` for everything that depends on
the kind of environment -- the main picture, the two lower panels, what a click on the main
picture does, which agent the space key runs, how many images/worlds/objects ``n``/``p`` cycle
through, and the status line. :func:`make_adapter` picks the adapter by the env's family object
(``env.unwrapped.world.family``, :data:`ADAPTERS`), so every registered id opens, recognition ids
included (the move comes from the click or agent; the class scores are zeros, a uniform prediction,
and the status line shows the env's ``prediction``); a family with no adapter of its own gets
:class:`FrameAdapter` (the env's rendered frame, an info readout, random actions). Adapters read the
world through its per-row accessors (``image(row)``, ``scanpath(row)``, ``orientation(row)``, ...):

=================  =========================  ==================================  ==============================
family             main picture               lower panels                        click / space
=================  =========================  ==================================  ==============================
saccade            image, scanpath, boxes     priority map, saliency map          saccade there / saliency agent
path integration   world, path, start, boxes  displacement plot, readout          move toward it / random action
rotation           rendered view, axes        orientation gizmo, readout          turn front toward it / random
other              the env's rendered frame   glimpse, info readout               nothing / random action
=================  =========================  ==================================  ==============================
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from envs.engine.coordinates import pixel_to_norm
from envs.families import PATH, ROTATION, SACCADE, Family
from experiments.viewer.env import base_env
from experiments.viewer.panels import (
    Layout,
    Panel,
    Rect,
    displacement_panel,
    fit_rect,
    heat_panel,
    image_panel,
    orientation_panel,
    picture_panel,
    view_panel,
)

__all__ = ["Adapter", "SaccadeAdapter", "PathIntegrationAdapter", "RotationAdapter", "FrameAdapter",
           "RandomBoxPolicy", "ADAPTERS", "adapter_for", "make_adapter"]


def _vec(v: np.ndarray, fmt: str = "+.3f") -> str:
    return "(" + ", ".join(format(float(x), fmt) for x in np.asarray(v).ravel()) + ")"


class RandomBoxPolicy:
    """Uniform random actions in a Box action space, drawn from a seeded ``numpy`` Generator.

    ``act`` returns float32 ``[A]`` in ``[space.low, space.high]``; the sequence depends only on ``seed``.
    """

    def __init__(self, space: Any, seed: int | None = None) -> None:
        low, high = np.asarray(getattr(space, "low", np.nan)), np.asarray(getattr(space, "high", np.nan))
        if low.shape != high.shape or low.ndim != 1 or not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError(f"space must be a bounded 1-D gymnasium Box action space, got {space!r}")
        self.low, self.high = low.astype(np.float64), high.astype(np.float64)
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the generator when ``seed`` is given (else keep drawing from it)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        return self.rng.uniform(self.low, self.high).astype(np.float32)


class Adapter:
    """Family-specific parts of the viewer for one env (``env`` may be wrapped; ``base`` is unwrapped).

    Subclasses set the class attributes and implement the drawing and action methods; ``world`` is
    the env's :class:`envs.engine.world.World` (a recognition task's world forwards to the world it classifies).
    """

    family = ""
    item = "image"               # what n / p cycle through
    saliency_keys = False        # keys 1..9 select the saliency method / IoR mode
    supports_monitor = False     # the seq-JEPA world-model panel (--checkpoint) applies
    click_help = "click: nothing"
    space_help = "space: one random action (next item at the end)"

    def __init__(self, env: Any) -> None:
        self.env, self.base = env, base_env(env)
        self.world = self.base.world

    # ------------------------------------------------------------------ facts
    @property
    def n_items(self) -> int:
        """How many images / worlds / objects the env holds (``n`` / ``p`` wrap around them)."""
        return int(self.world.n_items)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the main picture's source pixels (clicks map to this grid)."""
        raise NotImplementedError

    @property
    def retina(self) -> Any:
        return self.base.retina

    @property
    def max_steps(self) -> int:
        return int(self.base.max_steps)

    def make_agent(self, seed: int, mode: str) -> Any:
        """What the space key runs: an object with ``reset()`` and ``act(obs, info) -> action``."""
        return RandomBoxPolicy(self.base.action_space, seed)

    def full_action(self, action: np.ndarray) -> np.ndarray:
        """``action`` as the env's whole action: a move alone (a click, the saliency agent) gets zero
        class scores appended in a recognition env (a uniform prediction); float32 ``[A]``."""
        action = np.asarray(action, np.float32).ravel()
        missing = int(self.base.action_space.shape[0]) - action.shape[0]
        return np.concatenate([action, np.zeros(missing, np.float32)]) if missing > 0 else action

    # ------------------------------------------------------------------ drawing
    def main_title(self) -> str:
        raise NotImplementedError

    def main_panel(self, w: int, h: int) -> np.ndarray:
        """uint8 RGB ``[h, w, 3]`` of the main picture (aspect of :attr:`image_shape`)."""
        raise NotImplementedError

    def panels(self, layout: Layout, obs: dict[str, np.ndarray], info: dict[str, Any]) -> tuple[Panel, Panel]:
        """The panels in ``layout.priority`` and ``layout.side`` for the state ``obs``, ``info``
        (the second gives way to the world-model panel when there is one)."""
        raise NotImplementedError

    def caption(self, info: dict[str, Any]) -> str:
        """Short text under a timeline tile for the state ``info``."""
        return f"step {int(info['step'])}"

    def status_parts(self, index: int, info: dict[str, Any], truncated: bool,
                     files: Sequence[str] | None = None) -> list[str]:
        """Status line pieces: item, label, step (the viewer adds the env name and modes)."""
        item = f"{self.item} {index + 1}/{self.n_items}" + (f" {files[index]}" if files else "")
        step = f"step {int(info['step'])}/{self.max_steps}" + (" (end)" if truncated else "")
        guess = [f"prediction {int(info['prediction'])}"] if "prediction" in info else []  # a recognition env
        return [item, *self._label_parts(info), step, *guess, *self._extra_parts(info)]

    def _label_parts(self, info: dict[str, Any]) -> list[str]:
        return []

    def _extra_parts(self, info: dict[str, Any]) -> list[str]:
        return []

    # ------------------------------------------------------------------ control
    def click_action(self, pixel: np.ndarray, info: dict[str, Any]) -> np.ndarray | None:
        """The action for a click on main-picture ``pixel`` int ``[2]`` (row, col); None = ignore it."""
        return None


class SaccadeAdapter(Adapter):
    """Saccade envs (``SaccadeEnv``): scanpath on the image, priority and saliency maps, saliency agent."""

    family, item, saliency_keys = "saccade", "image", True
    click_help = "click on the image: saccade there"
    space_help = "space: one saliency-agent saccade (next image at the end)"

    @property
    def supports_monitor(self) -> bool:  # type: ignore[override]
        """The world-model panel applies to plain saccade envs (not to a recognition task's action)."""
        return self.world.action_dim == self.world.transform_dim

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.base.image_shape)

    @property
    def max_steps(self) -> int:
        return int(self.base.max_saccades)

    def make_agent(self, seed: int, mode: str) -> Any:
        from agents import SaliencyAgent

        return SaliencyAgent(mode=mode, seed=seed)

    def main_title(self) -> str:
        h, w = self.image_shape
        return f"image {h}x{w}: scanpath of {len(self.world.scanpath(0))} fixations"

    def main_panel(self, w: int, h: int) -> np.ndarray:
        b = self.world
        return image_panel(b.image(0), b.scanpath(0), b.retina.glimpse_size, b.retina.scales, w, h)

    def panels(self, layout: Layout, obs: dict[str, np.ndarray], info: dict[str, Any]) -> tuple[Panel, Panel]:
        b, p, side = self.world, layout.priority, layout.side
        s = fit_rect(side, self.image_shape)
        s = Rect(side.x, side.y, s.w, s.h)  # top-aligned with the priority map
        return (Panel("priority", f"priority (saliency x IoR {b.ior})", p,
                      lambda: heat_panel(b.priority_maps(np.zeros(1, np.int64))[0], p.w, p.h), title_width=p.w + 10),
                Panel("saliency", f"saliency ({b.saliency_method})", s,
                      lambda: heat_panel(b.priority.saliency[0].copy(), s.w, s.h), title_width=side.w))

    def caption(self, info: dict[str, Any]) -> str:
        r, c = info["fixation"]
        return f"({int(r)},{int(c)})"

    def _label_parts(self, info: dict[str, Any]) -> list[str]:
        label = int(info["label"])
        names = tuple(getattr(self.world.dataset, "class_names", ()))
        text = "unlabeled" if label < 0 else f"label {label}"
        return [text + (f" ({names[label]})" if 0 <= label < len(names) else "")]

    def _extra_parts(self, info: dict[str, Any]) -> list[str]:
        b = self.base
        return [f"method {b.saliency_method}", f"IoR {b.ior} r={b.ior_radius}"]

    def click_action(self, pixel: np.ndarray, info: dict[str, Any]) -> np.ndarray | None:
        """Saccade to ``pixel``: its normalised position minus ``info["position"]`` (float32 ``[2]``)."""
        target = pixel_to_norm(np.asarray(pixel, np.int64), self.image_shape)
        return (target - np.asarray(info["position"], np.float32)).astype(np.float32)


class PathIntegrationAdapter(Adapter):
    """``PathIntegrationEnv``: the world with the path, the displacement from the start, a random walker."""

    family, item = "path integration", "world"
    click_help = "click on the world: move toward that point (at most max_step per axis)"
    space_help = "space: one random displacement (next world at the end)"

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.base.world_shape)

    def main_title(self) -> str:
        h, w = self.image_shape
        return f"world {h}x{w}: path of {len(self.world.scanpath(0))} fixations (start ring magenta)"

    def main_panel(self, w: int, h: int) -> np.ndarray:
        b = self.world
        return image_panel(b.image(0), b.scanpath(0), b.retina.glimpse_size, b.retina.scales, w, h, mark_start=True)

    def offsets(self) -> np.ndarray:
        """Positions of the path minus its start, float32 ``[N, 2]`` normalised (row, col)."""
        positions = pixel_to_norm(self.world.scanpath(0), self.image_shape)
        return positions - positions[0]

    def panels(self, layout: Layout, obs: dict[str, np.ndarray], info: dict[str, Any]) -> tuple[Panel, Panel]:
        p = layout.priority
        offsets = self.offsets()
        d, a = np.asarray(info["displacement"]), np.asarray(obs["last_action"])
        steps = np.linalg.norm(np.diff(offsets, axis=0), axis=1) if len(offsets) > 1 else np.zeros(0)
        lines = (f"start     {_vec(info['start_position'])}  px {tuple(int(v) for v in self.world.scanpath(0)[0])}",
                 f"position  {_vec(info['position'])}  px {tuple(int(v) for v in info['fixation'])}",
                 f"displacement (target) {_vec(d)}",
                 f"  |d| = {float(np.linalg.norm(d)):.3f}   path length {float(steps.sum()):.3f}",
                 f"last action (applied) {_vec(a)}",
                 f"max_step {self.base.max_step:g} per axis, keep_inside={self.base.keep_inside}",
                 "units: world height / width; rows point down")
        return (Panel("displacement", "path from the start (arrow: displacement)", p,
                      lambda: displacement_panel(offsets, p.w, p.h, min_extent=self.base.max_step),
                      title_width=p.w + 10),
                Panel("readout", "path integration", layout.side, lines=lines))

    def caption(self, info: dict[str, Any]) -> str:
        r, c = info["fixation"]
        return f"({int(r)},{int(c)})"

    def _extra_parts(self, info: dict[str, Any]) -> list[str]:
        return [f"displacement {_vec(info['displacement'], '+.2f')}"]

    def click_action(self, pixel: np.ndarray, info: dict[str, Any]) -> np.ndarray | None:
        """Toward ``pixel``: the difference of normalised positions, shrunk (same direction) so that
        no component exceeds ``max_step``, as the env's normalised action (``/ max_step``, float32 ``[2]``)."""
        delta = pixel_to_norm(np.asarray(pixel, np.int64), self.image_shape) - np.asarray(info["position"], np.float32)
        top = float(np.abs(delta).max())
        if top > self.base.max_step:
            delta = delta * (self.base.max_step / top)
        return (delta / self.base.max_step).astype(np.float32)


class RotationAdapter(Adapter):
    """Rotation worlds (``Rotation3DEnv``, ``RotationViewsEnv``): the view with its axes, the orientation,
    random rotations."""

    family, item = "rotation", "object"
    click_help = "click on the view: turn the object's front toward that point (centre: nothing)"
    space_help = "space: one random rotation (next object at the end)"
    max_click_angle = np.pi / 2  # a click on the view's edge turns by this angle (rad)

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.world.image_size), int(self.world.image_size)

    def main_title(self) -> str:
        n = self.image_shape[0]
        return f"view {n}x{n}: {self.world.item_name(0) or 'object'}  (axes x/y/z red/green/blue)"

    def main_panel(self, w: int, h: int) -> np.ndarray:
        from envs.render.mesh_renderer import quat_to_matrix

        return view_panel(self.world.image(0), quat_to_matrix(self.world.orientation(0)), w, h)

    def panels(self, layout: Layout, obs: dict[str, np.ndarray], info: dict[str, Any]) -> tuple[Panel, Panel]:
        from envs.render.mesh_renderer import quat_to_matrix, so3_log

        q = np.asarray(info["rotation"], np.float64)
        q0 = self.first_rotation(info)
        rel_vec = so3_log(np.asarray(info["relative_rotation"], np.float64))
        last = np.asarray(obs["last_action"], np.float64)
        p = fit_rect(layout.priority, (1, 1))
        p = Rect(layout.priority.x, layout.priority.y, p.w, p.h)
        lines = (f"object {int(info['index']) + 1}/{self.n_items}: {self.world.item_name(0) or '?'} "
                 f"(label {int(info['label'])})",
                 f"q (w, x, y, z) = {_vec(q)}",
                 f"from the first view: {_angle_axis(rel_vec)}",
                 f"last action: {_angle_axis(last)}",
                 "camera frame: x right, y down, z away",
                 "gizmo: axes now (bright), first view (dim),",
                 "  rotation axis from the first view (yellow)")
        return (Panel("orientation", "orientation (object axes seen by the camera)", p,
                      lambda: orientation_panel(quat_to_matrix(q), quat_to_matrix(q0), rel_vec, p.w, p.h),
                      title_width=layout.priority.w + 10),
                Panel("readout", "rotation", layout.side, lines=lines))

    @staticmethod
    def first_rotation(info: dict[str, Any]) -> np.ndarray:
        """The episode's first orientation, float64 ``[4]`` canonical: ``relative^-1 * rotation``."""
        from envs.render.mesh_renderer import quat_canonical, quat_conjugate, quat_multiply

        rel = np.asarray(info["relative_rotation"], np.float64)
        return quat_canonical(quat_multiply(quat_conjugate(rel), np.asarray(info["rotation"], np.float64)))

    def caption(self, info: dict[str, Any]) -> str:
        from envs.render.mesh_renderer import rotation_angle

        return f"{float(np.degrees(rotation_angle(np.asarray(info['relative_rotation'])))):.0f} deg"

    def _label_parts(self, info: dict[str, Any]) -> list[str]:
        return [f"{self.world.item_name(0) or 'label'} ({int(info['label'])})"]

    def _extra_parts(self, info: dict[str, Any]) -> list[str]:
        from envs.render.mesh_renderer import rotation_angle

        return [f"{float(np.degrees(rotation_angle(np.asarray(info['relative_rotation'])))):.0f} deg from start"]

    def click_action(self, pixel: np.ndarray, info: dict[str, Any]) -> np.ndarray | None:
        """A camera-frame rotation vector float32 ``[3]`` turning the surface facing the viewer toward
        ``pixel``: about the in-plane axis perpendicular to the offset from the view's centre, by
        ``max_click_angle`` times the offset (as a fraction of the half side, at most 1)."""
        n = self.image_shape[0]
        d_row, d_col = (np.asarray(pixel, np.float64) + 0.5 - n / 2.0) / (n / 2.0)
        r = float(np.hypot(d_row, d_col))
        if r < 0.05:
            return None
        # front point (0, 0, -1) moves along +(d_col, d_row): rotate about (d_row, -d_col, 0)
        axis = np.array([d_row, -d_col, 0.0]) / r
        angle = min(self.max_click_angle * min(r, 1.0), self.world.max_angle)
        return (axis * angle / self.world.max_angle).astype(np.float32)  # the env's normalised action


def _angle_axis(rotvec: np.ndarray) -> str:
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-9:
        return "0 deg"
    return f"{np.degrees(angle):.1f} deg about {_vec(np.asarray(rotvec) / angle, '+.2f')}"


class FrameAdapter(Adapter):
    """Any other family: the env's rendered frame, the current glimpse and an info readout, random actions."""

    family, item = "other", "item"

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(int(v) for v in self.world.render_frame(0).shape[:2])

    def main_title(self) -> str:
        return f"{type(self.world).__name__}: the env's rendered frame"

    def main_panel(self, w: int, h: int) -> np.ndarray:
        return picture_panel(self.world.render_frame(0), w, h)

    def panels(self, layout: Layout, obs: dict[str, np.ndarray], info: dict[str, Any]) -> tuple[Panel, Panel]:
        p = fit_rect(layout.priority, (1, 1))
        p = Rect(layout.priority.x, layout.priority.y, p.w, p.h)
        fovea = np.asarray(obs["glimpse"])[0]
        lines = tuple(f"{k}: {_vec(v, '+.3f') if np.ndim(v) else v}" for k, v in info.items() if np.ndim(v) <= 1)
        return (Panel("glimpse", "glimpse (fovea)", p, lambda: picture_panel(fovea, p.w, p.h),
                      title_width=layout.priority.w + 10),
                Panel("readout", "info", layout.side, lines=lines))


# The adapter of each family object; a family with none gets FrameAdapter.
ADAPTERS: dict[Family, type[Adapter]] = {SACCADE: SaccadeAdapter, PATH: PathIntegrationAdapter,
                                         ROTATION: RotationAdapter}


def adapter_for(family: Family) -> type[Adapter]:
    """The adapter class of an env family (:data:`ADAPTERS`; :class:`FrameAdapter` for one without its own).

    Raises:
        ValueError: ``family`` is not an :class:`envs.families.Family`.
    """
    if not isinstance(family, Family):
        raise ValueError(f"family must be an envs.families.Family (the env families), got {family!r:.80}")
    return ADAPTERS.get(family, FrameAdapter)


def make_adapter(env: Any) -> Adapter:
    """The adapter for ``env`` (Gymnasium wrappers allowed), chosen by its world's family."""
    world = getattr(base_env(env), "world", None)
    if world is None:
        raise ValueError(f"env must be one of this package's envs (an ActiveVisionEnv with a world), "
                         f"got {type(base_env(env)).__name__!r}")
    return adapter_for(world.family)(env)
