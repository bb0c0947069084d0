"""One record per registered id: everything the project knows of an id, in one place.

An :class:`EnvRecord` names an id's env class and native vector env (Gymnasium entry points), its
:class:`~envs.families.Family`, where its keywords are declared and checked, whether it is an
active-recognition task (and on which id's world), the pretraining data name that selects it and
its registered variants (Minigrid's way: an id of its own for a set of keywords). :data:`RECORDS`
lists them; :func:`register_envs` registers every record the way Minigrid registers its envs (a
loop calling ``gymnasium.register``). Registering a new id is appending a record; nothing reads a
property of an id from its position in a list or from its name.

Entry points are ``"module:attr"`` strings, imported only when used: importing this module
imports no env module (and no torch).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Mapping

from envs.families import PATH, ROTATION, SACCADE, Family

__all__ = ["EnvRecord", "RECORDS", "record_of", "registered_records", "register_envs", "add_record", "remove_record",
           "load_entry"]


@dataclass(frozen=True)
class EnvRecord:
    """A registered base id and what the project knows of it.

    Attributes:
        id: the Gymnasium id (``"Saccade-Scenes-v0"``).
        entry_point: ``"module:Class"`` of the single env (``gym.make``).
        vector_entry_point: ``"module:callable"`` of the native vector env (``gym.make_vec``).
        family: the :class:`Family` (episode-length keyword, state key, ...).
        check_kwargs: ``"module:callable"``, ``check(num_envs, **kwargs)``: every keyword of the id
            checked without loading, generating or rendering its data.
        keyword_sources: ``"module:callable"`` s whose parameters declare the id's own keywords and
            their defaults (its builder, then its World; a recognition task adds those of the id it
            is built on, see :func:`envs.env_keywords`).
        recognition_of: for an active-recognition task (the action adds class scores, the reward
            scores them), the id whose world it classifies; None for a plain world.
        dataset: the pretraining data name (``DataConfig.dataset``) whose sequences are this id's
            episodes; None if pretraining does not read it by name.
        data_splits: the pretraining splits (``DataConfig.split``) its data offers.
        split_names: pretraining split name -> the env's ``split`` keyword, where they differ.
        variants: registered variant id -> the keywords it sets (kept in ``gym.spec(id).kwargs``;
            a keyword passed to ``gym.make`` still overrides them).
    """

    id: str
    entry_point: str
    vector_entry_point: str
    family: Family
    check_kwargs: str
    keyword_sources: tuple[str, ...] = ()
    recognition_of: str | None = None
    dataset: str | None = None
    data_splits: tuple[str, ...] = ("train", "test")
    split_names: Mapping[str, str] = field(default_factory=dict, hash=False)
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:  # read-only views: a record is a constant
        object.__setattr__(self, "split_names", types.MappingProxyType(dict(self.split_names)))
        object.__setattr__(self, "variants", types.MappingProxyType(
            {k: types.MappingProxyType(dict(v)) for k, v in self.variants.items()}))

    @property
    def recognition(self) -> bool:
        """Whether the id is an active-recognition task (``recognition_of`` is set)."""
        return self.recognition_of is not None


_SACCADE_WORLD = "envs.families.saccade_world:SaccadeWorld.__init__"
_ROTATION_WORLD = "envs.families.rotation_world:RotationWorld.__init__"
_CLASSIFY_WORLD = "envs.families.classify_world:ClassifyWorld.__init__"
_SHAPES = {"style": "shapes", "max_objects": 3, "keep_inside": True, "glimpse_size": 16, "scales": (1, 3),
           "ior_radius": 8}  # the world-model benchmark ("shapes": per-scene look)

RECORDS: tuple[EnvRecord, ...] = (
    EnvRecord("Saccade-STL10-v0", "envs.families.saccade_stl10:SaccadeSTL10Env",
              "envs.families.saccade_stl10:make_vector", SACCADE, "envs.families.saccade_stl10:check_kwargs",
              ("envs.families.saccade_stl10:stl10_world", _SACCADE_WORLD),
              dataset="stl10", data_splits=("train", "test", "unlabeled", "train+unlabeled")),
    EnvRecord("Saccade-Scenes-v0", "envs.families.saccade_scenes:SaccadeScenesEnv",
              "envs.families.saccade_scenes:make_vector", SACCADE, "envs.families.saccade_scenes:check_kwargs",
              ("envs.families.saccade_scenes:scenes_world", _SACCADE_WORLD), dataset="scenes",
              variants={"Saccade-Shapes-v0": _SHAPES}),
    EnvRecord("PathIntegration-Scenes-v0", "envs.families.path_integration_env:PathIntegrationEnv",
              "envs.families.path_integration_env:make_vector", PATH, "envs.families.path_integration_env:check_kwargs",
              ("envs.families.path_world:PathWorld.__init__",), dataset="worlds",
              variants={"PathIntegration-Home-v0": {"reward": "home", "max_steps": 8, "max_step": 0.15,
                                                    "world_size": 128, "glimpse_size": 16}}),
    EnvRecord("Rotation3D-Shapes-v0", "envs.families.rotation3d_env:Rotation3DEnv",
              "envs.families.rotation3d_env:make_vector", ROTATION, "envs.families.rotation3d_env:check_kwargs",
              (_ROTATION_WORLD,), dataset="objects"),
    EnvRecord("Rotation3D-3DIEBench-v0", "envs.families.rotation_views_env:RotationViewsEnv",
              "envs.families.rotation_views_env:make_vector", ROTATION, "envs.families.rotation_views_env:check_kwargs",
              ("envs.families.views_world:views_world", "envs.families.views_world:ViewsWorld.__init__"),
              dataset="3diebench", split_names={"train": "train", "test": "val"}),
    EnvRecord("Saccade-Scenes-Classify-v0", "envs.families.classify_env:SaccadeScenesClassifyEnv",
              "envs.families.classify_env:make_scenes_vector", SACCADE, "envs.families.classify_env:check_scenes_kwargs",
              (_CLASSIFY_WORLD,), recognition_of="Saccade-Scenes-v0",
              variants={"Saccade-Shapes-Classify-v0": _SHAPES}),
    EnvRecord("Saccade-STL10-Classify-v0", "envs.families.classify_env:SaccadeSTL10ClassifyEnv",
              "envs.families.classify_env:make_stl10_vector", SACCADE,
              "envs.families.classify_env:check_stl10_kwargs", (_CLASSIFY_WORLD,), recognition_of="Saccade-STL10-v0"),
    EnvRecord("Rotation3D-Shapes-Classify-v0", "envs.families.classify_env:Rotation3DClassifyEnv",
              "envs.families.classify_env:make_objects_vector", ROTATION,
              "envs.families.classify_env:check_objects_kwargs", (_CLASSIFY_WORLD,),
              recognition_of="Rotation3D-Shapes-v0"),
)

_BY_ID = {r.id: r for r in RECORDS}
_VARIANT_OF = {v: r for r in RECORDS for v in r.variants}


def registered_records() -> tuple[EnvRecord, ...]:
    """Every record registered now: :data:`RECORDS`, then those added by :func:`add_record`."""
    return tuple(_BY_ID.values())


def add_record(record: EnvRecord) -> None:
    """Register one more id at run time (a world family defined outside this package, or a test's):
    ``gymnasium.register`` its id and variants, and :func:`record_of` (hence pretraining, the
    viewer and the keyword checks) knows it. ValueError if the id is taken."""
    from gymnasium.envs.registration import registry

    taken = [i for i in (record.id, *record.variants) if i in _BY_ID or i in _VARIANT_OF or i in registry]
    if taken:
        raise ValueError(f"ids already registered: {taken}")
    _BY_ID[record.id] = record
    _VARIANT_OF.update({v: record for v in record.variants})
    register_envs((record,))


def remove_record(env_id: str) -> None:
    """Undo :func:`add_record` for ``env_id`` (its variants too); the built-in records stay."""
    from gymnasium.envs.registration import registry

    record = _BY_ID.get(env_id)
    if record is None or record in RECORDS:
        raise ValueError(f"{env_id!r} is not an id added by add_record")
    for i in (record.id, *record.variants):
        _BY_ID.pop(i, None), _VARIANT_OF.pop(i, None), registry.pop(i, None)


def record_of(env_id: str) -> EnvRecord:
    """The record of a registered id of this package (a variant's: the record it is made from)."""
    record = (_BY_ID.get(env_id) or _VARIANT_OF.get(env_id)) if isinstance(env_id, str) else None
    if record is None:
        raise ValueError(f"env_id must be one of this package's ids {sorted(set(_BY_ID) | set(_VARIANT_OF))}, "
                         f"got {env_id!r}")
    return record


def load_entry(path: str) -> Any:
    """The object ``"module:attr.attr"`` names."""
    import importlib

    module, _, attrs = path.partition(":")
    obj: Any = importlib.import_module(module)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    return obj


def register_envs(records: tuple[EnvRecord, ...] = RECORDS) -> None:
    """``gymnasium.register`` every record's id, then its variants (ids already registered are kept).

    Episode lengths are keywords (``max_saccades`` / ``max_steps``) and the env truncates itself:
    the specs carry no ``max_episode_steps``, since Gymnasium's TimeLimit would cut a longer
    episode asked for by keyword.
    """
    from gymnasium.envs.registration import register, registry

    for r in records:
        if r.id not in registry:
            register(id=r.id, entry_point=r.entry_point, vector_entry_point=r.vector_entry_point,
                     max_episode_steps=None)
    for r in records:
        for variant, kwargs in r.variants.items():
            if variant not in registry:
                register(id=variant, entry_point=r.entry_point, vector_entry_point=r.vector_entry_point,
                         kwargs=dict(kwargs), max_episode_steps=None)
