"""Does a checkpoint belong to an env's world? One-line errors before any work.

A world is compared through what the model depends on: the base world (the registered id the env
is built on, with a recognition task traced back to the world it classifies: ``Saccade-Shapes-
Classify-v0`` is ``Saccade-Scenes-v0``), the family, the retina geometry ``(S, G, C)`` of one
glimpse and the size ``A`` of ``last_action``. Checkpoint metadata is read from disk: untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import envs

__all__ = ["WorldSignature", "signature_of_id", "signature_of_world", "check_checkpoint_world", "base_world"]


@dataclass(frozen=True)
class WorldSignature:
    """What a world model depends on; ``None`` = unknown (not compared)."""

    base: str | None                               # base world id (recognition traced back), e.g. "Saccade-Scenes-v0"
    family: str | None                             # family name ("saccade", ...)
    glimpse: tuple[int | None, int | None, int | None]  # (S, G, C) of one glimpse
    action_dim: int | None                         # A of last_action

    def describe(self) -> str:
        s, g, c = self.glimpse
        shape = "x".join("?" if v is None else str(v) for v in (s, g, g, c))
        return (f"{self.base or 'an unknown world'} (glimpses [S, G, G, C] = {shape}, "
                f"actions of {'?' if self.action_dim is None else self.action_dim})")


def base_world(env_id: str) -> str:
    """The base id of ``env_id``: a variant's base, a recognition task's inner world (ValueError if not ours)."""
    record = envs.record_of(env_id)
    if record.recognition_of is not None:
        record = envs.record_of(record.recognition_of)
    return record.id


def signature_of_id(env_id: str, env_kwargs: Mapping[str, Any] | None = None, channels: int | None = None,
                    action_dim: int | None = None) -> WorldSignature:
    """The signature of ``gym.make(env_id, **env_kwargs)`` read from its registration (nothing built):
    ``glimpse_size`` and ``scales`` from the keywords, the variant's, then the defaults."""
    keywords = envs.env_keywords(env_id)
    merged: dict[str, Any] = {}
    for name in ("glimpse_size", "scales"):
        default = getattr(keywords.get(name), "default", None)
        if default is not None and default is not getattr(keywords.get(name), "empty", object()):
            merged[name] = default
    merged.update(envs.VARIANTS.get(env_id, (None, {}))[1])
    merged.update(dict(env_kwargs or {}))
    g, scales = merged.get("glimpse_size"), merged.get("scales")
    s = len(scales) if isinstance(scales, (tuple, list)) else None
    g = int(g) if isinstance(g, int) and not isinstance(g, bool) else None
    return WorldSignature(base_world(env_id), envs.family_of(env_id).name, (s, g, channels), action_dim)


def signature_of_world(world: Any, env_id: str | None = None) -> WorldSignature:
    """The signature of a live world (``venv.world``), its base id from ``env_id`` where known."""
    s, g, _, c = world.glimpse_shape
    base = None
    if isinstance(env_id, str):
        try:
            base = base_world(env_id)
        except ValueError:  # not one of ours: compared on the rest
            base = None
    return WorldSignature(base, world.family.name, (int(s), int(g), int(c)), int(world.transform_dim))


def check_checkpoint_world(meta: Mapping[str, Any] | None, in_channels: int, action_dim: int,
                           world: WorldSignature, name: str = "model") -> None:
    """ValueError naming ``name`` unless the checkpoint (``meta`` as ``seqjepa.load_pretrained`` returns it,
    ``None`` for a bare model: only the sizes are compared) fits ``world``."""
    s, _, c = world.glimpse
    if s is not None and c is not None and s * c != in_channels:
        raise ValueError(f"{name}: the model reads {in_channels} input channels, but the env's glimpses have "
                         f"S*C = {s}*{c} = {s * c} ({world.describe()}); use a checkpoint of this world")
    if world.action_dim is not None and action_dim != world.action_dim:
        raise ValueError(f"{name}: the model takes actions of {action_dim}, but the env's last_action has "
                         f"{world.action_dim} ({world.describe()}); use a checkpoint of this world")
    if meta is None:
        return
    env_id = meta.get("env_id")
    kwargs = meta.get("env_kwargs")
    try:
        if not isinstance(env_id, str) or not isinstance(kwargs, Mapping):
            raise ValueError("no env id and keywords")
        ckpt = signature_of_id(env_id, kwargs, None, action_dim)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: the checkpoint's world {env_id!r:.80} is not one of this package's envs "
                         f"({' '.join(str(exc).split())[:120]})") from None
    if ckpt.glimpse[0] is not None and ckpt.glimpse[0] and in_channels % ckpt.glimpse[0] == 0:
        ckpt = WorldSignature(ckpt.base, ckpt.family, (ckpt.glimpse[0], ckpt.glimpse[1],
                                                       in_channels // ckpt.glimpse[0]), action_dim)
    differ = [what for what, a, b in (("world", ckpt.base, world.base), ("family", ckpt.family, world.family),
                                      ("retina scales", ckpt.glimpse[0], world.glimpse[0]),
                                      ("glimpse size", ckpt.glimpse[1], world.glimpse[1]),
                                      ("channels", ckpt.glimpse[2], world.glimpse[2]))
              if a is not None and b is not None and a != b]
    if differ:
        raise ValueError(f"{name}: the checkpoint was trained on {ckpt.describe()}, not on this env's world "
                         f"{world.describe()} (other {', '.join(differ)}); use a checkpoint of this world")
