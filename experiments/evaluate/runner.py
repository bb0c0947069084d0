"""Evaluate trained models beside their floors: one model in memory, or run folders / checkpoints.

:func:`evaluate_model` is the one evaluation: ``saccade-pretrain`` calls it at the end of
training and ``saccade-eval`` calls it for every run it is given. Features are extracted once
per model and split (:mod:`experiments.evaluate.features`); the same probes then score the
trained model, a randomly initialised copy of it and the model-free floors
(:mod:`experiments.evaluate.metrics`).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import torch

from experiments.pretrain.checkpoint import LAST_NAME, latest_checkpoint, load_checkpoint
from experiments.pretrain.config import TrainConfig, config_from_dict, config_to_dict, load_config
from experiments.pretrain.data import describe_policy
from seqjepa.preprocess import normalize_glimpses
from experiments.evaluate.cache_entry import EntryKind, entry, read_entry
from experiments.evaluate.features import extract_split, random_init_copy
from experiments.evaluate.floor_cache import FloorJob, FloorPlan, default_sources, start_floor_job
from experiments.evaluate.metrics import Measurement, model_measurements
from experiments.evaluate.metric_registry import (ALL_FAMILIES, METRICS, HeadlineRow, headline_metrics,
                                                  is_rotation)
from experiments.evaluate.report import summarise, write_report
from experiments.pretrain.probing import SourceFactory
from seqjepa import SeqJEPA
from seqjepa.pretrained import META_KEY, pretrained_from_state
from seqjepa.serialization import LEGACY_MAGIC, file_digest

__all__ = ["evaluate_model", "load_run", "evaluate_runs", "check_eval_settings", "end_of_training", "Evaluation",
           "EVALUATION", "headline", "SourceFactory", "EVAL_DATA_KEYS", "EVAL_CACHE_VERSION"]

EVAL_CACHE_VERSION = 3  # bump when the measurements of a checkpoint change (new metrics, other probes)
# data fields an evaluation may change; "action_noise" goes into data.env_kwargs (the noise on the
# reported moves of the path-integration world)
EVAL_DATA_KEYS = ("policy", "fixation_mode", "uniform_weight", "action_noise")
ENV_KWARG_OVERRIDES = ("action_noise",)


def _m_pred(config: TrainConfig) -> int:
    """Observed views of the action-use diagnostic: M_tr, capped by the largest evaluated M."""
    return min(config.data.seq_len - 1, max(config.eval.m_val))


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[eval] {message}", flush=True)


def evaluate_model(model: SeqJEPA, config: TrainConfig, device: torch.device,
                   source_factory: SourceFactory | None = None, floors: bool = True,
                   progress: bool = False) -> list[Measurement]:
    """Measurements of ``model`` (subject "trained"), a random-init copy and the floors.

    Uses ``config.eval``: ``m_val`` (numbers of observed views; the largest sets the sequence
    length ``max(m_val) + 1``), ``train_split`` / ``test_split`` (probes fitted on the first,
    scored on the second), ``batch_size`` and ``max_batches`` (of the default sources); ``config.data.seq_len - 1`` is M_tr, the number of
    observed views of the action-use diagnostic. ``config.seed`` seeds the random-init copy,
    the probes' validation splits and the shuffled actions.
    """
    e = config.eval
    ms = sorted(set(int(m) for m in e.m_val))
    m_max, m_pred, seed = ms[-1], _m_pred(config), config.seed
    if source_factory is None:
        train_src, test_src = default_sources(config)
    else:
        train_src, test_src = (source_factory(split, 0, 1, m_max + 1) for split in (e.train_split, e.test_split))
    plan = FloorPlan(config, train_src, test_src, cacheable=source_factory is None) if floors else None
    mean = torch.tensor(train_src.mean, dtype=torch.float32, device=device)
    std = torch.tensor(train_src.std, dtype=torch.float32, device=device)

    def preprocess(g: torch.Tensor) -> torch.Tensor:
        return normalize_glimpses(g, mean, std)

    def features(net: SeqJEPA, data_floors: bool = False) -> tuple[Any, Any]:
        return tuple(extract_split(net, src.batches(0), m_max, m_pred, preprocess, device, e.max_batches, seed,
                                   data_floors, ms) for src in (train_src, test_src))

    t0 = time.perf_counter()
    train, test = features(model, plan is not None and plan.needs_features)
    _log(progress, f"features of the trained model: {len(train.labels)} train / {len(test.labels)} test "
                   f"sequences of {m_max + 1} views ({time.perf_counter() - t0:.0f} s)")
    out = model_measurements("trained", train, test, ms, seed, m_tr=m_pred)
    if floors:
        fresh = random_init_copy(model, seed + 7919, train_src.batches(1), preprocess, device)
        rand_train, rand_test = features(fresh)
        out += model_measurements("random_init", rand_train, rand_test, ms, seed, m_tr=m_pred)
        out += plan.rows(train, test, ms, seed)  # kept with the data, from a background job or computed
        _log(progress, f"model-free floors {plan.origin}")
    _log(progress, f"probes done ({time.perf_counter() - t0:.0f} s)")
    return out


def run_checkpoint(path: str | Path) -> Path:
    """The checkpoint a path names: a run folder's latest checkpoint, or the file itself.

    Raises:
        FileNotFoundError: neither a run folder with a checkpoint nor a checkpoint file.
    """
    path = Path(path)
    if path.is_dir():
        ckpt = latest_checkpoint(path)
        if ckpt is None:
            raise FileNotFoundError(f"no checkpoint ({LAST_NAME} or ckpt_step*.pt) in run folder {path}")
        return ckpt
    if path.is_file():
        return path
    raise FileNotFoundError(f"no run folder or checkpoint file at {path}")


def check_runs(paths: Sequence[str | Path]) -> None:
    """Check, before any evaluation, that every path names a checkpoint whose digest verifies.

    Raises:
        FileNotFoundError: a path without a checkpoint.
        CheckpointError: a truncated or corrupt checkpoint (naming the file).
    """
    for path in paths:
        ckpt = run_checkpoint(path)
        with open(ckpt, "rb") as fh:
            legacy = fh.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC
        if not legacy:  # the earlier format is verified whole when it is loaded
            file_digest(ckpt)


def load_run(path: str | Path, device: torch.device | str = "cpu") -> tuple[SeqJEPA, TrainConfig, dict[str, Any]]:
    """The model, config and checkpoint state of a run folder (its latest checkpoint) or a checkpoint file."""
    ckpt = run_checkpoint(path)
    state = load_checkpoint(ckpt, map_location=device)
    own = ckpt.parent / "config.yaml"
    config = config_from_dict(state["config"]) if "config" in state else load_config(own)
    if META_KEY in state:  # the architecture the checkpoint stores
        model, _ = pretrained_from_state(state, ckpt, device)
        return model, config, state
    # a checkpoint from before the metadata: channels and action size from the weights' shapes
    weights = state["model"]
    first_conv = next(v for k, v in weights.items() if k.startswith("encoder.") and v.dim() == 4)
    action_w = next(v for k, v in weights.items() if k.startswith("action_embed.") and v.dim() == 2)
    model = SeqJEPA(config.seqjepa_config(int(first_conv.shape[1]), int(action_w.shape[1]))).to(device)
    model.load_state_dict(weights)
    model.eval()
    return model, config, state


def _cache_file(path: Path, state: dict[str, Any], config: TrainConfig, floors: bool) -> tuple[Path, dict]:
    """Where the measurements of this checkpoint under this evaluation are kept, and their key."""
    run_dir = path if path.is_dir() else path.parent
    values = config_to_dict(config)
    key = {"version": EVAL_CACHE_VERSION, "checkpoint_sha256": state.get("sha256"), "step": state.get("step"),
           "eval": values["eval"], "data": values["data"], "seed": config.seed,
           "floors": bool(floors)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return run_dir / "eval_cache" / f"{digest}.json", json.loads(json.dumps(key, default=str))


_EVAL_ENTRY = EntryKind("an evaluation cache entry", "the evaluation cache", lambda row: isinstance(row, dict),
                        "objects", "another checkpoint or evaluation", "evaluating afresh")


def _read_cache(file: Path, key: dict) -> list[Measurement] | None:
    """The cached measurements if ``file`` holds them for ``key`` and they verify; else None (with a
    warning naming ``file`` when something is there but unusable: a link, FIFO or folder is never
    opened or followed, and JSON that is not an object, or whose measurements are not a list of
    objects, is recomputed)."""
    return read_entry(file, key, _EVAL_ENTRY, stacklevel=3)


def _configured(config: TrainConfig, overrides: dict[str, Any] | None,
                data_overrides: dict[str, Any] | None) -> TrainConfig:
    """``config`` with ``overrides`` in its eval section and ``data_overrides`` in its data section
    (validated by :func:`~experiments.pretrain.config.config_from_dict`)."""
    if not overrides and not data_overrides:
        return config
    values = config_to_dict(config)
    values["eval"].update(overrides or {})
    data = dict(data_overrides or {})
    env_kwargs = {k: data.pop(k) for k in ENV_KWARG_OVERRIDES if k in data}
    values["data"].update(data)
    values["data"]["env_kwargs"] = {**values["data"].get("env_kwargs", {}), **env_kwargs}
    return config_from_dict(values)


def check_eval_settings(paths: Sequence[str | Path], overrides: dict[str, Any] | None = None,
                        data_overrides: dict[str, Any] | None = None) -> None:
    """Raise ValueError, before anything is evaluated, if ``data_overrides`` sets a field outside
    :data:`EVAL_DATA_KEYS` or if any run's config does not accept the settings (e.g. a policy its
    world lacks)."""
    unknown = sorted(set(data_overrides or {}) - set(EVAL_DATA_KEYS))
    if unknown:
        raise ValueError(f"data_overrides may set {EVAL_DATA_KEYS} only, got {unknown}")
    if overrides or data_overrides:
        for path in paths:
            _configured(load_run(path, "cpu")[1], overrides, data_overrides)


def evaluate_runs(paths: list[str | Path], device: torch.device | str = "cpu", floors: bool = True,
                  progress: bool = True, overrides: dict[str, Any] | None = None,
                  cache: bool = True, data_overrides: dict[str, Any] | None = None) -> tuple[list[Measurement], dict]:
    """Evaluate several runs (usually one setting at several seeds): measurements and metadata.

    ``overrides`` replaces fields of each run's ``eval`` section (e.g. ``{"m_val": [1, 2, 4]}``);
    ``data_overrides`` fields of how its evaluation sequences are made, among
    :data:`EVAL_DATA_KEYS` (e.g. ``{"policy": "saliency"}``: the env's saliency-IoR scanpaths
    instead of the training policy's); every run is checked with them before any is evaluated.
    ``cache``: keep each run's measurements in ``<run>/eval_cache/<key>.json`` (written atomically
    with a digest, keyed by the checkpoint's SHA-256, the data and eval settings and ``floors``)
    and reuse them when the same checkpoint is evaluated the same way again (a study that
    evaluated its seeds as they finished, or a re-made report).
    """
    from envs.storage.files import atomic_write_json

    device = torch.device(device)
    check_eval_settings(paths, data_overrides=data_overrides)
    measurements: list[Measurement] = []
    meta: dict[str, Any] = {"runs": [], "seeds": [], "steps": [], "total_steps": []}
    for path in paths:
        model, config, state = load_run(path, device)
        config = _configured(config, overrides, data_overrides)
        planned = config.total_steps
        if Path(path).is_dir() and planned is not None and state.get("step") != planned:
            _log(progress, f"warning: {path} is at step {state.get('step')} of its {planned}-step schedule "
                           f"(an interrupted run: resume it with saccade-pretrain --run-dir ... --resume)")
        file, key = _cache_file(Path(path), state, config, floors)
        found = _read_cache(file, key) if cache else None
        if found is not None:
            _log(progress, f"{path}: measurements of this checkpoint reused from {file}")
            measurements += found
        else:
            _log(progress, f"evaluating {path} (seed {config.seed}, step {state.get('step')})")
            rows = evaluate_model(model, config, device, floors=floors, progress=progress)
            if cache:
                rows = json.loads(json.dumps(rows))  # plain JSON values, as they will be read back
                try:
                    atomic_write_json(file, entry(key, rows))
                except OSError as exc:  # a read-only run folder: evaluate without keeping them
                    warnings.warn(f"could not keep the evaluation in {file}: {exc}", stacklevel=2)
            measurements += rows
        meta["runs"].append(str(path))
        meta["seeds"].append(config.seed)
        meta["steps"].append(state.get("step"))
        meta["total_steps"].append(planned)
        meta.setdefault("preset", config.preset)
        _record_setting(meta, "policy", describe_policy(config.data))
        if "action_noise" in config.data.env_kwargs:  # the reported moves' noise of the sequences
            _record_setting(meta, "action_noise", config.data.env_kwargs["action_noise"])
    return measurements, meta


def _record_setting(meta: dict[str, Any], key: str, value: Any) -> None:
    """``meta[key] = value`` for the first run; where a later run's value differs, says so and lists both."""
    if meta.setdefault(key, value) != value:
        meta[key] = "differs between runs: " + "; ".join(sorted({str(meta[key]), str(value)}))


_HEADLINE_SUBJECTS = ("trained", "random_init", "raw_pixels", "colour_hist", "dead_reckoning", "chance")


def _headline_ms(row: HeadlineRow, metric: str, summary: list[dict[str, Any]], ms: list[int],
                 m4: int | None) -> list[int | None]:
    """The Ms of a metric's headline rows (:class:`~experiments.evaluate.metric_registry.HeadlineRow`)."""
    if row.at == "each":
        return sorted({r["m"] for r in summary if r["metric"] == metric and r["m"] is not None})
    if row.at == "key":
        return [m for m in ms if m in (1, m4, ms[-1])]
    return [m4 if row.at == "headline" else row.at]


def headline(summary: list[dict[str, Any]], m_tr: int, policy: str | None = None) -> str:
    """A short plain-text table of the key figures, each beside its floors (``summary`` rows of
    :func:`experiments.evaluate.report.summarise`; its rows: the registry's headline metrics,
    :func:`~experiments.evaluate.metric_registry.headline_metrics`). Rows and columns the data lacks
    are left out (no top-1 rows without labels); the 3D-rotation family reads "relative rotation"
    and adds the absolute rotation. ``policy`` names the agent that made the sequences (a last line)."""
    cell = {(r["metric"], r["subject"], r["m"]): r for r in summary}
    rotation = is_rotation(summary)
    families = {"rotation"} if rotation else set(ALL_FAMILIES) - {"rotation"}
    each = [m.name for m in headline_metrics() if m.headline.at in ("each", "key")]
    ms = sorted({r["m"] for r in summary if r["metric"] in each and r["m"] is not None})

    def fmt(metric: str, subject: str, m: int | None) -> str:
        r = cell.get((metric, subject, m))
        if r is None:
            return "-"
        return f"{r['mean']:.3f}" + (f"±{r['std']:.3f}" if r["n"] > 1 else "")

    def views(m: int) -> str:
        return f"{m} view{'s' if m > 1 else ''}"

    m4 = 4 if 4 in ms else (ms[-1] if ms else None)
    rows = []
    for metric in headline_metrics():
        spec = metric.headline
        if not families & set(metric.families) or (spec.if_measured and not any(r["metric"] == metric.name
                                                                                 for r in summary)):
            continue
        label = spec.rotation_label if rotation and spec.rotation_label else spec.label
        rows += [(label.format(m=m, views=views(m) if m else m), metric.name, m)
                 for m in _headline_ms(spec, metric.name, summary, ms, m4)]
    subjects = [s for s in _HEADLINE_SUBJECTS if any((metric, s, m) in cell for _, metric, m in rows)]
    head = ["figure"] + [s.replace("_", " ") for s in subjects]
    table = [head] + [[label] + [fmt(metric, s, m) for s in subjects] for label, metric, m in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    pathint = METRICS["pathint_r2"].headline
    name = (pathint.rotation_label if rotation else pathint.label).split(", {")[0]
    abl = [(f"{name}, {m} views: no action {fmt('pathint_r2_no_action', 'trained', m)}, "
            f"no vision {fmt('pathint_r2_no_vision', 'trained', m)}") for m in ms if m in (m4, ms[-1]) and m > 1]
    losses = [k for k in METRICS if k.startswith("pred_loss_") and (k, "trained", None) in cell]
    loss = ", ".join(f"{k[len('pred_loss_'):].replace('_', ' ')} {fmt(k, 'trained', None)}" for k in losses)
    out = lines + abl + [f"held-out prediction loss at M={m_tr} (1 - cos): {loss}"]
    if ("target_r2_z_agg", "trained", None) in cell:
        out.append(f"share of the target explained (ridge R^2): by z_AGG alone {fmt('target_r2_z_agg', 'trained', None)}"
                   f", by the next {'orientation' if rotation else 'position'} alone "
                   f"{fmt('target_r2_next_state', 'trained', None)}")
    if policy:
        out.append(f"sequences made by: {policy}")
    return "\n".join(out)


def end_of_training(model: SeqJEPA, config: TrainConfig, device: torch.device, source_factory: SourceFactory,
                    run_dir: Path, writer: Any = None) -> dict[str, Any]:
    """The evaluation at the end of ``saccade-pretrain``: :func:`evaluate_model`, the report in
    ``<run_dir>/eval/``, TensorBoard scalars (``eval/<metric>/<subject>[/M<m>]``), the hparams
    with the key figures and the config as text. Returns the summary rows and the headline."""
    t0 = time.perf_counter()
    measurements = evaluate_model(model, config, device, source_factory, floors=config.eval.floors, progress=True)
    summary = summarise(measurements)
    meta = {"title": f"End-of-training evaluation: {run_dir.name}", "runs": [str(run_dir)], "seeds": [config.seed],
            "preset": config.preset, "policy": describe_policy(config.data)}
    write_report(run_dir / "eval", measurements, meta, overwrite=True)
    text = headline(summary, _m_pred(config), meta["policy"])
    if writer is not None:
        for r in summary:
            tag = f"eval/{r['metric']}/{r['subject']}" + (f"/M{r['m']}" if r["m"] is not None else "")
            writer.add_scalar(tag, r["mean"], 0)
        flat = _flatten(config_to_dict(config))
        key = {f"hparam/{r['metric']}" + (f"_M{r['m']}" if r["m"] is not None else ""): r["mean"]
               for r in summary if r["subject"] == "trained"}
        writer.add_hparams(flat, key, run_name=".")
        writer.add_text("config", "```\n" + "\n".join(f"{k}: {v}" for k, v in flat.items()) + "\n```", 0)
        writer.add_text("eval/headline", "```\n" + text + "\n```", 0)
    return {"summary": summary, "headline": text, "report": str(run_dir / "eval" / "report.md"),
            "wall_time_s": time.perf_counter() - t0}


class Evaluation:
    """The project's end-of-training evaluation as ``experiments.pretrain.train.main``'s hook
    (``train.EndOfTraining``): :meth:`start` computes the model-free floors on a spare core while
    training runs (:func:`start_floor_job`), calling the object runs :func:`end_of_training`."""

    def start(self, config: TrainConfig, world_size: int = 1, custom_sources: bool = False) -> FloorJob | None:
        return start_floor_job(config, world_size, custom_sources)

    def __call__(self, model: SeqJEPA, config: TrainConfig, device: torch.device, source_factory: SourceFactory,
                 run_dir: Path, writer: Any = None) -> dict[str, Any]:
        return end_of_training(model, config, device, source_factory, run_dir, writer)


EVALUATION = Evaluation()  # what saccade-pretrain hands to train.main


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> flat ``{"data.lr": value}`` with TensorBoard-friendly leaf types."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v if isinstance(v, (int, float, str, bool)) else str(v)
    return out
