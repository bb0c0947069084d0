"""seq-JEPA pretraining on saccade glimpse sequences (one readable script, ``main(config)`` importable).

    python -m experiments.pretrain --config experiments/pretrain/configs/scenes_cpu.yaml [--set optim.lr=1e-3]
    python -m experiments.pretrain --run-dir runs/NAME --resume
    torchrun --nproc_per_node 8 -m experiments.pretrain --config experiments/pretrain/configs/stl10_pls_gpu.yaml

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
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn

from experiments.pretrain.checkpoint import (
    LAST_NAME,
    CheckpointError,
    capture_rng,
    check_compatible,
    latest_checkpoint,
    load_checkpoint,
    periodic_name,
    restore_rng,
    save_checkpoint,
)
from experiments.pretrain.config import (
    RUN_CONTROL_KEYS,
    TrainConfig,
    apply_overrides,
    config_to_dict,
    dump_config,
    list_presets,
    load_config,
    reset_invocation_keys,
)
from experiments.pretrain.data import SequenceSource, iterate_batches, make_source, policy_kwargs, prepare_batch
from experiments.pretrain.distributed import Dist, barrier, init_distributed
from experiments.pretrain.envspec import env_spec
from experiments.pretrain.probing import (
    OnlineProbes,
    SourceFactory,
    random_pairs,
    window_figures,
)
from experiments.evaluate.runner import end_of_training
from experiments.outputs import USER_ERRORS, exit_error
from experiments.pretrain.runfolder import TB_NAME, claim_run_dir, kept_summary, write_summary
from seqjepa import SeqJEPA
from seqjepa.ema import ema_momentum
from seqjepa.losses import prediction_loss, variance_covariance_loss
from seqjepa.optim import param_groups_for_weight_decay, set_lr
from seqjepa.pretrained import META_KEY, pretrained_meta
from seqjepa.schedules import warmup_cosine_lr

__all__ = ["main", "cli", "format_summary", "check_run_dir", "RunDirError"]

_NO_BAD_STEP = 2 ** 62


class RunDirError(ValueError):
    """The run folder cannot be used (a file in the way, not writable); raised before any data is prepared."""


def check_run_dir(run_dir: Path, resume: bool = False) -> None:
    """Make sure ``run_dir`` is (or can become) a writable folder: create it and write a probe file.

    Raises:
        RunDirError: a file stands at ``run_dir`` or above it, or the folder cannot be written.
    """
    run_dir = Path(run_dir)
    for parent in (run_dir, *run_dir.parents):
        if parent.exists():
            if not parent.is_dir():
                raise RunDirError(f"run folder {run_dir}: {parent} is a file, not a folder")
            break
    if resume and not run_dir.is_dir():
        return  # resume reports the missing run itself
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write_test_{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"run folder {run_dir} cannot be written ({exc.strerror or exc}); "
                          f"pick another --run-dir or out_dir") from None


def _run_dir(config: TrainConfig, d: Dist, run_dir: str | Path | None) -> Path:
    if run_dir is not None:
        return Path(run_dir)
    name = [config.run_name or f"{time.strftime('%Y%m%d-%H%M%S')}_{config.preset}"]
    if d.world_size > 1:
        dist.broadcast_object_list(name, src=0)  # one timestamp for all ranks
    return Path(config.out_dir) / name[0]


def main(config: TrainConfig, run_dir: str | Path | None = None, resume: bool = False,
         source_factory: SourceFactory | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Pretrain seq-JEPA as ``config`` says; return the run summary (also written to summary.json).

    ``run_dir`` defaults to ``<out_dir>/<run_name>``; ``resume`` continues from its latest
    checkpoint (a run already at its end keeps its summary). A fresh run refuses a folder that
    holds run data (checkpoints, summary, TensorBoard events) with FileExistsError unless
    ``overwrite``, which removes that data first. ``source_factory(split, rank, world_size,
    seq_len)`` replaces :func:`make_source`.
    """
    config.validate()
    if resume and overwrite:
        raise ValueError("resume=True continues the run in its folder and overwrite=True would delete it; "
                         "pass one of them, not both")
    d, device = init_distributed(config.device)
    eval_factory = source_factory  # None: the evaluation builds its own sources (eval.batch_size)
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
    if d.main:  # before any data preparation: a read-only or blocked run folder fails now, not after it
        check_run_dir(run_dir, resume)
    if not resume:  # before any data preparation: a fresh run never replaces a run's data silently
        claim_run_dir(run_dir, d, overwrite)
    else:  # before any data preparation: the checkpoint is there, intact and of this config
        path = latest_checkpoint(run_dir)
        if path is None:
            raise FileNotFoundError(f"resume: no checkpoint ({LAST_NAME} or ckpt_step*.pt) in {run_dir}")
        state = load_checkpoint(path, map_location=device)
        check_compatible(state.get("config", {}), config_to_dict(config), path, ignore=RUN_CONTROL_KEYS)
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
    model.set_input_stats(source.mean, source.std)
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
        # the no-action ablation never uses the action embedding: DDP must not wait for its gradients
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=ids, find_unused_parameters=not model.uses_action_embedding(m_tr))
        train_probes = nn.parallel.DistributedDataParallel(probes, device_ids=ids)
    forward_context = torch.compile(train_model) if config.compile else train_model
    forward_target = torch.compile(model.encode_target) if config.compile else model.encode_target

    # ---- resume: exact step, data position, optimizer and RNG states
    step, epoch, batch_idx, curve = 0, 0, 0, []
    saved_window: torch.Tensor | None = None
    if resume:
        try:
            model.load_state_dict(state["model"])
            probes.load_state_dict(state["probes"])
            optimizer.load_state_dict(state["optimizer"])
            probe_opt.load_state_dict(state["probe_optimizer"])
            scaler.load_state_dict(state["scaler"])
            step, epoch, batch_idx, curve = state["step"], state["epoch"], state["batch"], list(state["curve"])
            saved_window = state.get("probe_window")  # absent in checkpoints from before it was kept
            rngs = state.get("rng_per_rank")  # absent in checkpoints from before it was kept
            restore_rng(rngs[d.rank] if rngs and len(rngs) == d.world_size else state["rng"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{path} does not match this model/optimizer: {exc}") from exc
        if step >= end_step and (kept := kept_summary(run_dir, step, d)) is not None:
            return kept  # nothing left to train: a finished (or stopped) run keeps its summary
    else:
        torch.manual_seed(config.seed + d.rank)  # dropout differs across ranks

    writer = None
    if d.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        dump_config(dataclasses.replace(config, run_name=run_dir.name), run_dir / "config.yaml")
        from torch.utils.tensorboard import SummaryWriter
        # on resume, events an interrupted session logged after the checkpoint (step > its step) are dropped
        writer = SummaryWriter(str(run_dir / TB_NAME), purge_step=step + 1 if resume else None)

    mean = torch.tensor(source.mean, dtype=torch.float32, device=device)
    std = torch.tensor(source.std, dtype=torch.float32, device=device)
    check_every = 1 if device.type == "cpu" else config.log_every  # a host sync on GPU
    first_bad = torch.full((), _NO_BAD_STEP, dtype=torch.int64, device=device)
    window = _restore_window(saved_window, d, device, config.probe_window)
    params = [p for p in model.parameters() if p.requires_grad]
    env_id, env_kwargs = env_spec(config.data)
    meta = pretrained_meta(model.config, source.mean, source.std, env_id, env_kwargs,
                           policy=policy_kwargs(config.data),
                           periphery=config.data.periphery)

    def checkpoint(final: bool) -> None:
        """Rank 0 writes ckpt_last.pt (+ a kept copy); every rank waits for it."""
        e, b = (epoch + 1, 0) if batch_idx >= steps_per_epoch else (epoch, batch_idx)
        # every rank's probe window and RNG states (dropout differs across ranks): a resumed run,
        # its log included, continues exactly as an uninterrupted one
        probe_window = _gather_window(window, d)
        rngs: list[Any] = [capture_rng()]
        if d.world_size > 1:
            rngs = [None] * d.world_size
            dist.all_gather_object(rngs, capture_rng())
        barrier(d)
        if d.main:
            state = {"model": model.state_dict(), "probes": probes.state_dict(),
                     "optimizer": optimizer.state_dict(), "probe_optimizer": probe_opt.state_dict(),
                     "scaler": scaler.state_dict(), "step": step, "epoch": e, "batch": b, "lr_step": step,
                     "curve": curve, "probe_window": probe_window, "rng": rngs[0], "rng_per_rank": rngs,
                     "config": config_to_dict(config), META_KEY: meta}
            save_checkpoint(run_dir / LAST_NAME, state)
            if config.keep_every and (step % config.keep_every == 0 or final):
                save_checkpoint(run_dir / periodic_name(step), state)
            if writer is not None:
                writer.flush()  # the log up to a checkpoint is on disk with it
        barrier(d)

    def check_finite() -> None:
        if d.world_size > 1:
            dist.all_reduce(first_bad, op=dist.ReduceOp.MIN)
        if (bad := int(first_bad)) != _NO_BAD_STEP:
            raise FloatingPointError(f"non-finite loss at step {bad}; stopped without writing a checkpoint "
                                     f"(the last good one, if any: {run_dir / LAST_NAME})")

    regularise = config.optim.var_weight > 0 or config.optim.cov_weight > 0
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
            # loss (+ the optional variance/covariance terms on the context latents, against collapse)
            loss = prediction_loss(out.prediction.float(), target.float())
            pred_loss = loss
            if regularise:
                var_term, cov_term = variance_covariance_loss(out.z_views.reshape(-1, out.z_views.shape[-1]))
                loss = loss + config.optim.var_weight * var_term + config.optim.cov_weight * cov_term
            first_bad = torch.where((first_bad == _NO_BAD_STEP) & ~torch.isfinite(loss),
                                    torch.full_like(first_bad, step), first_bad)
            # backward
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            # on the schedule's grid only (not at stop_after): a stopped + resumed run logs the same points
            log_now = (step + 1) % config.log_every == 0 or step + 1 == total_steps
            if config.optim.grad_clip is not None or log_now:
                scaler.unscale_(optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip or math.inf)
            scaler.step(optimizer)
            scaler.update()
            # EMA update (identical on every rank: same parameters, same momentum)
            momentum = ema_momentum(step, total_steps, config.optim.ema_base, config.optim.ema_final)
            model.update_target(momentum)
            # online probes on detached features, their own optimizer
            pairs = random_pairs(labels.shape[0], m_tr, config.seed + d.rank, step, device)
            with amp:
                probe_loss, stats = train_probes(out.z_agg.detach(), out.z_views.detach(), actions,
                                                 labels, pairs)
            probe_opt.zero_grad(set_to_none=True)
            probe_loss.backward()
            probe_opt.step()
            window = (window + [torch.cat([pred_loss.detach().float().view(1), stats])])[-config.probe_window:]
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
                    if regularise:  # the anti-collapse terms (unweighted) of the last step
                        writer.add_scalar("train/variance_term", float(var_term), step)
                        writer.add_scalar("train/covariance_term", float(cov_term), step)
                if bar is not None:
                    bar.set_postfix(loss=f"{figs['loss']:.4f}", acc=f"{figs['probe_acc']:.3f}")
            if step % config.checkpoint_every == 0 or step == end_step \
                    or (config.keep_every and step % config.keep_every == 0):
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
            summary["eval"] = end_of_training(model, config, device, eval_factory, run_dir, writer)
        barrier(d)
    if writer is not None:
        writer.close()
        write_summary(run_dir, summary)
    return summary


def _gather_window(window: list[torch.Tensor], d: Dist) -> torch.Tensor | None:
    """The running probe window of every rank, float ``[world_size, n, K]`` on the CPU (None if empty)."""
    if not window:
        return None
    w = torch.stack(window)
    if d.world_size > 1:
        parts = [torch.empty_like(w) for _ in range(d.world_size)]
        dist.all_gather(parts, w)
        w = torch.stack(parts)
    else:
        w = w[None]
    return w.cpu()


def _restore_window(saved: torch.Tensor | None, d: Dist, device: torch.device, size: int) -> list[torch.Tensor]:
    """This rank's rows of a checkpointed probe window (see :func:`_gather_window`).

    With another world size the per-step sums over the old ranks go to rank 0 and zeros to the
    others (the loss column rescaled), so the all-reduced window figures stay the same.
    """
    if saved is None or saved.numel() == 0:
        return []
    if saved.shape[0] == d.world_size:
        rows = saved[d.rank]
    elif d.main:
        rows = saved.sum(0)
        rows[:, 0] *= d.world_size / saved.shape[0]
    else:
        rows = torch.zeros_like(saved[0])
    return [r.to(device) for r in rows][-size:]


def cli(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``saccade-pretrain`` (see the module docstring).

    Returns None (the console-script wrapper passes the return value to ``sys.exit``); the
    summary is printed and saved as ``summary.json`` in the run folder.
    """
    parser = argparse.ArgumentParser(prog="saccade-pretrain", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="YAML config file, or a packaged preset by name (e.g. scenes_cpu; see "
                                         "--list-presets; default: scenes_cpu; with --resume and --run-dir: the "
                                         "run's own config.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field, e.g. --set optim.lr=1e-3 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    parser.add_argument("--run-dir", help="run folder (default: <out_dir>/<run_name>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh in a run folder that already holds a run (its checkpoints, "
                             "TensorBoard events and summary are deleted first)")
    parser.add_argument("--list-presets", action="store_true", help="list the packaged presets and exit")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config (after --set) as YAML and exit")
    args = parser.parse_args(argv)
    if args.list_presets:
        for name, line in list_presets():
            print(f"{name:<22} {line}")
        return
    if args.resume and args.overwrite:
        parser.error("--resume continues the run in its folder, --overwrite deletes it: pass one, not both")
    own = Path(args.run_dir or ".") / "config.yaml"
    try:
        if args.config is None and args.resume and args.run_dir and own.is_file():
            # the run's own settings, but this invocation's run control (stop_after, progress)
            config = apply_overrides(reset_invocation_keys(load_config(own)), args.overrides)
        else:
            config = load_config(args.config or "scenes_cpu", args.overrides)
    except (ValueError, FileNotFoundError) as exc:  # broken YAML, bad --set, bad value: one line, exit 2
        exit_error(parser.prog, exc)
    if args.print_config:
        print(yaml.safe_dump(config_to_dict(config), sort_keys=False), end="")
        return
    if args.resume and args.run_dir is None and config.run_name is None:
        parser.error("--resume needs --run-dir or a config with run_name")
    try:
        summary = main(config, run_dir=args.run_dir, resume=args.resume, overwrite=args.overwrite)
    except USER_ERRORS as exc:  # a bad run folder, checkpoint or value: one line, exit 2
        exit_error(parser.prog, exc)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if summary.get("rank", 0) == 0:
        print(format_summary(summary))


def format_summary(summary: dict[str, Any]) -> str:
    """A few readable lines of a run summary (the full one is ``summary.json``)."""
    def f(key: str, source: dict[str, Any] = summary, digits: int = 3) -> str:
        value = source.get(key)
        return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"

    probe = (f"online probe top-1 {f('probe_acc')} (chance {f('chance_acc')}), "
             if summary.get("probe_acc") is not None and math.isfinite(summary["probe_acc"]) else "")
    lines = [f"run folder: {summary.get('run_dir')}",
             f"steps {summary.get('steps')}: loss {f('first_loss')} -> {f('final_loss')}; {probe}"
             f"relative-action R^2 {f('probe_r2')}; {f('sequences_per_s', digits=0)} sequences/s"]
    ev = summary.get("eval") or {}
    if ev.get("headline"):
        lines += ["", "frozen-feature evaluation (converged probes on the test split; floors beside the model):",
                  ev["headline"], f"full report: {ev.get('report')}"]
    return "\n".join(lines)


if __name__ == "__main__":
    cli()
