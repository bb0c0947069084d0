"""Gymnasium environments of the saccade simulator.

``import envs`` registers the ids below; ``gym.make("envs:Saccade-STL10-v0")`` does the import
itself. Importing this package does not import torch.
"""

from gymnasium.envs.registration import register, registry

from envs.families import FAMILIES, Family

__all__ = ["ENV_IDS", "SACCADE_IDS", "CLASSIFY_IDS", "VARIANTS", "base_id", "family_of", "Family", "FAMILIES"]

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
    "Saccade-Shapes-v0": ("Saccade-Scenes-v0", _SHAPES),  # the world-model benchmark (the quick start's)
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
