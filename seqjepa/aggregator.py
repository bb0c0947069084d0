"""Transformer aggregator: view-action tokens -> one aggregate representation ``z_agg``.

There is deliberately no positional embedding: the order of views reaches the model only
through the actions, so the output at the [AGG] token is invariant to permuting the tokens
(in eval mode) and any number of views works at inference.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Aggregator"]


class Aggregator(nn.Module):
    """``nn.TransformerEncoder`` (batch_first, post-norm) + final LayerNorm + a learnable [AGG] token.

    Args:
        dim: token width ``D + E`` (640 by default).
        heads, layers, ffn, dropout: transformer settings (4, 3, 2560, 0.1).
    """

    def __init__(self, dim: int = 640, heads: int = 4, layers: int = 3, ffn: int = 2560,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"heads must divide dim={dim}, got heads={heads}")
        self.dim = dim
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ffn, dropout=dropout,
                                           batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim),
                                                 enable_nested_tensor=False)
        self.agg_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.agg_token, std=0.02)

    def forward(self, tokens: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Aggregate tokens.

        Args:
            tokens: float ``[B, M, dim]``.
            key_padding_mask: optional bool ``[B, M]``, True where a token is padding (ignored).
                The [AGG] token itself is never masked.

        Returns:
            float ``[B, dim]``, the output at the [AGG] token.
        """
        if tokens.dim() != 3 or tokens.shape[-1] != self.dim:
            raise ValueError(f"tokens must have shape [B, M, {self.dim}], got {tuple(tokens.shape)}")
        b = tokens.shape[0]
        x = torch.cat([self.agg_token.expand(b, -1, -1).to(tokens.dtype), tokens], dim=1)
        mask = None
        if key_padding_mask is not None:
            if key_padding_mask.shape != tokens.shape[:2] or key_padding_mask.dtype != torch.bool:
                raise ValueError(f"key_padding_mask must be bool [B, M] = {list(tokens.shape[:2])},"
                                 f" got {key_padding_mask.dtype} {tuple(key_padding_mask.shape)}")
            keep = torch.zeros(b, 1, dtype=torch.bool, device=tokens.device)
            mask = torch.cat([keep, key_padding_mask.to(tokens.device)], dim=1)
        return self.transformer(x, src_key_padding_mask=mask)[:, 0]
