"""Training-step throughput: our pipeline vs the way the public seq-JEPA code trains, same run, same device.

Both train the same seq-JEPA (ResNet-18, CIFAR stem, 32 px glimpses, M_tr = 4, batch 512 at full
size) for the same number of steps on synthetic 96x96 images with random saliency maps:

- **ours**: batched uint8 sequences from ``experiments.pretrain.source.SequenceSource`` (Numba-parallel
  scanpaths + retina over the whole batch) made ahead in a background thread and pinned; uint8 -> float and
  normalisation on the device; bf16 autocast, channels_last, fused AdamW (on CUDA).
- **paper-style**: a torch ``Dataset`` whose ``__getitem__`` normalises one image on the CPU,
  samples its fixations and crops every glimpse with ``F.grid_sample`` (one affine grid per
  glimpse), ``DataLoader`` worker processes (``--workers``) with the default collate, fp32, plain AdamW.

Reported per pipeline: sequences/s, peak GPU memory, data-wait fraction (time blocked on the
next batch / wall), busy fraction (CUDA-event time of the steps / wall; on CPU the step time)
and ``torch.cuda.utilization()`` where available; then the ratios ours / paper-style.

    python -m experiments.benchmarks.bench_train                 # GPU, STL-10-sized
    python -m experiments.benchmarks.bench_train --small         # CPU smoke test (tiny batch, convnet, 16 px)
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from experiments.cliconfig import Parser
from experiments.pretrain.data import iterate_batches, prepare_batch
from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.ema import ema_momentum
from seqjepa.losses import prediction_loss
from seqjepa.optim import param_groups_for_weight_decay
from seqjepa.preprocess import STL10_MEAN as MEAN, STL10_STD as STD


def synthetic_data(n: int, size: int = 96, seed: int = 0) -> tuple[Any, np.ndarray]:
    """An ``ImageDataset`` of ``n`` random uint8 images and float32 saliency maps ``[n, size, size]``."""
    from envs.datasets.base import ImageDataset

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int64)
    sal = rng.random((n, size, size)).astype(np.float32) ** 4
    sal /= sal.sum(axis=(1, 2), keepdims=True)
    data = ImageDataset(name="synthetic", images=images, labels=labels,
                        class_names=tuple(str(i) for i in range(10)))
    return data, sal


class PaperStyleDataset(Dataset):
    """One sequence per item, built on the CPU as the public seq-JEPA code does.

    ``__getitem__`` -> glimpses float32 ``[T, 3, G, G]`` (normalised), actions float32 ``[T, 2]``
    (incoming; ``actions[0] = 0``), label int.
    """

    def __init__(self, images: np.ndarray, saliency: np.ndarray, labels: np.ndarray, seq_len: int,
                 glimpse: int, ior_radius: int = 16) -> None:
        self.images, self.saliency, self.labels = images, saliency, labels
        self.seq_len, self.glimpse, self.radius = seq_len, glimpse, ior_radius
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        img = (torch.from_numpy(np.array(self.images[i])).permute(2, 0, 1).float() / 255 - self.mean) / self.std
        size = img.shape[-1]
        prob = self.saliency[i].astype(np.float64).copy()
        fix = []
        for _ in range(self.seq_len):  # saliency sampling with square inhibition of return
            k = np.random.choice(prob.size, p=prob.ravel() / prob.sum())
            r, c = divmod(int(k), size)
            fix.append((r, c))
            prob[max(r - self.radius, 0):r + self.radius + 1, max(c - self.radius, 0):c + self.radius + 1] = 0
            if prob.sum() <= 0:
                prob[:] = 1.0
        pos = torch.tensor(fix, dtype=torch.float32) / size
        crops = []
        for r, c in fix:  # one affine grid + grid_sample per glimpse (bilinear, zero padding)
            scale = self.glimpse / size
            theta = torch.tensor([[[scale, 0.0, 2 * c / size - 1], [0.0, scale, 2 * r / size - 1]]])
            grid = F.affine_grid(theta, [1, 3, self.glimpse, self.glimpse], align_corners=False)
            crops.append(F.grid_sample(img[None], grid, mode="bilinear", padding_mode="zeros",
                                       align_corners=False)[0])
        actions = torch.zeros_like(pos)
        actions[1:] = pos[1:] - pos[:-1]
        return torch.stack(crops), actions, int(self.labels[i])


def _forever(make_epoch: Callable[[int], Iterator[Any]]) -> Iterator[Any]:
    for epoch in itertools.count():
        yield from make_epoch(epoch)


def make_trainer(cfg: SeqJEPAConfig, device: torch.device, fast: bool,
                 m: int) -> tuple[SeqJEPA, Callable[[torch.Tensor, torch.Tensor, int], None]]:
    """A model and one training step (forward target / forward context / loss / backward / EMA)."""
    torch.manual_seed(0)
    model = SeqJEPA(cfg).to(device)
    cuda = device.type == "cuda"
    if fast and cuda:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(param_groups_for_weight_decay(model.online_named_parameters(), 1e-3), lr=4e-4,
                            fused=fast and cuda)

    def step(glimpses: torch.Tensor, actions: torch.Tensor, i: int) -> None:
        amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=fast and cuda)
        with amp:
            target = model.encode_target(glimpses[:, m:m + 1])[:, 0]
            out = model(glimpses, actions, n_observed=m)
        loss = prediction_loss(out.prediction.float(), target.float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.update_target(ema_momentum(i, 10_000))

    return model, step


def measure(name: str, batches: Iterator[Any], to_device: Callable[[Any], tuple[torch.Tensor, torch.Tensor]],
            step: Callable[[torch.Tensor, torch.Tensor, int], None], device: torch.device, batch: int,
            warmup: int, steps: int) -> dict[str, Any]:
    """Time ``steps`` steps after ``warmup``; returns throughput, memory and wait/busy fractions."""
    cuda = device.type == "cuda"
    for i in range(warmup):
        step(*to_device(next(batches)), i)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    wait = busy = 0.0
    events, util = [], []
    t0 = time.perf_counter()
    for i in range(steps):
        t = time.perf_counter()
        b = next(batches)
        wait += time.perf_counter() - t
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step(*to_device(b), warmup + i)
            end.record()
            events.append((start, end))
            try:
                util.append(torch.cuda.utilization(device))
            except Exception:  # noqa: BLE001 - pynvml missing: report None
                pass
        else:
            t = time.perf_counter()
            step(*to_device(b), warmup + i)
            busy += time.perf_counter() - t
    if cuda:
        torch.cuda.synchronize(device)
        busy = sum(s.elapsed_time(e) for s, e in events) / 1000
    wall = time.perf_counter() - t0
    return {"pipeline": name, "sequences_per_s": steps * batch / wall, "step_ms": 1000 * wall / steps,
            "peak_mem_mb": torch.cuda.max_memory_allocated(device) / 2 ** 20 if cuda else None,
            "data_wait_frac": wait / wall, "busy_frac": busy / wall,
            "gpu_util_pct": float(np.mean(util)) if util else None}


def run(small: bool = False, steps: int | None = None, workers: int | None = None,
        device: str = "auto") -> dict[str, Any]:
    """Benchmark both pipelines; returns both result rows and the ratios."""
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    batch, glimpse, t_len = (8, 16, 5) if small else (512, 32, 5)
    n_images = 16 * batch if small else 8192
    steps = steps or (3 if small else 30)
    warmup = 1 if small else 5
    workers = 1 if small and workers is None else (workers if workers is not None else 8)
    cfg = (SeqJEPAConfig(encoder="convnet", embed_dim=32, action_embed_dim=16, agg_heads=2, agg_layers=1,
                         agg_ffn=64, pred_hidden=64) if small else SeqJEPAConfig())
    data, sal = synthetic_data(n_images)
    from envs.families.saccade_world import SaccadeWorld
    from experiments.pretrain.source import SequenceSource
    from envs.engine.vector_env import ActiveVisionVectorEnv

    world = SaccadeWorld(batch, data, glimpse_size=glimpse, max_saccades=t_len - 1, saliency_maps=sal,
                         priority_info=False)
    source = SequenceSource(ActiveVisionVectorEnv(world), seq_len=t_len, batch_size=batch, mean=MEAN, std=STD)
    mean = torch.tensor(source.mean, device=dev)
    std = torch.tensor(source.std, device=dev)
    rows = []
    _, step = make_trainer(cfg, dev, fast=True, m=t_len - 1)
    ours = _forever(lambda e: iterate_batches(source, e, 0, prefetch=4, pin_memory=dev.type == "cuda"))
    rows.append(measure("ours", ours, lambda b: prepare_batch(b, dev, mean, std, dev.type == "cuda")[:2],
                        step, dev, batch, warmup, steps))
    del ours
    _, step = make_trainer(cfg, dev, fast=False, m=t_len - 1)
    ds = PaperStyleDataset(data.images, sal, data.labels, t_len, glimpse)
    paper = _forever(lambda e: iter(DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True,
                                               num_workers=workers)))
    rows.append(measure("paper-style", paper, lambda b: (b[0].to(dev), b[1].to(dev)), step, dev, batch,
                        warmup, steps))
    ratio = {"throughput_ours_over_paper": rows[0]["sequences_per_s"] / rows[1]["sequences_per_s"]}
    if dev.type == "cuda":
        ratio["peak_mem_ours_over_paper"] = rows[0]["peak_mem_mb"] / rows[1]["peak_mem_mb"]
    return {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
            "config": {"batch": batch, "glimpse": glimpse, "seq_len": t_len, "encoder": cfg.encoder,
                       "workers": workers, "steps": steps, "warmup": warmup}, "rows": rows, "ratios": ratio}


def cli(argv: list[str] | None = None) -> dict[str, Any]:
    parser = Parser("python -m experiments.benchmarks.bench_train", description=__doc__)
    parser.add_argument("--small", action="store_true", help="tiny batch/model for a CPU smoke test")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per pipeline")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers of the paper-style pipeline")
    parser.add_device(default="auto", help="cpu, cuda or cuda:N; auto: cuda where available")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    res = run(args.small, args.steps, args.workers, args.device)
    print(f"device {res['device']}  config {res['config']}")
    print(f"{'pipeline':12s} {'seq/s':>9s} {'step ms':>9s} {'peak MB':>9s} {'wait':>6s} {'busy':>6s} {'util%':>6s}")
    for r in res["rows"]:
        mem = f"{r['peak_mem_mb']:9.0f}" if r["peak_mem_mb"] is not None else f"{'-':>9s}"
        util = f"{r['gpu_util_pct']:6.0f}" if r["gpu_util_pct"] is not None else f"{'-':>6s}"
        print(f"{r['pipeline']:12s} {r['sequences_per_s']:9.1f} {r['step_ms']:9.1f} {mem} "
              f"{r['data_wait_frac']:6.2f} {r['busy_frac']:6.2f} {util}")
    for k, v in res["ratios"].items():
        print(f"{k}: {v:.2f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return res


if __name__ == "__main__":
    cli()
