"""The active agent's networks: the perception model (encoder + GRU aggregator + class head) and SAC's
tanh-Gaussian actor and twin critic, all small enough to train on a CPU."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

__all__ = ["Perception", "Actor", "Critic", "default_encoder"]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def default_encoder(in_channels: int, size: int, embed: int = 64) -> nn.Module:
    """A glimpse encoder ``[N, C, G, G] -> [N, embed]``: an MLP below 8 pixels, else a 2-layer strided ConvNet."""
    if size < 8:
        return nn.Sequential(nn.Flatten(), mlp([in_channels * size * size, 128, embed]), nn.ReLU())
    conv = nn.Sequential(nn.Conv2d(in_channels, 32, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten())
    flat = 64 * math.ceil(math.ceil(size / 2) / 2) ** 2
    return nn.Sequential(conv, nn.Linear(flat, embed), nn.ReLU())


class Perception(nn.Module):
    """(glimpse, position, time) steps -> GRU state -> class logits.

    Glimpses are uint8 (divided by 255) or float; then ``(x - mean) / std`` per channel.
    """

    def __init__(self, encoder: nn.Module, in_channels: int, size: int, pos_dim: int, n_classes: int,
                 hidden: int = 128, mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("mean", torch.tensor(mean if mean is not None else [0.5] * in_channels).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std if std is not None else [0.25] * in_channels).view(1, -1, 1, 1))
        with torch.no_grad():
            embed = self.encoder(torch.zeros(2, in_channels, size, size)).shape[-1]
        self.inp = nn.Sequential(nn.Linear(embed + pos_dim + 1, hidden), nn.ReLU())
        self.gru = nn.GRUCell(hidden, hidden)
        self.head = nn.Linear(hidden, n_classes)
        self.hidden = hidden

    def features(self, glimpse: torch.Tensor, pos: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """GRU inputs ``[N, hidden]`` of ``N`` steps."""
        x = glimpse.float() / 255.0 if glimpse.dtype == torch.uint8 else glimpse.float()
        z = self.encoder((x - self.mean) / self.std)
        return self.inp(torch.cat([z, pos, time[:, None]], dim=1))

    def step(self, glimpse: torch.Tensor, pos: torch.Tensor, time: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The next GRU state ``[N, hidden]``."""
        return self.gru(self.features(glimpse, pos, time), h)

    def unroll(self, glimpse: torch.Tensor, pos: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """States ``[B, T, hidden]`` of ``B`` episodes of ``T`` steps (glimpse ``[B, T, C, G, G]``)."""
        b, t = glimpse.shape[:2]
        x = self.features(glimpse.flatten(0, 1), pos.flatten(0, 1), time.flatten(0, 1)).view(b, t, -1)
        h = x.new_zeros(b, self.hidden)
        states = []
        for i in range(t):
            h = self.gru(x[:, i], h)
            states.append(h)
        return torch.stack(states, dim=1)


class Actor(nn.Module):
    """SAC's tanh-squashed Gaussian policy over moves in [-1, 1]^A."""

    def __init__(self, state: int, action: int, width: int = 128) -> None:
        super().__init__()
        self.net = mlp([state, width, width, 2 * action])

    def forward(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(action [N, A], log-probability [N])`` of a reparameterised sample."""
        mu, log_std = self.net(s).chunk(2, dim=-1)
        std = log_std.clamp(-5.0, 2.0).exp()
        u = mu + std * torch.randn_like(mu)
        logp = (-0.5 * ((u - mu) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        a = torch.tanh(u)
        return a, logp - torch.log1p(-a.pow(2) + 1e-6).sum(-1)


class Critic(nn.Module):
    """Twin Q-functions ``Q(s, a)``."""

    def __init__(self, state: int, action: int, width: int = 128) -> None:
        super().__init__()
        self.q1 = mlp([state + action, width, width, 1])
        self.q2 = mlp([state + action, width, width, 1])

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([s, a], dim=-1)
        return self.q1(x)[..., 0], self.q2(x)[..., 0]
