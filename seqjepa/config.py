"""Configuration of the seq-JEPA world model (architecture only, no training settings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from checks import check_bool, check_choice, check_int, check_real
from seqjepa.encoder import available_encoders

__all__ = ["SeqJEPAConfig", "PREDICTOR_CONTEXTS"]

PREDICTOR_CONTEXTS = ("agg", "agg_last")  # SeqJEPAConfig.predictor_context


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
        predictor_context: what of the context reaches the predictor, one of
            :data:`PREDICTOR_CONTEXTS`. ``"agg"`` (the paper's form): ``z_agg`` alone.
            ``"agg_last"``: ``z_agg`` and the last observed view's online latent ``z_{M-1}``.
            The aggregator has no positional embedding, so its [AGG] output is a pooled summary
            in which the last view (the one the next action starts from) is marked only by its
            zero action slot; where the next view is a transformation of the last one (3D
            rotation, small moves) the predictor needs that view's pose, and ``"agg_last"``
            hands it over directly.
        predictor_action_map: also add ``rho(a) z_{M-1}`` to the prediction, a ``D x D`` linear map
            of the last view's latent generated from the embedded next action (a hypernetwork,
            as SIE's equivariant predictor): the action acts on the latent multiplicatively, as a
            group acts on a representation, which a concatenating MLP learns poorly. Needs
            ``predictor_context="agg_last"``; with the action unconditioned the map is a constant.
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
    predictor_context: str = "agg"
    predictor_action_map: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:  # the checked value, in its plain Python type
            object.__setattr__(self, name, value)

        for name in ("in_channels", "action_dim", "embed_dim", "action_embed_dim",
                     "agg_heads", "agg_layers", "agg_ffn", "pred_hidden"):
            put(name, check_int(f"SeqJEPAConfig.{name}", getattr(self, name), 1))
        put("target_channels", check_int("SeqJEPAConfig.target_channels", self.target_channels, 0, self.in_channels))
        for name in ("small_stem", "condition_aggregator", "condition_predictor", "predictor_action_map"):
            put(name, check_bool(f"SeqJEPAConfig.{name}", getattr(self, name)))
        put("dropout", check_real("SeqJEPAConfig.dropout", self.dropout, 0.0, 1.0, hi_open=True))
        check_choice("SeqJEPAConfig.encoder", self.encoder, available_encoders())
        check_choice("SeqJEPAConfig.predictor_context", self.predictor_context, PREDICTOR_CONTEXTS)
        if self.predictor_action_map and self.predictor_context != "agg_last":
            raise ValueError("SeqJEPAConfig.predictor_action_map=True needs predictor_context='agg_last' (the map acts "
                             f"on the last view's latent), got predictor_context={self.predictor_context!r}")
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

    @property
    def predictor_in_dim(self) -> int:
        """Predictor input width: ``z_agg`` (``D + E``), the last view's latent (``D``, with
        ``predictor_context="agg_last"``) and the embedded next action (``E``)."""
        last = self.embed_dim if self.predictor_context == "agg_last" else 0
        return self.agg_dim + last + self.action_embed_dim

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
