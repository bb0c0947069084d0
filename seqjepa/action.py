"""Action embedding: ``Linear(A -> E, no bias) + BatchNorm1d(E, affine=False)``."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ActionEmbedding"]


class ActionEmbedding(nn.Module):
    """Embed relative actions (saccades, rotations) into ``E`` dims.

    Accepts float ``[N, A]`` or ``[B, T, A]`` (flattened for the BatchNorm, then reshaped);
    returns ``[N, E]`` or ``[B, T, E]``. In train mode BatchNorm needs more than one item.
    """

    def __init__(self, action_dim: int, embed_dim: int = 128) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.embed_dim = embed_dim
        self.linear = nn.Linear(action_dim, embed_dim, bias=False)
        self.norm = nn.BatchNorm1d(embed_dim, affine=False)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        """float ``[..., A]`` (2-D or 3-D) -> ``[..., E]``."""
        if actions.dim() not in (2, 3) or actions.shape[-1] != self.action_dim:
            raise ValueError(f"actions must have shape [N, {self.action_dim}] or "
                             f"[B, T, {self.action_dim}], got {tuple(actions.shape)}")
        lead = actions.shape[:-1]
        flat = actions.reshape(-1, self.action_dim)
        return self.norm(self.linear(flat)).reshape(*lead, self.embed_dim)
