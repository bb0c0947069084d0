"""seq-JEPA pretraining on saccade glimpse sequences (one readable script, ``main(config)`` importable).

    python -m experiments.pretrain --config experiments/configs/scenes_cpu.yaml [--set optim.lr=1e-3]
    python -m experiments.pretrain --run-dir runs/NAME --resume
    torchrun --nproc_per_node 8 -m experiments.pretrain --config experiments/configs/stl10_pls_gpu.yaml

One step: forward target (EMA encoder on view M, no grad) / forward context (``model.forward`` on
views 0..M-1) / loss / backward / optimizer step / EMA update, then the online probes on detached
features (linear classifier on z_AGG, relative-action regressor on pairs of encoder outputs).
Multi-GPU: torchrun + DistributedDataParallel; every rank reads its own shard and applies the same
EMA update; rank 0 alone logs and writes checkpoints.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from experiments.checkpoint import (LAST_NAME, CheckpointError, capture_rng, check_compatible,
                                    latest_checkpoint, load_checkpoint, periodic_name, restore_rng,
                                    save_checkpoint)
from experiments.config import TrainConfig, config_to_dict, dump_config, load_config, preset_path
from experiments.data import SequenceSource, iterate_batches, make_source, normalize, prepare_batch
from seqjepa import SeqJEPA
from seqjepa.ema import ema_momentum
from seqjepa.evaluation import extract_features, fit_linear_probe, fit_regressor
from seqjepa.losses import prediction_loss
from seqjepa.optim import param_groups_for_weight_decay, set_lr
from seqjepa.probes import ActionRegressor, LinearProbe
from seqjepa.schedules import warmup_cosine_lr

__all__ = ["main", "cli", "evaluate_frozen", "init_distributed", "OnlineProbes", "SourceFactory"]

SourceFactory = Callable[[str, int, int, int], SequenceSource]  # (split, rank, world_size, seq_len)
_NO_BAD_STEP = 2 ** 62
_N_BASE = 4  # per-step stats: loss, correct, labeled, pairs, then per action dim: sse, sum y, sum y^2


@dataclasses.dataclass(frozen=True)
class Dist:
    """This process's place in the job (``world_size = 1`` without torchrun)."""

    rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_spec: str) -> tuple[Dist, torch.device]:
    """Read torchrun's env vars, init the process group when WORLD_SIZE > 1, resolve the device once."""
    world, local = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("LOCAL_RANK", "0"))
    if device_spec == "auto":
        device_spec = "cuda" if torch.cuda.is_available() else "cpu"
    if device_spec.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device_spec!r} but CUDA is not available; use 'auto' or 'cpu'")
    device = torch.device(f"cuda:{local}" if device_spec == "cuda" and world > 1 else device_spec)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if dist.is_initialized():
        return Dist(dist.get_rank(), dist.get_world_size()), device
    return Dist(), device


def _barrier(d: Dist) -> None:
    if d.world_size > 1:
        dist.barrier()


class OnlineProbes(nn.Module):
    """Online probes on detached features: z_AGG -> class, concat(z_i, z_j) -> pos_j - pos_i."""

    def __init__(self, agg_dim: int, embed_dim: int, n_classes: int, action_dim: int) -> None:
        super().__init__()
        self.classifier = LinearProbe(agg_dim, max(n_classes, 2))
        self.regressor = ActionRegressor(embed_dim, action_dim)

    def forward(self, z_agg: torch.Tensor, z_views: torch.Tensor, actions: torch.Tensor,
                labels: torch.Tensor, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probe loss and per-step statistics, without host synchronisation.

        Args: z_agg ``[B, D+E]``, z_views ``[B, M, D]``, actions ``[B, T, A]`` (incoming),
        labels int64 ``[B]`` (-1 unlabeled), pairs int64 ``[B, 2]`` view indices ``< M``.
        Returns: scalar loss and float ``[3 + 3A]`` (correct, labeled, pairs, sse, sum y, sum y^2).
        """
        logits = self.classifier(z_agg.float())
        mask = (labels >= 0).float()
        ce = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
        loss = (ce * mask).sum() / mask.sum().clamp(min=1.0)
        correct = ((logits.argmax(1) == labels).float() * mask).sum()
        rows = torch.arange(z_views.shape[0], device=z_views.device)
        i, j = pairs[:, 0], pairs[:, 1]
        cum = actions.float().cumsum(1)  # cum[:, t] = positions[:, t] - positions[:, 0]
        target = cum[rows, j] - cum[rows, i]
        pred = self.regressor(z_views[rows, i].float(), z_views[rows, j].float())
        loss = loss + F.mse_loss(pred, target)
        err = (pred.detach() - target) ** 2
        counts = torch.stack([correct, mask.sum(), torch.full_like(correct, float(len(rows)))])
        return loss, torch.cat([counts, err.sum(0), target.sum(0), (target ** 2).sum(0)]).detach()


def window_figures(window: list[torch.Tensor], d: Dist) -> dict[str, float]:
    """Mean loss, probe accuracy and R^2 (sklearn uniform average) over the window, all ranks."""
    total = torch.stack(window).sum(0).double()
    if d.world_size > 1:
        dist.all_reduce(total)
    total = total.cpu()
    loss, correct, labeled, pairs = total[:_N_BASE].tolist()
    sse, sy, syy = total[_N_BASE:].view(3, -1)
    sst = syy - sy ** 2 / max(pairs, 1.0)
    r2 = torch.where(sst > 0, 1.0 - sse / sst.clamp(min=1e-300), torch.zeros_like(sst)).mean()
    return {"loss": loss / (len(window) * d.world_size),
            "probe_acc": correct / labeled if labeled else float("nan"),
            "probe_r2": float(r2) if pairs > 1 and sy.numel() else float("nan")}


def _pairs(batch: int, m: int, seed: int, step: int, device: torch.device) -> torch.Tensor:
    """Random view pairs ``[B, 2]`` (i != j in 0..m-1 when m > 1), deterministic in (seed, step)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    i = torch.randint(0, m, (batch,), generator=g)
    j = (i + torch.randint(1, m, (batch,), generator=g)) % m if m > 1 else i
    return torch.stack([i, j], 1).to(device)


def _run_dir(config: TrainConfig, d: Dist, run_dir: str | Path | None) -> Path:
    if run_dir is not None:
        return Path(run_dir)
    name = [config.run_name or f"{time.strftime('%Y%m%d-%H%M%S')}_{config.preset}"]
    if d.world_size > 1:
        dist.broadcast_object_list(name, src=0)  # one timestamp for all ranks
    return Path(config.out_dir) / name[0]


def evaluate_frozen(model: SeqJEPA, config: TrainConfig, device: torch.device,
                    source_factory: SourceFactory) -> dict[str, Any]:
    """Frozen model (eval mode): z_AGG linear probe fitted on ``eval.train_split``, top-1 on
    ``eval.test_split`` at each M_val, and the relative-position R^2 of a linear regressor on
    concat(z_0, z_1) of encoder outputs (target positions[1] - positions[0]). Features z-scored.
    """
    e = config.eval
    sources = [source_factory(split, 0, 1, max(e.m_val) + 1) for split in (e.train_split, e.test_split)]
    mean = torch.tensor(sources[0].mean, dtype=torch.float32, device=device)
    std = torch.tensor(sources[0].std, dtype=torch.float32, device=device)
    fit: dict[str, Any] = dict(epochs=e.epochs, lr=e.lr, batch_size=e.batch_size, device=device,
                               seed=config.seed)
    result: dict[str, Any] = {"m_val": sorted(e.m_val), "z_agg_acc": {}}
    for m in sorted(e.m_val):
        tr, te = (extract_features(model, src.batches(0), m, lambda g: normalize(g, mean, std), device,
                                   e.max_batches) for src in sources)
        result["z_agg_acc"][str(m)] = fit_linear_probe(tr["z_agg"], tr["labels"], te["z_agg"], te["labels"],
                                                       **fit)
        result["n_train"], result["n_test"] = len(tr["labels"]), len(te["labels"])
    if max(e.m_val) >= 2:
        x_tr, x_te = (torch.cat([f["z_views"][:, 0], f["z_views"][:, 1]], 1) for f in (tr, te))
        result["position_r2"] = fit_regressor(x_tr, tr["actions"][:, 1], x_te, te["actions"][:, 1], **fit)
    return result


def main(config: TrainConfig, run_dir: str | Path | None = None, resume: bool = False,
         source_factory: SourceFactory | None = None) -> dict[str, Any]:
    """Pretrain seq-JEPA as ``config`` says; return the run summary (also written to summary.json).

    ``run_dir`` defaults to ``<out_dir>/<run_name>``; ``resume`` continues from its latest
    checkpoint. ``source_factory(split, rank, world_size, seq_len)`` replaces :func:`make_source`.
    """
    config.validate()
    d, device = init_distributed(config.device)
    if source_factory is None:
        def source_factory(split: str, rank: int, world: int, seq_len: int) -> SequenceSource:
            return make_source(config.data, split, rank, world, seq_len=seq_len, seed=config.seed)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    if config.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(config.deterministic)
    torch.backends.cudnn.benchmark = not config.deterministic
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not config.deterministic
    random.seed(config.seed + d.rank)
    np.random.seed(config.seed + d.rank)
    torch.manual_seed(config.seed)  # same initial weights on every rank

    run_dir = _run_dir(config, d, run_dir)
    source = source_factory(config.data.split, d.rank, d.world_size, config.data.seq_len)
    steps_per_epoch = len(source)
    if steps_per_epoch < 1:
        raise ValueError(f"data.batch_size={config.data.batch_size} leaves no full batch in the "
                         f"{config.data.split!r} split")
    total_steps = config.total_steps or config.epochs * steps_per_epoch
    warmup_steps = min(round(config.optim.warmup_epochs * steps_per_epoch), total_steps)
    end_step = min(total_steps, config.stop_after or total_steps)
    m_tr = config.data.seq_len - 1

    # ---- model, probes, optimizers
    model = SeqJEPA(config.seqjepa_config(source.channels, source.action_dim)).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if config.sync_bn and d.world_size > 1:
        if device.type != "cuda":
            raise ValueError("sync_bn=True needs CUDA devices (SyncBatchNorm has no CPU kernel)")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    probes = OnlineProbes(model.config.agg_dim, model.config.embed_dim, source.n_classes,
                          source.action_dim).to(device)
    groups = param_groups_for_weight_decay(model.online_named_parameters(), config.optim.weight_decay)
    optimizer = torch.optim.AdamW(groups, lr=config.optim.warmup_start_lr, betas=config.optim.betas,
                                  fused=config.optim.fused and device.type == "cuda")
    probe_opt = torch.optim.Adam(probes.parameters(), lr=config.optim.probe_lr)
    use_amp = config.precision != "fp32" and device.type == "cuda"
    amp_dtype = torch.bfloat16 if config.precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and config.precision == "fp16")
    train_model, train_probes = model, probes
    if d.world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        train_model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        train_probes = nn.parallel.DistributedDataParallel(probes, device_ids=ids)
    forward_context = torch.compile(train_model) if config.compile else train_model
    forward_target = torch.compile(model.encode_target) if config.compile else model.encode_target

    # ---- resume: exact step, data position, optimizer and RNG states
    step, epoch, batch_idx, curve = 0, 0, 0, []
    if resume:
        path = latest_checkpoint(run_dir)
        if path is None:
            raise FileNotFoundError(f"resume: no checkpoint ({LAST_NAME} or ckpt_step*.pt) in {run_dir}")
        state = load_checkpoint(path, map_location=device)
        check_compatible(state.get("config", {}), config_to_dict(config), path)
        try:
            model.load_state_dict(state["model"])
            probes.load_state_dict(state["probes"])
            optimizer.load_state_dict(state["optimizer"])
            probe_opt.load_state_dict(state["probe_optimizer"])
            scaler.load_state_dict(state["scaler"])
            step, epoch, batch_idx, curve = state["step"], state["epoch"], state["batch"], list(state["curve"])
            restore_rng(state["rng"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{path} does not match this model/optimizer: {exc}") from exc
    else:
        torch.manual_seed(config.seed + d.rank)  # dropout differs across ranks

    writer = None
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        dump_config(dataclasses.replace(config, run_name=run_dir.name), run_dir / "config.yaml")
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(run_dir / "tb"))

    mean = torch.tensor(source.mean, dtype=torch.float32, device=device)
    std = torch.tensor(source.std, dtype=torch.float32, device=device)
    check_every = 1 if device.type == "cpu" else config.log_every  # a host sync on GPU
    first_bad = torch.full((), _NO_BAD_STEP, dtype=torch.int64, device=device)
    window: list[torch.Tensor] = []
    params = [p for p in model.parameters() if p.requires_grad]

    def checkpoint(final: bool) -> None:
        """Rank 0 writes ckpt_last.pt (+ a kept copy); every rank waits for it."""
        e, b = (epoch + 1, 0) if batch_idx >= steps_per_epoch else (epoch, batch_idx)
        _barrier(d)
        if d.main:
            state = {"model": model.state_dict(), "probes": probes.state_dict(),
                     "optimizer": optimizer.state_dict(), "probe_optimizer": probe_opt.state_dict(),
                     "scaler": scaler.state_dict(), "step": step, "epoch": e, "batch": b, "lr_step": step,
                     "curve": curve, "rng": capture_rng(), "config": config_to_dict(config)}
            save_checkpoint(run_dir / LAST_NAME, state)
            if config.keep_every and (step % config.keep_every == 0 or final):
                save_checkpoint(run_dir / periodic_name(step), state)
        _barrier(d)

    def check_finite() -> None:
        if d.world_size > 1:
            dist.all_reduce(first_bad, op=dist.ReduceOp.MIN)
        if (bad := int(first_bad)) != _NO_BAD_STEP:
            raise FloatingPointError(f"non-finite loss at step {bad}; stopped without writing a checkpoint "
                                     f"(the last good one, if any: {run_dir / LAST_NAME})")

    model.train(), probes.train()
    t_start = t_log = time.perf_counter()
    start_step = steps_at_log = step
    grad_norm, lr, momentum = torch.zeros(()), config.optim.warmup_start_lr, config.optim.ema_base
    bar = None
    if config.progress and d.main and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=end_step, initial=step, desc="pretrain", dynamic_ncols=True)
    while step < end_step:
        for batch in iterate_batches(source, epoch, batch_idx, config.data.prefetch, device.type == "cuda"):
            glimpses, actions, labels = prepare_batch(batch, device, mean, std, config.channels_last)
            lr = warmup_cosine_lr(step, total_steps, warmup_steps, config.optim.lr,
                                  config.optim.warmup_start_lr, config.optim.final_lr)
            set_lr(optimizer, lr)
            amp = torch.autocast("cuda", dtype=amp_dtype) if use_amp else contextlib.nullcontext()
            with amp:
                # forward target: EMA encoder on the held-out view M (no grad)
                target = forward_target(glimpses[:, m_tr:m_tr + 1])[:, 0]
                # forward context: encode views 0..M-1, aggregate, predict view M's latent
                out = forward_context(glimpses, actions, n_observed=m_tr)
            # loss
            loss = prediction_loss(out.prediction.float(), target.float())
            first_bad = torch.where((first_bad == _NO_BAD_STEP) & ~torch.isfinite(loss),
                                    torch.full_like(first_bad, step), first_bad)
            # backward
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            log_now = (step + 1) % config.log_every == 0 or step + 1 == end_step
            if config.optim.grad_clip is not None or log_now:
                scaler.unscale_(optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip or math.inf)
            scaler.step(optimizer)
            scaler.update()
            # EMA update (identical on every rank: same parameters, same momentum)
            momentum = ema_momentum(step, total_steps, config.optim.ema_base, config.optim.ema_final)
            model.update_target(momentum)
            # online probes on detached features, their own optimizer
            pairs = _pairs(labels.shape[0], m_tr, config.seed + d.rank, step, device)
            with amp:
                probe_loss, stats = train_probes(out.z_agg.detach(), out.z_views.detach(), actions,
                                                 labels, pairs)
            probe_opt.zero_grad(set_to_none=True)
            probe_loss.backward()
            probe_opt.step()
            window = (window + [torch.cat([loss.detach().float().view(1), stats])])[-config.probe_window:]
            step, batch_idx = step + 1, batch_idx + 1
            if bar is not None:
                bar.update(1)
            if step % check_every == 0 or step == end_step:
                check_finite()
            if log_now:
                figs = window_figures(window, d)
                now = time.perf_counter()
                rate = (step - steps_at_log) * labels.shape[0] * d.world_size / max(now - t_log, 1e-9)
                t_log, steps_at_log = now, step
                curve.append([step, figs["loss"], figs["probe_acc"], figs["probe_r2"]])
                if writer is not None:
                    for key, value in (("loss", figs["loss"]), ("lr", lr), ("ema_momentum", momentum),
                                       ("probe_acc", figs["probe_acc"]), ("probe_r2", figs["probe_r2"]),
                                       ("sequences_per_s", rate), ("grad_norm", float(grad_norm))):
                        writer.add_scalar(f"train/{key}", value, step)
                if bar is not None:
                    bar.set_postfix(loss=f"{figs['loss']:.4f}", acc=f"{figs['probe_acc']:.3f}")
            if step % config.checkpoint_every == 0 or step == end_step:
                check_finite()
                checkpoint(final=step == end_step)
            if step >= end_step:
                break
        else:
            epoch, batch_idx = epoch + 1, 0
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t_start
    figs = window_figures(window, d) if window else {}
    summary: dict[str, Any] = {
        "run_dir": str(run_dir), "preset": config.preset, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "world_size": d.world_size, "rank": d.rank, "steps": step, "total_steps": total_steps,
        "epochs_done": step / steps_per_epoch, "first_loss": curve[0][1] if curve else None,
        "final_loss": figs.get("loss"), "probe_acc": figs.get("probe_acc"), "probe_r2": figs.get("probe_r2"),
        "chance_acc": 1.0 / max(source.n_classes, 1), "wall_time_s": wall,
        "sequences_per_s": (step - start_step) * config.data.batch_size * d.world_size / max(wall, 1e-9),
        "loss_curve": curve}
    if config.eval.enabled and step == total_steps:
        if d.main:
            t_eval = time.perf_counter()
            summary["eval"] = evaluate_frozen(model, config, device, source_factory)
            summary["eval"]["wall_time_s"] = time.perf_counter() - t_eval
        _barrier(d)
    if writer is not None:
        writer.close()
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``saccade-pretrain`` (see the module docstring).

    Returns None (the console-script wrapper passes the return value to ``sys.exit``); the
    summary is printed and saved as ``summary.json`` in the run folder.
    """
    parser = argparse.ArgumentParser(prog="saccade-pretrain", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="YAML config (default: the scenes_cpu preset; with --resume "
                                         "and --run-dir: the run's own config.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field, e.g. --set optim.lr=1e-3 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    parser.add_argument("--run-dir", help="run folder (default: <out_dir>/<run_name>)")
    args = parser.parse_args(argv)
    own = Path(args.run_dir or ".") / "config.yaml"
    if args.config is None and args.resume and args.run_dir and own.is_file():
        config = load_config(own, args.overrides)
    else:
        config = load_config(args.config or preset_path("scenes_cpu"), args.overrides)
    if args.resume and args.run_dir is None and config.run_name is None:
        parser.error("--resume needs --run-dir or a config with run_name")
    try:
        summary = main(config, run_dir=args.run_dir, resume=args.resume)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if summary.get("rank", 0) == 0:
        print(format_summary(summary))


def format_summary(summary: dict[str, Any]) -> str:
    """A few readable lines of a run summary (the full one is ``summary.json``)."""
    def f(key: str, source: dict[str, Any] = summary, digits: int = 3) -> str:
        value = source.get(key)
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = [f"run folder: {summary.get('run_dir')}",
             f"steps {summary.get('steps')}: loss {f('first_loss')} -> {f('final_loss')}; online probe top-1 "
             f"{f('probe_acc')} (chance {f('chance_acc')}), relative-position R^2 {f('probe_r2')}; "
             f"{f('sequences_per_s', digits=0)} sequences/s"]
    ev = summary.get("eval") or {}
    if ev.get("z_agg_acc"):
        accs = ", ".join(f"M_val={m}: {a:.3f}" for m, a in ev["z_agg_acc"].items())
        lines.append(f"frozen z_AGG linear probe top-1: {accs}; position R^2 {f('position_r2', ev)}")
    return "\n".join(lines)


if __name__ == "__main__":
    cli()
