"""A features extractor for Stable-Baselines3 policies on small glimpses (imports torch and SB3).

SB3's default ``NatureCNN`` needs images of at least 36 px; glimpses are often 16 or 32 px. Use
with the wrappers of ``envs.wrappers.observation``::

    from stable_baselines3 import PPO
    env = envs.wrappers.observation.sb3_ready(gym.make("Saccade-Scenes-Classify-v0", glimpse_size=16, scales=(1, 2)))
    model = PPO("MultiInputPolicy", env, policy_kwargs={"features_extractor_class": GlimpseExtractor})
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from checks.extras import require

# stable-baselines3 comes with the rl extra: without it, importing this module is one line naming the extra
require("stable_baselines3", what="agents.sb3 (GlimpseExtractor)")
from stable_baselines3.common.preprocessing import is_image_space  # noqa: E402
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor  # noqa: E402

__all__ = ["GlimpseExtractor"]


class GlimpseExtractor(BaseFeaturesExtractor):
    """``Dict`` observations -> features ``[B, cnn_dim + vector sizes]``.

    The channel-first uint8 ``glimpse`` ``[B, S*C, G, G]`` (G >= 8) goes through three 3x3
    convolutions (stride 2, 2, 1) and a linear layer to ``cnn_dim``; every other key is
    flattened and concatenated (``last_action``, ``position``, ``time``).

    Scaling follows the glimpse space's dtype, never the batch's values: a uint8 glimpse reaches
    the convolutions divided by 255 exactly once, a float glimpse as it is. SB3 divides uint8
    image keys itself when the policy's ``normalize_images`` is True (its default); pass the
    policy's value as ``normalize_images`` here so the extractor divides only when SB3 did not.
    A uint8 tensor (the extractor called outside SB3) is scaled as the space says, /255 for uint8.
    """

    def __init__(self, observation_space: gym.spaces.Dict, cnn_dim: int = 128, normalize_images: bool = True) -> None:
        glimpse = observation_space["glimpse"]
        if len(glimpse.shape) != 3 or glimpse.shape[1] != glimpse.shape[2] or glimpse.shape[1] < 8:
            raise ValueError(f"glimpse must be channel-first [S*C, G, G] with G >= 8 (wrap the env with "
                             f"envs.wrappers.observation.ChannelsFirstGlimpse), got {glimpse.shape}")
        others = {k: int(torch.tensor(s.shape).prod()) for k, s in observation_space.spaces.items() if k != "glimpse"}
        super().__init__(observation_space, features_dim=cnn_dim + sum(others.values()))
        c = glimpse.shape[0]
        self.cnn = nn.Sequential(
            nn.Conv2d(c, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(64 * 4, cnn_dim), nn.ReLU(),
        )
        self.keys = sorted(others)
        uint8 = glimpse.dtype == np.uint8
        self.raw_scale = 1.0 / 255.0 if uint8 else 1.0  # what an unprocessed glimpse is multiplied by
        self.scale = 1.0 if bool(normalize_images) and is_image_space(glimpse) else self.raw_scale  # after SB3

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        x = observations["glimpse"]
        x = x.float() * (self.raw_scale if x.dtype == torch.uint8 else self.scale)
        parts = [self.cnn(x)] + [observations[k].flatten(1).float() for k in self.keys]
        return torch.cat(parts, dim=1)
