"""Tiny seq-JEPA configurations shared by the seqjepa tests (CPU, fast)."""

from __future__ import annotations

import pytest
import torch

from seqjepa import SeqJEPA, SeqJEPAConfig


def tiny_config(**overrides: object) -> SeqJEPAConfig:
    """A convnet seq-JEPA small enough for CPU tests (D=16, E=8, one transformer layer)."""
    values = dict(in_channels=3, action_dim=2, encoder="convnet", embed_dim=16,
                  action_embed_dim=8, agg_heads=2, agg_layers=1, agg_ffn=32, dropout=0.1,
                  pred_hidden=32)
    values.update(overrides)
    return SeqJEPAConfig(**values)


def tiny_model(seed: int = 0, **overrides: object) -> SeqJEPA:
    torch.manual_seed(seed)
    return SeqJEPA(tiny_config(**overrides))


def random_batch(b: int = 4, t: int = 4, c: int = 3, g: int = 8, a: int = 2,
                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """float glimpses [B, T, C, G, G] and incoming actions [B, T, A] with actions[:, 0] = 0."""
    gen = torch.Generator().manual_seed(seed)
    glimpses = torch.randn(b, t, c, g, g, generator=gen)
    actions = torch.rand(b, t, a, generator=gen) - 0.5
    actions[:, 0] = 0.0
    return glimpses, actions


@pytest.fixture(autouse=True, scope="module")
def _single_thread():  # type: ignore[no-untyped-def]
    """Tiny models run fastest on one thread (and do not fight parallel test workers)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)
