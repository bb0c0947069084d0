"""The env families: what outside code needs to know of each (this module), and each family's world and envs.

The modules of this package are the families themselves: a ``World`` subclass (``saccade_world``,
``path_world``, ``rotation_world``, ``views_world``; ``classify_world`` adds class scores to any labelled
world) and the env classes over it (``saccade_env`` with ``saccade_scenes`` / ``saccade_stl10``,
``path_integration_env``, ``rotation3d_env``, ``rotation_views_env``, ``classify_env``), built on
:mod:`envs.engine`. Importing this module imports none of them.

A :class:`Family` names the facts pretraining, evaluation, RL and the benchmarks read from a
family: its episode-length keyword and the ``info`` key of its absolute state. Every ``World``
subclass carries its family (``World.family``); :func:`envs.family_of` gives the family of a
registered id without building the env. The default batched agent of a family lives above
``envs/``, in ``agents.default_agent``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Family", "FAMILIES", "SACCADE", "PATH", "ROTATION"]


@dataclass(frozen=True)
class Family:
    """One env family.

    ``name``: ``"saccade"``, ``"path"`` or ``"rotation"``; ``length_kwarg``: the env keyword of
    the episode length (steps); ``state_key``: the ``info`` key of the absolute state
    (``position`` ``[2]`` or ``rotation`` quaternion ``[4]``); ``batch_key``: the key of that state
    stacked over a training batch (``positions`` ``[B, T, 2]`` / ``rotations`` ``[B, T, 4]``);
    ``state_dim``: the size of the state.
    """

    name: str
    length_kwarg: str
    state_key: str
    batch_key: str
    state_dim: int


SACCADE = Family("saccade", "max_saccades", "position", "positions", 2)
PATH = Family("path", "max_steps", "position", "positions", 2)
ROTATION = Family("rotation", "max_steps", "rotation", "rotations", 4)
FAMILIES = {f.name: f for f in (SACCADE, PATH, ROTATION)}
