"""The viewer's state machine: :class:`Viewer` owns the env, reacts to pygame events and draws itself.

Used by ``experiments.viewer.cli`` (the ``saccade-view`` command); tests drive it with synthetic
events and read :meth:`Viewer.render_frame` without a window. Everything that depends on the
env family (saccade, path integration, 3D rotation) is asked of an
:class:`experiments.viewer.adapters.Adapter`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # keep pygame's banner out of CLI output
import pygame  # noqa: E402

from experiments.viewer.adapters import Adapter, make_adapter  # noqa: E402
from experiments.viewer.draw import Painter  # noqa: E402
from experiments.viewer.env import EnvFactory, base_env  # noqa: E402
from experiments.viewer.panels import MIN_SIZE, compute_layout, screen_to_pixel  # noqa: E402

__all__ = ["Viewer", "key_bindings", "write_animation", "RECORD_FORMATS"]

RECORD_FORMATS = ("gif", "mp4")


def key_bindings() -> list[tuple[str, str]]:
    """What keys ``1``..``9`` select: ``("method", name)`` for each saliency method, then ``("ior", mode)``."""
    from saliency import IOR_MODES, METHODS

    return ([("method", m) for m in METHODS] + [("ior", m) for m in IOR_MODES])[:9]


class Viewer:
    """State and controls of the viewer; draws itself onto any pygame surface.

    Args:
        factory: builds the environment (``EnvFactory``, any family with an adapter); rebuilt when
            the saliency method / IoR mode changes (saccade envs).
        size: window size ``(width, height)`` px.
        fps: autoplay rate (agent steps per second) and the GIF frame rate.
        seed: seeds the env (first fixations) and the space-key agent (saliency agent for saccade
            envs, uniform random actions otherwise).
        agent_mode: ``"sample"`` or ``"argmax"`` (see ``agents.SaliencyAgent``; saccade envs only).
        out_dir: folder for screenshots and recordings.
        record_format: ``"gif"`` (no ffmpeg needed) or ``"mp4"`` (needs imageio-ffmpeg).
        monitor: optional ``experiments.viewer.model.WorldModelMonitor`` (attached here; saccade envs only).
        n_cache: glimpses in the monitor's nearest-neighbour cache.
        cache_dir: where the monitor keeps that cache's latents between runs (None = nowhere).
        progress: show a progress bar while the cache is built.
        index: first image index (default 0).
        candidates: optional ``experiments.viewer.candidates.CandidateScores`` (the world model's scores of
            candidate saccades, key c); ``show_candidates`` shows them from the start.

    Raises:
        ValueError: bad ``fps``/``record_format``/``size``, an env family without an adapter,
            or a ``monitor`` for a family other than saccade.
    """

    def __init__(self, factory: EnvFactory, size: tuple[int, int] = (1160, 760), fps: float = 2.0, seed: int = 0,
                 agent_mode: str = "sample", out_dir: str | Path = "viewer_out", record_format: str = "gif",
                 monitor: Any = None, n_cache: int = 2000, index: int = 0, cache_dir: str | Path | None = None,
                 progress: bool = False, candidates: Any = None, show_candidates: bool = False) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if record_format not in RECORD_FORMATS:
            raise ValueError(f"record_format must be one of {RECORD_FORMATS}, got {record_format!r}")
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"size must be (width, height) with positive ints, got {size!r}")
        pygame.font.init()
        self.factory, self.fps, self.seed = factory, float(fps), seed
        self.size = (int(size[0]), int(size[1]))
        self.out_dir, self.record_format = Path(out_dir), record_format
        self.monitor, self.n_cache, self.cache_dir, self.progress = monitor, n_cache, cache_dir, progress
        self._attached: tuple[Any, ...] | None = None
        self.bindings = key_bindings()
        self.painter = Painter()
        self.running, self.autoplay, self.show_help = True, False, False
        self.recording: list[np.ndarray] | None = None
        self.message, self._message_until = "", 0.0
        self._clock, self._accum, self._shots = 0.0, 0.0, 0
        self.version = 0  # bumped on every state change (frame cache key)
        self.env = factory.make()
        self.adapter: Adapter = make_adapter(self.env)
        if monitor is not None and not self.adapter.supports_monitor:
            self.env.close()
            raise ValueError(f"monitor (--checkpoint) needs a saccade env, got a {self.adapter.family} env "
                             f"({factory.name})")
        self.agent = self.adapter.make_agent(seed, agent_mode)
        self._seeded, self._gaussian_decay = False, None
        self._attach_monitor()
        self.candidates, self.show_candidates, self._candidate_view = candidates, False, (-1, None)
        if candidates is not None and not candidates.attach(self.env) and show_candidates:
            self.env.close()
            raise ValueError(f"--candidates: {candidates.error}")
        self.show_candidates = bool(show_candidates and candidates is not None)
        self.reset(index)

    # ------------------------------------------------------------------ state
    @property
    def base(self) -> Any:
        """The unwrapped env (an ``envs.engine.env.ActiveVisionEnv``: ``SaccadeEnv``, ``Rotation3DEnv``, ...)."""
        return base_env(self.env)

    @property
    def n_images(self) -> int:
        """Images / worlds / objects that ``n`` and ``p`` cycle through."""
        return self.adapter.n_items

    @property
    def layout(self) -> Any:
        """Panel rectangles for the current window size."""
        return compute_layout(self.size, self.adapter.image_shape, len(self.adapter.retina.scales))

    def _attach_monitor(self) -> None:
        """Attach the world model to the (new) env; skipped when only the saliency/IoR settings changed."""
        if self.monitor is None:
            return
        b = self.base
        key = (getattr(b.dataset, "fingerprint", "") or id(b.dataset), b.retina.glimpse_size, tuple(b.retina.scales))
        if key != self._attached:
            self.monitor.attach(self.base, n_cache=self.n_cache, seed=self.seed, cache_dir=self.cache_dir,
                                progress=self.progress)
            self._attached = key

    def _changed(self) -> None:
        self.version += 1
        if self.recording is not None:
            self.recording.append(self.render_frame())

    def notify(self, text: str, seconds: float = 3.0) -> None:
        """Show ``text`` in the status bar for ``seconds``."""
        self.message, self._message_until = text, self._clock + seconds

    def reset(self, index: int | None = None) -> None:
        """New episode on image ``index`` (default: the current image)."""
        index = self.index if index is None else int(index) % self.n_images
        seed = None if self._seeded else self.seed
        self._seeded = True
        self.agent.reset()
        self.obs, self.info = self.env.reset(seed=seed, options={"index": index})
        self.index, self.truncated = int(self.info["index"]), False
        self.glimpses: list[np.ndarray] = [self.obs["glimpse"]]
        self.infos: list[dict[str, Any]] = [self.info]
        self.predictions: list[Any] = []
        if self.monitor is not None:
            self.monitor.start(self.obs["glimpse"])
        if self.candidates is not None:
            self.candidates.restart(self.obs, self.info)
        self._changed()

    def step(self, action: np.ndarray) -> None:
        """Apply one action (float32, the env's action shape) and update the history and the model scores;
        after the episode's last step only a message (the env wants ``reset()`` first)."""
        if self.truncated:
            self.notify("the episode has ended: space for the next one, r to restart it", 3.0)
            return
        self.obs, _, _, truncated, self.info = self.env.step(self.adapter.full_action(action))
        self.truncated = self.truncated or bool(truncated)
        self.glimpses.append(self.obs["glimpse"])
        self.infos.append(self.info)
        if self.monitor is not None:
            self.predictions.append(self.monitor.observe(self.obs["glimpse"], self.obs["last_action"]))
        if self.candidates is not None:
            self.candidates.observe(self.obs, self.info)
        self._changed()

    def click(self, pixel: np.ndarray) -> None:
        """A click on main-picture ``pixel`` (row, col): the adapter's action for it (saccade envs:
        saccade there), or a status message when the family ignores such a click."""
        action = self.adapter.click_action(pixel, self.info)
        if action is None:
            self.notify(f"{self.adapter.click_help}", 3.0)
        else:
            self.step(action)

    def agent_step(self) -> None:
        """One agent action (saliency agent / random; the world model's choice while its candidate scores are
        shown); after the last step of an episode, go to the next item."""
        if self.truncated:
            self.reset(self.index + 1)
        elif self.show_candidates and self.candidate_view() is not None:
            self.step(self.candidate_view().action)
        else:
            self.step(self.agent.act(self.obs, self.info))

    def candidate_view(self) -> Any:
        """The world model's candidate scores of the current state (computed once per state), or None."""
        if self.candidates is None:
            return None
        if self._candidate_view[0] != self.version:
            self._candidate_view = (self.version, self.candidates.view(self.obs, self.info))
        return self._candidate_view[1]

    def toggle_candidates(self) -> None:
        """Key c: show / hide the world model's candidate scores (needs --checkpoint)."""
        if self.candidates is None or self.candidates.agent is None:
            why = self.candidates.error if self.candidates is not None else "they need --checkpoint"
            self.notify(f"candidate scores: {why}", 6.0)
            return
        self.show_candidates = not self.show_candidates
        self.version += 1

    def rebuild(self, **changes: Any) -> None:
        """Rebuild the env with changed keyword arguments and restart on the same image."""
        old_env, old_kwargs = self.env, dict(self.factory.kwargs)
        try:
            self.env, self._seeded = self.factory.make(**changes), False
            self.adapter = make_adapter(self.env)
            self._attach_monitor()
            if self.candidates is not None and not self.candidates.attach(self.env):
                self.show_candidates = False
            self.reset(self.index)
        except (ValueError, TypeError) as exc:  # keep showing the old env, say why
            self.env, self.factory.kwargs, self._seeded = old_env, old_kwargs, True
            self.adapter = make_adapter(old_env)
            self.notify(f"cannot rebuild the env: {exc}", 6.0)
            return
        old_env.close()
        self.notify(", ".join(f"{k}={v}" for k, v in changes.items()))

    def set_ior(self, mode: str) -> None:
        """Switch the IoR mode; a recovery ``ior_decay`` < 1 applies to "gaussian" only and is kept for it."""
        changes: dict[str, Any] = {"ior": mode}
        decay = float(self.factory.kwargs.get("ior_decay", 1.0))
        if mode != "gaussian" and decay != 1.0:
            self._gaussian_decay, changes["ior_decay"] = decay, 1.0
        elif mode == "gaussian" and self._gaussian_decay is not None:
            changes["ior_decay"] = self._gaussian_decay
        self.rebuild(**changes)

    # ------------------------------------------------------------------ files
    def save_screenshot(self, path: str | Path | None = None) -> Path:
        """Write the current frame as a PNG (default ``<out_dir>/shot-<time>-<n>.png``)."""
        import imageio.v3 as iio

        self._shots += 1
        if path is None:
            path = self.out_dir / f"shot-{time.strftime('%Y%m%d-%H%M%S')}-{self._shots:03d}.png"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(path, self.render_frame())
        self.notify(f"saved {path}")
        return path

    def toggle_recording(self, path: str | Path | None = None) -> Path | None:
        """Start recording (a frame per state change), or stop and write the GIF/MP4; returns its path."""
        if self.recording is None:
            self.recording = [self.render_frame()]
            self.notify("recording... (g to stop)", 2.0)
            return None
        frames, self.recording = self.recording, None
        if path is None:
            path = self.out_dir / f"episode-{time.strftime('%Y%m%d-%H%M%S')}.{self.record_format}"
        try:
            written = write_animation(path, frames, self.fps)
        except (RuntimeError, ValueError) as exc:
            self.notify(str(exc), 8.0)
            return None
        self.notify(f"saved {len(frames)} frames to {written}")
        return written

    # ------------------------------------------------------------------ events
    def handle_event(self, event: Any) -> None:
        """React to one pygame event (mouse click, key, resize, quit)."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.VIDEORESIZE:
            self.resize(event.w, event.h)
        elif event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
            pixel = screen_to_pixel(self.layout.image, event.pos, self.adapter.image_shape)
            if pixel is not None:
                self.click(pixel)
        elif event.type == pygame.KEYDOWN:
            self._key(event.key)

    def _key(self, key: int) -> None:
        if key in (pygame.K_ESCAPE, pygame.K_q):
            if self.show_help and key == pygame.K_ESCAPE:
                self.show_help = False
            else:
                self.running = False
        elif key == pygame.K_SPACE:
            self.agent_step()
        elif key == pygame.K_a:
            self.autoplay, self._accum = not self.autoplay, 0.0
        elif key == pygame.K_r:
            self.reset(self.index)
        elif key in (pygame.K_n, pygame.K_RIGHT):
            self.reset(self.index + 1)
        elif key in (pygame.K_p, pygame.K_LEFT):
            self.reset(self.index - 1)
        elif key == pygame.K_h:
            self.show_help = not self.show_help
        elif key == pygame.K_s:
            self.save_screenshot()
        elif key == pygame.K_g:
            self.toggle_recording()
        elif key == pygame.K_c:
            self.toggle_candidates()
        elif pygame.K_1 <= key <= pygame.K_9 and not self.adapter.saliency_keys:
            self.notify(f"keys 1-9 (saliency method / IoR) apply to saccade envs only, not {self.adapter.family}")
        elif pygame.K_1 <= key <= pygame.K_9 and key - pygame.K_1 < len(self.bindings):
            kind, value = self.bindings[key - pygame.K_1]
            if kind == "method":
                self.rebuild(saliency_method=value)
            else:
                self.set_ior(value)

    def resize(self, width: int, height: int) -> None:
        """New window size (the layout follows; tiny sizes are clamped)."""
        self.size = (max(int(width), MIN_SIZE[0]), max(int(height), MIN_SIZE[1]))
        self.version += 1

    def update(self, dt: float) -> None:
        """Advance time by ``dt`` seconds: autoplay steps at ``fps``, messages expire."""
        self._clock += dt
        if self.message and self._clock >= self._message_until:
            self.message = ""
        if self.autoplay:
            self._accum += dt
            period = 1.0 / self.fps
            while self._accum >= period:
                self._accum -= period
                self.agent_step()

    # ------------------------------------------------------------------ drawing
    def status_text(self) -> str:
        """The status line: env, item (image / world / object), label, step, family details, modes."""
        parts = [self.factory.name, *self.adapter.status_parts(self.index, self.info, self.truncated,
                                                                 self.factory.files)]
        if self.autoplay:
            parts.append(f"autoplay {self.fps:g}/s")
        if self.recording is not None:
            parts.append(f"REC {len(self.recording)}")
        return "  |  ".join(parts)

    def help_lines(self) -> list[str]:
        """The help overlay's text."""
        a = self.adapter
        lines = [a.click_help, a.space_help, f"a: autoplay on/off ({self.fps:g} steps/s)",
                 f"r: restart this {a.item}    n / p: next / previous {a.item}"]
        if a.saliency_keys:
            active = {"method": self.base.saliency_method, "ior": self.base.ior}
            lines += [f"{k + 1}: {'saliency method' if kind == 'method' else 'IoR mode'} {value}"
                      + ("   (active)" if active[kind] == value else "")
                      for k, (kind, value) in enumerate(self.bindings)]
        if self.candidates is not None:
            lines.append("c: the world model's candidate saccades on/off (space then makes its choice)")
        lines += [f"s: screenshot (PNG)    g: start/stop recording ({self.record_format.upper()})",
                  "h: this help    q / Esc: quit"]
        return lines

    def draw(self, surface: Any) -> None:
        """Draw the whole viewer onto ``surface`` (its size sets the layout)."""
        if surface.get_size() != self.size:
            self.resize(*surface.get_size())
        self.painter.paint(surface, self)

    def render_frame(self) -> np.ndarray:
        """The window's content as uint8 RGB ``[H, W, 3]``."""
        surface = pygame.Surface(self.size)
        self.painter.paint(surface, self)
        return np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))

    def close(self) -> None:
        self.env.close()


def write_animation(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write uint8 RGB frames (resized to the first frame's size) as a looping GIF or an MP4."""
    import cv2
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in RECORD_FORMATS:
        raise ValueError(f"recording path must end in one of {RECORD_FORMATS}, got {path.name!r}")
    if not frames:
        raise ValueError("frames must hold at least one frame")
    h, w = frames[0].shape[:2]
    stack = np.stack([f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
                      for f in frames])
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == "gif":
        iio.imwrite(path, stack, extension=".gif", duration=int(round(1000 / fps)), loop=0)
    else:
        try:
            iio.imwrite(path, stack, extension=".mp4", fps=fps)
        except Exception as exc:  # noqa: BLE001 - no ffmpeg/pyav backend: say what to install
            raise RuntimeError(f"cannot write MP4 ({exc}); install imageio-ffmpeg or record a GIF") from exc
    return path
