"""The seq-JEPA world model: online encoder, action embedding, aggregator, predictor, EMA target.

Action convention (shared with ``envs/``): ``actions[:, t]`` is the *incoming* action, the
relative transformation that led INTO view ``t``; ``actions[:, 0] = 0``. With views
``0..M-1`` observed and view ``M`` the target, aggregator token ``i`` is
``concat(z_i, emb(actions[:, i+1]))`` for ``i < M-1`` (the action leaving view ``i``), token
``M-1`` has a zero action slot, and the predictor gets ``emb(actions[:, M])``.

The forward pass does NOT compute the loss and does NOT run the target encoder; a training
step is "forward target / forward context / loss / backward / EMA update"::

    target = model.encode_target(glimpses[:, m:m + 1])[:, 0]      # [B, D], no grad
    out = model(glimpses, actions, n_observed=m)                   # out.prediction [B, D]
    loss = prediction_loss(out.prediction, target)
    loss.backward(); optimizer.step()                              # optimizer over model.online_parameters()
    model.update_target(ema_momentum(step, total_steps))

Target BatchNorm: ``encode_target`` runs the target in the model's current mode (train mode ->
batch statistics, as BYOL does); its running statistics are buffers that
:func:`seqjepa.ema.update_ema` overwrites with the online encoder's at every EMA update.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from checks import check_int

from seqjepa.action import ActionEmbedding
from seqjepa.aggregator import Aggregator
from seqjepa.config import SeqJEPAConfig
from seqjepa.ema import update_ema
from seqjepa.encoder import build_encoder
from seqjepa.predictor import Predictor
from seqjepa.preprocess import normalize_glimpses

__all__ = ["SeqJEPA", "SeqJEPAOutput"]

_TARGET_PREFIX = "target_encoder."


@dataclass
class SeqJEPAOutput:
    """Result of :meth:`SeqJEPA.forward`.

    Attributes:
        prediction: float ``[B, D]``, predicted latent of view ``M``.
        z_agg: float ``[B, D + E]``, aggregate representation of views ``0..M-1``.
        z_views: float ``[B, M, D]``, online-encoder latents of the observed views.
    """

    prediction: torch.Tensor
    z_agg: torch.Tensor
    z_views: torch.Tensor


class SeqJEPA(nn.Module):
    """seq-JEPA (Ghaemi et al. 2025). See the module docstring for conventions.

    Args:
        config: architecture (:class:`SeqJEPAConfig`).
        encoder: optional custom module mapping float ``[N, C, G, G] -> [N, config.embed_dim]``;
            when given, ``config.encoder`` / ``small_stem`` are ignored.
    """

    def __init__(self, config: SeqJEPAConfig, encoder: nn.Module | None = None) -> None:
        super().__init__()
        if not isinstance(config, SeqJEPAConfig):
            raise TypeError(f"config must be a SeqJEPAConfig, got {type(config).__name__}")
        if encoder is not None and not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be an nn.Module or None, got {type(encoder).__name__}")
        self.config = config
        if encoder is None:
            encoder, out_dim = build_encoder(config.encoder, config.in_channels,
                                             config.small_stem, config.embed_dim)
            if out_dim != config.embed_dim:
                raise ValueError(f"config.embed_dim={config.embed_dim} but encoder "
                                 f"{config.encoder!r} outputs {out_dim}")
        self.encoder = encoder
        self.action_embed = ActionEmbedding(config.action_dim, config.action_embed_dim)
        self.aggregator = Aggregator(config.agg_dim, config.agg_heads, config.agg_layers,
                                     config.agg_ffn, float(config.dropout))
        self.predictor = Predictor(config.predictor_in_dim, config.embed_dim, config.pred_hidden)
        if config.predictor_action_map:  # rho(a): embedded action -> a D x D map of the last latent
            self.action_map = nn.Linear(config.action_embed_dim, config.embed_dim * config.embed_dim)
            nn.init.normal_(self.action_map.weight, std=0.01)
            nn.init.zeros_(self.action_map.bias)
        self.target_encoder = copy.deepcopy(self.encoder)
        for p in self.target_encoder.parameters():
            p.requires_grad_(False)
        # Preprocessing statistics of the training data (float32 [in_channels], in [0, 1] pixel
        # units), set by set_input_stats / seqjepa.load_pretrained; used by represent().
        # Not persistent: the state dict holds weights only, the checkpoint's metadata the stats.
        self.register_buffer("input_mean", None, persistent=False)
        self.register_buffer("input_std", None, persistent=False)

    # ------------------------------------------------------------------ parameters
    def online_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """``(name, param)`` of everything except the EMA target encoder."""
        for name, p in self.named_parameters():
            if not name.startswith(_TARGET_PREFIX):
                yield name, p

    def online_parameters(self) -> Iterator[nn.Parameter]:
        """Trainable parameters to give the optimizer (the target encoder is excluded)."""
        for _, p in self.online_named_parameters():
            yield p

    def uses_action_embedding(self, n_observed: int) -> bool:
        """Whether a training step with ``n_observed`` views puts the action embedding in the graph.

        False for the no-action ablation (neither aggregator nor predictor conditioned), and for
        a predictor-free conditioning with a single observed view (no outgoing action to embed).
        Distributed training must then tell DDP that those parameters get no gradient.
        """
        return self.config.condition_predictor or (self.config.condition_aggregator and n_observed > 1)

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """EMA step ``target <- momentum * target + (1 - momentum) * encoder`` (buffers copied)."""
        update_ema(self.encoder, self.target_encoder, momentum)

    # ------------------------------------------------------------------ validation
    def _check_views(self, name: str, views: torch.Tensor) -> None:
        c = self.config.in_channels
        if not isinstance(views, torch.Tensor) or views.dim() != 5 or views.shape[2] != c:
            shape = tuple(views.shape) if isinstance(views, torch.Tensor) else type(views).__name__
            raise ValueError(f"{name} must be a tensor of shape [B, T, {c}, G, G], got {shape}")
        if not views.is_floating_point():
            raise TypeError(f"{name} must be a float tensor (normalise uint8 glimpses first, "
                            f"e.g. seqjepa.normalize_glimpses), got {views.dtype}")

    def _check_actions(self, name: str, actions: torch.Tensor, lead: tuple[int, ...]) -> None:
        a = self.config.action_dim
        expected = list(lead) + [a]
        if not isinstance(actions, torch.Tensor) or list(actions.shape) != expected:
            shape = tuple(actions.shape) if isinstance(actions, torch.Tensor) else type(actions).__name__
            raise ValueError(f"{name} must have shape {expected}, got {shape}")
        if not actions.is_floating_point():
            raise TypeError(f"{name} must be a float tensor, got {actions.dtype}")

    def _run_encoder(self, module: nn.Module, views: torch.Tensor) -> torch.Tensor:
        b, t = views.shape[:2]
        z = module(views.reshape(b * t, *views.shape[2:]))
        if z.dim() != 2 or z.shape != (b * t, self.config.embed_dim):
            raise ValueError(f"encoder must map [N, C, G, G] to [N, {self.config.embed_dim}] "
                             f"(config.embed_dim), got output {tuple(z.shape)}")
        return z.reshape(b, t, -1)

    # ------------------------------------------------------------------ model parts
    def encode(self, views: torch.Tensor) -> torch.Tensor:
        """Online encoder: float ``[B, T, C, G, G] -> [B, T, D]``."""
        self._check_views("views", views)
        return self._run_encoder(self.encoder, views)

    @torch.no_grad()
    def encode_target(self, views: torch.Tensor) -> torch.Tensor:
        """EMA target encoder, no grad: float ``[B, T, C, G, G] -> [B, T, D]`` (detached).

        With ``config.target_channels = k > 0`` channels ``k..C-1`` of the views are zeroed first
        (the target is then the fovea alone; see :class:`SeqJEPAConfig`)."""
        self._check_views("views", views)
        k = self.config.target_channels
        if 0 < k < views.shape[2]:
            views = torch.cat([views[:, :, :k], views.new_zeros(*views.shape[:2], views.shape[2] - k,
                                                                *views.shape[3:])], 2)
        return self._run_encoder(self.target_encoder, views)

    def aggregate(self, z: torch.Tensor, actions: torch.Tensor,
                  key_padding_mask: torch.Tensor | None = None,
                  condition: bool | None = None) -> torch.Tensor:
        """Aggregate observed views into ``z_agg``.

        Args:
            z: float ``[B, M, D]`` latents of views ``0..M-1``.
            actions: float ``[B, M, A]``, incoming actions of those views (``actions[:, 0]``
                is ignored). Token ``i < M-1`` gets ``emb(actions[:, i+1])``; token ``M-1``
                (and any token whose successor is padding) gets a zero action slot.
            key_padding_mask: optional bool ``[B, M]``, True = padded view (right padding).
            condition: override ``config.condition_aggregator`` (e.g. "no action" ablations
                at inference); False zeroes every action slot.

        Returns:
            float ``[B, D + E]``.
        """
        d, e = self.config.embed_dim, self.config.action_embed_dim
        if not isinstance(z, torch.Tensor) or z.dim() != 3 or z.shape[2] != d:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must have shape [B, M, {d}], got {shape}")
        b, m = z.shape[:2]
        if m < 1:
            raise ValueError("z must contain at least one view (M >= 1)")
        self._check_actions("actions", actions, (b, m))
        if key_padding_mask is not None and (key_padding_mask.shape != (b, m)
                                             or key_padding_mask.dtype != torch.bool):
            raise ValueError(f"key_padding_mask must be bool [B, M] = [{b}, {m}], got "
                             f"{key_padding_mask.dtype} {tuple(key_padding_mask.shape)}")
        use = self.config.condition_aggregator if condition is None else bool(condition)
        head = z.new_zeros(b, m - 1, e)
        if use and m > 1:
            outgoing = actions[:, 1:].to(z.dtype)
            if key_padding_mask is None:
                head = self.action_embed(outgoing)
            else:
                mask = key_padding_mask.to(z.device)
                valid = ~mask[:, :-1] & ~mask[:, 1:]
                if bool(valid.any()):
                    head = head.index_put((valid,), self.action_embed(outgoing[valid]).to(head.dtype))
        emb = torch.cat([head, z.new_zeros(b, 1, e)], dim=1)
        return self.aggregator(torch.cat([z, emb], dim=2), key_padding_mask)

    def predict(self, z_agg: torch.Tensor, next_action: torch.Tensor,
                condition: bool | None = None, z_last: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the next view's latent: ``z_agg [B, D+E]``, ``next_action [B, A] -> [B, D]``.

        ``condition`` overrides ``config.condition_predictor``; False feeds a zero action slot.
        ``z_last`` float ``[B, D]``: the last observed view's online latent, required with
        ``config.predictor_context == "agg_last"`` and ignored otherwise.
        """
        agg = self.config.agg_dim
        if not isinstance(z_agg, torch.Tensor) or z_agg.dim() != 2 or z_agg.shape[1] != agg:
            shape = tuple(z_agg.shape) if isinstance(z_agg, torch.Tensor) else type(z_agg).__name__
            raise ValueError(f"z_agg must have shape [B, {agg}], got {shape}")
        b = z_agg.shape[0]
        self._check_actions("next_action", next_action, (b,))
        use = self.config.condition_predictor if condition is None else bool(condition)
        if use:
            emb = self.action_embed(next_action.to(z_agg.dtype))
        else:
            emb = z_agg.new_zeros(b, self.config.action_embed_dim)
        parts = [z_agg]
        if self.config.predictor_context == "agg_last":
            d = self.config.embed_dim
            if not isinstance(z_last, torch.Tensor) or tuple(z_last.shape) != (b, d):
                shape = tuple(z_last.shape) if isinstance(z_last, torch.Tensor) else type(z_last).__name__
                raise ValueError(f"z_last must have shape [B, {d}] = [{b}, {d}] (the last observed view's latent) "
                                 f"with predictor_context='agg_last', got {shape}")
            parts.append(z_last.to(z_agg.dtype))
        out = self.predictor(torch.cat(parts + [emb], dim=1))
        if self.config.predictor_action_map:
            d = self.config.embed_dim
            rho = self.action_map(emb).view(b, d, d)
            out = out + torch.bmm(rho, z_last.to(z_agg.dtype).unsqueeze(2)).squeeze(2)
        return out

    def forward(self, glimpses: torch.Tensor, actions: torch.Tensor,
                n_observed: int) -> SeqJEPAOutput:
        """Encode views ``0..M-1`` (``M = n_observed``), aggregate, predict the latent of view ``M``.

        Args:
            glimpses: float ``[B, T, C, G, G]`` (normalised), ``T >= M + 1``.
            actions: float ``[B, T, A]``, incoming-action convention.
            n_observed: ``M``, an int in ``1..T-1``.

        Returns:
            :class:`SeqJEPAOutput` (prediction ``[B, D]``, z_agg ``[B, D+E]``, z_views ``[B, M, D]``).
        """
        self._check_views("glimpses", glimpses)
        b, t = glimpses.shape[:2]
        self._check_actions("actions", actions, (b, t))
        m = check_int("n_observed", n_observed, 1, t - 1)  # at most T - 1: one view is the target
        z_views = self.encode(glimpses[:, :m])
        z_agg = self.aggregate(z_views, actions[:, :m])
        prediction = self.predict(z_agg, actions[:, m], z_last=z_views[:, m - 1])
        return SeqJEPAOutput(prediction=prediction, z_agg=z_agg, z_views=z_views)

    # ------------------------------------------------------------------ pretrained use
    def set_input_stats(self, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor) -> None:
        """Set the per-channel preprocessing statistics ``(x / 255 - mean) / std`` of :meth:`represent`.

        Args:
            mean, std: ``in_channels`` (``S * C``, scale-major) floats in ``[0, 1]`` pixel units;
                std > 0.
        """
        c = self.config.in_channels
        device = next(self.parameters()).device
        values = []
        for name, v in (("mean", mean), ("std", std)):
            t = torch.as_tensor(v, dtype=torch.float32).detach().flatten().to(device)
            if t.numel() != c or not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name} must hold {c} finite floats (one per input channel S*C), got "
                                 f"{t.tolist()}")
            values.append(t)
        if bool((values[1] <= 0).any()):
            raise ValueError(f"std must be > 0, got {values[1].tolist()}")
        self.input_mean, self.input_std = values

    def normalize_input(self, glimpses: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        """uint8 ``[B, T, S*C, G, G]`` -> float32 ``(x / 255 - mean) / std`` (the training preprocessing,
        :func:`seqjepa.normalize_glimpses` with this model's statistics)."""
        if self.input_mean is None or self.input_std is None:
            raise RuntimeError("the model has no preprocessing statistics: load it with seqjepa.load_pretrained "
                               "or call set_input_stats(mean, std) first")
        return normalize_glimpses(glimpses, self.input_mean, self.input_std, channels_last)

    def represent(self, glimpses: torch.Tensor | np.ndarray,
                  actions: torch.Tensor | np.ndarray) -> dict[str, torch.Tensor]:
        """Representations of whole glimpse sequences, as an environment produces them.

        Runs without gradients in eval mode (the previous mode is restored afterwards).

        Args:
            glimpses: uint8 ``[B, T, S, G, G, C]``, the env's ``obs["glimpse"]`` stacked over
                ``T`` views (tensor or NumPy array). Converted to the training layout
                ``[B, T, S*C, G, G]`` (channels scale-major) and normalised with the model's
                statistics (:meth:`set_input_stats`).
            actions: float ``[B, T, A]``, the env's ``obs["last_action"]`` stacked (incoming
                actions; ``actions[:, 0]`` is ignored, 0 by convention).

        Returns:
            ``{"z_agg": [B, D + E], "z_views": [B, T, D]}`` on the model's device: the aggregate
            of all ``T`` views and the online encoder's latent of each view.

        Raises:
            ValueError: wrong shape or dtype (naming the argument).
        """
        x = _as_tensor("glimpses", glimpses)
        a = _as_tensor("actions", actions)
        c = self.config.in_channels
        if x.dtype != torch.uint8 or x.dim() != 6 or x.shape[2] * x.shape[5] != c or 0 in x.shape:
            raise ValueError(f"glimpses must be uint8 [B, T, S, G, G, C] with S*C = {c} (the env's obs['glimpse'] "
                             f"stacked over T views), got {x.dtype} {tuple(x.shape)}")
        b, t, s, g, w, ch = x.shape
        expected = [b, t, self.config.action_dim]
        if not a.is_floating_point() or list(a.shape) != expected:
            raise ValueError(f"actions must be float {expected} = [B, T, A] (the env's obs['last_action'] stacked), "
                             f"got {a.dtype} {tuple(a.shape)}")
        device = next(self.parameters()).device
        x = x.to(device).permute(0, 1, 2, 5, 3, 4).reshape(b, t, s * ch, g, w)
        a = a.to(device, torch.float32)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                z_views = self.encode(self.normalize_input(x))
                z_agg = self.aggregate(z_views, a)
        finally:
            self.train(was_training)
        return {"z_agg": z_agg, "z_views": z_views}


def _as_tensor(name: str, value: torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, order="C"))  # a copy: read-only arrays are fine
    raise ValueError(f"{name} must be a torch.Tensor or a numpy.ndarray, got {type(value).__name__}")
