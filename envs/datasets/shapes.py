"""The ten filled glyphs of the embedded scenes dataset, rasterised with anti-aliasing.

Every glyph is a list of polygons in a canonical frame ``[-1, 1]^2`` (x = column to the
right, y = row downwards), each painted with coverage 1 (shape) or 0 (hole), in order. A glyph
of ``size`` pixels spans ``size`` pixels across its canonical box before rotation; it is
rasterised on an 8x supersampled grid with :func:`cv2.fillPoly` and area-averaged down, which
gives a float coverage (alpha) map. Rotation is about the centre of the canonical box.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

__all__ = ["SCENE_CLASSES", "glyph_polygons", "glyph_alpha", "patch_side"]

SCENE_CLASSES: tuple[str, ...] = (
    "disc", "square", "triangle", "ring", "star", "plus", "hexagon", "crescent", "arrow", "heart",
)
_SUPERSAMPLE = 8
_SHIFT = 4  # fractional bits for cv2.fillPoly vertices


def _regular(n: int, radius: float = 1.0, phase: float = -math.pi / 2,
             center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    t = phase + 2 * math.pi * np.arange(n) / n
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], axis=1)


def _star(points: int = 5, inner: float = 0.42) -> np.ndarray:
    t = -math.pi / 2 + math.pi * np.arange(2 * points) / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 96, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([x, y], axis=1)
    pts -= (pts.max(0) + pts.min(0)) / 2
    return pts / np.abs(pts).max()


@functools.lru_cache(maxsize=None)
def glyph_polygons(class_index: int) -> tuple[tuple[np.ndarray, int], ...]:
    """Canonical polygons ``(float64 [V, 2] (x, y) in [-1, 1], coverage 0|1)`` of a class."""
    name = SCENE_CLASSES[class_index]
    a = 0.3  # half-width of plus arms / arrow shaft
    polys: dict[str, list[tuple[np.ndarray, int]]] = {
        "disc": [(_regular(64), 1)],
        "square": [(np.array([[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]]), 1)],
        "triangle": [(_regular(3, phase=-math.pi / 2, center=(0.0, 0.2)), 1)],
        "ring": [(_regular(64), 1), (_regular(64, 0.55), 0)],
        "star": [(_star(), 1)],
        "plus": [(np.array([[-a, -1], [a, -1], [a, -a], [1, -a], [1, a], [a, a], [a, 1], [-a, 1],
                            [-a, a], [-1, a], [-1, -a], [-a, -a]]), 1)],
        "hexagon": [(_regular(6, phase=0.0), 1)],
        "crescent": [(_regular(64), 1), (_regular(64, 0.82, center=(0.42, -0.12)), 0)],
        "arrow": [(np.array([[-1, -0.24], [0.15, -0.24], [0.15, -0.7], [1, 0], [0.15, 0.7],
                             [0.15, 0.24], [-1, 0.24]]), 1)],
        "heart": [(_heart(), 1)],
    }[name]
    return tuple((np.asarray(p, dtype=np.float64), int(c)) for p, c in polys)


def patch_side(size: float) -> int:
    """Side (pixels) of the square patch that holds a glyph of ``size`` at any rotation."""
    return int(math.ceil(size * math.sqrt(2))) + 2


def glyph_alpha(class_index: int, size: float, angle: float) -> np.ndarray:
    """Coverage of one glyph, float32 ``[P, P]`` in ``[0, 1]`` with ``P = patch_side(size)``.

    Arguments:
        class_index: index into :data:`SCENE_CLASSES`.
        size: extent of the canonical box in pixels (> 0).
        angle: rotation in radians (counter-clockwise on screen).
    """
    if not 0 <= int(class_index) < len(SCENE_CLASSES):
        raise ValueError(f"class_index must lie in [0, {len(SCENE_CLASSES) - 1}], got {class_index}")
    if not size > 0:
        raise ValueError(f"size must be positive, got {size}")
    p = patch_side(size)
    ss = _SUPERSAMPLE
    canvas = np.zeros((p * ss, p * ss), dtype=np.uint8)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]]) * (size / 2)  # y points down: negate to turn counter-clockwise
    for poly, cover in glyph_polygons(int(class_index)):
        pts = (poly @ rot.T + p / 2) * ss - 0.5  # cv2 puts integer coordinates at pixel centres
        fixed = np.round(pts * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(canvas, [fixed], 255 if cover else 0, lineType=cv2.LINE_8, shift=_SHIFT)
    small = cv2.resize(canvas, (p, p), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) * (1.0 / 255.0)
