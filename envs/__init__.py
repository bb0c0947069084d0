"""Gymnasium environments of the saccade simulator.

``import envs`` registers every id of :data:`envs.records.RECORDS` (one record per id: entry
points, family, keyword sources, recognition task, variants); ``gym.make("envs:Saccade-STL10-v0")``
does the import itself. Importing this package does not import torch.
"""

from typing import Any

from envs.families import FAMILIES, Family
from envs.records import (
    RECORDS,
    EnvRecord,
    add_record,
    load_entry,
    record_of,
    register_envs,
    registered_records,
    remove_record,
)

__all__ = ["ENV_IDS", "VARIANTS", "RECORDS", "EnvRecord", "record_of", "registered_records", "add_record",
           "remove_record", "base_id", "family_of",
           "check_env_kwargs", "env_keywords", "Family", "FAMILIES"]

ENV_IDS = tuple(r.id for r in RECORDS)  # base ids; VARIANTS below adds ids made of a base id and keywords
# Registered variants: variant id -> (the base id it is made from, the keywords it sets).
VARIANTS = {v: (r.id, dict(kwargs)) for r in RECORDS for v, kwargs in r.variants.items()}

_NOT_KEYWORDS = ("self", "n", "dataset", "objects", "bank", "inner", "render_mode")


def base_id(env_id: str) -> str:
    """The id a registered variant is made from (itself for a base id)."""
    try:
        return record_of(env_id).id
    except ValueError:  # not an id of this package
        return env_id


def family_of(env_id: str) -> Family:
    """The :class:`Family` of a registered id of this package (without building the env)."""
    return record_of(env_id).family


def _keyword_sources(record: EnvRecord) -> tuple[str, ...]:
    """The callables declaring ``record``'s keywords: its own sources, then (a recognition task)
    those of the id it is built on."""
    inner = _keyword_sources(record_of(record.recognition_of)) if record.recognition else ()
    return (*record.keyword_sources, *inner)


def env_keywords(env_id: str) -> dict[str, Any]:
    """The keyword parameters (``inspect.Parameter``, with their defaults) ``gym.make(env_id, ...)``
    and ``gym.make_vec(env_id, n, ...)`` accept, besides ``render_mode``."""
    import inspect

    params: dict[str, Any] = {}
    for source in _keyword_sources(record_of(env_id)):
        for name, p in inspect.signature(load_entry(source)).parameters.items():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in _NOT_KEYWORDS:
                params.setdefault(name, p)
    return params


def check_env_kwargs(env_id: str, num_envs: int = 1, **kwargs: Any) -> None:
    """Check the keywords ``gym.make(env_id, **kwargs)`` / ``gym.make_vec(env_id, num_envs, **kwargs)``
    would get (a registered variant's own keywords included), with the env's own rules, without
    loading, generating or rendering its data: ValueError / TypeError naming the keyword otherwise."""
    record = record_of(env_id)
    check = load_entry(record.check_kwargs)
    merged = {**record.variants.get(env_id, {}), **kwargs}
    check(num_envs, **merged)


register_envs()
