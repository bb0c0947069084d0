"""The Gymnasium environment a pretraining data config describes: ``env_spec(data) -> (env_id, kwargs)``.

``gym.make(env_id, **kwargs)`` then shows the world the sequence source cut its training
sequences from (same images, retina, saliency and inhibition of return; one episode = one
training sequence). The mapping is derived, not hand-listed: every :class:`DataConfig` field
whose name (after :data:`RENAMED`) is a keyword argument of the env class's ``__init__`` (or of
the base classes it passes ``**kwargs`` on to) is forwarded, so a field added to both
``DataConfig`` and the env flows through on its own.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from experiments.pretrain.config import DataConfig

__all__ = ["env_spec", "ENV_IDS", "RENAMED", "env_parameters"]

ENV_IDS = {"scenes": "Saccade-Scenes-v0", "stl10": "Saccade-STL10-v0"}  # data.dataset -> registered id
RENAMED = {"scene_style": "style", "fixation_mode": "first_fixation"}   # DataConfig name -> env keyword
# Fields that describe how batches are made, not the world: never forwarded.
NOT_ENV = ("dataset", "seq_len", "batch_size", "prefetch")


def env_parameters(env_id: str) -> dict[str, inspect.Parameter]:
    """Keyword parameters the registered env ``env_id`` accepts: its ``__init__``'s and, while an
    ``__init__`` takes ``**kwargs``, those of its base classes (``self`` and ``dataset`` left out)."""
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    import envs  # noqa: F401 - registers the ids

    entry = gym.spec(env_id).entry_point
    cls = load_env_creator(entry) if isinstance(entry, str) else entry
    params: dict[str, inspect.Parameter] = {}
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        more = False
        for name, p in inspect.signature(init).parameters.items():
            if p.kind is p.VAR_KEYWORD:
                more = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in ("self", "dataset"):
                params.setdefault(name, p)
        if not more:
            break
    return params


def env_spec(data: DataConfig) -> tuple[str, dict[str, Any]]:
    """``(env_id, kwargs)`` of the env whose episodes are the training sequences of ``data``.

    ``data.dataset`` picks the id (:data:`ENV_IDS`); ``seq_len`` becomes ``max_saccades =
    seq_len - 1`` (an episode of ``seq_len`` views); ``scene_style`` -> ``style`` and
    ``fixation_mode`` -> ``first_fixation``; other fields go by name where the env accepts them.
    A None meaning "the default" (e.g. ``n_train``) is left out where the env's own default is
    not None; lists become tuples (``scales``).
    """
    if data.dataset not in ENV_IDS:
        raise ValueError(f"data.dataset must be one of {tuple(ENV_IDS)}, got {data.dataset!r}")
    env_id = ENV_IDS[data.dataset]
    accepted = env_parameters(env_id)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(data):
        if f.name in NOT_ENV:
            continue
        name = RENAMED.get(f.name, f.name)
        if name not in accepted:
            continue
        value = getattr(data, f.name)
        if value is None and accepted[name].default is not None:
            continue  # None = "the default" here, but not a value the env takes
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    if "max_saccades" in accepted:
        kwargs["max_saccades"] = data.seq_len - 1
    return env_id, kwargs
