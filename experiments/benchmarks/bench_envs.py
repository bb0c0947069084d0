"""Environment and sequence-source throughput, against a per-item baseline measured in the same run.

Prints: single-env steps/s (one core; G = 32, scales 1/2/4, a reset every 4 saccades, with the
saliency maps precomputed as the paper did, and computed at each reset) and sequence-source
sequences/s (T = 5, B = 512; saccades, then the path-integration and rotation worlds) on CPU.
The saccade source is shown next to
the previous source's fused path (one scanpath kernel + the retina, no env; the path the one
source replaced) and to a baseline in the style of the seq-JEPA reference code's dataset class:
per sample, draw fixations with ``torch.multinomial`` + square IoR, then crop every glimpse with
its own ``grid_sample`` inside ``__getitem__``, batched by a ``DataLoader``. Vector envs:
``experiments.benchmarks.bench_vector``.

    python -m experiments.benchmarks.bench_envs            # full sizes
    python -m experiments.benchmarks.bench_envs --quick    # small smoke run
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np

from experiments.cliconfig import Parser


def _best_rate(fn: Callable[[], int], repeats: int) -> float:
    """Items per second of ``fn`` (which returns how many items it produced), best of ``repeats``."""
    fn()  # warm-up (Numba compilation, caches)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        items = fn()
        best = max(best, items / (time.perf_counter() - start))
    return best


class PaperStyleDataset:
    """Per-item baseline: one image per ``__getitem__``, torch sampling and ``grid_sample`` crops."""

    def __init__(self, images: np.ndarray, maps: np.ndarray, seq_len: int, glimpse: int, radius: int) -> None:
        import torch

        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float() / 255.0
        self.maps = torch.from_numpy(np.asarray(maps, np.float32))
        self.seq_len, self.glimpse, self.radius = seq_len, glimpse, radius

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch
        import torch.nn.functional as F

        image, prob = self.images[i], self.maps[i].clone()
        h, w = prob.shape
        fixations = []
        for _ in range(self.seq_len):
            flat = torch.multinomial(prob.flatten(), 1).item()
            r, c = divmod(flat, w)
            fixations.append((r, c))
            prob[max(r - self.radius, 0):r + self.radius + 1, max(c - self.radius, 0):c + self.radius + 1] = 0
            if prob.sum() <= 0:
                prob = torch.ones_like(prob)
            prob = prob / prob.sum()
        crops = []
        for r, c in fixations:
            theta = torch.tensor([[[self.glimpse / w, 0, 2 * c / w - 1], [0, self.glimpse / h, 2 * r / h - 1]]])
            grid = F.affine_grid(theta, (1, image.shape[0], self.glimpse, self.glimpse), align_corners=False)
            crops.append(F.grid_sample(image[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0])
        positions = torch.tensor(fixations, dtype=torch.float32) / torch.tensor([h, w], dtype=torch.float32)
        actions = torch.zeros_like(positions)
        actions[1:] = positions[1:] - positions[:-1]
        return torch.stack(crops), actions


def bench_single_env(dataset: Any, steps: int, maps: np.ndarray | None = None) -> float:
    """Steps/s of one env (resets every 4 saccades, random images) with random saccades."""
    from envs.families.saccade_env import SaccadeEnv

    env = SaccadeEnv(dataset, glimpse_size=32, scales=(1, 2, 4), max_saccades=4, saliency_maps=maps)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.3, 0.3, size=(steps, 2)).astype(np.float32)

    def run() -> int:
        env.reset(seed=0)
        for k in range(steps):
            _, _, _, truncated, _ = env.step(actions[k])
            if truncated:
                env.reset()
        return steps

    return _best_rate(run, 3)


def bench_sequences(dataset: Any, maps: np.ndarray, batch: int, seq_len: int, batches: int) -> dict[str, float]:
    """Sequences/s of the sequence source (a native vector env rolled by the batched saliency agent),
    of the previous source's fused path (one scanpath kernel + the batched retina, no env), and of
    the per-item baseline, on the same images and maps."""
    import torch

    from envs.engine.retina import Retina
    from envs.families.saccade_world import SaccadeWorld
    from experiments.pretrain.source import SequenceSource
    from envs.engine.vector_env import ActiveVisionVectorEnv
    from saliency import sample_scanpaths

    world = SaccadeWorld(batch, dataset, glimpse_size=32, max_saccades=seq_len - 1, saliency_maps=maps,
                         priority_info=False)
    source = SequenceSource(ActiveVisionVectorEnv(world), seq_len=seq_len, batch_size=batch)

    def ours() -> int:
        it = source.batches(0)
        for _ in range(batches):
            next(it)
        return batches * batch

    retina, rng = Retina(32, (1,)), np.random.default_rng(0)
    images = np.asarray(dataset.images)

    def fused() -> int:  # what the saccade-only source did: no env, no agent, one kernel per batch
        for _ in range(batches):
            idx = np.sort(rng.choice(len(images), batch, replace=False))
            fix = sample_scanpaths(np.ascontiguousarray(maps[idx]), seq_len, uniforms=rng.random((batch, seq_len)),
                                   ior="square", radius=16)
            g = retina.batch(images[idx], fix)
            torch.from_numpy(np.ascontiguousarray(g.transpose(0, 1, 2, 5, 3, 4).reshape(batch, seq_len, -1, 32, 32)))
        return batches * batch

    ours_rate = max(_best_rate(ours, 3), 1e-9)  # before the baseline's workers start prefetching
    fused_rate = _best_rate(fused, 3)

    # The reference pipeline as it is run: a DataLoader whose workers (one per core, one torch
    # thread each) call __getitem__ per sample and collate.
    baseline_ds = PaperStyleDataset(np.asarray(dataset.images), maps, seq_len, 32, 16)
    workers = os.cpu_count() or 1
    loader = torch.utils.data.DataLoader(baseline_ds, batch_size=batch, shuffle=True, num_workers=workers,
                                         persistent_workers=True)
    loader_iter = iter(loader)

    def baseline() -> int:
        nonlocal loader_iter
        for _ in range(2):
            try:
                next(loader_iter)
            except StopIteration:
                loader_iter = iter(loader)
                next(loader_iter)
        return 2 * batch

    baseline_rate = _best_rate(baseline, 2)
    del loader_iter  # stops the workers
    return {"ours": ours_rate, "fused": fused_rate, "baseline": baseline_rate}


def bench_family_sources(batch: int, seq_len: int, batches: int) -> dict[str, float]:
    """Sequences/s of the same source over the path-integration and 3D-rotation worlds."""
    from experiments.pretrain.source import SequenceSource

    out = {}
    for name, env_id, kwargs in (("path", "PathIntegration-Scenes-v0", dict(glimpse_size=32, n_worlds=16)),
                                 ("rotation", "Rotation3D-Shapes-v0", dict(image_size=32, n_objects=200))):
        source = SequenceSource(env_id, kwargs, seq_len=seq_len, batch_size=batch, epoch_size=batch * batches)

        def run(source=source) -> int:
            for _ in source.batches(0):
                pass
            return batches * batch

        out[name] = _best_rate(run, 2)
    return out


def main(quick: bool = False, root: str | None = None) -> dict[str, float]:
    import torch

    from envs.datasets import load_scenes
    from saliency import saliency_maps

    n_images = 1200 if quick else 6000
    dataset = load_scenes(split="train", root=root, n_train=n_images)
    maps = saliency_maps(np.ascontiguousarray(dataset.images[:n_images]))
    batch, seq_len = (128, 5) if quick else (512, 5)
    results: dict[str, float] = {}

    print(f"[bench_envs] cores={os.cpu_count()} torch={torch.__version__} quick={quick}")
    steps = 2000 if quick else 10000
    results["single_env_steps_per_s"] = bench_single_env(dataset, steps, maps)
    print(f"single env, precomputed saliency:     {results['single_env_steps_per_s']:10.0f} steps/s   (target >= 5,000)")
    results["single_env_onthefly_steps_per_s"] = bench_single_env(dataset, steps)
    print(f"single env, saliency at each reset:   {results['single_env_onthefly_steps_per_s']:10.0f} steps/s")
    seq = bench_sequences(dataset, maps, batch, seq_len, 4 if quick else 10)
    results["source_sequences_per_s"], results["baseline_sequences_per_s"] = seq["ours"], seq["baseline"]
    results["fused_sequences_per_s"] = seq["fused"]
    ratio = seq["ours"] / seq["baseline"]
    results["source_speedup"] = ratio
    print(f"sequence source (B={batch}, T={seq_len}):      {seq['ours']:10.0f} sequences/s")
    print(f"previous fused scanpath path:         {seq['fused']:10.0f} sequences/s   "
          f"(source / fused: {seq['ours'] / seq['fused']:.2f}x)")
    print(f"per-item grid_sample DataLoader:      {seq['baseline']:10.0f} sequences/s")
    print(f"ratio source / baseline:              {ratio:10.1f} x      (target >= 10x)")
    fam = bench_family_sources(batch, seq_len, 4 if quick else 10)
    for name, rate in fam.items():
        results[f"source_{name}_sequences_per_s"] = rate
        print(f"sequence source, {name + ' world':14s}:      {rate:10.0f} sequences/s")
    return results


def cli(argv: list[str] | None = None) -> None:
    parser = Parser("python -m experiments.benchmarks.bench_envs", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--root", default=None, help="data folder for the embedded scenes cache")
    args = parser.parse_args(argv)
    main(quick=args.quick, root=args.root)


if __name__ == "__main__":
    cli()
