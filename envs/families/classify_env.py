"""Active recognition ids: ``Saccade-Scenes-Classify-v0``, ``Saccade-STL10-Classify-v0`` and
``Rotation3D-Shapes-Classify-v0`` (the rotation world's task: name the object by turning it)."""

from __future__ import annotations

from typing import Any

from envs.engine.env import ActiveVisionEnv
from envs.engine.keywords import keyword_defaults
from envs.engine.vector_env import vector_entry
from envs.families.classify_world import ClassifyWorld
from envs.families.rotation3d_env import check_kwargs as objects_check_kwargs
from envs.families.rotation_world import RotationWorld
from envs.families.saccade_scenes import check_kwargs as scenes_check_kwargs
from envs.families.saccade_scenes import scenes_world
from envs.families.saccade_stl10 import check_kwargs as stl10_check_kwargs
from envs.families.saccade_stl10 import stl10_world

LABELED_STL10_SPLITS = ("train", "test")

__all__ = ["SaccadeScenesClassifyEnv", "SaccadeSTL10ClassifyEnv", "Rotation3DClassifyEnv", "classify_scenes_world",
           "classify_stl10_world", "classify_objects_world", "make_scenes_vector", "make_stl10_vector",
           "make_objects_vector", "check_scenes_kwargs", "check_stl10_kwargs", "check_objects_kwargs"]


def check_scenes_kwargs(n: int, **kwargs: Any) -> None:
    """Every keyword of ``Saccade-Scenes-Classify-v0`` checked; nothing generated."""
    scenes_check_kwargs(n, **ClassifyWorld.split_keywords(kwargs)[1])


def check_stl10_kwargs(n: int, **kwargs: Any) -> None:
    """Every keyword of ``Saccade-STL10-Classify-v0`` checked (a labelled ``split``); STL-10 is not opened."""
    split = kwargs.get("split", keyword_defaults(stl10_world)["split"])
    if split not in LABELED_STL10_SPLITS:
        raise ValueError(f"split must be one of {LABELED_STL10_SPLITS} (active recognition needs a labelled "
                         f"split), got {split!r}")
    stl10_check_kwargs(n, **ClassifyWorld.split_keywords(kwargs)[1])


def check_objects_kwargs(n: int, **kwargs: Any) -> None:
    """Every keyword of ``Rotation3D-Shapes-Classify-v0`` checked; no object is made."""
    objects_check_kwargs(n, **ClassifyWorld.split_keywords(kwargs)[1])


def classify_scenes_world(n: int, **kwargs: Any) -> ClassifyWorld:
    """Active recognition over the embedded scenes (``n`` rows; ``kwargs``: ``logit_scale`` and
    ``Saccade-Scenes-v0``'s)."""
    own, inner = ClassifyWorld.split_keywords(kwargs)  # checked before the scenes are made
    return ClassifyWorld(scenes_world(n, **inner), **own)


def classify_stl10_world(n: int, **kwargs: Any) -> ClassifyWorld:
    """Active recognition over STL-10's labelled splits (``n`` rows; ``kwargs``: ``logit_scale`` and
    ``Saccade-STL10-v0``'s). Every keyword is checked before the images are opened or their saliency computed."""
    check_stl10_kwargs(n, **kwargs)
    own, inner = ClassifyWorld.split_keywords(kwargs)
    return ClassifyWorld(stl10_world(n, **inner), **own)


def classify_objects_world(n: int, **kwargs: Any) -> ClassifyWorld:
    """Active recognition of rotating 3D objects (``n`` rows; ``kwargs``: ``logit_scale`` and
    ``Rotation3D-Shapes-v0``'s)."""
    own, inner = ClassifyWorld.split_keywords(kwargs)  # checked before the objects are rendered
    return ClassifyWorld(RotationWorld(n, **inner), **own)


class SaccadeScenesClassifyEnv(ActiveVisionEnv):
    """Find out which class a scene shows by looking around (ap_gym's active classification).

    ## Observation
    As ``Saccade-Scenes-v0``: ``Dict(glimpse=Box(uint8, (S, G, G, C)), last_action=Box(float32, (2,)))``.

    ## Action
    ``Box(-1, 1, (2 + K,), float32)``: the saccade ``(d_row, d_col)`` followed by ``K`` class scores
    (K = 10 for the scenes); ``logit_scale * scores`` are the class logits of the prediction made
    with the glimpses seen so far (before the view this saccade leads to).

    ## Reward
    Every step: ``log softmax(logit_scale * scores)[label]``, the negative cross-entropy of the
    prediction (0 when sure and right, ``-log K`` when uniform): informative fixations pay
    because they make better predictions possible.

    ## Episode
    As ``Saccade-Scenes-v0`` (truncated after ``max_saccades`` saccades, default 4); a
    ``step`` after the end (or before any ``reset``) raises RuntimeError
    ("... call reset() before step()") and changes nothing.

    ## Info
    ``Saccade-Scenes-v0``'s, plus ``prediction`` (argmax class of the last scores, -1 after reset),
    ``correct`` and, on the last step only, ``accuracy`` (1.0 or 0.0 for the final prediction; the single
    env's info has no ``accuracy`` key before; a vector env reports 0.0 there with ``infos["_accuracy"]``
    False, Gymnasium's mask of the rows that report it).

    ## Arguments
    ``logit_scale`` (in (0, 100], default 5); every ``Saccade-Scenes-v0`` keyword.
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(classify_scenes_world(1, **kwargs), render_mode=render_mode)


class SaccadeSTL10ClassifyEnv(ActiveVisionEnv):
    """Active recognition over STL-10 (see ``SaccadeScenesClassifyEnv``; K = 10 classes;
    ``split`` must be labelled: "train" or "test"). Every ``Saccade-STL10-v0`` keyword, plus ``logit_scale``."""

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(classify_stl10_world(1, **kwargs), render_mode=render_mode)


class Rotation3DClassifyEnv(ActiveVisionEnv):
    """Recognise a 3D object by turning it (see ``SaccadeScenesClassifyEnv``): the action is a
    normalised rotation vector (``Rotation3D-Shapes-v0``'s) followed by 10 class scores; the reward
    is the log-probability of the object's class. Every ``Rotation3D-Shapes-v0`` keyword, plus
    ``logit_scale``."""

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(classify_objects_world(1, **kwargs), render_mode=render_mode)


make_scenes_vector = vector_entry(classify_scenes_world, priority_info=False)
make_objects_vector = vector_entry(classify_objects_world)
make_stl10_vector = vector_entry(classify_stl10_world, priority_info=False)
