"""Configuration of the seq-JEPA world model (architecture only, no training settings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from checks import check_bool, check_choice, check_int, check_real
from seqjepa.encoder import available_encoders

__all__ = ["SeqJEPAConfig"]


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
        def put(name: str, value: Any) -> None:  # the checked value, in its plain Python type
            object.__setattr__(self, name, value)

        for name in ("in_channels", "action_dim", "embed_dim", "action_embed_dim",
                     "agg_heads", "agg_layers", "agg_ffn", "pred_hidden"):
            put(name, check_int(f"SeqJEPAConfig.{name}", getattr(self, name), 1))
        put("target_channels", check_int("SeqJEPAConfig.target_channels", self.target_channels, 0, self.in_channels))
        for name in ("small_stem", "condition_aggregator", "condition_predictor"):
            put(name, check_bool(f"SeqJEPAConfig.{name}", getattr(self, name)))
        put("dropout", check_real("SeqJEPAConfig.dropout", self.dropout, 0.0, 1.0, hi_open=True))
        check_choice("SeqJEPAConfig.encoder", self.encoder, available_encoders())
        if self.encoder == "resnet18" and self.embed_dim != 512:
            raise ValueError(
                f"SeqJEPAConfig.embed_dim must be 512 with encoder='resnet18', got {self.embed_dim}")
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
