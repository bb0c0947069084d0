"""How often do saliency + IoR scanpaths land on the objects of the embedded scenes?

For every saliency method, the fraction of the first ``n_fixations`` fixations (sampled from
the map with inhibition of return, as the env does) that fall inside an object box, next to
uniformly random fixations (chance = the objects' share of the image).

    python -m experiments.benchmarks.saliency_quality [--images 1000] [--fixations 4]
"""

from __future__ import annotations

import numpy as np

from experiments.cliconfig import Parser


def hit_fraction(fixations: np.ndarray, boxes: np.ndarray) -> float:
    """Fraction of fixations ``int [N, F, 2]`` inside any box of ``int32 [N, K, 4]`` (r0, c0, r1, c1; -1 padding)."""
    r = fixations[:, :, None, 0]
    c = fixations[:, :, None, 1]
    b = boxes[:, None, :, :]
    valid = b[..., 0] >= 0
    inside = valid & (b[..., 0] <= r) & (r < b[..., 2]) & (b[..., 1] <= c) & (c < b[..., 3])
    return float(inside.any(axis=2).mean())


def main(n_images: int = 1000, n_fixations: int = 4, seed: int = 0, root: str | None = None,
         radius: int = 16) -> dict[str, float]:
    """Hit fractions per method and for chance; printed as a table and returned."""
    from envs.datasets import load_scenes
    from saliency import METHODS, saliency_maps, sample_scanpaths

    data = load_scenes(split="test", root=root, n_test=n_images)
    n = min(n_images, len(data))
    images = np.ascontiguousarray(data.images[:n])
    boxes = np.asarray(data.boxes[:n])
    h, w = images.shape[1:3]
    rng = np.random.default_rng(seed)
    results = {"chance (uniform)": hit_fraction(np.stack([rng.integers(0, h, (n, n_fixations)),
                                                          rng.integers(0, w, (n, n_fixations))], -1), boxes)}
    for method in METHODS:
        maps = saliency_maps(images, method=method)
        fix = sample_scanpaths(maps, n_fixations, rng=np.random.default_rng(seed), radius=radius)
        results[method] = hit_fraction(fix, boxes)
    chance = results["chance (uniform)"]
    print(f"first {n_fixations} fixations on an object, {n} test scenes, square IoR radius {radius}px")
    for name, value in results.items():
        print(f"  {name:24s} {value:6.3f}   ({value / chance:4.1f}x chance)")
    return results


def cli(argv: list[str] | None = None) -> None:
    parser = Parser("python -m experiments.benchmarks.saliency_quality", description=__doc__)
    parser.add_argument("--images", type=int, default=1000, help="embedded scenes measured")
    parser.add_argument("--fixations", type=int, default=4, help="first fixations of each scanpath counted")
    parser.add_seed(help="seeds the scanpaths and the random fixations")
    parser.add_argument("--root", default=None, help="data folder (default: $SACCADE_DATA, else ~/.cache/saccade)")
    args = parser.parse_args(argv)
    main(args.images, args.fixations, args.seed, args.root)


if __name__ == "__main__":
    cli()
