"""Layout and pixel content of the viewer's panels (pure NumPy/OpenCV, no pygame).

:func:`compute_layout` places every panel from the window size alone, so resizing the
window just recomputes it; the ``*_panel`` functions render uint8 RGB arrays of exactly the
requested size with the drawing helpers of :mod:`envs.render.drawing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from envs.render.drawing import (
    FOVEA_COLOR,
    PERIPHERY_COLOR,
    SCANPATH_COLOR,
    draw_retina_boxes,
    draw_scanpath,
    heatmap,
    to_rgb,
    upscale,
)

__all__ = ["Rect", "Layout", "Panel", "compute_layout", "fit_rect", "image_panel", "heat_panel", "tile",
           "displacement_panel", "orientation_panel", "view_panel", "picture_panel", "screen_to_pixel", "pixel_to_screen",
           "PAD", "STATUS_H", "TITLE_H", "MIN_SIZE", "START_COLOR", "AXIS_COLORS"]

PAD = 10          # gap between panels, px
STATUS_H = 28     # status bar height, px
TITLE_H = 20      # panel title height, px
CAPTION_H = 16    # caption under a timeline tile, px
MIN_SIZE = (480, 320)
PANEL_BG = (34, 36, 44)
START_COLOR = (255, 80, 200)                                 # the start of a path (as the path env draws it)
AXIS_COLORS = ((255, 60, 60), (60, 230, 60), (80, 140, 255))  # object axes x, y, z (as the rotation env)


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


@dataclass(frozen=True)
class Panel:
    """One titled panel: a picture (``make() -> uint8 RGB [rect.h, rect.w, 3]``) and/or text ``lines``.

    ``key`` names it in the painter's cache; ``title_width`` bounds the title (default ``rect.w``).
    """

    key: str
    title: str
    rect: Rect
    make: Callable[[], np.ndarray] | None = None
    lines: tuple[str, ...] = ()
    title_width: int | None = None


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


def picture_panel(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: ``image`` ``[H, W, C]`` enlarged by an integer factor, fitted to ``w x h``."""
    hi, wi = image.shape[:2]
    return _resize(upscale(image, max(1, math.ceil(max(w / wi, h / hi)))), w, h, smooth=True)


def image_panel(image: np.ndarray, scanpath: np.ndarray, glimpse_size: int, scales: tuple[int, ...],
                w: int, h: int, mark_start: bool = False) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: ``image`` ``[H, W, C]`` with fovea/periphery boxes and the numbered scanpath.

    ``scanpath`` int ``[N, 2]`` pixels (row, col); the boxes are drawn around its last entry,
    and with ``mark_start`` a :data:`START_COLOR` ring around its first. The image is enlarged
    by an integer factor (crisp pixels, line widths that scale), drawn on, then fitted to ``w x h``.
    """
    hi, wi = image.shape[:2]
    k = max(1, math.ceil(max(w / wi, h / hi)))
    canvas = upscale(image, k)
    if len(scanpath):
        draw_retina_boxes(canvas, scanpath[-1], glimpse_size, scales, k)
        draw_scanpath(canvas, scanpath, k)
        if mark_start:
            centre = (int(scanpath[0][1]) * k, int(scanpath[0][0]) * k)
            cv2.circle(canvas, centre, max(6, 2 * k + 4), START_COLOR, max(2, k // 2 + 1), cv2.LINE_AA)
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


# ---------------------------------------------------------------------- path integration / rotation panels
def _tick(extent: float) -> float:
    """A round grid spacing giving at most 4 lines on each side of 0 for a half-range ``extent``."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        if extent / step <= 4:
            return step
    return 2.0


def displacement_panel(offsets: np.ndarray, w: int, h: int, min_extent: float = 0.25) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: a path relative to its start, the start at the centre.

    ``offsets`` float ``[N, 2]``: positions minus the start position (normalised (row, col),
    rows downwards). Draws a grid, the path (scanpath colour), the start (:data:`START_COLOR`)
    and an arrow from the start to the last offset (fovea colour): the path-integration target.
    The scale fits the farthest offset (at least ``min_extent`` units from the centre).
    """
    offsets = np.asarray(offsets, np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(offsets)):
        raise ValueError("offsets must be finite (normalised (row, col) displacements)")
    canvas = np.empty((max(1, h), max(1, w), 3), np.uint8)
    canvas[:] = PANEL_BG
    extent = max(float(min_extent), 1.1 * float(np.abs(offsets).max(initial=0.0)))
    cx, cy = w / 2.0, h / 2.0
    k = max(1.0, min(w, h) / 2.0 - 8) / extent  # px per normalised unit

    def pt(off: np.ndarray) -> tuple[int, int]:
        return int(round(cx + off[1] * k)), int(round(cy + off[0] * k))

    step = _tick(extent)
    for j in range(-int(extent / step), int(extent / step) + 1):
        colour = (90, 92, 104) if j == 0 else (52, 54, 64)
        x, y = int(round(cx + j * step * k)), int(round(cy + j * step * k))
        cv2.line(canvas, (x, 0), (x, h - 1), colour, 1)
        cv2.line(canvas, (0, y), (w - 1, y), colour, 1)
    if len(offsets) > 1:
        cv2.polylines(canvas, [np.array([pt(o) for o in offsets], np.int32).reshape(-1, 1, 2)], False,
                      SCANPATH_COLOR, 1, cv2.LINE_AA)
        for o in offsets[1:-1]:
            cv2.circle(canvas, pt(o), 2, SCANPATH_COLOR, -1, cv2.LINE_AA)
    if len(offsets) and np.any(offsets[-1] != 0):
        cv2.arrowedLine(canvas, pt(np.zeros(2)), pt(offsets[-1]), FOVEA_COLOR, 2, cv2.LINE_AA, tipLength=0.08)
    cv2.circle(canvas, pt(np.zeros(2)), 5, START_COLOR, -1, cv2.LINE_AA)
    cv2.putText(canvas, f"grid {step:g}", (4, h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (150, 155, 170), 1, cv2.LINE_AA)
    return canvas


def _draw_axes(canvas: np.ndarray, centre: tuple[float, float], radius: float, rot: np.ndarray,
               thickness: int, dim: float = 1.0, labels: bool = False) -> None:
    """Draw the object's axes (columns of ``rot`` float ``[3, 3]``, camera frame) projected, far ones first."""
    for k in np.argsort(-rot[2]):  # larger z = farther from the viewer: drawn first
        tip = (int(round(centre[0] + radius * rot[0, k])), int(round(centre[1] + radius * rot[1, k])))
        colour = tuple(int(c * dim) for c in AXIS_COLORS[k])
        cv2.line(canvas, (int(round(centre[0])), int(round(centre[1]))), tip, colour, thickness, cv2.LINE_AA)
        if labels:
            cv2.putText(canvas, "xyz"[k], (tip[0] + 3, tip[1] - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                        cv2.LINE_AA)


def orientation_panel(rot: np.ndarray, rot0: np.ndarray, rel_rotvec: np.ndarray, w: int, h: int) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: the object's axes now (bright, labelled) and in the first view (dim).

    ``rot``, ``rot0`` float ``[3, 3]``: object -> camera rotations (camera x right, y down, z
    away). ``rel_rotvec`` float ``[3]``: the rotation from the first view (axis * angle); its
    axis is drawn through the centre in the scanpath colour, a dot at its positive end.
    """
    rot, rot0 = np.asarray(rot, np.float64), np.asarray(rot0, np.float64)
    if rot.shape != (3, 3) or rot0.shape != (3, 3):
        raise ValueError(f"rot and rot0 must be [3, 3] rotation matrices, got {rot.shape} and {rot0.shape}")
    canvas = np.empty((max(1, h), max(1, w), 3), np.uint8)
    canvas[:] = PANEL_BG
    centre = (w / 2.0, h / 2.0)
    radius = max(4.0, 0.42 * min(w, h))
    cv2.circle(canvas, (int(centre[0]), int(centre[1])), int(radius), (60, 62, 72), 1, cv2.LINE_AA)
    _draw_axes(canvas, centre, radius, rot0, 1, dim=0.45)
    rel = np.asarray(rel_rotvec, np.float64).reshape(3)
    angle = float(np.linalg.norm(rel))
    if angle > 1e-6:
        axis = rel / angle
        a = (int(round(centre[0] + radius * axis[0])), int(round(centre[1] + radius * axis[1])))
        b = (int(round(centre[0] - radius * axis[0])), int(round(centre[1] - radius * axis[1])))
        cv2.line(canvas, b, a, SCANPATH_COLOR, 1, cv2.LINE_AA)
        cv2.circle(canvas, a, 4, SCANPATH_COLOR, -1, cv2.LINE_AA)
    _draw_axes(canvas, centre, radius, rot, 3, labels=True)
    return canvas


def view_panel(view: np.ndarray, rot: np.ndarray, w: int, h: int) -> np.ndarray:
    """uint8 RGB ``[h, w, 3]``: a rendered view ``[N, N, C]`` enlarged, the object's axes in its top-left corner."""
    hi, wi = view.shape[:2]
    k = max(1, math.ceil(max(w / wi, h / hi)))
    canvas = upscale(view, k)
    r = 0.08 * canvas.shape[0]
    _draw_axes(canvas, (1.4 * r, 1.4 * r), r, np.asarray(rot, np.float64), max(2, k // 3))
    return _resize(canvas, w, h, smooth=True)
