"""Rasteriser throughput: ``Renderer.render_batch`` (one parallel Numba call) against a Python loop
of ``Renderer.render`` over the same (mesh, rotation) items, measured in the same run.

Prints frames/s of both and their ratio for every (image size, batch size N), on the procedural
objects (``make_objects``), perspective projection, no supersampling, best of a few repeats
after a warm-up (Numba compilation is not timed).

    python -m experiments.benchmarks.bench_render3d            # sizes 64, 128; N = 64, 256
    python -m experiments.benchmarks.bench_render3d --quick    # fewer repeats (< 30 s)
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from experiments.cliconfig import Parser


def _best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls of ``fn``, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(sizes: Sequence[int] = (64, 128), batches: Sequence[int] = (64, 256), repeats: int = 5,
            n_objects: int = 10, seed: int = 0) -> list[dict[str, float]]:
    """Frames/s of ``render_batch`` and of a ``render`` loop for every (size, N).

    Returns one dict per pair: ``size``, ``n``, ``loop_fps``, ``batch_fps``, ``ratio`` (batch / loop).
    """
    from envs.datasets.objects3d import make_objects
    from envs.render.mesh_renderer import MeshBank, Renderer, random_quaternion

    meshes = make_objects(n_objects, seed)
    bank = MeshBank(meshes)
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        renderer = Renderer(size)
        for n in batches:
            indices, rotations = rng.integers(0, len(meshes), n), random_quaternion(rng, n)
            loop = _best_seconds(lambda: [renderer.render(meshes[k], q) for k, q in zip(indices, rotations)], repeats)
            batch = _best_seconds(lambda: renderer.render_batch(bank, indices, rotations), repeats)
            rows.append({"size": size, "n": n, "loop_fps": n / loop, "batch_fps": n / batch, "ratio": loop / batch})
    return rows


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    parser = Parser("python -m experiments.benchmarks.bench_render3d", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5 (a smoke run, < 30 s)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="image sides in pixels")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256], help="batch sizes N")
    args = parser.parse_args(argv)

    import numba

    rows = measure(args.sizes, args.batches, repeats=2 if args.quick else 5)
    print(f"render3d: frames/s, perspective, supersample 1, {numba.get_num_threads()} Numba threads")
    print(f"{'size':>5} {'N':>5} {'loop fps':>10} {'batch fps':>10} {'batch/loop':>11}")
    for r in rows:
        print(f"{r['size']:>5} {r['n']:>5} {r['loop_fps']:>10.0f} {r['batch_fps']:>10.0f} {r['ratio']:>10.2f}x")
    return rows


if __name__ == "__main__":
    main()
