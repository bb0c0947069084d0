"""Configuration of the seq-JEPA world model (architecture only, no training settings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from seqjepa.encoder import available_encoders

__all__ = ["SeqJEPAConfig"]


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"SeqJEPAConfig.{name} must be a positive int, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"SeqJEPAConfig.{name} must be True or False, got {value!r}")


@dataclass(frozen=True)
class SeqJEPAConfig:
    """Architecture of :class:`seqjepa.SeqJEPA`; defaults are the paper's reference values.

    Attributes:
        in_channels: channels of one glimpse stack, ``S * C`` (retina scales stacked
            scale-major, e.g. 9 for 3 RGB scales).
        action_dim: ``A``, size of one relative action (2 for saccades, 3 for rotations).
        encoder: name in :func:`seqjepa.encoder.available_encoders` ("resnet18", "convnet").
        small_stem: small-image ("CIFAR") stem: 3x3 stride-1 conv1 and no max-pool.
        embed_dim: ``D``, encoder output size (512 for resnet18; free for "convnet").
        action_embed_dim: ``E``, size of the action embedding (128).
        agg_heads / agg_layers / agg_ffn / dropout: transformer aggregator with
            ``d_model = D + E``; ``agg_heads`` must divide ``D + E``.
        pred_hidden: hidden width of the predictor MLP (1024).
        condition_aggregator: put action embeddings into the aggregator tokens; False
            zeroes every action slot (ablation).
        condition_predictor: give the next action to the predictor; False zeroes it.
            Both False = no action conditioning at all.
        target_channels: the EMA target encoder sees only the first ``target_channels`` input
            channels of the target view, the others set to 0 (the normalised mean); 0 = all.
            With a scale-major retina stack, ``C`` (3 for RGB) makes the target the fovea alone
            while the context keeps the periphery.
    """

    in_channels: int = 3
    action_dim: int = 2
    encoder: str = "resnet18"
    small_stem: bool = True
    embed_dim: int = 512
    action_embed_dim: int = 128
    agg_heads: int = 4
    agg_layers: int = 3
    agg_ffn: int = 2560
    dropout: float = 0.1
    pred_hidden: int = 1024
    condition_aggregator: bool = True
    condition_predictor: bool = True
    target_channels: int = 0

    def __post_init__(self) -> None:
        for name in ("in_channels", "action_dim", "embed_dim", "action_embed_dim",
                     "agg_heads", "agg_layers", "agg_ffn", "pred_hidden"):
            _check_positive_int(name, getattr(self, name))
        if isinstance(self.target_channels, bool) or not isinstance(self.target_channels, int) \
                or not 0 <= self.target_channels <= self.in_channels:
            raise ValueError(f"SeqJEPAConfig.target_channels must be an int in [0, in_channels={self.in_channels}] "
                             f"(0 = every channel), got {self.target_channels!r}")
        for name in ("small_stem", "condition_aggregator", "condition_predictor"):
            _check_bool(name, getattr(self, name))
        names = available_encoders()
        if self.encoder not in names:
            raise ValueError(f"SeqJEPAConfig.encoder must be one of {names}, got {self.encoder!r}")
        if self.encoder == "resnet18" and self.embed_dim != 512:
            raise ValueError(
                f"SeqJEPAConfig.embed_dim must be 512 with encoder='resnet18', got {self.embed_dim}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"SeqJEPAConfig.dropout must be a float in [0, 1), got {self.dropout!r}")
        if self.agg_dim % self.agg_heads != 0:
            raise ValueError(
                f"SeqJEPAConfig.agg_heads must divide embed_dim + action_embed_dim = {self.agg_dim},"
                f" got agg_heads={self.agg_heads}")

    @property
    def agg_dim(self) -> int:
        """Aggregator width ``D + E`` (the size of ``z_agg``)."""
        return self.embed_dim + self.action_embed_dim

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (for YAML/JSON beside checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "SeqJEPAConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ValueError naming them."""
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"SeqJEPAConfig got unknown keys {unknown}; allowed: {sorted(allowed)}")
        return cls(**dict(values))
