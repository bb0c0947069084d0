"""``render()`` for environments that draw their own frames: rgb_array returns the frame, human
shows it in a pygame window (pygame imported lazily, only when a window is needed)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["FrameWindowMixin"]


class FrameWindowMixin:
    """Mix into a ``gym.Env`` that defines ``render_frame() -> uint8 [H, W, 3]``.

    Gives ``render()`` (both render modes), ``close()`` and pickling without the window.
    Set ``window_caption`` on the class.
    """

    window_caption = "environment"
    _window: Any = None
    _clock: Any = None

    def render_frame(self) -> np.ndarray:
        raise NotImplementedError

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        frame = self.render_frame()
        if self.render_mode == "rgb_array":
            return frame
        import pygame  # lazy: only the human mode needs a window

        if self._window is None:
            pygame.init()
            pygame.display.set_caption(self.window_caption)
            self._window = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            self._clock = pygame.time.Clock()
        pygame.event.pump()
        self._window.blit(pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2))), (0, 0))
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])
        return None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the pygame window."""
        state = self.__dict__.copy()
        state["_window"] = None
        state["_clock"] = None
        return state

    def close(self) -> None:
        if self._window is not None:
            import pygame

            pygame.display.quit()
            pygame.quit()
            self._window = None
            self._clock = None
