"""Interactive pygame viewer of saccade glimpse sequences (console entry point ``saccade-view``).

    saccade-view                                              # Saccade-Scenes-v0, defaults
    saccade-view --env Saccade-Scenes-v0 --kw glimpse_size=32 --kw scales=1,2,4
    saccade-view --images ~/photos --image-size 128           # your own images (unlabeled)
    saccade-view --checkpoint runs/NAME/ckpt_last.pt          # + the world model's predictions
    saccade-view --headless --frames 20 --out frames/         # write frames, no window
    saccade-view --screenshot docs/viewer.png --steps 4       # a few agent steps, one PNG

Shows the image with the scanpath (numbered fixations, saccade arrows, fovea and periphery
boxes), the glimpse at every retina scale, the priority map (saliency x inhibition of return),
the saliency map or the world-model panel, and a timeline of the foveas seen so far.
Keys: click = saccade there, space = one saliency-agent step, a = autoplay, r/n/p = reset /
next / previous image, 1-9 = saliency method and IoR mode, s = screenshot, g = record GIF,
h = help, q/Esc = quit. :class:`Viewer` owns all state and is driven by pygame events, so
tests (and scripts) can run it without a window.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # keep pygame's banner out of CLI output
import pygame  # noqa: E402

from envs.coordinates import pixel_to_norm  # noqa: E402
from experiments.viewer_draw import Painter  # noqa: E402
from experiments.viewer_env import EnvFactory, base_env, load_image_folder, parse_kws  # noqa: E402
from experiments.viewer_panels import MIN_SIZE, compute_layout, screen_to_pixel  # noqa: E402

__all__ = ["Viewer", "key_bindings", "main", "cli", "build_parser"]

RECORD_FORMATS = ("gif", "mp4")
DEFAULT_ENV = "Saccade-Scenes-v0"


def key_bindings() -> list[tuple[str, str]]:
    """What keys ``1``..``9`` select: ``("method", name)`` for each saliency method, then ``("ior", mode)``."""
    from saliency import IOR_MODES, METHODS

    return ([("method", m) for m in METHODS] + [("ior", m) for m in IOR_MODES])[:9]


class Viewer:
    """State and controls of the viewer; draws itself onto any pygame surface.

    Args:
        factory: builds the environment (``EnvFactory``); rebuilt when the method/IoR changes.
        size: window size ``(width, height)`` px.
        fps: autoplay rate (agent steps per second) and the GIF frame rate.
        seed: seeds the env (first fixations) and the saliency agent.
        agent_mode: ``"sample"`` or ``"argmax"`` (see ``agents.SaliencyAgent``).
        out_dir: folder for screenshots and recordings.
        record_format: ``"gif"`` (no ffmpeg needed) or ``"mp4"`` (needs imageio-ffmpeg).
        monitor: optional ``experiments.viewer_model.WorldModelMonitor`` (attached here).
        n_cache: glimpses in the monitor's nearest-neighbour cache.
        index: first image index (default 0).
    """

    def __init__(self, factory: EnvFactory, size: tuple[int, int] = (1160, 760), fps: float = 2.0, seed: int = 0,
                 agent_mode: str = "sample", out_dir: str | Path = "viewer_out", record_format: str = "gif",
                 monitor: Any = None, n_cache: int = 2000, index: int = 0) -> None:
        from agents import SaliencyAgent

        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if record_format not in RECORD_FORMATS:
            raise ValueError(f"record_format must be one of {RECORD_FORMATS}, got {record_format!r}")
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"size must be (width, height) with positive ints, got {size!r}")
        pygame.font.init()
        self.factory, self.fps, self.seed = factory, float(fps), seed
        self.size = (int(size[0]), int(size[1]))
        self.agent = SaliencyAgent(mode=agent_mode, seed=seed)
        self.out_dir, self.record_format = Path(out_dir), record_format
        self.monitor, self.n_cache = monitor, n_cache
        self.bindings = key_bindings()
        self.painter = Painter()
        self.running, self.autoplay, self.show_help = True, False, False
        self.recording: list[np.ndarray] | None = None
        self.message, self._message_until = "", 0.0
        self._clock, self._accum, self._shots = 0.0, 0.0, 0
        self.version = 0  # bumped on every state change (frame cache key)
        self.env = factory.make()
        self._seeded = False
        self._attach_monitor()
        self.reset(index)

    # ------------------------------------------------------------------ state
    @property
    def base(self) -> Any:
        """The underlying ``SaccadeEnv`` (image, scanpath, priority, saliency, retina, dataset)."""
        return base_env(self.env)

    @property
    def n_images(self) -> int:
        return len(self.base.dataset)

    @property
    def layout(self) -> Any:
        """Panel rectangles for the current window size."""
        return compute_layout(self.size, self.base.image_shape, len(self.base.retina.scales))

    def _attach_monitor(self) -> None:
        if self.monitor is not None:
            self.monitor.attach(self.base, n_cache=self.n_cache, seed=self.seed)

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
        self.predictions: list[Any] = []
        if self.monitor is not None:
            self.monitor.start(self.obs["glimpse"])
        self._changed()

    def step(self, action: np.ndarray) -> None:
        """Apply one relative saccade (float32 ``[2]``) and update the history and the model scores."""
        self.obs, _, _, truncated, self.info = self.env.step(np.asarray(action, np.float32))
        self.truncated = self.truncated or bool(truncated)
        self.glimpses.append(self.obs["glimpse"])
        if self.monitor is not None:
            self.predictions.append(self.monitor.observe(self.obs["glimpse"], self.obs["last_action"]))
        self._changed()

    def saccade_to(self, pixel: np.ndarray) -> None:
        """Saccade to image ``pixel`` (row, col): action = normalised target - ``info["position"]``."""
        target = pixel_to_norm(np.asarray(pixel, np.int64), self.base.image_shape)
        self.step(target - np.asarray(self.info["position"], np.float32))

    def agent_step(self) -> None:
        """One saliency-agent saccade; after the last saccade of an episode, go to the next image."""
        if self.truncated:
            self.reset(self.index + 1)
        else:
            self.step(self.agent.act(self.obs, self.info))

    def rebuild(self, **changes: Any) -> None:
        """Rebuild the env with changed keyword arguments and restart on the same image."""
        try:
            env = self.factory.make(**changes)
        except (ValueError, TypeError) as exc:
            self.notify(f"cannot rebuild the env: {exc}", 6.0)
            return
        self.env.close()
        self.env, self._seeded = env, False
        self._attach_monitor()
        self.reset(self.index)
        self.notify(", ".join(f"{k}={v}" for k, v in changes.items()))

    # ------------------------------------------------------------------ files
    def save_screenshot(self, path: str | Path | None = None) -> Path:
        """Write the current frame as a PNG (default ``<out_dir>/shot-<time>-<n>.png``)."""
        import imageio.v3 as iio

        self._shots += 1
        path = Path(path) if path is not None else self.out_dir / f"shot-{time.strftime('%Y%m%d-%H%M%S')}-{self._shots:03d}.png"
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
        path = Path(path) if path is not None else self.out_dir / f"episode-{time.strftime('%Y%m%d-%H%M%S')}.{self.record_format}"
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
            pixel = screen_to_pixel(self.layout.image, event.pos, self.base.image_shape)
            if pixel is not None:
                self.saccade_to(pixel)
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
        elif pygame.K_1 <= key <= pygame.K_9 and key - pygame.K_1 < len(self.bindings):
            kind, value = self.bindings[key - pygame.K_1]
            self.rebuild(**({"saliency_method": value} if kind == "method" else {"ior": value}))

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
        """The status line: env, image, label, step, method, IoR, modes."""
        b = self.base
        label = int(self.info["label"])
        names = tuple(getattr(b.dataset, "class_names", ()))
        label_text = "unlabeled" if label < 0 else f"label {label}" + (f" ({names[label]})" if label < len(names) else "")
        files = getattr(b.dataset, "files", None)
        image_text = f"image {self.index + 1}/{self.n_images}" + (f" {files[self.index]}" if files else "")
        step = int(self.info["step"])
        parts = [self.factory.name, image_text, label_text, f"step {step}/{b.max_saccades}" + (" (end)" if self.truncated else ""),
                 f"method {b.saliency_method}", f"IoR {b.ior} r={b.ior_radius}"]
        if self.autoplay:
            parts.append(f"autoplay {self.fps:g}/s")
        if self.recording is not None:
            parts.append(f"REC {len(self.recording)}")
        return "  |  ".join(parts)

    def help_lines(self) -> list[str]:
        """The help overlay's text."""
        lines = ["click on the image: saccade there", "space: one saliency-agent saccade (next image at the end)",
                 f"a: autoplay on/off ({self.fps:g} saccades/s)", "r: restart this image    n / p: next / previous image"]
        active = {"method": self.base.saliency_method, "ior": self.base.ior}
        lines += [f"{k + 1}: {'saliency method' if kind == 'method' else 'IoR mode'} {value}"
                  + ("   (active)" if active[kind] == value else "") for k, (kind, value) in enumerate(self.bindings)]
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
    stack = np.stack([f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == "gif":
        iio.imwrite(path, stack, extension=".gif", duration=int(round(1000 / fps)), loop=0)
    else:
        try:
            iio.imwrite(path, stack, extension=".mp4", fps=fps)
        except Exception as exc:  # noqa: BLE001 - no ffmpeg/pyav backend: say what to install
            raise RuntimeError(f"cannot write MP4 ({exc}); install imageio-ffmpeg or record a GIF") from exc
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saccade-view", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--env", default=None, help=f"registered env id (default {DEFAULT_ENV})")
    src.add_argument("--images", help="an image file or a folder of images to look at instead")
    parser.add_argument("--kw", action="append", default=[], metavar="KEY=VALUE",
                        help="env keyword argument, e.g. --kw glimpse_size=32 --kw scales=1,2,4 (repeatable)")
    parser.add_argument("--image-size", type=int, default=96, help="--images: side the images are fitted to (px)")
    parser.add_argument("--index", type=int, default=0, help="first image index")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--agent", default="sample", choices=("sample", "argmax"), help="saliency agent mode")
    parser.add_argument("--fps", type=float, default=2.0, help="autoplay rate (saccades/s), also the GIF rate")
    parser.add_argument("--size", default="1160x760", help="window size WIDTHxHEIGHT")
    parser.add_argument("--checkpoint", help="seq-JEPA pretraining checkpoint: show the world model's predictions")
    parser.add_argument("--n-cache", type=int, default=2000, help="glimpses in the nearest-glimpse cache")
    parser.add_argument("--record-format", default="gif", choices=RECORD_FORMATS)
    parser.add_argument("--out", default="viewer_out", help="folder for screenshots, recordings and --frames")
    parser.add_argument("--headless", action="store_true", help="no window: write --frames frames to --out")
    parser.add_argument("--frames", type=int, default=10, help="--headless: number of frames (agent steps + 1)")
    parser.add_argument("--screenshot", help="no window: make --steps agent saccades, save one PNG here, exit")
    parser.add_argument("--steps", type=int, default=4, help="--screenshot: agent saccades before the picture")
    return parser


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like WIDTHxHEIGHT (e.g. 1280x760), got {text!r}") from None
    if w < 1 or h < 1:
        raise ValueError(f"--size must be positive, got {text!r}")
    return w, h


def make_viewer(args: argparse.Namespace) -> Viewer:
    """Build the env factory, the optional world-model monitor and the viewer from parsed arguments."""
    kwargs = parse_kws(args.kw)
    monitor = None
    if args.checkpoint:
        from experiments.viewer_model import WorldModelMonitor

        monitor = WorldModelMonitor.from_checkpoint(args.checkpoint)
        for key, value in monitor.env_kwargs().items():
            kwargs.setdefault(key, value)
    if args.images:
        factory = EnvFactory(dataset=load_image_folder(args.images, args.image_size), kwargs=kwargs)
    else:
        factory = EnvFactory(env_id=args.env or DEFAULT_ENV, kwargs=kwargs)
    return Viewer(factory, size=_parse_size(args.size), fps=args.fps, seed=args.seed, agent_mode=args.agent,
                  out_dir=args.out, record_format=args.record_format, monitor=monitor, n_cache=args.n_cache,
                  index=args.index)


def main(args: argparse.Namespace) -> Viewer:
    """Run the viewer as ``args`` say (window loop, ``--headless`` frames or ``--screenshot``)."""
    headless = args.headless or args.screenshot
    if headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if args.frames < 1 or args.steps < 0:
        raise ValueError(f"--frames must be >= 1 and --steps >= 0, got {args.frames} and {args.steps}")
    viewer = make_viewer(args)
    try:
        if args.screenshot:
            for _ in range(args.steps):
                viewer.agent_step()
            path = viewer.save_screenshot(args.screenshot)
            print(f"wrote {path}")
        elif args.headless:
            import imageio.v3 as iio

            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            for k in range(args.frames):
                if k:
                    viewer.agent_step()
                iio.imwrite(out / f"frame_{k:05d}.png", viewer.render_frame())
            print(f"wrote {args.frames} frames to {out}")
        else:
            _window_loop(viewer)
    finally:
        viewer.close()
    return viewer


def _window_loop(viewer: Viewer) -> None:
    pygame.display.init()
    pygame.display.set_caption("saccade-view  (h: help)")
    window = pygame.display.set_mode(viewer.size, pygame.RESIZABLE)
    clock = pygame.time.Clock()
    try:
        while viewer.running:
            dt = clock.tick(30) / 1000.0
            for event in pygame.event.get():
                viewer.handle_event(event)
            viewer.update(dt)
            window = pygame.display.get_surface()
            viewer.draw(window)
            pygame.display.flip()
    finally:
        pygame.display.quit()


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``saccade-view``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        main(args)
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    cli()
