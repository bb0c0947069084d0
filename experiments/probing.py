"""Online probes during pretraining (detached features) and the frozen-encoder evaluation."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from experiments.config import TrainConfig
from experiments.data import SequenceSource, normalize
from experiments.distributed import Dist
from seqjepa import SeqJEPA
from seqjepa.evaluation import extract_features, fit_linear_probe, fit_regressor
from seqjepa.probes import ActionRegressor, LinearProbe

__all__ = ["OnlineProbes", "window_figures", "random_pairs", "evaluate_frozen", "SourceFactory", "N_BASE"]

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
    r2 = torch.where(sst > 0, 1.0 - sse / sst.clamp(min=1e-300), torch.zeros_like(sst)).mean()
    return {"loss": loss / (len(window) * d.world_size),
            "probe_acc": correct / labeled if labeled else float("nan"),
            "probe_r2": float(r2) if pairs > 1 and sy.numel() else float("nan")}


def random_pairs(batch: int, m: int, seed: int, step: int, device: torch.device) -> torch.Tensor:
    """Random view pairs ``[B, 2]`` (i != j in 0..m-1 when m > 1), deterministic in (seed, step)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    i = torch.randint(0, m, (batch,), generator=g)
    j = (i + torch.randint(1, m, (batch,), generator=g)) % m if m > 1 else i
    return torch.stack([i, j], 1).to(device)


def evaluate_frozen(model: SeqJEPA, config: TrainConfig, device: torch.device,
                    source_factory: SourceFactory) -> dict[str, Any]:
    """Frozen model (eval mode): z_AGG linear probe fitted on ``eval.train_split``, top-1 on
    ``eval.test_split`` at each M_val, and the relative-position R^2 of a linear regressor on
    concat(z_0, z_1) of encoder outputs (target positions[1] - positions[0]). Features z-scored.
    """
    e = config.eval
    sources = [source_factory(split, 0, 1, max(e.m_val) + 1) for split in (e.train_split, e.test_split)]
    mean = torch.tensor(sources[0].mean, dtype=torch.float32, device=device)
    std = torch.tensor(sources[0].std, dtype=torch.float32, device=device)
    fit: dict[str, Any] = dict(epochs=e.epochs, lr=e.lr, batch_size=e.batch_size, device=device,
                               seed=config.seed)
    result: dict[str, Any] = {"m_val": sorted(e.m_val), "z_agg_acc": {}}
    for m in sorted(e.m_val):
        tr, te = (extract_features(model, src.batches(0), m, lambda g: normalize(g, mean, std), device,
                                   e.max_batches) for src in sources)
        result["z_agg_acc"][str(m)] = fit_linear_probe(tr["z_agg"], tr["labels"], te["z_agg"], te["labels"],
                                                       **fit)
        result["n_train"], result["n_test"] = len(tr["labels"]), len(te["labels"])
    if max(e.m_val) >= 2:
        x_tr, x_te = (torch.cat([f["z_views"][:, 0], f["z_views"][:, 1]], 1) for f in (tr, te))
        result["position_r2"] = fit_regressor(x_tr, tr["actions"][:, 1], x_te, te["actions"][:, 1], **fit)
    return result
