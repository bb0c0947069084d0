"""View encoders ``[N, C, G, G] float -> [N, D]`` and a small name registry.

Any ``nn.Module`` with that mapping can be plugged into :class:`seqjepa.SeqJEPA`, either
registered here by name (:func:`register_encoder`) or passed directly as ``encoder=``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torchvision.models import resnet18

from checks import check_choice, check_int

__all__ = ["ConvNetEncoder", "available_encoders", "build_encoder", "register_encoder",
           "resnet18_encoder"]

# factory(in_channels, small_stem, embed_dim | None) -> (module, out_dim)
EncoderFactory = Callable[[int, bool, "int | None"], "tuple[nn.Module, int]"]
_REGISTRY: dict[str, EncoderFactory] = {}


def register_encoder(name: str, factory: EncoderFactory) -> None:
    """Register ``factory(in_channels, small_stem, embed_dim) -> (module, out_dim)`` as ``name``.

    ``embed_dim`` is ``None`` when the caller has no preference. Re-registering a name replaces it.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    _REGISTRY[name] = factory


def available_encoders() -> tuple[str, ...]:
    """Names accepted by :func:`build_encoder` (and ``SeqJEPAConfig.encoder``)."""
    return tuple(sorted(_REGISTRY))


def build_encoder(name: str, in_channels: int, small_stem: bool = True,
                  embed_dim: int | None = None) -> tuple[nn.Module, int]:
    """Build a registered encoder.

    Args:
        name: one of :func:`available_encoders`.
        in_channels: ``S * C`` input channels (multi-scale glimpses stacked scale-major).
        small_stem: small-image stem (3x3 stride-1 first conv, no max-pool).
        embed_dim: requested output size ``D`` (resnet18 only allows 512); None = default.

    Returns:
        ``(module, out_dim)``; ``module`` maps float ``[N, in_channels, G, G] -> [N, out_dim]``.
    """
    check_choice("encoder name", name, available_encoders())
    in_channels = check_int("in_channels", in_channels, 1)
    embed_dim = None if embed_dim is None else check_int("embed_dim (or None)", embed_dim, 1)
    return _REGISTRY[name](in_channels, bool(small_stem), embed_dim)


def resnet18_encoder(in_channels: int, small_stem: bool = True,
                     embed_dim: int | None = None) -> tuple[nn.Module, int]:
    """torchvision ResNet-18 (random init, zero-init residual), fc removed: ``[N, 512]``.

    ``conv1`` is rebuilt for ``in_channels``; with ``small_stem`` it is 3x3 stride 1 and the
    max-pool is removed (the "CIFAR stem" for 32 px glimpses).
    """
    if embed_dim not in (None, 512):
        raise ValueError(f"embed_dim must be 512 (or None) for resnet18, got {embed_dim}")
    net = resnet18(weights=None, zero_init_residual=True)
    if small_stem:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    else:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.fc = nn.Identity()
    return net, 512


class ConvNetEncoder(nn.Module):
    """A tiny CNN for fast CPU tests and presets: 3 conv-BN-ReLU blocks, global pool, linear.

    Maps float ``[N, in_channels, G, G]`` (any ``G >= 1``) to ``[N, embed_dim]``.
    """

    def __init__(self, in_channels: int, embed_dim: int = 64, width: int = 32,
                 small_stem: bool = True) -> None:
        super().__init__()
        first_stride = 1 if small_stem else 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=first_stride, padding=1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(4 * width), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` float ``[N, C, G, G]`` -> ``[N, embed_dim]``."""
        return self.head(self.features(x))


def _convnet_factory(in_channels: int, small_stem: bool,
                     embed_dim: int | None) -> tuple[nn.Module, int]:
    dim = 64 if embed_dim is None else embed_dim
    return ConvNetEncoder(in_channels, embed_dim=dim, small_stem=small_stem), dim


_REGISTRY["resnet18"] = resnet18_encoder
_REGISTRY["convnet"] = _convnet_factory
