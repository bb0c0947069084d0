"""``ViewsWorld``: objects seen only from pre-rendered views (a 3DIEBench-format folder), in batch.

A rotation action asks for ``exp(a) * q``; the world shows the object's stored view nearest to
that orientation, and ``last_action`` reports the rotation actually made, ``log(q_new q_old^-1)``
(radians, the frame of the views' rotations). With ``max_angle = pi`` (default) every view is
reachable in one step, so the actions of a sequence are the relative rotations between its views.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from checks import check_int
from envs.datasets.views3d import ViewBank
from envs.engine.input_checks import check_index, pick_index
from envs.engine.keywords import int_in, noted, real_in
from envs.engine.retina import Retina
from envs.engine.so3 import quat_multiply, quat_relative, so3_exp, so3_log
from envs.engine.world import MAX_RENDER_SCALE, MAX_RETINA_TO_IMAGE, MAX_ROWS, MAX_STEPS, World, check_retina_fits
from envs.families import ROTATION
from envs.families.rotation_world import centre_glimpses, scale_rotation_actions
from envs.render.drawing import upscale

__all__ = ["ViewsWorld", "views_world"]


class ViewsWorld(World):
    """The views family's state: per row an object, the view shown and the episode's first view.

    Arguments are those of :class:`envs.families.rotation_views_env.RotationViewsEnv`, plus ``n`` rows
    (``num_envs``, an int in [1, 65536]) and the data: ``bank`` (a :class:`ViewBank` of square views).
    """

    family = ROTATION
    action_dim = 3
    action_meaning = "a rotation vector (axis * angle) / max_angle"
    reset_options = ("index", "view")
    window_caption = "rotation views env"
    data_arguments = ("bank",)
    keyword_ranges = {
        "glimpse_size": noted(f"as the retina's (default: the view side); the largest square <= "
                              f"{MAX_RETINA_TO_IMAGE} x the view side"),
        "scales": noted("as the retina's"),
        "max_steps": int_in(1, MAX_STEPS),
        "max_angle": real_in(0.0, np.pi, lo_open=True, hi_text="pi"),
        "render_scale": int_in(1, MAX_RENDER_SCALE),
    }

    @classmethod
    def check_keywords(cls, n: int, view_side: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """Every keyword checked for ``n`` rows over square views of ``view_side`` pixels (None: not
        known before the folder is read; the retina is then checked when it is), without data: the
        values normalised, plus the ``retina`` (None when ``view_side`` is)."""
        check_int("num_envs", n, 1, MAX_ROWS)
        k = cls.keyword_values(kwargs)
        glimpse = view_side if k["glimpse_size"] is None else k["glimpse_size"]
        k["retina"] = None if glimpse is None else Retina(glimpse_size=glimpse, scales=k["scales"])
        if k["retina"] is not None and view_side is not None:
            check_retina_fits(k["retina"], (view_side, view_side))
        return k

    def __init__(self, n: int, bank: ViewBank, glimpse_size: int | None = None, scales: tuple[int, ...] = (1,),
                 max_steps: int = 8, max_angle: float = np.pi, render_scale: int = 4) -> None:
        if not isinstance(bank, ViewBank):
            raise ValueError(f"bank must be an envs.datasets.views3d.ViewBank, got {type(bank).__name__}")
        h, w, _ = bank.image_shape
        if h != w:
            raise ValueError(f"views must be square, got {h}x{w} (pass image_size= to resize)")
        k = self.check_keywords(n, h, glimpse_size=glimpse_size, scales=scales, max_steps=max_steps,
                                max_angle=max_angle, render_scale=render_scale)
        super().__init__(n, k["retina"], 3, k["max_steps"], action_scale=k["max_angle"], last_action_bound=np.pi)
        self.bank = bank
        self.image_size = h
        self.max_angle = k["max_angle"]
        self.render_scale = k["render_scale"]
        self.labels = bank.labels
        self.index = np.zeros(self.n, np.int64)
        self.view = np.zeros(self.n, np.int64)
        self.first_view = np.zeros(self.n, np.int64)

    @property
    def n_items(self) -> int:
        return self.bank.num_objects

    @property
    def item_labels(self) -> np.ndarray:
        return self.labels

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.bank.class_names

    def check_reset_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = super().check_reset_options(options)
        if "view" in out:
            out["view"] = check_index(out["view"], self.bank.num_views, "options['view']")
        return out

    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        v = self.bank.num_views
        for k, (o, g) in enumerate(zip(options, rngs)):
            self.index[rows[k]] = pick_index(o, self.bank.num_objects, g)
            view = check_index(o["view"], v, "options['view']") if "view" in o else int(g.integers(v))
            self.view[rows[k]] = self.first_view[rows[k]] = view

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q_old = self.bank.rotations[self.index[rows], self.view[rows]]
        target = quat_multiply(so3_exp(scale_rotation_actions(actions, self.max_angle)), q_old)
        self.view[rows] = self.bank.nearest_view(self.index[rows], target)
        q_new = self.bank.rotations[self.index[rows], self.view[rows]]
        applied = so3_log(quat_relative(q_new, q_old))
        return applied.astype(np.float32), np.zeros(len(rows), np.float64)

    def image(self, row: int = 0) -> np.ndarray:
        """The view shown in row ``row``, uint8 ``[image_size, image_size, 3]``."""
        return np.asarray(self.bank.images[self.index[row], self.view[row]], np.uint8)

    def orientation(self, row: int = 0) -> np.ndarray:
        """The orientation of row ``row``'s view, float64 ``[4]`` (canonical quaternion)."""
        return np.asarray(self.bank.rotations[self.index[row], self.view[row]], np.float64)

    def item_name(self, row: int = 0) -> str:
        """The name of row ``row``'s object (``"<class>/<object>"`` for 3DIEBench; "" when it has none)."""
        index, names = int(self.index[row]), self.bank.object_names
        return str(names[index]) if index < len(names) else ""

    def glimpses(self) -> np.ndarray:
        return centre_glimpses(self.retina, np.asarray(self.bank.images[self.index, self.view], np.uint8))

    def info(self) -> dict[str, np.ndarray]:
        q = self.bank.rotations[self.index, self.view]
        q0 = self.bank.rotations[self.index, self.first_view]
        return {
            "rotation": q.astype(np.float32),
            "relative_rotation": quat_relative(q, q0).astype(np.float32),
            "label": self.labels[self.index],
            "index": self.index.copy(),
            "view": self.view.copy(),
        }

    def render_frame(self, row: int = 0) -> np.ndarray:
        """uint8 RGB: the shown view enlarged by ``render_scale``."""
        return upscale(np.asarray(self.bank.images[self.index[row], self.view[row]], np.uint8), self.render_scale)


def views_world(n: int, root: str | None = None, folder: str | None = None, split: str | None = None,
                image_size: int | None = 64, object_limit: int | None = None, views: int | None = None,
                **kwargs: Any) -> ViewsWorld:
    """A :class:`ViewsWorld` of ``n`` rows over the 3DIEBench-format ``folder`` (default
    ``<root>/3DIEBench``, ``root`` defaulting to ``$SACCADE_DATA``; arguments: ``RotationViewsEnv``)."""
    from envs.datasets.base import resolve_root

    folder = resolve_root(root) / "3DIEBench" if folder is None else folder
    bank = ViewBank.from_3diebench(folder, split=split, image_size=image_size, max_objects=object_limit, views=views)
    return ViewsWorld(n, bank, **kwargs)


