"""``RotationViewsEnv``: a 3DIEBench-format folder as a rotation world (``Rotation3D-3DIEBench-v0``)."""

from __future__ import annotations

from typing import Any

from envs.engine.env import ActiveVisionEnv
from envs.engine.keywords import keyword_defaults
from envs.engine.vector_env import vector_entry
from envs.families.views_world import ViewsWorld, views_world

__all__ = ["RotationViewsEnv", "make_vector", "check_kwargs"]


class RotationViewsEnv(ActiveVisionEnv):
    """Objects seen from their pre-rendered views; every action is a relative rotation.

    ## Observation
    ``Dict(glimpse=Box(uint8, (S, G, G, 3)), last_action=Box(float32, (3,)))``: the shown view
    through the retina fixating its centre, and the rotation vector actually made (radians).

    ## Action
    ``Box(-1, 1, (3,), float32)``: a rotation vector in units of ``max_angle`` (default pi: a
    norm over 1 is scaled to 1). The object is shown from its stored view nearest (geodesically)
    to ``exp(a) * q``; ``last_action = log(q_new * q_old^-1)`` is the relative rotation between
    the two views, exactly.

    ## Episode
    ``reset`` picks an object (uniformly, or ``options={"index": i}``) and a view (uniformly, or
    ``options={"view": v}``). Truncated after ``max_steps`` steps; never terminated; reward 0. A
    ``step`` after the end (or before any ``reset``) raises RuntimeError
    ("... call reset() before step()") and changes nothing.

    ## Info
    ``rotation`` float32 ``[4]`` (the view's orientation, canonical quaternion), ``relative_rotation``
    (from the first view), ``label`` (class), ``index`` (object), ``view``, ``step``.

    ## Arguments
    ``folder``: a folder ``<synset>/<object>/image_<i>.jpg`` + ``latent_<i>.npy`` (3DIEBench's
    layout; default ``<root>/3DIEBench``, ``root`` defaulting to ``$SACCADE_DATA`` else
    ``~/.cache/saccade``), ``split`` (None: every object; ``"train"``/``"val"``: the object lists
    ``<split>_images.npy`` of the SIE release), ``image_size`` (default 64), ``object_limit`` (the first objects only),
    ``views`` (first views per object), ``glimpse_size``, ``scales``, ``max_steps``,
    ``max_angle``, ``render_mode``, ``render_scale``; or ``bank`` (an ``envs.datasets.views3d.ViewBank``,
    e.g. ``ViewBank.from_meshes``) instead of a folder.
    """

    def __init__(self, render_mode: str | None = None, bank: Any = None, **kwargs: Any) -> None:
        world = ViewsWorld(1, bank, **kwargs) if bank is not None else views_world(1, **kwargs)
        super().__init__(world, render_mode=render_mode)


def check_kwargs(n: int, render_mode: str | None = None, **kwargs: Any) -> None:
    """The keywords of ``Rotation3D-3DIEBench-v0`` that do not need the folder, checked (the folder,
    its split and its views are checked when the env opens it; the defaults: :func:`views_world`'s)."""
    own = keyword_defaults(views_world, ("n",))
    image_size = kwargs.get("image_size", own["image_size"])
    ViewsWorld.check_keywords(n, image_size, **{k: v for k, v in kwargs.items() if k not in own})


make_vector = vector_entry(views_world)
