"""A pretrained world model from Python: ``model, meta = seqjepa.load_pretrained(path)``.

A pretraining checkpoint (``experiments.pretrain``) is a plain ``torch.save`` dict; besides the
training state it holds ``"pretrained"`` (:func:`pretrained_meta`): the architecture
(:class:`SeqJEPAConfig` as a dict), the per-channel preprocessing statistics, and the id and
keyword arguments of the Gymnasium environment the model was trained on::

    model, meta = seqjepa.load_pretrained("runs/NAME/ckpt_last.pt")
    env = gym.make(meta["env_id"], **meta["env_kwargs"])     # the world it was trained on
    out = model.represent(glimpses, actions)                  # out["z_agg"], out["z_views"]

torch only: this module never imports gymnasium or ``experiments``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from seqjepa.config import SeqJEPAConfig
from seqjepa.model import SeqJEPA
from seqjepa.serialization import CheckpointError, read_checkpoint

__all__ = ["load_pretrained", "pretrained_from_state", "pretrained_meta", "META_KEY", "META_VERSION"]

META_KEY = "pretrained"
META_VERSION = 1


def pretrained_meta(config: SeqJEPAConfig, mean: Sequence[float], std: Sequence[float], env_id: str,
                    env_kwargs: Mapping[str, Any], policy: Mapping[str, Any] | None = None,
                    periphery: str = "colour") -> dict[str, Any]:
    """The checkpoint entry :func:`load_pretrained` reads, as plain values.

    Args:
        config: the model's architecture.
        mean, std: per-channel statistics (length ``config.in_channels`` = ``S * C``, scale-major,
            in ``[0, 1]`` pixel units) the training batches were normalised with.
        env_id, env_kwargs: ``gym.make(env_id, **env_kwargs)`` builds the world of the training data.
        policy: the batched agent that made the training sequences (``agents.saccade_policy``
            keywords for saccade worlds, e.g. ``{"policy": "uniform", "mode": "sample"}``).
        periphery: ``"colour"`` or ``"grey"``: how the retina scales after the fovea were fed
            (``envs.engine.retina.grey_periphery``); feed the model the same.
    """
    mean, std = [float(v) for v in mean], [float(v) for v in std]
    if len(mean) != config.in_channels or len(std) != config.in_channels:
        raise ValueError(f"mean and std must have in_channels={config.in_channels} entries, got "
                         f"{len(mean)} and {len(std)}")
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a non-empty string, got {env_id!r}")
    return {"version": META_VERSION, "arch": config.to_dict(), "mean": mean, "std": std, "env_id": env_id,
            "env_kwargs": dict(env_kwargs), "policy": dict(policy or {}), "periphery": str(periphery)}


def load_pretrained(path: str | Path, device: str | torch.device | None = None) -> tuple[SeqJEPA, dict[str, Any]]:
    """Load the world model of a pretraining checkpoint, in eval mode (on CPU unless ``device``).

    The file's SHA-256 is verified first (:func:`seqjepa.serialization.read_checkpoint`).

    Returns:
        ``(model, meta)``: a :class:`SeqJEPA` with its preprocessing statistics set (ready for
        :meth:`SeqJEPA.represent`), and a dict with ``env_id``, ``env_kwargs`` (for
        ``gym.make``), ``config`` (architecture dict), ``mean``, ``std`` (length ``S * C``),
        ``policy`` (the agent that made the training sequences; empty for older checkpoints),
        ``periphery`` (``"colour"`` or ``"grey"``: how the scales after the fovea were fed),
        ``step`` (training steps done), ``train_config`` (the resolved training config),
        ``sha256`` (the checkpoint file's digest) and ``path``.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: corrupt or truncated file, or a file without the model/metadata.
    """
    return pretrained_from_state(read_checkpoint(path, map_location="cpu"), path, device)


def pretrained_from_state(state: dict[str, Any], path: str | Path,
                          device: str | torch.device | None = None) -> tuple[SeqJEPA, dict[str, Any]]:
    """:func:`load_pretrained` for a checkpoint already read (and verified) from ``path``."""
    meta = state.get(META_KEY)
    if not isinstance(meta, dict) or "model" not in state:
        raise CheckpointError(f"{path} holds no pretrained world model (keys 'model' and {META_KEY!r}: "
                              f"architecture, preprocessing statistics, env); found {sorted(state)}. "
                              f"Checkpoints written by saccade-pretrain before these were stored lack them")
    missing = sorted({"arch", "mean", "std", "env_id", "env_kwargs"} - set(meta))
    if missing:
        raise CheckpointError(f"{path}: the {META_KEY!r} entry lacks {missing}")
    try:
        config = SeqJEPAConfig.from_dict(meta["arch"])
        model = SeqJEPA(config)
        model.load_state_dict(state["model"])
        model.set_input_stats(meta["mean"], meta["std"])
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: the weights do not fit the stored architecture: {exc}") from exc
    model.eval()
    if device is not None:
        model.to(torch.device(device))
    info = {"env_id": meta["env_id"], "env_kwargs": dict(meta["env_kwargs"]), "config": dict(meta["arch"]),
            "mean": list(meta["mean"]), "std": list(meta["std"]), "policy": dict(meta.get("policy") or {}),
            "periphery": str(meta.get("periphery", "colour")), "step": state.get("step"),
            "train_config": state.get("config"), "sha256": state.get("sha256"), "path": str(path)}
    return model, info
