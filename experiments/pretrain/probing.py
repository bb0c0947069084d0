"""Online probes during pretraining (detached features); the frozen evaluation is ``experiments.evaluate``."""

from __future__ import annotations

from typing import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from experiments.pretrain.data import SequenceSource
from experiments.pretrain.distributed import Dist
from seqjepa.probes import ActionRegressor, LinearProbe, r2_from_sums

__all__ = ["OnlineProbes", "window_figures", "random_pairs", "SourceFactory", "N_BASE"]

SourceFactory = Callable[[str, int, int, int], SequenceSource]  # (split, rank, world_size, seq_len)
N_BASE = 4  # per-step stats: loss, correct, labeled, pairs, then per action dim: sse, sum y, sum y^2


class OnlineProbes(nn.Module):
    """Online probes on detached features: z_AGG -> class, concat(z_i, z_j) -> pos_j - pos_i."""

    def __init__(self, agg_dim: int, embed_dim: int, n_classes: int, action_dim: int) -> None:
        super().__init__()
        self.classifier = LinearProbe(agg_dim, max(n_classes, 2))
        self.regressor = ActionRegressor(embed_dim, action_dim)

    def forward(self, z_agg: torch.Tensor, z_views: torch.Tensor, actions: torch.Tensor,
                labels: torch.Tensor, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probe loss and per-step statistics, without host synchronisation.

        Args: z_agg ``[B, D+E]``, z_views ``[B, M, D]``, actions ``[B, T, A]`` (incoming),
        labels int64 ``[B]`` (-1 unlabeled), pairs int64 ``[B, 2]`` view indices ``< M``.
        Returns: scalar loss and float ``[3 + 3A]`` (correct, labeled, pairs, sse, sum y, sum y^2).
        """
        logits = self.classifier(z_agg.float())
        mask = (labels >= 0).float()
        ce = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
        loss = (ce * mask).sum() / mask.sum().clamp(min=1.0)
        correct = ((logits.argmax(1) == labels).float() * mask).sum()
        rows = torch.arange(z_views.shape[0], device=z_views.device)
        i, j = pairs[:, 0], pairs[:, 1]
        cum = actions.float().cumsum(1)  # cum[:, t] = positions[:, t] - positions[:, 0]
        target = cum[rows, j] - cum[rows, i]
        pred = self.regressor(z_views[rows, i].float(), z_views[rows, j].float())
        loss = loss + F.mse_loss(pred, target)
        err = (pred.detach() - target) ** 2
        counts = torch.stack([correct, mask.sum(), torch.full_like(correct, float(len(rows)))])
        return loss, torch.cat([counts, err.sum(0), target.sum(0), (target ** 2).sum(0)]).detach()


def window_figures(window: list[torch.Tensor], d: Dist) -> dict[str, float]:
    """Mean loss, probe accuracy and R^2 (sklearn uniform average) over the window, all ranks."""
    total = torch.stack(window).sum(0).double()
    if d.world_size > 1:
        dist.all_reduce(total)
    total = total.cpu()
    loss, correct, labeled, pairs = total[:N_BASE].tolist()
    sse, sy, syy = total[N_BASE:].view(3, -1)
    sst = syy - sy ** 2 / max(pairs, 1.0)
    r2 = r2_from_sums(sse, sst)
    return {"loss": loss / (len(window) * d.world_size),
            "probe_acc": correct / labeled if labeled else float("nan"),
            "probe_r2": float(r2) if pairs > 1 and sy.numel() else float("nan")}


def random_pairs(batch: int, m: int, seed: int, step: int, device: torch.device) -> torch.Tensor:
    """Random view pairs ``[B, 2]`` (i != j in 0..m-1 when m > 1), deterministic in (seed, step)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    i = torch.randint(0, m, (batch,), generator=g)
    j = (i + torch.randint(1, m, (batch,), generator=g)) % m if m > 1 else i
    return torch.stack([i, j], 1).to(device)
