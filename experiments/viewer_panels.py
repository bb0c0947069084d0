"""Layout and pixel content of the viewer's panels (pure NumPy/OpenCV, no pygame).

:func:`compute_layout` places every panel from the window size alone, so resizing the
window just recomputes it; the ``*_panel`` functions render uint8 RGB arrays of exactly the
requested size with the drawing helpers of :mod:`envs.rendering`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from envs.rendering import (FOVEA_COLOR, PERIPHERY_COLOR, draw_retina_boxes, draw_scanpath, heatmap,
                            to_rgb, upscale)

__all__ = ["Rect", "Layout", "compute_layout", "fit_rect", "image_panel", "heat_panel", "tile",
           "screen_to_pixel", "pixel_to_screen", "PAD", "STATUS_H", "TITLE_H", "MIN_SIZE"]

PAD = 10          # gap between panels, px
STATUS_H = 28     # status bar height, px
TITLE_H = 20      # panel title height, px
CAPTION_H = 16    # caption under a timeline tile, px
MIN_SIZE = (480, 320)


@dataclass(frozen=True)
class Rect:
    """Axis-aligned screen rectangle: ``x, y`` top-left, ``w, h`` size (px)."""

    x: int
    y: int
    w: int
    h: int

    def contains(self, pos: tuple[int, int]) -> bool:
        return self.x <= pos[0] < self.x + self.w and self.y <= pos[1] < self.y + self.h

    @property
    def title_pos(self) -> tuple[int, int]:
        """Where a panel's title goes (just above it)."""
        return self.x, self.y - TITLE_H + 2


@dataclass(frozen=True)
class Layout:
    """Screen rectangles of every panel for one window size."""

    size: tuple[int, int]
    status: Rect
    image: Rect                  # the full image with the scanpath (aspect preserved)
    glimpses: tuple[Rect, ...]   # one tile per retina scale
    priority: Rect               # priority map (saliency x IoR) heat map
    side: Rect                   # saliency map (no model) or the world-model panel
    timeline: Rect               # strip of fovea tiles
    timeline_tile: int           # side of one timeline tile, px


def fit_rect(box: Rect, shape: tuple[int, int]) -> Rect:
    """The largest rectangle of aspect ``shape`` (H, W) centred in ``box`` (at least 1x1)."""
    h, w = shape
    k = min(box.w / w, box.h / h)
    fw, fh = max(1, int(w * k)), max(1, int(h * k))
    return Rect(box.x + (box.w - fw) // 2, box.y + (box.h - fh) // 2, fw, fh)


def compute_layout(size: tuple[int, int], image_shape: tuple[int, int], n_scales: int) -> Layout:
    """Place the panels in a window of ``size`` (W, H) px for images of ``image_shape`` (H, W).

    Left: the image (about 45% of the width). Right, top: one tile per retina scale; right,
    bottom: priority map and the side panel. Bottom strip: the glimpse timeline.
    """
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (width, height) > 0, got {size!r}")
    if n_scales < 1:
        raise ValueError(f"n_scales must be >= 1, got {n_scales}")
    width, height = max(int(size[0]), MIN_SIZE[0]), max(int(size[1]), MIN_SIZE[1])
    status = Rect(0, 0, width, STATUS_H)
    timeline_h = int(np.clip(0.2 * height, 70, 180))
    top = STATUS_H + PAD + TITLE_H
    bottom = height - timeline_h - PAD
    main_h = bottom - top
    image = fit_rect(Rect(PAD, top, int(0.45 * (width - 3 * PAD)), main_h), image_shape)
    image = Rect(PAD, top, image.w, image.h)  # top-aligned with the glimpse tiles

    right_x = image.x + image.w + 2 * PAD
    right_w = width - right_x - PAD
    tile = int(max(8, min((right_w - (n_scales - 1) * PAD) / n_scales, 0.42 * main_h)))
    glimpses = tuple(Rect(right_x + k * (tile + PAD), top, tile, tile) for k in range(n_scales))

    row_y = top + tile + PAD + TITLE_H
    row_h = max(8, bottom - row_y)
    half = max(8, (right_w - PAD) // 2)
    priority = fit_rect(Rect(right_x, row_y, min(half, row_h), row_h), image_shape)
    priority = Rect(right_x, row_y, priority.w, priority.h)
    side_x = priority.x + priority.w + PAD
    side = Rect(side_x, row_y, max(8, width - side_x - PAD), row_h)

    tl_y = height - timeline_h + TITLE_H
    tl_tile = max(8, timeline_h - TITLE_H - CAPTION_H - PAD)
    timeline = Rect(PAD, tl_y, width - 2 * PAD, tl_tile + CAPTION_H)
    return Layout((width, height), status, image, glimpses, priority, side, timeline, tl_tile)


# ---------------------------------------------------------------------- coordinates
def screen_to_pixel(rect: Rect, pos: tuple[int, int], image_shape: tuple[int, int]) -> np.ndarray | None:
    """The image pixel int64 ``[2]`` (row, col) under screen position ``pos`` (x, y) in ``rect``, or None."""
    if not rect.contains(pos):
        return None
    h, w = image_shape
    col = min(w - 1, int((pos[0] - rect.x) * w / rect.w))
    row = min(h - 1, int((pos[1] - rect.y) * h / rect.h))
    return np.array([row, col], np.int64)


def pixel_to_screen(rect: Rect, pixel: np.ndarray, image_shape: tuple[int, int]) -> tuple[int, int]:
    """Screen (x, y) of the grid point (top-left corner) of image ``pixel`` (row, col) in ``rect``."""
    h, w = image_shape
    return rect.x + int(round(int(pixel[1]) * rect.w / w)), rect.y + int(round(int(pixel[0]) * rect.h / h))


# ---------------------------------------------------------------------- panels
def _resize(image: np.ndarray, w: int, h: int, smooth: bool) -> np.ndarray:
    if image.shape[1] == w and image.shape[0] == h:
        return np.ascontiguousarray(image)
    shrink = w < image.shape[1]
    interp = cv2.INTER_AREA if smooth and shrink else cv2.INTER_NEAREST
    return cv2.resize(image, (w, h), interpolation=interp)


def image_panel(image: np.ndarray, scanpath: np.ndarray, glimpse_size: int, scales: tuple[int, ...],
                w: int, h: int) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: ``image`` ``[H, W, C]`` with fovea/periphery boxes and the numbered scanpath.

    ``scanpath`` int ``[N, 2]`` pixels (row, col); the boxes are drawn around its last entry.
    The image is enlarged by an integer factor (crisp pixels, line widths that scale), drawn
    on, then fitted to ``w x h``.
    """
    hi, wi = image.shape[:2]
    k = max(1, math.ceil(max(w / wi, h / hi)))
    canvas = upscale(image, k)
    if len(scanpath):
        draw_retina_boxes(canvas, scanpath[-1], glimpse_size, scales, k)
        draw_scanpath(canvas, scanpath, k)
    return _resize(canvas, w, h, smooth=True)


def heat_panel(values: np.ndarray, w: int, h: int) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]`` heat map of ``values`` float ``[H, W]`` (nearest-neighbour enlarged)."""
    return _resize(heatmap(values), w, h, smooth=False)


def tile(glimpse: np.ndarray, side: int, border: tuple[int, int, int] | None = None, width: int = 2) -> np.ndarray:
    """One glimpse uint8 ``[G, G, C]`` enlarged (nearest) to ``[side, side, 3]``, optional coloured border."""
    out = _resize(to_rgb(glimpse), side, side, smooth=False).copy()
    if border is not None and side > 2 * width:
        cv2.rectangle(out, (0, 0), (side - 1, side - 1), border, width)
    return out


def scale_color(k: int) -> tuple[int, int, int]:
    """Border colour of retina scale ``k`` (the colours of the boxes on the image)."""
    return FOVEA_COLOR if k == 0 else PERIPHERY_COLOR
