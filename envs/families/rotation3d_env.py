"""``Rotation3DEnv``: a procedurally generated 3D object, turned by relative rotations."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from envs.engine.env import ActiveVisionEnv
from envs.engine.vector_env import vector_entry
from envs.families.rotation_world import RotationWorld
from envs.render.mesh_renderer import Mesh

__all__ = ["Rotation3DEnv", "make_vector", "check_kwargs"]


class Rotation3DEnv(ActiveVisionEnv):
    """Look at a 3D object (rendered in software) and turn it; every action is a relative rotation.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, 3)), last_action=Box(float32, (3,)))``: the rendered
    ``image_size``-pixel view seen through the retina fixating the image centre (pixel
    ``(image_size // 2, image_size // 2)``; scales > 1 see the background-coloured view
    zero-padded beyond its border), and the rotation vector actually applied, radians (zeros after ``reset``).

    ## Action
    ``Box(-1, 1, (3,), float32)``: a rotation vector (axis * angle) **in the camera frame** (x right,
    y down, z away from the viewer; see ``envs.render.mesh_renderer``) in units of ``max_angle`` radians: a
    norm over 1 is scaled down to 1 (same axis, never clipped per component), then multiplied by
    ``max_angle``. It is applied by left multiplication, ``q_new = exp(a) * q``: the object turns
    by ``|a|`` about the camera axis ``a / |a|`` whatever its current orientation, so
    ``a = log(q_new * q^-1)`` is the relative transformation from the current view to the next.
    The applied rotation vector, in radians, comes back as ``last_action``, and
    ``exp(last_action) * q_old`` is exactly the new state. (3DIEBench's loaders use the
    object-frame relative rotation ``q_old^-1 * q_new`` instead; the two are conjugate.)

    ## Reward
    0 (the env is a world-model data source; a task reward is left to wrappers).

    ## Episode
    ``reset`` picks an object (uniformly, or ``options={"index": i}``) and an orientation
    uniform on SO(3) (or ``options={"rotation": q}``). Truncated after ``max_steps`` steps;
    never terminated. A ``step`` after the end (or before any ``reset``) raises RuntimeError
    ("... call reset() before step()") and changes nothing.

    ## Info
    ``rotation`` float32 ``[4]``: the orientation (object -> camera) as a canonical unit
    quaternion ``(w, x, y, z)``, ``w >= 0``; ``relative_rotation`` float32 ``[4]``: ``q_t * q_0^-1``,
    the rotation from the episode's first view (canonical); ``label`` (object class, index into
    ``OBJECT_CLASSES``); ``index`` (object index); ``step``.

    ## Arguments
    ``objects`` (a sequence of ``envs.render.mesh_renderer.Mesh``; default ``make_objects(n_objects, seed)``),
    ``n_objects``, ``seed`` (object generation seed, not the episode seed), ``image_size`` (rendered
    side, default 64), ``glimpse_size`` (G, default ``image_size``), ``scales``, ``max_steps``, ``max_angle`` (radians per unit action, in (0, pi], default pi/2),
    ``projection`` ("perspective" | "orthographic"), ``background`` (RGB), ``supersample``
    (anti-aliasing), ``render_mode`` ("rgb_array" | "human"), ``render_scale``, ``colouring``
    ("random": each object's face groups get their own random colours, the default; "body": every
    face is coloured by its outward normal in the object's frame, one palette shared by all objects,
    so pose is visible without a per-object constant; ignored when ``objects`` is given).
    """

    def __init__(self, objects: Sequence[Mesh] | None = None, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(RotationWorld(1, objects, **kwargs), render_mode=render_mode)

    @property
    def rotation(self) -> np.ndarray:
        """The current orientation, float64 ``[4]`` (canonical quaternion, object -> camera)."""
        self._check_started()
        return self.world.q[0].copy()

    @property
    def view(self) -> np.ndarray:
        """The current rendered view, uint8 ``[image_size, image_size, 3]``."""
        self._check_started()
        return self.world.views[0]

    @property
    def object(self) -> Mesh:
        """The current object."""
        return self.world.objects[self.world.index[0]]


def check_kwargs(n: int, objects: Sequence[Mesh] | None = None, render_mode: str | None = None, **kwargs: Any) -> None:
    """Every keyword of ``Rotation3D-Shapes-v0`` (``n`` rows) checked; no object is made or rendered
    (:meth:`RotationWorld.check_keywords`)."""
    RotationWorld.check_keywords(n, **kwargs)


make_vector = vector_entry(RotationWorld)
