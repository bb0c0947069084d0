"""``Rotation3DEnv``: a procedurally generated 3D object, turned by relative rotations."""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.checks import check_action, check_options, pick_index
from envs.datasets.objects3d import OBJECT_CLASSES, make_objects
from envs.render3d import (
    PROJECTIONS,
    Mesh,
    Renderer,
    quat_canonical,
    quat_conjugate,
    quat_multiply,
    quat_normalize,
    quat_to_matrix,
    random_quaternion,
    so3_exp,
)
from envs.rendering import upscale
from envs.retina import Retina
from envs.window import FrameWindowMixin

__all__ = ["Rotation3DEnv"]

_AXIS_COLORS = ((255, 60, 60), (60, 230, 60), (80, 140, 255))


class Rotation3DEnv(FrameWindowMixin, gym.Env):
    """Look at a 3D object (rendered in software) and turn it; every action is a relative rotation.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, 3)), last_action=Box(float32, (3,)))``: the rendered
    ``image_size``-pixel view seen through the retina fixating the image centre (pixel
    ``(image_size // 2, image_size // 2)``; scales > 1 see the background-coloured view
    zero-padded beyond its border), and the rotation vector actually applied (zeros after ``reset``).

    ## Action
    ``Box(-pi, pi, (3,), float32)``: a rotation vector ``a`` (axis * angle, radians) **in the camera
    frame** (x right, y down, z away from the viewer; see ``envs.render3d``). It is applied by
    left multiplication, ``q_new = exp(a) * q``: the object turns by ``|a|`` about the camera axis
    ``a / |a|`` whatever its current orientation, so ``a = log(q_new * q^-1)`` is the relative
    transformation from the current view to the next. An action whose norm exceeds ``pi`` is
    scaled to norm ``pi`` (same axis); the applied vector comes back as ``last_action``, and
    ``exp(last_action) * q_old`` is exactly the new state. (3DIEBench's loaders use the
    object-frame relative rotation ``q_old^-1 * q_new`` instead; the two are conjugate.)

    ## Reward
    0 (the env is a world-model data source; a task reward is left to wrappers).

    ## Episode
    ``reset`` picks an object (uniformly, or ``options={"index": i}``) and an orientation
    uniform on SO(3) (or ``options={"rotation": q}``). Truncated after ``max_steps`` steps;
    never terminated.

    ## Info
    ``rotation`` float32 ``[4]``: the orientation (object -> camera) as a canonical unit
    quaternion ``(w, x, y, z)``, ``w >= 0``; ``relative_rotation`` float32 ``[4]``: ``q_t * q_0^-1``,
    the rotation from the episode's first view (canonical); ``label`` (object class, index into
    ``OBJECT_CLASSES``); ``index`` (object index); ``step``.

    ## Arguments
    ``objects`` (a sequence of ``envs.render3d.Mesh``; default ``make_objects(n_objects, seed)``),
    ``n_objects``, ``seed`` (object generation seed, not the episode seed), ``image_size`` (rendered
    side, default 64), ``glimpse_size`` (G, default ``image_size``), ``scales``, ``max_steps``,
    ``projection`` ("perspective" | "orthographic"), ``background`` (RGB), ``supersample``
    (anti-aliasing), ``render_mode`` ("rgb_array" | "human"), ``render_scale``.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 4}
    window_caption = "rotation3d env"

    def __init__(
        self,
        objects: Sequence[Mesh] | None = None,
        n_objects: int = 100,
        seed: int = 0,
        image_size: int = 64,
        glimpse_size: int | None = None,
        scales: tuple[int, ...] = (1,),
        max_steps: int = 8,
        projection: str = "perspective",
        background: tuple[int, int, int] = (0, 0, 0),
        supersample: int = 1,
        render_mode: str | None = None,
        render_scale: int = 4,
    ) -> None:
        if objects is None:
            objects = make_objects(n_objects, seed)
        objects = list(objects)
        if not objects or not all(isinstance(m, Mesh) for m in objects):
            raise ValueError("objects must be a non-empty sequence of envs.render3d.Mesh")
        for name, value in (("max_steps", max_steps), ("render_scale", render_scale)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.objects = objects
        self.renderer = Renderer(image_size, projection=projection, background=background, supersample=supersample)
        self.image_size = self.renderer.size
        self.retina = Retina(glimpse_size=self.image_size if glimpse_size is None else glimpse_size, scales=tuple(scales))
        self.max_steps = int(max_steps)
        self.render_mode = render_mode
        self.render_scale = int(render_scale)

        g = self.retina.glimpse_size
        self.observation_space = spaces.Dict(
            glimpse=spaces.Box(0, 255, (len(self.retina.scales), g, g, 3), np.uint8),
            last_action=spaces.Box(-np.pi, np.pi, (3,), np.float32),
        )
        self.action_space = spaces.Box(-np.pi, np.pi, (3,), np.float32)

        self._index = 0
        self._q: np.ndarray | None = None
        self._q0 = np.array([1.0, 0.0, 0.0, 0.0])
        self._view: np.ndarray | None = None
        self._last_action = np.zeros(3, np.float32)
        self._steps = 0

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = check_options(options, ("index", "rotation"))
        self._index = pick_index(options, len(self.objects), self.np_random)
        if "rotation" in options:
            q = np.asarray(options["rotation"], np.float64)
            if q.shape != (4,) or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-9:
                raise ValueError(f"options['rotation'] must be a non-zero quaternion (w, x, y, z) of shape (4,), got {q}")
            q = quat_canonical(quat_normalize(q))
        else:
            q = random_quaternion(self.np_random)
        self._q0 = q
        self._steps = 0
        self._last_action = np.zeros(3, np.float32)
        self._set_rotation(q)
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: np.ndarray):
        if self._q is None:
            raise RuntimeError("call reset() before step()")
        action = check_action(action, 3, "a rotation vector (axis * angle)", dtype=np.float64)
        angle = float(np.linalg.norm(action))
        if angle > np.pi:
            action = action * (np.pi / angle)
        applied = np.clip(action, -np.pi, np.pi).astype(np.float32)
        self._last_action = applied
        self._set_rotation(quat_canonical(quat_normalize(quat_multiply(so3_exp(applied.astype(np.float64)), self._q))))
        self._steps += 1
        truncated = self._steps >= self.max_steps
        if self.render_mode == "human":
            self.render()
        return self._observation(), 0.0, False, truncated, self._info()

    def _set_rotation(self, q: np.ndarray) -> None:
        self._q = q
        self._view = self.renderer.render(self.objects[self._index], q)

    def _observation(self) -> dict[str, np.ndarray]:
        centre = (self.image_size // 2, self.image_size // 2)
        return {"glimpse": self.retina.glimpse(self._view, centre), "last_action": self._last_action.copy()}

    def _info(self) -> dict[str, Any]:
        rel = quat_canonical(quat_multiply(self._q, quat_conjugate(self._q0)))
        return {
            "rotation": self._q.astype(np.float32),
            "relative_rotation": rel.astype(np.float32),
            "label": int(self.objects[self._index].label),
            "index": self._index,
            "step": self._steps,
        }

    # ------------------------------------------------------------------ inspection
    @property
    def rotation(self) -> np.ndarray:
        """The current orientation, float64 ``[4]`` (canonical quaternion, object -> camera)."""
        if self._q is None:
            raise RuntimeError("call reset() first")
        return self._q.copy()

    @property
    def view(self) -> np.ndarray:
        """The current rendered view, uint8 ``[image_size, image_size, 3]``."""
        if self._view is None:
            raise RuntimeError("call reset() first")
        return self._view

    @property
    def object(self) -> Mesh:
        """The current object."""
        return self.objects[self._index]

    @property
    def class_names(self) -> tuple[str, ...]:
        return OBJECT_CLASSES

    # ------------------------------------------------------------------ rendering
    def render_frame(self) -> np.ndarray:
        """uint8 RGB ``[k*N, k*N, 3]``: the view enlarged by ``render_scale`` with the object's axes
        (x red, y green, z blue, as seen by the camera) drawn in the top-left corner."""
        if self._view is None:
            raise RuntimeError("call reset() before render()")
        canvas = upscale(self._view, self.render_scale)
        r = 0.08 * canvas.shape[0]
        centre = np.array([1.4 * r, 1.4 * r])
        rot = quat_to_matrix(self._q)
        order = np.argsort(-rot[2])  # far axes first
        for k in order:
            tip = centre + r * rot[:2, k]
            cv2.line(canvas, tuple(int(v) for v in centre), tuple(int(v) for v in tip), _AXIS_COLORS[k], 2, cv2.LINE_AA)
        return canvas
