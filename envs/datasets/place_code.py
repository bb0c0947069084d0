"""A position-coded background: a grey grating whose orientation and period vary across the scene.

The "shapes" scene style (``envs.datasets.scenes``) paints its objects on this background. It
makes *where* a glimpse is readable from *what* it shows, the way sky-above / ground-below does
in photographs, without any border: the grating's orientation turns with the column (by
``ORIENTATION_SPAN`` radians from left to right) and its period grows with the row (from
``PERIOD_TOP`` to ``PERIOD_BOTTOM`` pixels at 96 px, scaled with the image). Per scene, the
phase, the mean grey, the contrast, a faint colour tint and a small jitter of the map are drawn
from the generator, so no single glimpse statistic is the same in two scenes, while the map
from position to local orientation and period is shared by all scenes: a world model can learn
it, and the next glimpse's background is predictable from the current one *and the saccade*.

With ``signature=False`` nothing is drawn per scene: every scene gets the same background (fixed
grey, contrast, no tint, the same phases), so no global statistic of a glimpse tells its scene
apart; the background is then a pure code of position (the "shapes_flat" style). A per-scene
signature is a shortcut for a next-glimpse predictor: it can copy the constant from the context
and ignore the saccade (``docs/results/README.md``).

Colour carries no class information here: the tint is drawn independently of everything else.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["place_code_background", "ORIENTATION_SPAN", "PERIOD_TOP", "PERIOD_BOTTOM", "ANCHOR_STEP",
           "FLAT_MEAN", "FLAT_AMPLITUDE"]

ORIENTATION_SPAN = 5 * math.pi / 6   # grating orientation turns by 150 degrees from left to right
PERIOD_TOP = 4.0                     # grating period (pixels at 96 px) along the top edge
PERIOD_BOTTOM = 10.0                 # ... and along the bottom edge
ANCHOR_STEP = 8.0                    # spacing of the local gratings (pixels at 96 px)
FLAT_MEAN = 128.0                    # grey level of the background without a per-scene signature
FLAT_AMPLITUDE = 28.0                # ... and its contrast
_FLAT_PHASE_SEED = 20261202          # the phases every scene shares without a signature


def place_code_background(rng: np.random.Generator, size: int, signature: bool = True) -> np.ndarray:
    """A position-coded grating texture, float32 ``[size, size, 3]`` in ``[0, 255]`` (module doc).

    The texture is a partition-of-unity blend of local gratings centred on a grid of anchors
    (every ``ANCHOR_STEP`` px at 96 px, Gaussian windows), each with the orientation and
    period of its place and a phase: locally a clean grating, with no chirp. ``signature``:
    draw the scene's own grey, contrast, tint, map jitter and phases from ``rng``; False: the
    one shared background (``rng`` is not used).
    """
    scale = size / 96.0
    step = ANCHOR_STEP * scale
    centres = (np.arange(math.ceil(size / step) + 1) * step).astype(np.float64)
    ay, ax = (a.ravel() for a in np.meshgrid(centres, centres, indexing="ij"))   # [K]
    if signature:
        theta0 = rng.uniform(-0.15, 0.15)
        period_jitter = rng.uniform(0.9, 1.1)
        mean = rng.uniform(95.0, 160.0)
        amplitude = rng.uniform(18.0, 38.0)
        tint = rng.uniform(-12.0, 12.0, 3)
        phases = rng.uniform(0.0, 2 * math.pi, ay.shape[0])
    else:
        theta0, period_jitter, mean, amplitude, tint = 0.0, 1.0, FLAT_MEAN, FLAT_AMPLITUDE, np.zeros(3)
        phases = np.random.default_rng(_FLAT_PHASE_SEED).uniform(0.0, 2 * math.pi, ay.shape[0])
    theta = theta0 + ORIENTATION_SPAN * ax / size                                # [K]
    period = scale * period_jitter * (PERIOD_TOP + (PERIOD_BOTTOM - PERIOD_TOP) * ay / size)
    sigma = 0.75 * step
    reach = int(math.ceil(3 * sigma))
    acc = np.zeros((size, size))
    norm = np.zeros((size, size))
    for k in range(ay.shape[0]):  # each local grating only where its window is non-negligible
        r0, r1 = max(int(ay[k]) - reach, 0), min(int(ay[k]) + reach + 1, size)
        c0, c1 = max(int(ax[k]) - reach, 0), min(int(ax[k]) + reach + 1, size)
        if r0 >= r1 or c0 >= c1:
            continue
        dy = (np.arange(r0, r1) + 0.5 - ay[k])[:, None]
        dx = (np.arange(c0, c1) + 0.5 - ax[k])[None, :]
        weight = np.exp(-(dy ** 2 + dx ** 2) / (2 * sigma ** 2))
        wave = np.cos(2 * math.pi * (dy * math.cos(theta[k]) + dx * math.sin(theta[k])) / period[k] + phases[k])
        acc[r0:r1, c0:c1] += weight * wave
        norm[r0:r1, c0:c1] += weight ** 2
    texture = acc / np.sqrt(np.maximum(norm, 1e-12))
    texture /= max(float(texture.std()), 1e-6)
    grey = mean + amplitude * np.clip(texture, -2.0, 2.0) / 1.4
    out = grey[:, :, None] + tint[None, None, :]
    return np.clip(out, 0.0, 255.0).astype(np.float32)
