"""Drawing helpers shared by ``env.render()`` and the viewer: scanpaths, retina boxes, heat maps.

Everything works on uint8 RGB arrays ``[H, W, 3]`` with OpenCV drawing calls; nothing here opens
a window.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["to_rgb", "upscale", "heatmap", "overlay", "draw_scanpath", "draw_retina_boxes"]

SCANPATH_COLOR = (255, 220, 40)
FOVEA_COLOR = (40, 255, 80)
PERIPHERY_COLOR = (80, 160, 255)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W]`` or ``[H, W, 1|3]`` -> contiguous uint8 ``[H, W, 3]``."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"image must be [H, W], [H, W, 1] or [H, W, 3], got shape {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image, dtype=np.uint8)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer ``factor`` (pixels stay crisp)."""
    if factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor}")
    return np.ascontiguousarray(np.repeat(np.repeat(to_rgb(image), factor, axis=0), factor, axis=1))


def heatmap(values: np.ndarray, colormap: int = cv2.COLORMAP_INFERNO) -> np.ndarray:
    """float ``[H, W]`` -> uint8 RGB ``[H, W, 3]``, scaled so the maximum is the hottest colour."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be [H, W], got shape {values.shape}")
    top = float(values.max()) if values.size else 0.0
    scaled = np.zeros(values.shape, np.uint8) if top <= 0 else np.round(255.0 * values / top).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(scaled, colormap), cv2.COLOR_BGR2RGB)


def overlay(image: np.ndarray, values: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a heat map of ``values`` (same H, W) over ``image``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = to_rgb(image).astype(np.float32)
    heat = heatmap(values).astype(np.float32)
    return np.round((1 - alpha) * base + alpha * heat).astype(np.uint8)


def _pt(pixel: np.ndarray, scale: int) -> tuple[int, int]:
    """(row, col) grid point in source pixels -> (x, y) in the enlarged canvas."""
    return int(pixel[1]) * scale, int(pixel[0]) * scale


def draw_scanpath(canvas: np.ndarray, fixations: np.ndarray, scale: int, numbers: bool = True) -> np.ndarray:
    """Draw fixations ``int [N, 2]`` (source pixels) as numbered dots joined by arrows, in place."""
    fixations = np.asarray(fixations).reshape(-1, 2)
    radius = max(3, scale + 1)
    for k in range(1, len(fixations)):
        cv2.arrowedLine(canvas, _pt(fixations[k - 1], scale), _pt(fixations[k], scale), SCANPATH_COLOR,
                        max(1, scale // 2), cv2.LINE_AA, tipLength=0.12)
    for k, fix in enumerate(fixations):
        centre = _pt(fix, scale)
        cv2.circle(canvas, centre, radius, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(canvas, centre, radius - 1, SCANPATH_COLOR, -1, cv2.LINE_AA)
        if numbers:
            cv2.putText(canvas, str(k + 1), (centre[0] + radius + 1, centre[1] - radius - 1),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35 + 0.05 * scale, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def draw_retina_boxes(canvas: np.ndarray, fixation: np.ndarray, glimpse_size: int, scales: tuple[int, ...],
                      scale: int) -> np.ndarray:
    """Draw the fovea (first scale) and periphery squares around ``fixation`` (source pixels), in place."""
    for k, s in enumerate(scales):
        side = glimpse_size * s
        top = int(fixation[0]) - side // 2
        left = int(fixation[1]) - side // 2
        color = FOVEA_COLOR if k == 0 else PERIPHERY_COLOR
        cv2.rectangle(canvas, (left * scale, top * scale), ((left + side) * scale - 1, (top + side) * scale - 1),
                      color, 1 if k else 2, cv2.LINE_AA)
    return canvas
