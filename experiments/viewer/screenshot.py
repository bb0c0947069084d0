"""The README's viewer picture, made from the current code (no window: SDL's dummy driver).

    python -m experiments.viewer.screenshot --out docs/viewer.png      # what the README shows
    python -m experiments.viewer.screenshot --out shot.png --steps 2 --kw n_train=8 --size 480x320

It runs ``saccade-view --screenshot`` with defaults chosen for a first screen that says what the
viewer does: the quick start's scenes (``Saccade-Scenes-v0`` with ``style="shapes_flat"``, three
glyphs a scene) through a 16 px fovea and a 32 px periphery kept inside the 96 px image (both
glimpse tiles filled, no padding, no fixation in a corner; the saliency map is zero where no
fixation may land), and four saccades of the saliency agent taking the priority map's peak, so the
scanpath visits the objects and the inhibition of return, the priority map and the timeline of
foveas all show. Every ``saccade-view`` option passes through (``--kw`` adds to the defaults and
overrides them key by key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from experiments.cliconfig import Parser, split_key_value

__all__ = ["DEFAULT_ENV", "DEFAULT_KWARGS", "DEFAULT_STEPS", "DEFAULT_INDEX", "DEFAULT_AGENT", "screenshot_argv",
           "main"]

DEFAULT_ENV = "Saccade-Scenes-v0"
DEFAULT_KWARGS: dict[str, str] = {  # the quick start's scenes (experiments/pretrain/configs/scenes_cpu.yaml)
    "style": "shapes_flat", "max_objects": "3", "keep_inside": "true", "glimpse_size": "16", "scales": "1,2",
    "ior_radius": "8"}
DEFAULT_STEPS = 4   # saccades before the picture (the episode's four): five fixations in the scanpath and timeline
DEFAULT_INDEX = 3   # a scene whose three glyphs all lie where fixations may land
DEFAULT_AGENT = "argmax"  # the priority map's peak: the scanpath visits the objects


def screenshot_argv(out: str | os.PathLike[str], extra: Sequence[str] = ()) -> list[str]:
    """``saccade-view`` arguments that write the picture to ``out``: the defaults above, then ``extra``
    (``--kw KEY=VALUE`` entries replace the default of that key; other options are appended)."""
    parser = Parser(add_help=False)
    parser.add_env_kwargs()
    parser.add_argument("--env", default=DEFAULT_ENV)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--index", type=int, default=DEFAULT_INDEX)
    parser.add_argument("--agent", default=DEFAULT_AGENT)
    known, rest = parser.parse_known_args(list(extra))
    kws = dict(DEFAULT_KWARGS) if known.env == DEFAULT_ENV else {}
    for item in known.kw:
        key, value = split_key_value(item, "--kw")
        kws[key] = value
    argv = ["--screenshot", str(out), "--env", known.env, "--steps", str(known.steps), "--index", str(known.index),
            "--agent", known.agent]
    for key, value in kws.items():
        argv += ["--kw", f"{key}={value}"]
    return argv + rest


def main(argv: Sequence[str] | None = None) -> Path:
    """Write the picture (``--out``, default ``docs/viewer.png``) and return its path."""
    parser = Parser(
        "python -m experiments.viewer.screenshot", description=(__doc__ or "").partition("\n")[0],
        epilog="Any other saccade-view option (--size, --seed, --agent, --kw KEY=VALUE, ...) is passed "
               f"through. Defaults: --env {DEFAULT_ENV} " + " ".join(f"--kw {k}={v}" for k, v in DEFAULT_KWARGS.items())
               + f" --steps {DEFAULT_STEPS} --index {DEFAULT_INDEX} --agent {DEFAULT_AGENT}.")
    parser.add_output("--out", default="docs/viewer.png", help="the PNG to write (default: docs/viewer.png)")
    args, extra = parser.parse_known_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from experiments.viewer.cli import build_parser, cli

    try:
        view_argv = screenshot_argv(args.out, extra)
    except ValueError as exc:
        parser.error(str(exc))
    build_parser().parse_args(view_argv)  # a usage error names the option before anything is made
    cli(view_argv)
    return Path(args.out)


if __name__ == "__main__":
    main()
