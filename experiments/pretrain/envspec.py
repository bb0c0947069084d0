"""The Gymnasium environment a pretraining data config describes: ``env_spec(data) -> (env_id, kwargs)``.

Below the config (which imports this module, never the reverse): the pretraining data names
(:data:`DATASETS`) and their splits are read from the ids' records (``envs.RECORDS``), so a new
world is pretrained by name once its record names a ``dataset``.

``gym.make(env_id, **kwargs)`` then shows the world the sequence source cut its training
sequences from (same images, retina, saliency and inhibition of return; one episode = one
training sequence). The mapping is derived, not hand-listed: every :class:`DataConfig` field
whose name (after :data:`RENAMED`) is one of the env's keywords (:func:`envs.env_keywords`) is
forwarded, so a field added to both
``DataConfig`` and the env flows through on its own.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import envs

__all__ = ["env_spec", "ENV_IDS", "DATASETS", "dataset_ids", "data_splits", "RENAMED", "env_parameters"]


def dataset_ids() -> dict[str, str]:
    """``data.dataset`` name -> registered id, for every record that names one (an id added at run
    time by ``envs.add_record`` included)."""
    return {r.dataset: r.id for r in envs.registered_records() if r.dataset is not None}


def data_splits(dataset: str) -> tuple[str, ...]:
    """The ``data.split`` values the data of ``dataset`` offers (its record's ``data_splits``)."""
    return envs.record_of(dataset_ids()[dataset]).data_splits


ENV_IDS = dataset_ids()   # the built-in names (data.dataset -> id) when this module was imported
DATASETS = tuple(ENV_IDS)
TEST_SEED_OFFSET = 1000  # generated worlds / objects: the test split is generated from seed + this
RENAMED = {"scene_style": "style", "fixation_mode": "first_fixation"}   # DataConfig name -> env keyword
# Fields that describe how batches are made, not the world: never forwarded.
NOT_ENV = ("dataset", "seq_len", "batch_size", "prefetch", "epoch_size", "env_kwargs", "policy", "uniform_weight",
           "periphery")


def env_parameters(env_id: str) -> dict[str, inspect.Parameter]:
    """Keyword parameters the registered env ``env_id`` accepts (:func:`envs.env_keywords`)."""
    return envs.env_keywords(env_id)


def env_spec(data: Any) -> tuple[str, dict[str, Any]]:
    """``(env_id, kwargs)`` of the env whose episodes are the training sequences of ``data`` (an
    ``experiments.pretrain.config.DataConfig``).

    ``data.dataset`` picks the id (:data:`ENV_IDS`, the record whose ``dataset`` it is); ``seq_len`` becomes the episode length
    (``max_saccades`` or ``max_steps`` = ``seq_len - 1``); ``scene_style`` -> ``style`` and
    ``fixation_mode`` -> ``first_fixation``; other fields go by name where the env accepts them,
    then ``data.env_kwargs`` (each key must be one the env accepts). For generated worlds and
    objects the ``test`` split is generated from ``seed + TEST_SEED_OFFSET``. A None meaning
    "the default" (e.g. ``n_train``) is left out where the env's own default is not None; lists
    become tuples (``scales``).
    """
    ids = dataset_ids()
    if data.dataset not in ids:
        raise ValueError(f"data.dataset must be one of {tuple(ids)}, got {data.dataset!r}")
    env_id = ids[data.dataset]
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
    extra = dict(data.env_kwargs or {})
    unknown = sorted(set(extra) - set(accepted))
    if unknown:
        raise ValueError(f"data.env_kwargs has keys {unknown} that {env_id} does not take; "
                         f"allowed: {sorted(accepted)}")
    # a keyword a data field sets is set there only: through env_kwargs it would bypass the field's checks
    # and reach the training source but not the evaluation (data.split, n_train, glimpse_size, ...)
    owned = {RENAMED.get(f.name, f.name): f.name for f in dataclasses.fields(data) if f.name not in NOT_ENV}
    for key in sorted(extra):
        if key in owned:
            raise ValueError(f"data.env_kwargs sets {key!r}, which data.{owned[key]} sets: set data.{owned[key]} "
                             f"instead")
        if key in {family.length_kwarg for family in envs.FAMILIES.values()}:
            raise ValueError(f"data.env_kwargs sets {key!r}, the episode length, which data.seq_len sets "
                             f"(episodes of seq_len - 1 steps): set data.seq_len instead")
    kwargs.update({k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()})
    kwargs[envs.family_of(env_id).length_kwarg] = data.seq_len - 1
    split_names = envs.record_of(env_id).split_names
    if split_names and "split" in kwargs:
        kwargs["split"] = split_names[kwargs["split"]]
    if "split" not in accepted and "seed" in accepted and data.split == "test":
        kwargs["seed"] = int(kwargs.get("seed", accepted["seed"].default)) + TEST_SEED_OFFSET
    return env_id, kwargs
