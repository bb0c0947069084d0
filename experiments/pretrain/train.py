"""seq-JEPA pretraining on saccade glimpse sequences (``main(config)`` importable; the command line is
``experiments.pretrain.cli``).

    python -m experiments.pretrain --config experiments/pretrain/configs/scenes_cpu.yaml [--set optim.lr=1e-3]
    python -m experiments.pretrain --run-dir runs/NAME --resume
    torchrun --nproc_per_node 8 -m experiments.pretrain --config experiments/pretrain/configs/stl10_pls_gpu.yaml

The loop in parts: :func:`setup_process`, :func:`make_schedule`, :func:`build_state` (model, probes,
optimizers), :func:`restore` / :func:`save` (checkpoints), :func:`train_step` (one step),
:func:`log_figures` and :func:`run_summary`; :func:`main` strings them together.

One step: forward target (EMA encoder on view M, no grad) / forward context (``model.forward`` on
views 0..M-1) / loss / backward / optimizer step / EMA update, then the online probes on detached
features (linear classifier on z_AGG, relative-action regressor on pairs of encoder outputs).
Multi-GPU: torchrun + DistributedDataParallel; every rank reads its own shard and applies the same
EMA update; rank 0 alone logs and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
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
    config_to_dict,
    dump_config,
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
from experiments.pretrain.runfolder import TB_NAME, claim_run_dir, kept_summary, write_summary
from seqjepa import SeqJEPA
from seqjepa.ema import ema_momentum
from seqjepa.losses import prediction_loss, variance_covariance_loss
from seqjepa.optim import param_groups_for_weight_decay, set_lr
from seqjepa.pretrained import META_KEY, pretrained_meta
from seqjepa.schedules import warmup_cosine_lr

__all__ = ["main", "check_run_dir", "RunDirError", "TrainState", "Schedule", "setup_process", "make_schedule",
           "build_state", "restore", "save", "train_step", "log_figures", "open_logs", "run_summary"]

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


@dataclass
class Schedule:
    """Step counts of a run: ``total`` (the lr/EMA schedule's length), ``warmup``, ``end`` (where this
    session stops: ``stop_after`` or ``total``), ``per_epoch`` (full batches of the rank's shard)
    and ``m_tr`` (observed views per training sequence)."""

    total: int
    warmup: int
    end: int
    per_epoch: int
    m_tr: int


@dataclass
class TrainState:
    """Everything a training step changes, and what a checkpoint saves.

    ``model`` / ``probes`` are the bare modules (saved, EMA-updated); ``train_model`` /
    ``train_probes`` their DDP wrappers when distributed; ``forward_context`` / ``forward_target``
    the (optionally compiled) forward passes. ``step``, ``epoch`` and ``batch`` are the data
    position; ``curve`` the logged ``[step, loss, probe_acc, probe_r2]`` rows; ``window`` the running
    per-step probe statistics; ``first_bad`` the first step with a non-finite loss (on the device).
    """

    model: SeqJEPA
    probes: OnlineProbes
    optimizer: torch.optim.Optimizer
    probe_opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    train_model: nn.Module
    train_probes: nn.Module
    forward_context: Any
    forward_target: Any
    amp_dtype: torch.dtype | None
    first_bad: torch.Tensor
    step: int = 0
    epoch: int = 0
    batch: int = 0
    curve: list[list[float]] = field(default_factory=list)
    window: list[torch.Tensor] = field(default_factory=list)


@dataclass
class StepFigures:
    """What one training step reports for logging (tensors stay on the device until logged)."""

    pred_loss: torch.Tensor
    batch_size: int
    lr: float
    momentum: float
    grad_norm: torch.Tensor | None
    var_term: torch.Tensor | None
    cov_term: torch.Tensor | None


def setup_process(config: TrainConfig) -> tuple[Dist, torch.device]:
    """Validate ``config``, join the process group (torchrun) and set threads, determinism and seeds."""
    config.validate()
    d, device = init_distributed(config.device)
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
    return d, device


def make_schedule(config: TrainConfig, source: SequenceSource) -> Schedule:
    """The run's step counts from ``config`` and the size of ``source``'s epoch."""
    per_epoch = len(source)
    if per_epoch < 1:
        raise ValueError(f"data.batch_size={config.data.batch_size} leaves no full batch in the "
                         f"{config.data.split!r} split")
    total = config.total_steps or config.epochs * per_epoch
    return Schedule(total=total, warmup=min(round(config.optim.warmup_epochs * per_epoch), total),
                    end=min(total, config.stop_after or total), per_epoch=per_epoch, m_tr=config.data.seq_len - 1)


def build_state(config: TrainConfig, source: SequenceSource, d: Dist, device: torch.device) -> TrainState:
    """A fresh model (input statistics of ``source``), online probes, optimizers and AMP scaler."""
    model = SeqJEPA(config.seqjepa_config(source.channels, source.action_dim)).to(device)
    model.set_input_stats(source.mean, source.std)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if config.sync_bn and d.world_size > 1:
        if device.type != "cuda":
            raise ValueError("sync_bn=True needs CUDA devices (SyncBatchNorm has no CPU kernel)")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    probes = OnlineProbes(model.config.agg_dim, model.config.embed_dim, source.n_classes, source.action_dim).to(device)
    o = config.optim
    optimizer = torch.optim.AdamW(param_groups_for_weight_decay(model.online_named_parameters(), o.weight_decay),
                                  lr=o.warmup_start_lr, betas=o.betas, fused=o.fused and device.type == "cuda")
    use_amp = config.precision != "fp32" and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and config.precision == "fp16")
    train_model, train_probes = model, probes
    if d.world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        # the no-action ablation never uses the action embedding: DDP must not wait for its gradients
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=ids, find_unused_parameters=not model.uses_action_embedding(config.data.seq_len - 1))
        train_probes = nn.parallel.DistributedDataParallel(probes, device_ids=ids)
    return TrainState(
        model=model, probes=probes, optimizer=optimizer, probe_opt=torch.optim.Adam(probes.parameters(), lr=o.probe_lr),
        scaler=scaler, train_model=train_model, train_probes=train_probes,
        forward_context=torch.compile(train_model) if config.compile else train_model,
        forward_target=torch.compile(model.encode_target) if config.compile else model.encode_target,
        amp_dtype=(torch.bfloat16 if config.precision == "bf16" else torch.float16) if use_amp else None,
        first_bad=torch.full((), _NO_BAD_STEP, dtype=torch.int64, device=device))


def restore(state: TrainState, saved: dict[str, Any], path: Path, d: Dist, device: torch.device,
            window_size: int) -> None:
    """Load a checkpoint ``saved`` (read from ``path``) into ``state``: weights, optimizers, the exact
    data position, the probe window and this rank's RNG states; CheckpointError if it does not fit."""
    try:
        state.model.load_state_dict(saved["model"])
        state.probes.load_state_dict(saved["probes"])
        state.optimizer.load_state_dict(saved["optimizer"])
        state.probe_opt.load_state_dict(saved["probe_optimizer"])
        state.scaler.load_state_dict(saved["scaler"])
        state.step, state.epoch, state.batch = saved["step"], saved["epoch"], saved["batch"]
        state.curve = list(saved["curve"])
        rngs = saved.get("rng_per_rank")  # absent in checkpoints from before it was kept
        restore_rng(rngs[d.rank] if rngs and len(rngs) == d.world_size else saved["rng"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} does not match this model/optimizer: {exc}") from exc
    # absent in checkpoints from before it was kept
    state.window = _restore_window(saved.get("probe_window"), d, device, window_size)


def save(state: TrainState, run_dir: Path, config: TrainConfig, meta: dict[str, Any], per_epoch: int, d: Dist,
         writer: Any, final: bool) -> None:
    """Rank 0 writes ckpt_last.pt (+ a kept copy every ``keep_every`` steps); every rank waits for it.

    Every rank's probe window and RNG states go in (dropout differs across ranks), so a resumed
    run, its log included, continues exactly as an uninterrupted one."""
    e, b = (state.epoch + 1, 0) if state.batch >= per_epoch else (state.epoch, state.batch)
    probe_window = _gather_window(state.window, d)
    rngs: list[Any] = [capture_rng()]
    if d.world_size > 1:
        rngs = [None] * d.world_size
        dist.all_gather_object(rngs, capture_rng())
    barrier(d)
    if d.main:
        saved = {"model": state.model.state_dict(), "probes": state.probes.state_dict(),
                 "optimizer": state.optimizer.state_dict(), "probe_optimizer": state.probe_opt.state_dict(),
                 "scaler": state.scaler.state_dict(), "step": state.step, "epoch": e, "batch": b,
                 "curve": state.curve, "probe_window": probe_window, "rng": rngs[0], "rng_per_rank": rngs,
                 "config": config_to_dict(config), META_KEY: meta}
        save_checkpoint(run_dir / LAST_NAME, saved)
        if config.keep_every and (state.step % config.keep_every == 0 or final):
            save_checkpoint(run_dir / periodic_name(state.step), saved)
        if writer is not None:
            writer.flush()  # the log up to a checkpoint is on disk with it
    barrier(d)


def check_finite(state: TrainState, d: Dist, run_dir: Path) -> None:
    """FloatingPointError naming the first step whose loss was not finite (on any rank), if any."""
    if d.world_size > 1:
        dist.all_reduce(state.first_bad, op=dist.ReduceOp.MIN)
    if (bad := int(state.first_bad)) != _NO_BAD_STEP:
        raise FloatingPointError(f"non-finite loss at step {bad}; stopped without writing a checkpoint "
                                 f"(the last good one, if any: {run_dir / LAST_NAME})")


def train_step(state: TrainState, glimpses: torch.Tensor, actions: torch.Tensor, labels: torch.Tensor,
               config: TrainConfig, sched: Schedule, d: Dist, log_now: bool) -> StepFigures:
    """One step on a normalised batch (``glimpses [B, T, C, G, G]``, ``actions [B, T, A]``,
    ``labels [B]``): lr schedule, target and context forward, loss, backward, optimizer step, EMA
    update, then the online probes on detached features. Advances ``state.step``."""
    o, step, m_tr = config.optim, state.step, sched.m_tr
    lr = warmup_cosine_lr(step, sched.total, sched.warmup, o.lr, o.warmup_start_lr, o.final_lr)
    set_lr(state.optimizer, lr)
    amp = torch.autocast("cuda", dtype=state.amp_dtype) if state.amp_dtype else contextlib.nullcontext()
    with amp:
        target = state.forward_target(glimpses[:, m_tr:m_tr + 1])[:, 0]  # EMA encoder on view M, no grad
        out = state.forward_context(glimpses, actions, n_observed=m_tr)  # views 0..M-1 -> view M's latent
    loss = pred_loss = prediction_loss(out.prediction.float(), target.float())
    var_term = cov_term = None
    if o.var_weight > 0 or o.cov_weight > 0:  # against collapse, on the context latents
        var_term, cov_term = variance_covariance_loss(out.z_views.reshape(-1, out.z_views.shape[-1]))
        loss = loss + o.var_weight * var_term + o.cov_weight * cov_term
    state.first_bad = torch.where((state.first_bad == _NO_BAD_STEP) & ~torch.isfinite(loss),
                                  torch.full_like(state.first_bad, step), state.first_bad)
    state.optimizer.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    grad_norm = None
    if o.grad_clip is not None or log_now:
        state.scaler.unscale_(state.optimizer)
        params = [p for p in state.model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, o.grad_clip or math.inf)
    state.scaler.step(state.optimizer)
    state.scaler.update()
    momentum = ema_momentum(step, sched.total, o.ema_base, o.ema_final)  # the same on every rank
    state.model.update_target(momentum)
    pairs = random_pairs(labels.shape[0], m_tr, config.seed + d.rank, step, glimpses.device)
    with amp:
        probe_loss, stats = state.train_probes(out.z_agg.detach(), out.z_views.detach(), actions, labels, pairs)
    state.probe_opt.zero_grad(set_to_none=True)
    probe_loss.backward()
    state.probe_opt.step()
    state.window = (state.window + [torch.cat([pred_loss.detach().float().view(1), stats])])[-config.probe_window:]
    state.step, state.batch = step + 1, state.batch + 1
    detached = [t.detach() if t is not None else None for t in (var_term, cov_term)]
    return StepFigures(pred_loss.detach(), labels.shape[0], lr, momentum, grad_norm, *detached)


def log_figures(state: TrainState, figs: StepFigures, rate: float, d: Dist, writer: Any, bar: Any) -> None:
    """The window's figures into the curve, TensorBoard (rank 0) and the progress bar."""
    window = window_figures(state.window, d)
    state.curve.append([state.step, window["loss"], window["probe_acc"], window["probe_r2"]])
    if writer is not None:
        grad_norm = float(figs.grad_norm) if figs.grad_norm is not None else float("nan")
        for key, value in (("loss", window["loss"]), ("lr", figs.lr), ("ema_momentum", figs.momentum),
                           ("probe_acc", window["probe_acc"]), ("probe_r2", window["probe_r2"]),
                           ("sequences_per_s", rate), ("grad_norm", grad_norm)):
            writer.add_scalar(f"train/{key}", value, state.step)
        if figs.var_term is not None:  # the anti-collapse terms (unweighted) of the last step
            writer.add_scalar("train/variance_term", float(figs.var_term), state.step)
            writer.add_scalar("train/covariance_term", float(figs.cov_term), state.step)
    if bar is not None:
        bar.set_postfix(loss=f"{window['loss']:.4f}", acc=f"{window['probe_acc']:.3f}")


def open_logs(config: TrainConfig, run_dir: Path, resume: bool, step: int, end: int, d: Dist) -> tuple[Any, Any]:
    """Rank 0: the run's config.yaml, a TensorBoard writer and a tqdm bar (a TTY only); (None, None) elsewhere."""
    if not d.main:
        return None, None
    run_dir.mkdir(parents=True, exist_ok=True)
    dump_config(dataclasses.replace(config, run_name=run_dir.name), run_dir / "config.yaml")
    from torch.utils.tensorboard import SummaryWriter

    # on resume, events an interrupted session logged after the checkpoint (step > its step) are dropped
    writer = SummaryWriter(str(run_dir / TB_NAME), purge_step=step + 1 if resume else None)
    bar = None
    if config.progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=end, initial=step, desc="pretrain", dynamic_ncols=True)
    return writer, bar


class EndOfTraining(Protocol):
    """The evaluation :func:`main` runs after a run's last step (on the main process, when
    ``config.eval.enabled``); its result becomes ``summary["eval"]``. The command layer passes
    ``experiments.evaluate.runner.EVALUATION``: training never imports the evaluation above it.

    An evaluation may also have ``start(config, world_size, custom_sources) -> job | None``, called
    on the main process before the first step of a run that will reach its end: work it can do while
    training runs (the project's computes the model-free floors on a spare core); ``job.close()`` is
    called after the evaluation."""

    def __call__(self, model: SeqJEPA, config: TrainConfig, device: torch.device,
                 source_factory: SourceFactory | None, run_dir: Path, writer: Any) -> dict[str, Any]: ...


def main(config: TrainConfig, run_dir: str | Path | None = None, resume: bool = False,
         source_factory: SourceFactory | None = None, overwrite: bool = False,
         end_of_training: EndOfTraining | None = None) -> dict[str, Any]:
    """Pretrain seq-JEPA as ``config`` says; return the run summary (also written to summary.json).

    ``run_dir`` defaults to ``<out_dir>/<run_name>``; ``resume`` continues from its latest
    checkpoint (a run already at its end keeps its summary). A fresh run refuses a folder that
    holds run data (checkpoints, summary, TensorBoard events) with FileExistsError unless
    ``overwrite``, which removes that data first. ``source_factory(split, rank, world_size,
    seq_len)`` replaces :func:`make_source`. ``end_of_training`` (:class:`EndOfTraining`) evaluates
    the finished model; None: no evaluation (``experiments.pretrain.cli.pretrain`` passes the
    project's, as ``saccade-pretrain`` does).
    """
    if resume and overwrite:
        raise ValueError("resume=True continues the run in its folder and overwrite=True would delete it; "
                         "pass one of them, not both")
    d, device = setup_process(config)
    eval_factory = source_factory  # None: the evaluation builds its own sources (eval.batch_size)
    if source_factory is None:
        def source_factory(split: str, rank: int, world: int, seq_len: int) -> SequenceSource:
            return make_source(config.data, split, rank, world, seq_len=seq_len, seed=config.seed)
    run_dir = _run_dir(config, d, run_dir)
    if d.main:  # before any data preparation: a read-only or blocked run folder fails now, not after it
        check_run_dir(run_dir, resume)
    saved, path = None, None
    if not resume:  # before any data preparation: a fresh run never replaces a run's data silently
        claim_run_dir(run_dir, d, overwrite)
    else:  # before any data preparation: the checkpoint is there, intact and of this config
        path = latest_checkpoint(run_dir)
        if path is None:
            raise FileNotFoundError(f"resume: no checkpoint ({LAST_NAME} or ckpt_step*.pt) in {run_dir}")
        saved = load_checkpoint(path, map_location=device)
        check_compatible(saved.get("config", {}), config_to_dict(config), path, ignore=RUN_CONTROL_KEYS)
    source = source_factory(config.data.split, d.rank, d.world_size, config.data.seq_len)
    sched = make_schedule(config, source)
    state = build_state(config, source, d, device)
    if saved is not None and path is not None:
        restore(state, saved, path, d, device, config.probe_window)
        if state.step >= sched.end and (kept := kept_summary(run_dir, state.step, d)) is not None:
            return kept  # nothing left to train: a finished (or stopped) run keeps its summary
    else:
        torch.manual_seed(config.seed + d.rank)  # dropout differs across ranks
    meta = pretrained_meta(state.model.config, source.mean, source.std, *env_spec(config.data),
                           policy=policy_kwargs(config.data), periphery=config.data.periphery)
    # the evaluation's work that needs no model (the floors) on a spare core while training runs
    start = getattr(end_of_training, "start", None)
    floor_job = start(config, d.world_size, eval_factory is not None) \
        if start is not None and d.main and state.step < sched.end == sched.total else None
    writer, bar = open_logs(config, run_dir, resume, state.step, sched.end, d)
    check_every = 1 if device.type == "cpu" else config.log_every  # a host sync on GPU
    state.model.train(), state.probes.train()
    t_start = t_log = time.perf_counter()
    start_step = steps_at_log = state.step
    while state.step < sched.end:
        for batch in iterate_batches(source, state.epoch, state.batch, config.data.prefetch, device.type == "cuda"):
            glimpses, actions, labels = prepare_batch(batch, device, *_stats(state.model), config.channels_last)
            # on the schedule's grid only (not at stop_after): a stopped + resumed run logs the same points
            log_now = (state.step + 1) % config.log_every == 0 or state.step + 1 == sched.total
            figs = train_step(state, glimpses, actions, labels, config, sched, d, log_now)
            if bar is not None:
                bar.update(1)
            if state.step % check_every == 0 or state.step == sched.end:
                check_finite(state, d, run_dir)
            if log_now:
                now = time.perf_counter()
                rate = (state.step - steps_at_log) * figs.batch_size * d.world_size / max(now - t_log, 1e-9)
                t_log, steps_at_log = now, state.step
                log_figures(state, figs, rate, d, writer, bar)
            if state.step % config.checkpoint_every == 0 or state.step == sched.end \
                    or (config.keep_every and state.step % config.keep_every == 0):
                check_finite(state, d, run_dir)
                save(state, run_dir, config, meta, sched.per_epoch, d, writer, final=state.step == sched.end)
            if state.step >= sched.end:
                break
        else:
            state.epoch, state.batch = state.epoch + 1, 0
    if bar is not None:
        bar.close()
    summary = run_summary(state, config, sched, source, run_dir, device, d, time.perf_counter() - t_start, start_step)
    if end_of_training is not None and config.eval.enabled and state.step == sched.total:
        if d.main:
            summary["eval"] = end_of_training(state.model, config, device, eval_factory, run_dir, writer)
        barrier(d)
    if floor_job is not None:
        floor_job.close()  # read by the evaluation, or not needed
    if writer is not None:
        writer.close()
        write_summary(run_dir, summary)
    return summary


def _stats(model: SeqJEPA) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's input statistics (``set_input_stats``): the one normalisation of the run."""
    return model.input_mean, model.input_std


def run_summary(state: TrainState, config: TrainConfig, sched: Schedule, source: SequenceSource, run_dir: Path,
                device: torch.device, d: Dist, wall: float, start_step: int) -> dict[str, Any]:
    """The run's summary (summary.json): steps, losses, online-probe figures, speed and the curve."""
    figs = window_figures(state.window, d) if state.window else {}
    curve = state.curve
    return {
        "run_dir": str(run_dir), "preset": config.preset, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "world_size": d.world_size, "rank": d.rank, "steps": state.step, "total_steps": sched.total,
        "epochs_done": state.step / sched.per_epoch, "first_loss": curve[0][1] if curve else None,
        "final_loss": figs.get("loss"), "probe_acc": figs.get("probe_acc"), "probe_r2": figs.get("probe_r2"),
        "chance_acc": 1.0 / max(source.n_classes, 1), "wall_time_s": wall,
        "sequences_per_s": (state.step - start_step) * config.data.batch_size * d.world_size / max(wall, 1e-9),
        "loss_curve": curve}


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


if __name__ == "__main__":  # this module is the training loop, not a command: say which command runs it
    from experiments.outputs import exit_error

    exit_error("python -m experiments.pretrain.train", "this module is the training loop, not a command; run "
               "saccade-pretrain --config NAME (or python -m experiments.pretrain --config NAME)")
