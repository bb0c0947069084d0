"""Predictor: ``(z_agg, emb(next action)) -> predicted latent of the next view``."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Predictor"]


class Predictor(nn.Module):
    """``Linear(in_dim -> hidden, no bias) -> BatchNorm1d -> ReLU -> Linear(hidden -> out_dim)``.

    For seq-JEPA ``in_dim = (D + E) + E`` (z_agg and the embedded next action), ``out_dim = D``.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 1024) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """float ``[B, in_dim]`` -> ``[B, out_dim]``."""
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"predictor input must have shape [B, {self.in_dim}], "
                             f"got {tuple(x.shape)}")
        return self.net(x)
