"""Saliency + inhibition-of-return demo on a scikit-image photograph.

Computes a weight-free saliency map, samples a scanpath with IoR and writes a three-panel figure:
the photograph with numbered fixations joined by arrows | the saliency heat map | the priority
map left after the last fixation (saliency x inhibition, renormalised).

``python -m experiments.saliency_demo --method itti_koch --fixations 8 --output figures/demo.png``
(or the ``saccade-saliency-demo`` console script).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.cliconfig import Parser
from saliency import (
    DEFAULT_METHOD,
    IOR_MODES,
    METHODS,
    new_inhibition,
    priority_map,
    saliency_map,
    sample_scanpath,
    update_inhibition,
)

PHOTOS = ("astronaut", "chelsea", "coffee")
DEFAULT_OUTPUT = Path("figures/saliency_demo.png")


def load_photo(name: str) -> np.ndarray:
    """A scikit-image sample photograph, uint8 ``[H, W, 3]``."""
    if name not in PHOTOS:
        raise ValueError(f"photo must be one of {PHOTOS}, got {name!r}")
    from skimage import data

    return getattr(data, name)()


def main(output: Path = DEFAULT_OUTPUT, method: str = DEFAULT_METHOD, n_fixations: int = 8, seed: int = 0,
         photo: str = "astronaut", ior: str = "square", radius: float | None = None) -> Path:
    """Write the demo figure to ``output`` (PNG) and return its path.

    ``radius`` (IoR, pixels) defaults to 1/12 of the longer image side (16 px at 96 x 96 would be
    1/6; a photograph has more, smaller things to look at).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = load_photo(photo)
    radius = float(max(image.shape[:2]) / 12) if radius is None else radius
    sal = saliency_map(image, method=method)
    path = sample_scanpath(sal, n_fixations, rng=np.random.default_rng(seed), ior=ior, radius=radius)
    inhib = new_inhibition(sal.shape)
    for fix in path:  # the same steps as the scanpath, to show what is left to look at
        inhib = update_inhibition(inhib, (int(fix[0]), int(fix[1])), mode=ior, radius=radius)
    final = priority_map(sal, inhib)

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4), constrained_layout=True)
    axes[0].imshow(image)
    for k in range(1, len(path)):
        (r0, c0), (r1, c1) = path[k - 1], path[k]
        axes[0].annotate("", xy=(c1, r1), xytext=(c0, r0),
                         arrowprops=dict(arrowstyle="->", color="yellow", lw=1.6, shrinkA=6, shrinkB=6))
    for k, (r, c) in enumerate(path):
        axes[0].plot(c, r, "o", ms=15, mfc="red", mec="white", mew=1.5, alpha=0.85)
        axes[0].text(c, r, str(k + 1), color="white", ha="center", va="center", fontsize=9, weight="bold")
    axes[0].set_title(f"{photo}: scanpath, {ior} IoR r={radius:.0f}px")
    shown = axes[1].imshow(sal, cmap="inferno")
    axes[1].set_title(f"saliency ({method})")
    fig.colorbar(shown, ax=axes[1], fraction=0.046)
    shown = axes[2].imshow(final, cmap="inferno")
    axes[2].set_title(f"priority after {n_fixations} fixations")
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


def cli() -> None:
    parser = Parser("saccade-saliency-demo",
                    description="Saliency + IoR scanpath demo on a scikit-image photograph: a three-panel PNG of "
                                "the photograph with a scanpath sampled with inhibition of return, the saliency map "
                                "and the priority map left after the last fixation.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG to write")
    parser.add_choice("--method", METHODS, default=DEFAULT_METHOD, help="saliency model")
    parser.add_argument("--fixations", type=int, default=8, help="number of fixations (>= 1)")
    parser.add_seed(help="seeds the scanpath's draws")
    parser.add_choice("--photo", PHOTOS, default="astronaut", help="scikit-image sample photograph")
    parser.add_choice("--ior", IOR_MODES, default="square", help="inhibition-of-return shape")
    parser.add_argument("--radius", type=float, default=None, help="IoR radius in pixels (default: side / 12)")
    args = parser.parse_args()
    path = main(args.output, args.method, args.fixations, args.seed, photo=args.photo, ior=args.ior,
                radius=args.radius)
    print(f"wrote {path}")


if __name__ == "__main__":
    cli()
