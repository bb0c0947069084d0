"""``RotationWorld``: N procedurally generated 3D objects turned by relative rotations, in batch."""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from checks import check_int
from envs.datasets.objects3d import COLOURINGS, OBJECT_CLASSES, make_objects
from envs.engine.input_checks import check_real_vector, pick_index
from envs.families import ROTATION
from envs.render.mesh_renderer import PROJECTIONS, Mesh, MeshBank, Renderer
from envs.engine.so3 import (
    quat_canonical,
    quat_multiply,
    quat_normalize,
    quat_relative,
    quat_to_matrix,
    random_quaternion,
    so3_exp,
)
from envs.engine.keywords import int_in, noted, one_of, real_in
from envs.engine.retina import Retina
from envs.render.drawing import upscale
from envs.engine.world import (
    MAX_RENDER_SCALE,
    MAX_RETINA_TO_IMAGE,
    MAX_ROWS,
    MAX_STEPS,
    World,
    check_retina_fits,
)

__all__ = ["RotationWorld", "scale_rotation_actions", "check_quaternion_option", "centre_glimpses"]

_AXIS_COLORS = ((255, 60, 60), (60, 230, 60), (80, 140, 255))
MAX_OBJECTS = 100_000          # n_objects
IMAGE_SIZE_RANGE = (8, 2048)   # image_size (rendered side, pixels)
MAX_SUPERSAMPLE = 8            # supersample
MAX_RENDERED_SIDE = 4096       # image_size * supersample
MAX_SEED = 2 ** 63 - 1


def scale_rotation_actions(actions: np.ndarray, max_angle: float) -> np.ndarray:
    """Normalised rotation actions ``[K, 3]`` -> rotation vectors in radians, float64 ``[K, 3]``:
    a norm over 1 is scaled down to 1 (same axis), then everything is multiplied by ``max_angle``.

    Any finite action keeps its axis, however large (the norm is taken of the action divided by
    its largest component, so it never overflows); NaN or inf raise ValueError naming ``actions``.
    """
    a = np.asarray(actions, np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"actions must be finite rotation vectors (no NaN or inf), got {a}")
    with np.errstate(over="ignore"):
        norm = np.linalg.norm(a, axis=-1, keepdims=True)
    out = a * (np.minimum(1.0, 1.0 / np.maximum(norm, 1e-300)) * max_angle)
    huge = ~np.isfinite(norm[..., 0])
    if np.any(huge):  # |a| overflows float64: normalise by the largest component first
        unit = a[huge] / np.max(np.abs(a[huge]), axis=-1, keepdims=True)
        out[huge] = unit / np.linalg.norm(unit, axis=-1, keepdims=True) * max_angle
    return out


def check_quaternion_option(q: Any) -> np.ndarray:
    """``options["rotation"]`` as a canonical unit quaternion float64 ``[4]``; ValueError otherwise."""
    what = "a non-zero quaternion (w, x, y, z) of shape (4,)"
    q = check_real_vector(q, 4, "options['rotation']", what)
    peak = float(np.max(np.abs(q)))  # divided out first: huge components do not overflow the norm
    if peak * np.linalg.norm(q / max(peak, 1e-300)) < 1e-9:
        raise ValueError(f"options['rotation'] must be {what}, got {q}")
    return quat_canonical(quat_normalize(q / peak))


def centre_glimpses(retina: Retina, views: np.ndarray) -> np.ndarray:
    """The retina fixating the centre of every view: uint8 ``[N, H, H, 3]`` -> ``[N, S, G, G, 3]``.

    A fovea-only retina (``scales == (1,)``) whose square lies inside the view is a plain crop,
    copied by one slice (no kernel call: the default rotation env's glimpse is the whole view)."""
    c = views.shape[1] // 2
    g = retina.glimpse_size
    top = c - g // 2
    if tuple(retina.scales) == (1,) and top >= 0 and top + g <= min(views.shape[1:3]):
        return views[:, None, top:top + g, top:top + g].copy()  # a fresh array: views are rewritten in place
    return retina.batch(views, np.full((len(views), 1, 2), c, np.int64))[:, 0]


class RotationWorld(World):
    """The 3D-rotation family's state: per row an object, its orientation and the episode's first one.

    Arguments are those of :class:`envs.families.rotation3d_env.Rotation3DEnv`, plus ``n`` rows
    (``num_envs``, an int in [1, 65536]) and the data: ``objects`` (default: ``make_objects(n_objects,
    seed, colouring)``).
    """

    family = ROTATION
    action_dim = 3
    action_meaning = "a rotation vector (axis * angle) / max_angle"
    reset_options = ("index", "rotation")
    reset_option_shapes = {"rotation": (4,)}
    window_caption = "rotation3d env"
    data_arguments = ("objects",)
    keyword_ranges = {
        "n_objects": int_in(1, MAX_OBJECTS),
        "seed": int_in(0, MAX_SEED),
        "colouring": one_of(COLOURINGS),
        "max_steps": int_in(1, MAX_STEPS),
        "max_angle": real_in(0.0, np.pi, lo_open=True, hi_text="pi"),
        "render_scale": int_in(1, MAX_RENDER_SCALE),
        "projection": one_of(PROJECTIONS),
        "image_size": int_in(*IMAGE_SIZE_RANGE),
        "supersample": noted(f"int in [1, {MAX_SUPERSAMPLE}] with ``image_size * supersample <= "
                             f"{MAX_RENDERED_SIDE}``"),
        "background": noted("three ints (R, G, B) in [0, 255]"),
        "glimpse_size": noted(f"as the retina's (default ``image_size``); the largest square <= "
                              f"{MAX_RETINA_TO_IMAGE} x ``image_size``"),
        "scales": noted("as the retina's"),
    }

    @classmethod
    def check_keywords(cls, n: int, **kwargs: Any) -> dict[str, Any]:
        """Every keyword checked for ``n`` rows, without making or rendering an object: the values
        normalised, plus the ``retina``. (``n_objects`` and ``seed`` matter only without ``objects``.)"""
        check_int("num_envs", n, 1, MAX_ROWS)
        k = cls.keyword_values(kwargs)
        k["supersample"] = check_int("supersample", k["supersample"], 1, MAX_SUPERSAMPLE)
        if k["image_size"] * k["supersample"] > MAX_RENDERED_SIDE:
            raise ValueError(f"image_size * supersample must be at most {MAX_RENDERED_SIDE}, "
                             f"got {k['image_size']} * {k['supersample']}")
        background = k["background"]
        bg = np.asarray(background) if not isinstance(background, (str, bytes)) else np.zeros(0)
        if bg.shape != (3,) or bg.dtype.kind not in "iu" or bg.min() < 0 or bg.max() > 255:
            raise ValueError(f"background must be three ints (R, G, B) in [0, 255], got {background!r}")
        glimpse = k["image_size"] if k["glimpse_size"] is None else k["glimpse_size"]
        k["retina"] = retina = Retina(glimpse_size=glimpse, scales=k["scales"])
        check_retina_fits(retina, (k["image_size"], k["image_size"]))
        return k

    def __init__(
        self,
        n: int,
        objects: Sequence[Mesh] | None = None,
        n_objects: int = 100,
        seed: int = 0,
        image_size: int = 64,
        glimpse_size: int | None = None,
        scales: tuple[int, ...] = (1,),
        max_steps: int = 8,
        max_angle: float = np.pi / 2,
        projection: str = "perspective",
        background: tuple[int, int, int] = (0, 0, 0),
        supersample: int = 1,
        render_scale: int = 4,
        colouring: str = "random",
    ) -> None:
        k = self.check_keywords(
            n, n_objects=n_objects, seed=seed, image_size=image_size, glimpse_size=glimpse_size, scales=scales,
            max_steps=max_steps, max_angle=max_angle, projection=projection, background=background,
            supersample=supersample, render_scale=render_scale, colouring=colouring)
        max_angle, render_scale, retina = k["max_angle"], k["render_scale"], k["retina"]
        if objects is None:
            objects = make_objects(k["n_objects"], k["seed"], colouring)
        objects = list(objects)
        if not objects or not all(isinstance(m, Mesh) for m in objects):
            raise ValueError("objects must be a non-empty sequence of envs.render.mesh_renderer.Mesh")
        renderer = Renderer(image_size, projection=projection, background=background, supersample=supersample)
        super().__init__(n, retina, 3, max_steps, action_scale=max_angle, last_action_bound=max_angle)
        self.objects = objects
        self.bank = MeshBank(objects)
        self.renderer = renderer
        self.image_size = renderer.size
        self.max_angle = max_angle
        self.render_scale = render_scale
        self.labels = np.array([m.label for m in objects], np.int64)
        self.index = np.zeros(self.n, np.int64)
        self.q = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (self.n, 1))
        self.q0 = self.q.copy()
        self.views = np.zeros((self.n, self.image_size, self.image_size, 3), np.uint8)

    @property
    def n_items(self) -> int:
        return len(self.objects)

    @property
    def item_labels(self) -> np.ndarray:
        return self.labels

    @property
    def class_names(self) -> tuple[str, ...]:
        return OBJECT_CLASSES

    # ------------------------------------------------------------------ episode
    def check_reset_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = super().check_reset_options(options)
        if "rotation" in out:
            out["rotation"] = check_quaternion_option(out["rotation"])
        return out

    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        q = np.empty((len(rows), 4))
        for k, (o, g) in enumerate(zip(options, rngs)):
            self.index[rows[k]] = pick_index(o, len(self.objects), g)
            q[k] = check_quaternion_option(o["rotation"]) if "rotation" in o else random_quaternion(g)
        self.q0[rows] = q
        self._set(rows, q)

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        applied = scale_rotation_actions(actions, self.max_angle).astype(np.float32)
        turn = so3_exp(applied.astype(np.float64))
        self._set(rows, quat_canonical(quat_normalize(quat_multiply(turn, self.q[rows]))))
        return applied, np.zeros(len(rows), np.float64)

    def _set(self, rows: np.ndarray, q: np.ndarray) -> None:
        self.q[rows] = q
        if len(rows) == 1:  # the serial kernel: no thread start-up for one view
            self.views[rows[0]] = self.renderer.render(self.objects[self.index[rows[0]]], q[0])
        elif len(rows):  # one parallel call renders every row (bit-identical to render, tested)
            self.views[rows] = self.renderer.render_batch(self.bank, self.index[rows], q)

    # ------------------------------------------------------------------ views
    def image(self, row: int = 0) -> np.ndarray:
        """The rendered view of row ``row``, uint8 ``[image_size, image_size, 3]``."""
        return self.views[row]

    def orientation(self, row: int = 0) -> np.ndarray:
        """The orientation of row ``row``, float64 ``[4]`` (canonical quaternion, object -> camera)."""
        return self.q[row].copy()

    def item_name(self, row: int = 0) -> str:
        """The name of row ``row``'s object ("" when it has none)."""
        return self.objects[self.index[row]].name or ""

    def glimpses(self) -> np.ndarray:
        return centre_glimpses(self.retina, self.views)

    def info(self) -> dict[str, np.ndarray]:
        return {
            "rotation": self.q.astype(np.float32),
            "relative_rotation": quat_relative(self.q, self.q0).astype(np.float32),
            "label": self.labels[self.index],
            "index": self.index.copy(),
        }

    def render_frame(self, row: int = 0) -> np.ndarray:
        """uint8 RGB ``[k*N, k*N, 3]``: the view enlarged by ``render_scale`` with the object's axes
        (x red, y green, z blue, as seen by the camera) drawn in the top-left corner."""
        canvas = upscale(self.views[row], self.render_scale)
        r = 0.08 * canvas.shape[0]
        centre = np.array([1.4 * r, 1.4 * r])
        rot = quat_to_matrix(self.q[row])
        for k in np.argsort(-rot[2]):  # far axes first
            tip = centre + r * rot[:2, k]
            cv2.line(canvas, tuple(int(v) for v in centre), tuple(int(v) for v in tip), _AXIS_COLORS[k], 2, cv2.LINE_AA)
        return canvas
