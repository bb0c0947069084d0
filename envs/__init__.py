"""Gymnasium environments of the saccade simulator.

``import envs`` registers the ids below; ``gym.make("envs:Saccade-STL10-v0")`` does the import
itself. Importing this package does not import torch.
"""

from typing import Any

from gymnasium.envs.registration import register, registry

from envs.families import FAMILIES, Family

__all__ = ["ENV_IDS", "SACCADE_IDS", "CLASSIFY_IDS", "VARIANTS", "base_id", "family_of", "check_env_kwargs", "env_keywords", "Family", "FAMILIES"]

ENV_IDS = ("Saccade-STL10-v0", "Saccade-Scenes-v0", "PathIntegration-Scenes-v0", "Rotation3D-Shapes-v0",
           "Rotation3D-3DIEBench-v0", "Saccade-Scenes-Classify-v0", "Saccade-STL10-Classify-v0",
           "Rotation3D-Shapes-Classify-v0")
SACCADE_IDS = ENV_IDS[:2]  # base ids; VARIANTS below adds ids made of a base id and keywords
CLASSIFY_IDS = ENV_IDS[5:]  # active recognition: the action adds class scores, the reward scores them

_ENTRY_POINTS = {
    "Saccade-STL10-v0": "envs.saccade_stl10:SaccadeSTL10Env",
    "Saccade-Scenes-v0": "envs.saccade_scenes:SaccadeScenesEnv",
    "PathIntegration-Scenes-v0": "envs.path_integration_env:PathIntegrationEnv",
    "Rotation3D-Shapes-v0": "envs.rotation3d_env:Rotation3DEnv",
    "Rotation3D-3DIEBench-v0": "envs.rotation_views_env:RotationViewsEnv",
    "Saccade-Scenes-Classify-v0": "envs.classify_env:SaccadeScenesClassifyEnv",
    "Saccade-STL10-Classify-v0": "envs.classify_env:SaccadeSTL10ClassifyEnv",
    "Rotation3D-Shapes-Classify-v0": "envs.classify_env:Rotation3DClassifyEnv",
}

_VECTOR_ENTRY_POINTS = {
    "Saccade-STL10-v0": "envs.saccade_stl10:make_vector",
    "Saccade-Scenes-v0": "envs.saccade_scenes:make_vector",
    "PathIntegration-Scenes-v0": "envs.path_integration_env:make_vector",
    "Rotation3D-Shapes-v0": "envs.rotation3d_env:make_vector",
    "Rotation3D-3DIEBench-v0": "envs.rotation_views_env:make_vector",
    "Saccade-Scenes-Classify-v0": "envs.classify_env:make_scenes_vector",
    "Saccade-STL10-Classify-v0": "envs.classify_env:make_stl10_vector",
    "Rotation3D-Shapes-Classify-v0": "envs.classify_env:make_objects_vector",
}

# What checks the keywords of every base id without building data (``check_env_kwargs``).
_KWARG_CHECKS = {
    "Saccade-STL10-v0": "envs.saccade_stl10:check_kwargs",
    "Saccade-Scenes-v0": "envs.saccade_scenes:check_kwargs",
    "PathIntegration-Scenes-v0": "envs.path_integration_env:check_kwargs",
    "Rotation3D-Shapes-v0": "envs.rotation3d_env:check_kwargs",
    "Rotation3D-3DIEBench-v0": "envs.rotation_views_env:check_kwargs",
    "Saccade-Scenes-Classify-v0": "envs.classify_env:check_scenes_kwargs",
    "Saccade-STL10-Classify-v0": "envs.classify_env:check_stl10_kwargs",
    "Rotation3D-Shapes-Classify-v0": "envs.classify_env:check_objects_kwargs",
}

# Where the keywords of every base id are declared: the parameters of these callables (their ``**kwargs``
# go on to the next one); ``env_keywords`` reads them.
_SACCADE_WORLD = "envs.saccade_world:SaccadeWorld.__init__"
_KEYWORD_SOURCES = {
    "Saccade-STL10-v0": ("envs.saccade_stl10:check_kwargs", _SACCADE_WORLD),
    "Saccade-Scenes-v0": ("envs.saccade_scenes:check_kwargs", _SACCADE_WORLD),
    "PathIntegration-Scenes-v0": ("envs.path_integration_env:check_kwargs", "envs.path_world:PathWorld.__init__"),
    "Rotation3D-Shapes-v0": ("envs.rotation3d_env:check_kwargs", "envs.rotation_world:RotationWorld.__init__"),
    "Rotation3D-3DIEBench-v0": ("envs.rotation_views_env:check_kwargs",),
    "Saccade-Scenes-Classify-v0": ("envs.classify_env:check_scenes_kwargs", "envs.saccade_scenes:check_kwargs",
                                   _SACCADE_WORLD),
    "Saccade-STL10-Classify-v0": ("envs.classify_env:check_stl10_kwargs", "envs.saccade_stl10:check_kwargs",
                                  _SACCADE_WORLD),
    "Rotation3D-Shapes-Classify-v0": ("envs.classify_env:check_objects_kwargs", "envs.rotation3d_env:check_kwargs",
                                      "envs.rotation_world:RotationWorld.__init__"),
}
_NOT_KEYWORDS = ("self", "n", "dataset", "objects", "bank", "render_mode")

# The family of every base id (the registration module is the one place that knows ids).
_FAMILY_OF = {
    "Saccade-STL10-v0": "saccade", "Saccade-Scenes-v0": "saccade", "Saccade-Scenes-Classify-v0": "saccade",
    "Saccade-STL10-Classify-v0": "saccade", "PathIntegration-Scenes-v0": "path", "Rotation3D-Shapes-v0": "rotation",
    "Rotation3D-3DIEBench-v0": "rotation", "Rotation3D-Shapes-Classify-v0": "rotation",
}

_SHAPES = {"style": "shapes", "max_objects": 3, "keep_inside": True, "glimpse_size": 16, "scales": (1, 3),
           "ior_radius": 8}
# Registered variants (Minigrid's way): an id of its own for a set of keywords, kept in the spec
# (``gym.spec(id).kwargs``); any keyword passed to ``gym.make`` still overrides them.
VARIANTS = {
    "Saccade-Shapes-v0": ("Saccade-Scenes-v0", _SHAPES),  # the world-model benchmark ("shapes": per-scene look)
    "Saccade-Shapes-Classify-v0": ("Saccade-Scenes-Classify-v0", _SHAPES),
    "PathIntegration-Home-v0": ("PathIntegration-Scenes-v0", {"reward": "home", "max_steps": 8, "max_step": 0.15,
                                                              "world_size": 128, "glimpse_size": 16}),
}


def base_id(env_id: str) -> str:
    """The id a registered variant is made from (itself for a base id)."""
    return VARIANTS[env_id][0] if env_id in VARIANTS else env_id


def family_of(env_id: str) -> Family:
    """The :class:`Family` of a registered id of this package (without building the env)."""
    name = _FAMILY_OF.get(base_id(env_id)) if isinstance(env_id, str) else None
    if name is None:
        raise ValueError(f"env_id must be one of this package's ids {sorted(set(_FAMILY_OF) | set(VARIANTS))}, "
                         f"got {env_id!r}")
    return FAMILIES[name]


def _load(path: str) -> Any:
    """The object ``"module:attr.attr"`` names."""
    import importlib

    module, _, attrs = path.partition(":")
    obj: Any = importlib.import_module(module)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    return obj


def env_keywords(env_id: str) -> dict[str, Any]:
    """The keyword parameters (``inspect.Parameter``, with their defaults) ``gym.make(env_id, ...)``
    and ``gym.make_vec(env_id, n, ...)`` accept, besides ``render_mode``."""
    import inspect

    family_of(env_id)  # an id of this package
    params: dict[str, Any] = {}
    for source in _KEYWORD_SOURCES[base_id(env_id)]:
        for name, p in inspect.signature(_load(source)).parameters.items():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in _NOT_KEYWORDS:
                params.setdefault(name, p)
    return params


def check_env_kwargs(env_id: str, num_envs: int = 1, **kwargs: Any) -> None:
    """Check the keywords ``gym.make(env_id, **kwargs)`` / ``gym.make_vec(env_id, num_envs, **kwargs)``
    would get (a registered variant's own keywords included), with the env's own rules, without
    loading, generating or rendering its data: ValueError / TypeError naming the keyword otherwise."""
    family_of(env_id)  # an id of this package
    check = _load(_KWARG_CHECKS[base_id(env_id)])
    merged = {**(VARIANTS[env_id][1] if env_id in VARIANTS else {}), **kwargs}
    check(num_envs, **merged)


# Episode lengths are keywords (max_saccades / max_steps), and the env truncates itself: the specs
# carry no max_episode_steps, since Gymnasium's TimeLimit would cut a longer episode asked for by keyword.
for _env_id, _entry_point in _ENTRY_POINTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, vector_entry_point=_VECTOR_ENTRY_POINTS.get(_env_id),
                 max_episode_steps=None)
for _env_id, (_base, _kwargs) in VARIANTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_ENTRY_POINTS[_base], vector_entry_point=_VECTOR_ENTRY_POINTS[_base],
                 kwargs=dict(_kwargs), max_episode_steps=None)
