"""Natural backgrounds for the embedded scenes: photographs and textures shipped in scikit-image.

Only images that live inside the scikit-image wheel are used (no pooch download), see
:data:`BACKGROUND_SOURCES`. Grey-level ones are tinted with a random colour when sampled.
A background is a random square crop (side log-uniform between 64 px and the image's short
side), read from an image pyramid, resized to the scene size, optionally mirrored, with random
contrast and brightness.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["BACKGROUND_SOURCES", "Background", "load_backgrounds", "sample_background"]

BACKGROUND_SOURCES: tuple[str, ...] = (
    "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "stereo_motorcycle",
    "camera", "brick", "grass", "gravel", "moon", "coins", "clock", "cell",
)
_MIN_CROP = 64


@dataclass(frozen=True)
class Background:
    """One source image as a pyramid: ``levels[j]`` is uint8 ``[H / 2^j, W / 2^j, 3]``."""

    name: str
    levels: tuple[np.ndarray, ...]
    grey: bool


@functools.lru_cache(maxsize=1)
def load_backgrounds() -> tuple[Background, ...]:
    """All :data:`BACKGROUND_SOURCES` (grey ones replicated to 3 channels), loaded once.

    Raises RuntimeError naming the image if this scikit-image install cannot provide it offline.
    """
    import skimage.data  # lazy: importing skimage.data is not free

    out = []
    for name in BACKGROUND_SOURCES:
        try:
            img = getattr(skimage.data, name)()
        except Exception as exc:  # AttributeError, or pooch/ModuleNotFoundError for remote files
            raise RuntimeError(
                f"scikit-image could not provide the background image {name!r} offline "
                f"({type(exc).__name__}: {exc}); the scenes dataset needs scikit-image >= 0.21 "
                f"with its bundled data"
            ) from exc
        if isinstance(img, tuple):  # stereo_motorcycle -> (left, right, disparity)
            img = img[0]
        img = np.asarray(img)
        grey = img.ndim == 2
        if grey:
            img = np.repeat(img[:, :, None], 3, axis=2)
        levels = [np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)]
        while min(levels[-1].shape[:2]) >= 2 * _MIN_CROP:
            levels.append(cv2.pyrDown(levels[-1]))
        out.append(Background(name, tuple(levels), grey))
    return tuple(out)


def sample_background(rng: np.random.Generator, backgrounds: tuple[Background, ...], size: int) -> np.ndarray:
    """A random natural background, float32 ``[size, size, 3]`` in ``[0, 255]``."""
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    h, w = bg.levels[0].shape[:2]
    short = min(h, w)
    lo = min(_MIN_CROP, short)
    side = int(round(math.exp(rng.uniform(math.log(lo), math.log(short)))))
    r0 = int(rng.integers(h - side + 1))
    c0 = int(rng.integers(w - side + 1))
    # read from the coarsest pyramid level that still has >= size pixels across the crop
    j = 0
    while j + 1 < len(bg.levels) and side >> (j + 1) >= size:
        j += 1
    f = 1 << j
    crop = bg.levels[j][r0 // f:(r0 + side) // f, c0 // f:(c0 + side) // f]
    interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    out = cv2.resize(crop, (size, size), interpolation=interp).astype(np.float32)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    tint = rng.uniform(0.45, 1.0, 3).astype(np.float32)
    if bg.grey:
        out = out * (tint / tint.max())
    mean = out.mean(axis=(0, 1), keepdims=True)
    contrast = np.float32(rng.uniform(0.55, 1.05))
    brightness = np.float32(rng.uniform(-25.0, 25.0))
    out = (out - mean) * contrast + mean + brightness
    return np.clip(out, 0.0, 255.0)
