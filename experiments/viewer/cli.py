"""Interactive pygame viewer of glimpse sequences of any registered env (console entry point ``saccade-view``).

    saccade-view                                              # Saccade-Scenes-v0, defaults
    saccade-view --env Saccade-Scenes-v0 --kw glimpse_size=32 --kw scales=1,2,4
    saccade-view --env PathIntegration-Scenes-v0 --kw n_worlds=4   # a retina walking over worlds
    saccade-view --env Rotation3D-Shapes-v0 --kw n_objects=10      # turning 3D objects
    saccade-view --images ~/photos --image-size 128           # your own images (unlabeled)
    saccade-view --checkpoint runs/NAME/ckpt_last.pt          # the model's training env + its predictions
    saccade-view --checkpoint runs/NAME/ckpt_last.pt --candidates   # + its scores of candidate saccades
    saccade-view --headless --frames 20 --out frames/         # write frames, no window
    saccade-view --screenshot docs/viewer.png --steps 4       # a few agent steps, one PNG

Saccade envs: the image with the scanpath (numbered fixations, saccade arrows, fovea and
periphery boxes), the glimpse at every retina scale, the priority map (saliency x inhibition of
return), the saliency map or the world-model panel, and a timeline of the foveas seen so far.
Path integration: the world with the path and its start, the path relative to the start (the
displacement to integrate) and a readout. 3D rotation: the rendered view with the object's
axes, an orientation gizmo and a readout. All families show the glimpses and the timeline.

Keys: click = saccade there (path integration: move toward it, rotation: turn the front toward
it), space = one agent step (saliency agent; random actions for the other families),
a = autoplay, r = restart the image, n/p (or right/left arrow) = next / previous image,
1 / 2 = saliency method spectral residual / Itti-Koch and 3 / 4 / 5 = IoR mode square / disc /
gaussian (saccade envs), c = the world model's scores of candidate saccades as a heat map over the
image, its choice marked (with --checkpoint; space then makes that saccade), s = screenshot,
g = start/stop recording, h = help,
q/Esc = quit. :class:`Viewer` owns all state and is driven by pygame events, so tests (and
scripts) can run it without a window.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # keep pygame's banner out of CLI output
import pygame  # noqa: E402

from experiments.cliconfig import Parser, parse_env_kwargs, parse_size  # noqa: E402
from experiments.viewer.app import RECORD_FORMATS, Viewer, key_bindings, write_animation  # noqa: E402
from experiments.viewer.env import EnvFactory, load_image_folder  # noqa: E402
from saliency.scanpath import SCANPATH_MODES  # noqa: E402

__all__ = ["Viewer", "key_bindings", "write_animation", "build_parser", "make_viewer", "main", "cli"]

DEFAULT_ENV = "Saccade-Scenes-v0"


def build_parser() -> argparse.ArgumentParser:
    """The ``saccade-view`` argument parser (examples and keys in the epilog)."""
    first, _, rest = (__doc__ or "").partition("\n")
    rest = rest.partition(" :class:`Viewer` owns")[0]  # the help ends before the note for programmers
    parser = Parser("saccade-view", description=first, epilog=rest)
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--env", default=None,
                     help=f"registered env id (default: the --checkpoint's training env, else {DEFAULT_ENV})")
    src.add_argument("--images", help="an image file or a folder of images to look at instead")
    parser.add_env_kwargs()
    parser.add_argument("--image-size", type=int, default=96,
                        help="--images: side the images are fitted to (px, 8..4096)")
    parser.add_argument("--index", type=int, default=0, help="first image index")
    parser.add_seed(help="seeds the env and the space-key agent")
    parser.add_choice("--agent", SCANPATH_MODES, default="sample",
                      help="saliency agent mode (saccade envs): sample the priority map or take its argmax")
    parser.add_argument("--fps", type=float, default=2.0, help="autoplay rate (saccades/s), also the GIF rate")
    parser.add_argument("--size", default="1160x760", help="window size WIDTHxHEIGHT")
    parser.add_argument("--checkpoint",
                        help="seq-JEPA pretraining checkpoint: show the world model's predictions in the env it "
                             "was trained on (--env / --kw that differ from it are warned about)")
    parser.add_argument("--candidates", action="store_true",
                        help="with --checkpoint: start with the world model's scores of a grid of candidate saccades "
                             "drawn over the image and its choice marked (key c toggles them)")
    parser.add_argument("--candidate-grid", type=int, default=12,
                        help="candidates per side of that grid, inside the fixation bounds (2..64)")
    parser.add_choice("--candidate-score", ("novelty", "disagreement"), default="novelty",
                      help="how the world model scores a candidate (agents.world_model)")
    parser.add_argument("--n-cache", type=int, default=2000,
                        help="glimpses in the nearest-glimpse cache (latents kept in <out>/cache)")
    parser.add_choice("--record-format", RECORD_FORMATS, default="gif",
                      help="format of the g-key recording (mp4 needs imageio-ffmpeg)")
    parser.add_output("--out", default="viewer_out", help="folder for screenshots, recordings and --frames")
    parser.add_argument("--headless", action="store_true", help="no window: write --frames frames to --out")
    parser.add_argument("--frames", type=int, default=10, help="--headless: number of frames (agent steps + 1)")
    parser.add_argument("--screenshot", help="no window: make --steps agent saccades, save one PNG here, exit")
    parser.add_argument("--steps", type=int, default=4, help="--screenshot: agent steps before the picture")
    return parser


def _check_args(args: argparse.Namespace) -> None:
    """Numeric options within their documented ranges and ``--out`` usable as a folder
    (ValueError naming the option, reported as a usage error)."""
    for name, value, lo, hi in (("--image-size", args.image_size, 8, 4096), ("--index", args.index, 0, 2 ** 31),
                                ("--seed", args.seed, 0, 2 ** 63 - 1), ("--n-cache", args.n_cache, 0, 1_000_000),
                                ("--frames", args.frames, 1, 100_000), ("--steps", args.steps, 0, 100_000),
                                ("--candidate-grid", args.candidate_grid, 2, 64)):
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be an int in [{lo}, {hi}], got {value}")
    if args.candidates and not args.checkpoint:
        raise ValueError("--candidates needs --checkpoint (the world model that scores them)")
    if not (0.0 < args.fps <= 120.0):  # also rejects NaN
        raise ValueError(f"--fps must be a number in (0, 120], got {args.fps}")
    w, h = parse_size(args.size)
    if w > 16384 or h > 16384:
        raise ValueError(f"--size must be at most 16384x16384, got {args.size!r}")
    out = Path(args.out).expanduser()
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"--out {args.out}: {folder} is a file, not a folder")
            break
    if args.screenshot:
        shot = Path(args.screenshot).expanduser()
        if shot.is_dir():
            raise ValueError(f"--screenshot {args.screenshot} is a folder; give a file name (e.g. shot.png)")
        for folder in shot.parents:
            if folder.exists():
                if not folder.is_dir():
                    raise ValueError(f"--screenshot {args.screenshot}: {folder} is a file, not a folder")
                break


def _check_kws(env_id: str | None, kwargs: dict[str, Any]) -> None:
    """Every ``--kw`` key must be a keyword the env takes (ValueError listing the allowed ones)."""
    if not kwargs:
        return
    if env_id is None:  # --images: a SaccadeEnv over the folder
        import inspect

        from envs.families.saccade_world import SaccadeWorld

        allowed = sorted(n for n in inspect.signature(SaccadeWorld.__init__).parameters if n not in ("self", "n", "dataset"))
    else:
        import gymnasium as gym

        from experiments.pretrain.envspec import env_parameters

        try:
            gym.spec(env_id)
        except gym.error.Error as exc:
            raise ValueError(f"--env {env_id!r} is not a registered env id ({exc})") from None
        allowed = sorted(env_parameters(env_id))
        if not allowed:  # no keyword discovery for this id: let the env say
            return
    unknown = sorted(set(kwargs) - set(allowed) - {"render_mode"})
    if unknown:
        raise ValueError(f"--kw {', '.join(unknown)}: not a keyword of {env_id or 'SaccadeEnv (--images)'}; "
                         f"allowed: {allowed}")


def _check_saccade_family(env_id: str) -> None:
    import envs
    from envs.families import SACCADE

    EnvFactory(env_id=env_id)  # a registered id
    record = envs.record_of(env_id)
    if record.family != SACCADE or record.recognition:
        raise ValueError(f"--checkpoint needs a saccade env (the world model predicts saccade glimpses), "
                         f"got {env_id!r} ({record.family.name}{', recognition' if record.recognition else ''})")


def make_viewer(args: argparse.Namespace) -> Viewer:
    """Build the env factory, the optional world-model monitor and the viewer from parsed arguments."""
    kwargs = parse_env_kwargs(args.kw)
    if args.checkpoint and not args.images and args.env:
        _check_saccade_family(args.env)
    monitor, env_id = None, args.env
    if args.checkpoint:  # the env the model was trained on, unless the command line says otherwise (warned)
        from experiments.viewer.model import WorldModelMonitor

        if not Path(args.checkpoint).expanduser().is_file():
            raise FileNotFoundError(f"--checkpoint {args.checkpoint}: no such file")
        try:
            monitor = WorldModelMonitor.from_checkpoint(args.checkpoint)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a usage error naming it
            raise ValueError(f"--checkpoint {args.checkpoint} is not a usable seq-JEPA pretraining checkpoint: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        env_id, kwargs = monitor.viewer_env(args.env, kwargs, images=bool(args.images))
        if not args.images and env_id:
            _check_saccade_family(env_id)
    env_id = env_id or DEFAULT_ENV
    _check_kws(None if args.images else env_id, kwargs)
    if args.images:
        dataset, files = load_image_folder(args.images, args.image_size)
        factory = EnvFactory(dataset=dataset, kwargs=kwargs, files=files)
    else:
        factory = EnvFactory(env_id=env_id, kwargs=kwargs)
    candidates = None
    if args.checkpoint:  # the world-model agent's candidate scores (key c); an older checkpoint has none
        from experiments.viewer.candidates import CandidateScores
        try:
            candidates = CandidateScores(args.checkpoint, args.candidate_grid, args.candidate_score)
        except ValueError:
            if args.candidates:
                raise
    return Viewer(factory, size=parse_size(args.size), fps=args.fps, seed=args.seed, agent_mode=args.agent,
                  out_dir=args.out, record_format=args.record_format, monitor=monitor, n_cache=args.n_cache,
                  index=args.index, cache_dir=Path(args.out) / "cache", progress=True, candidates=candidates,
                  show_candidates=args.candidates)


def main(args: argparse.Namespace) -> Viewer:
    """Run the viewer as ``args`` say (window loop, ``--headless`` frames or ``--screenshot``)."""
    headless = args.headless or args.screenshot
    if headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    _check_args(args)
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
    except pygame.error as exc:  # typically: no display available
        parser.error(f"cannot open a window ({exc}); use --headless or --screenshot without a display")


if __name__ == "__main__":
    cli()
