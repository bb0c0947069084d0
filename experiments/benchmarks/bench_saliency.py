"""Benchmark the Numba saliency package against plain NumPy, OpenCV and a paper-style torch loop.

Prints, in one run:

1. per-image time of every saliency method at 96x96 and 256x256, one image at a time and
   batched (``saliency_maps``), against the plain-NumPy reference (``tests.saliency.reference``) and,
   for the spectral residual, OpenCV's C++ ``StaticSaliencySpectralResidual`` (skipped if
   ``cv2.saliency`` is missing);
2. scanpath sampling for a batch of maps x fixations (square IoR, half-width 16) with
   ``sample_scanpaths`` against a per-sample loop in the style of the seq-JEPA code
   (``torch.multinomial`` on the flattened map, then zeroing the IoR square, item by item).

Usage: ``python -m experiments.benchmarks.bench_saliency [--batch 256] [--scan-batch 512] [--repeats 5]``.
Timings are the median over ``--repeats`` runs after a warm-up (Numba compiled beforehand).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from experiments.cliconfig import Parser
from saliency import METHODS, saliency_map, saliency_maps, sample_scanpaths
from tests.saliency.reference import itti_koch_ref, spectral_residual_ref

REFERENCES = {"spectral_residual": spectral_residual_ref, "itti_koch": itti_koch_ref}


@dataclass
class BenchConfig:
    """What to time."""

    sizes: tuple[int, ...] = (96, 256)
    batch: int = 256  # images per saliency_maps call
    singles: int = 32  # images timed one at a time per repeat
    reference_images: int = 4  # images per repeat for the (slow) NumPy reference
    scan_batch: int = 512
    scan_fixations: int = 5
    scan_size: int = 96
    ior_radius: int = 16
    repeats: int = 5
    seed: int = 0


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def test_images(n: int, size: int, seed: int) -> np.ndarray:
    """uint8 ``[n, size, size, 3]`` crops of scikit-image photographs (random noise if unavailable)."""
    rng = np.random.default_rng(seed)
    try:
        from skimage import data
        from skimage.transform import resize

        photos = [data.astronaut(), data.chelsea(), data.coffee()]
    except ImportError:
        return (rng.random((n, size, size, 3)) * 255).astype(np.uint8)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(rng.integers(size, min(photo.shape[:2]) + 1))
        r = int(rng.integers(0, photo.shape[0] - side + 1))
        c = int(rng.integers(0, photo.shape[1] - side + 1))
        crop = resize(photo[r:r + side, c:c + side], (size, size), anti_aliasing=True, preserve_range=True)
        out[i] = np.clip(crop, 0, 255).astype(np.uint8)
    return out


def per_image(fn: Callable[[np.ndarray], object], images: np.ndarray, repeats: int) -> float:
    """Median per-image seconds of ``fn(image)`` over the images, one call per image."""
    return median_time(lambda: [fn(img) for img in images], repeats) / len(images)


def bench_maps(cfg: BenchConfig) -> None:
    try:
        import cv2

        cv_sr = cv2.saliency.StaticSaliencySpectralResidual_create()
    except (ImportError, AttributeError):
        cv_sr = None
    print(f"{'method':18s} {'size':>5s} {'single us':>10s} {'batched us':>11s} {'numpy us':>10s} "
          f"{'numpy/single':>12s} {'single/batch':>12s} {'opencv us':>10s} {'single/opencv':>13s} "
          f"{'batch/opencv':>12s}")
    for size in cfg.sizes:
        images = test_images(cfg.batch, size, cfg.seed)
        for method in METHODS:
            # OpenCV first, the NumPy reference last: its BLAS threads keep spinning after a call
            cv = None
            if method == "spectral_residual" and cv_sr is not None:
                cv = per_image(lambda im: cv_sr.computeSaliency(im), images[:cfg.singles], cfg.repeats)
            single = per_image(lambda im: saliency_map(im, method), images[:cfg.singles], cfg.repeats)
            batched = median_time(lambda: saliency_maps(images, method), cfg.repeats) / len(images)
            ref_fn = REFERENCES[method]
            ref = per_image(lambda im: ref_fn(im / 255.0), images[:cfg.reference_images], max(1, cfg.repeats // 2))
            line = (f"{method:18s} {size:5d} {single * 1e6:10.1f} {batched * 1e6:11.1f} {ref * 1e6:10.1f} "
                    f"{ref / single:12.1f} {single / batched:12.2f}")
            if cv is not None:
                line += f" {cv * 1e6:10.1f} {single / cv:13.2f} {batched / cv:12.2f}"
            elif method == "spectral_residual":
                line += "  (cv2.saliency unavailable)"
            print(line)
            time.sleep(0.5)  # let BLAS worker threads go idle before the next timing


def torch_scanpaths(maps, n_fixations: int, radius: int):
    """Paper-style per-sample loop: multinomial on the flattened map, zero the IoR square, repeat."""
    import torch

    b, h, w = maps.shape
    out = torch.empty(b, n_fixations, 2, dtype=torch.long)
    for i in range(b):
        sal = maps[i].clone()
        for k in range(n_fixations):
            idx = int(torch.multinomial(sal.flatten(), 1).item())
            r, c = divmod(idx, w)
            out[i, k, 0], out[i, k, 1] = r, c
            sal[max(r - radius, 0):r + radius + 1, max(c - radius, 0):c + radius + 1] = 0
    return out


def bench_scanpaths(cfg: BenchConfig) -> None:
    images = test_images(cfg.scan_batch, cfg.scan_size, cfg.seed + 1)
    maps = saliency_maps(images)
    rng = np.random.default_rng(cfg.seed)
    ours = median_time(lambda: sample_scanpaths(maps, cfg.scan_fixations, rng=rng, radius=cfg.ior_radius),
                       cfg.repeats)
    print(f"scanpaths {cfg.scan_batch} maps {cfg.scan_size}x{cfg.scan_size} x {cfg.scan_fixations} fixations, "
          f"square IoR r={cfg.ior_radius}")
    print(f"  saliency.sample_scanpaths (Numba, batched): {ours * 1e3:9.2f} ms")
    try:
        import torch
    except ImportError:
        print("  torch unavailable: per-sample torch loop skipped")
        return
    torch.manual_seed(cfg.seed)
    maps_t = torch.from_numpy(maps)
    loop = median_time(lambda: torch_scanpaths(maps_t, cfg.scan_fixations, cfg.ior_radius), max(1, cfg.repeats // 2))
    print(f"  per-sample torch.multinomial loop:          {loop * 1e3:9.2f} ms  "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"  speed-up: {loop / ours:.1f}x")


def main(cfg: BenchConfig) -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"{os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, "
          f"{platform.processor() or platform.machine()}")
    warm = test_images(4, 40, cfg.seed)
    for method in METHODS:  # compile (or load from cache) every kernel before timing
        saliency_map(warm[0], method)
        saliency_maps(warm, method)
    sample_scanpaths(saliency_maps(warm), 2, rng=np.random.default_rng(0))
    bench_maps(cfg)
    bench_scanpaths(cfg)


def cli() -> None:
    parser = Parser("python -m experiments.benchmarks.bench_saliency", description=__doc__)
    parser.add_config_flags(BenchConfig)
    main(parser.config_from_flags(BenchConfig, parser.parse_args()))


if __name__ == "__main__":
    cli()
