"""pygame drawing of the viewer: blits the panels of :mod:`experiments.viewer.panels` and the text.

:class:`Painter` reads a :class:`experiments.viewer.Viewer` (duck-typed: ``adapter``, ``obs``,
``info``, ``glimpses``, ``infos``, ``predictions``, ``monitor``, ``status_text()``, ``help_lines()``,
...) and paints one frame; the family-specific pictures come from ``viewer.adapter``.
Panel arrays are cached per (viewer state version, window size), so redrawing an unchanged
state at the window's frame rate only blits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pygame

from experiments.viewer.panels import (
    PAD,
    PANEL_BG,
    TITLE_H,
    Panel,
    Rect,
    scale_color,
    tile,
)

__all__ = ["Painter", "BG", "TEXT", "DIM"]

BG = (22, 23, 28)
STATUS_BG = (12, 12, 16)
TEXT = (230, 232, 238)
DIM = (150, 155, 170)
ACCENT = (255, 220, 40)
REC = (255, 70, 70)


def cosine_color(c: float) -> tuple[int, int, int]:
    """Red (-1) -> grey (0) -> green (+1)."""
    c = float(np.clip(c, -1.0, 1.0))
    if c >= 0:
        return int(200 - 140 * c), int(200 + 30 * c), int(200 - 120 * c)
    return int(200 + 55 * -c), int(200 - 130 * -c), int(200 - 130 * -c)


def _candidate_panel(viewer: Any, rect: Rect, view: Any) -> Panel:
    from experiments.viewer.candidates import candidate_panel
    c = viewer.candidates
    image = viewer.base.world.image(0)
    title = f"{c.score} of {c.grid}x{c.grid} saccades (green: choice)"
    return Panel("candidates", title, rect, lambda: candidate_panel(image, view, rect.w, rect.h), title_width=rect.w + 10)


class Painter:
    """Draws the viewer; owns the fonts and the panel cache."""

    def __init__(self) -> None:
        pygame.font.init()
        self.font = pygame.font.Font(None, 20)
        self.small = pygame.font.Font(None, 17)
        self.big = pygame.font.Font(None, 24)
        self._cache: dict[str, Any] = {}
        self._cache_key: tuple[Any, ...] | None = None

    # ------------------------------------------------------------------ primitives
    def text(self, surface: Any, text: str, pos: tuple[int, int], color: tuple[int, int, int] = TEXT,
             font: Any = None, shadow: bool = False, max_width: int | None = None) -> int:
        """Draw ``text`` with its top-left at ``pos``; returns its width (clipped to ``max_width``)."""
        font = font or self.font
        if max_width is not None and font.size(text)[0] > max_width:
            while len(text) > 1 and font.size(text + "...")[0] > max_width:
                text = text[:-1]
            text += "..."
        if shadow:
            surface.blit(font.render(text, True, (0, 0, 0)), (pos[0] + 1, pos[1] + 1))
        rendered = font.render(text, True, color)
        surface.blit(rendered, pos)
        return rendered.get_width()

    @staticmethod
    def blit_array(surface: Any, array: np.ndarray, pos: tuple[int, int]) -> None:
        """Blit a uint8 RGB ``[h, w, 3]`` array with its top-left at ``pos``."""
        array = np.ascontiguousarray(array, dtype=np.uint8)
        surface.blit(pygame.image.frombuffer(array.tobytes(), (array.shape[1], array.shape[0]), "RGB"), pos)

    def _panel(self, key: str, make: Any) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # ------------------------------------------------------------------ frame
    def paint(self, surface: Any, viewer: Any) -> None:
        """Paint the whole viewer onto ``surface``."""
        layout = viewer.layout
        key = (viewer.version, layout.size, id(viewer.base))
        if key != self._cache_key:
            self._cache, self._cache_key = {}, key
        surface.fill(BG)
        adapter = viewer.adapter
        retina = adapter.retina

        r = layout.image
        self.text(surface, adapter.main_title(), r.title_pos, DIM, max_width=layout.glimpses[0].x - r.x - PAD)
        self.blit_array(surface, self._panel("image", lambda: adapter.main_panel(r.w, r.h)), (r.x, r.y))

        g = retina.glimpse_size
        for k, (rect, s) in enumerate(zip(layout.glimpses, retina.scales)):
            title = f"fovea x1 ({g} px)" if k == 0 else f"x{s}: {g * s} px -> {g}"
            self.text(surface, title, rect.title_pos, DIM, max_width=rect.w)
            self.blit_array(surface, self._panel(f"glimpse{k}", lambda k=k, rect=rect: tile(
                viewer.obs["glimpse"][k], rect.w, scale_color(k))), (rect.x, rect.y))

        first, second = adapter.panels(layout, viewer.obs, viewer.info)
        view = viewer.candidate_view() if getattr(viewer, "show_candidates", False) else None
        if view is not None:  # the world model's candidate scores take the priority map's place
            first = _candidate_panel(viewer, first.rect, view)
        self.draw_panel(surface, first)
        if viewer.monitor is None:
            self.draw_panel(surface, second)
        else:
            self._model_panel(surface, viewer, layout.side)

        self._timeline(surface, viewer, layout)
        self._status(surface, viewer, layout.status)
        if viewer.show_help:
            self._help(surface, viewer)

    def draw_panel(self, surface: Any, panel: Panel) -> None:
        """Draw one :class:`Panel`: its title, then its picture, or its text lines on a panel background."""
        r = panel.rect
        self.text(surface, panel.title, r.title_pos, DIM, max_width=panel.title_width or r.w)
        if panel.make is not None:
            self.blit_array(surface, self._panel(panel.key, panel.make), (r.x, r.y))
            return
        pygame.draw.rect(surface, PANEL_BG, (r.x, r.y, r.w, r.h))
        line = 19
        for i, text in enumerate(panel.lines):
            y = r.y + PAD + i * line
            if y + line > r.y + r.h:
                break
            self.text(surface, text, (r.x + PAD, y), TEXT, self.small, max_width=r.w - 2 * PAD)

    def _status(self, surface: Any, viewer: Any, rect: Rect) -> None:
        pygame.draw.rect(surface, STATUS_BG, (rect.x, rect.y, rect.w, rect.h))
        x = PAD
        if viewer.recording is not None:
            pygame.draw.circle(surface, REC, (x + 6, rect.h // 2), 6)
            x += 18
        right = viewer.message or "h: help"
        right_w = self.font.size(right)[0]
        self.text(surface, viewer.status_text(), (x, 7), TEXT, max_width=rect.w - x - right_w - 3 * PAD)
        self.text(surface, right, (rect.w - right_w - PAD, 7), ACCENT if viewer.message else DIM)

    def _timeline(self, surface: Any, viewer: Any, layout: Any) -> None:
        t, side = layout.timeline, layout.timeline_tile
        n_fit = max(1, (t.w + PAD) // (side + PAD))
        first = max(0, len(viewer.glimpses) - n_fit)
        title = "glimpse sequence (fovea of each fixation)"
        if viewer.monitor is not None:
            title += ": cos(predicted, actual latent) below"
        if first:
            title += f"  [showing the last {n_fit} of {len(viewer.glimpses)}]"
        self.text(surface, title, t.title_pos, DIM)
        for j, k in enumerate(range(first, len(viewer.glimpses))):
            x = t.x + j * (side + PAD)
            current = k == len(viewer.glimpses) - 1
            self.blit_array(surface, self._panel(f"tl{k}", lambda k=k, current=current: tile(
                viewer.glimpses[k][0], side, ACCENT if current else (70, 72, 80))), (x, t.y))
            self.text(surface, str(k + 1), (x + 4, t.y + 3), ACCENT, self.small, shadow=True)
            if viewer.monitor is not None and k >= 1 and k - 1 < len(viewer.predictions):
                c = viewer.predictions[k - 1].cosine
                self.text(surface, f"cos {c:+.2f}", (x, t.y + side + 2), cosine_color(c), self.small, max_width=side)
            elif k < len(viewer.infos):
                self.text(surface, viewer.adapter.caption(viewer.infos[k]), (x, t.y + side + 2), DIM, self.small,
                          max_width=side)

    def _model_panel(self, surface: Any, viewer: Any, box: Rect) -> None:
        self.text(surface, "world model (seq-JEPA)", (box.x, box.y - TITLE_H + 2), DIM, max_width=box.w)
        pygame.draw.rect(surface, PANEL_BG, (box.x, box.y, box.w, box.h))
        line = 19
        if not viewer.predictions:
            self.text(surface, "saccade (click / space): the model", (box.x + PAD, box.y + PAD), TEXT,
                      max_width=box.w - 2 * PAD)
            self.text(surface, "predicts the next glimpse's latent", (box.x + PAD, box.y + PAD + line), TEXT,
                      max_width=box.w - 2 * PAD)
            return
        p = viewer.predictions[-1]
        m = int(max(8, min((box.w - 3 * PAD) // 2, box.h - 2 * PAD - 4 * line)))
        x0, y0 = box.x + PAD, box.y + PAD + line
        self.text(surface, f"actual view {p.step + 1}", (x0, box.y + PAD), DIM, self.small, max_width=m)
        self.text(surface, "nearest to prediction", (x0 + m + PAD, box.y + PAD), DIM, self.small, max_width=m)
        frame = (70, 72, 80)
        self.blit_array(surface, self._panel("actual", lambda: tile(viewer.glimpses[p.step][0], m, frame)), (x0, y0))
        self.blit_array(surface, self._panel("nearest", lambda: tile(p.nearest[0], m, frame)), (x0 + m + PAD, y0))
        y = y0 + m + 6
        self.text(surface, f"cos(predicted, actual) = {p.cosine:+.3f}", (x0, y), cosine_color(p.cosine),
                  max_width=box.w - 2 * PAD)
        bar_w = box.w - 2 * PAD
        pygame.draw.rect(surface, (60, 62, 72), (x0, y + line, bar_w, 6))
        mid = x0 + bar_w // 2
        end = x0 + int((p.cosine + 1) / 2 * bar_w)
        pygame.draw.rect(surface, cosine_color(p.cosine), (min(mid, end), y + line, abs(end - mid) + 1, 6))
        src = p.nearest_source
        mean = float(np.mean([q.cosine for q in viewer.predictions]))
        self.text(surface, f"nearest: cos {p.nearest_cosine:+.3f}, image {src[0]} at ({src[1]}, {src[2]})",
                  (x0, y + line + 12), DIM, self.small, max_width=bar_w)
        self.text(surface, f"episode mean cos {mean:+.3f} over {len(viewer.predictions)} saccades",
                  (x0, y + 2 * line + 10), DIM, self.small, max_width=bar_w)

    def _help(self, surface: Any, viewer: Any) -> None:
        lines = viewer.help_lines()
        w = min(surface.get_width() - 4 * PAD, max(self.font.size(s)[0] for s in lines) + 4 * PAD)
        h = min(surface.get_height() - 4 * PAD, 22 * len(lines) + 3 * PAD + 30)
        x, y = (surface.get_width() - w) // 2, (surface.get_height() - h) // 2
        veil = pygame.Surface((w, h), pygame.SRCALPHA)
        veil.fill((8, 8, 12, 225))
        surface.blit(veil, (x, y))
        pygame.draw.rect(surface, ACCENT, (x, y, w, h), 2)
        self.text(surface, "saccade-view: keys", (x + 2 * PAD, y + 2 * PAD), ACCENT, self.big)
        for i, line in enumerate(lines):
            self.text(surface, line, (x + 2 * PAD, y + 2 * PAD + 30 + 22 * i), TEXT, max_width=w - 4 * PAD)
