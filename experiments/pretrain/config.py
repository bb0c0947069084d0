"""Typed, documented configuration of a seq-JEPA pretraining run.

A run is described by one :class:`TrainConfig` holding four sections (``data``, ``model``,
``optim``, ``eval``). Presets live in ``experiments/pretrain/configs/*.yaml``; any field can be
overridden from the command line with ``--set section.field=value`` (values parsed as YAML
and coerced to the field's declared type). :meth:`TrainConfig.validate` names the bad field
and its allowed values.
"""

from __future__ import annotations

import dataclasses
import re
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from agents import ROTATION_POLICIES as _ROTATION_POLICIES
from agents import SACCADE_POLICIES
from checks import check_choice, check_int, check_real
from envs import RECORDS as _RECORDS
from envs.families import ROTATION, SACCADE
from experiments.cliconfig import parse_value, split_key_value
from experiments.pretrain.envspec import RENAMED, data_splits, dataset_ids, env_spec
from experiments.pretrain.source import PERIPHERIES
from saliency import DEFAULT_METHOD
from seqjepa.config import SeqJEPAConfig

__all__ = ["DataConfig", "ModelConfig", "OptimConfig", "EvalConfig", "TrainConfig",
           "load_config", "dump_config", "config_from_dict", "config_to_dict",
           "apply_overrides", "preset_path", "resolve_config_path", "list_presets", "reset_invocation_keys",
           "PRESETS_DIR", "LABELED_SPLITS", "INVOCATION_KEYS", "RUN_CONTROL_KEYS"]

PRESETS_DIR = Path(__file__).resolve().parent / "configs"
# data.dataset: the pretraining data name of every registered id that has one (envs.RECORDS)
SPLITS = ("train", "test", "unlabeled", "train+unlabeled")
POLICIES = SACCADE_POLICIES + ("world_model",)  # the saccade pretraining policy (agents.saccade_policy, or a
                                                # checkpoint's own choice: agents.world_model, data.policy_checkpoint)
# the datasets whose sequences a saccade / rotation policy makes: those of the ids of that family
SACCADE_DATASETS = tuple(r.dataset for r in _RECORDS if r.dataset is not None and r.family is SACCADE)
ROTATION_DATASETS = tuple(r.dataset for r in _RECORDS if r.dataset is not None and r.family is ROTATION)
# Rotation pretraining policies (agents.ROTATION_POLICIES): "walk" (bounded rotation walks, the
# default) or "uniform" (uniformly random relative rotations; with max_angle = pi every view is an
# independent uniform orientation). "uniform" is shared with the saccade policies.
ROTATION_POLICIES = _ROTATION_POLICIES
ROTATION_ONLY_POLICIES = tuple(p for p in ROTATION_POLICIES if p not in SACCADE_POLICIES)
TARGETS = ("all", "fovea")                      # what the EMA target encoder sees of the target view
PRECISIONS = ("fp32", "bf16", "fp16")
LABELED_SPLITS = ("train", "test")   # splits with a label for every image (frozen-encoder evaluation)
# Per-invocation run control: on --resume these come from the command line, never from the run's
# saved config.yaml (a run stopped with stop_after=N would otherwise stop again at once).
INVOCATION_KEYS = ("stop_after", "progress")
# How a run is executed and logged, not what it learns: a resumed run may change these freely
# (dotted keys for fields inside a section).
RUN_CONTROL_KEYS = INVOCATION_KEYS + ("device", "threads", "log_every", "checkpoint_every", "keep_every",
                                      "out_dir", "run_name", "data.prefetch")


@dataclass
class DataConfig:
    """Training sequences of one world (see ``experiments.pretrain.source.SequenceSource``).

    ``dataset`` picks the world: ``scenes`` / ``stl10`` (saccades), ``worlds`` (path
    integration over generated world images), ``objects`` (3D rotation of generated objects);
    ``experiments.pretrain.envspec.env_spec`` maps this config to the registered env and its
    keywords (fields the env does not take are not forwarded; ``env_kwargs`` adds any other).

    ``seq_len`` = M_tr + 1: views 0..M_tr-1 are observed, view M_tr is the prediction target.
    ``batch_size`` is per process (the global batch is ``batch_size * world_size``).
    """

    dataset: str = "scenes"              # a record's dataset name (envspec.dataset_ids())
    split: str = "train"                 # SSL split, one of SPLITS
    root: str | None = None              # data folder; None = $SACCADE_DATA or ~/.cache/saccade
    glimpse_size: int = 32               # G, glimpse side in pixels
    scales: tuple[int, ...] = (1,)       # retina scales, first must be 1 (fovea)
    seq_len: int = 5                     # T = M_tr + 1
    batch_size: int = 64                 # sequences per step per process
    saliency_method: str = DEFAULT_METHOD   # see saliency.METHODS
    ior: str = "square"                  # inhibition-of-return shape (saliency.IOR_MODES)
    ior_radius: float = 16.0             # IoR half-width in pixels
    ior_decay: float = 1.0               # 1 = permanent inhibition
    fixation_mode: str = "sample"        # first fixation and the saliency policy's draw (saliency.SCANPATH_MODES)
    policy: str = "saliency"             # pretraining policy: saccades one of POLICIES (agents.saccade_policy),
                                         # rotation one of ROTATION_POLICIES ("saliency" = "walk" there)
    uniform_weight: float = 0.5          # policy "mixture": probability of a uniform fixation per row and step
    policy_checkpoint: str | None = None  # policy "world_model": the seq-JEPA checkpoint (of this world) choosing
                                          # the saccades (a second round of pretraining on its scanpaths)
    periphery: str = "colour"            # retina scales after the fovea in colour or grey, one of PERIPHERIES
    n_train: int | None = None           # limit the embedded dataset's train size (None = all)
    n_test: int | None = None            # limit the embedded dataset's test size (None = all)
    scene_style: str = "natural"         # embedded scenes' look (envs.datasets.SCENE_STYLES)
    max_objects: int = 2                 # embedded scenes: objects per scene, 1..6
    prefetch: int = 2                    # batches made ahead in a background thread (0 = inline)
    keep_inside: bool = False            # fixations keep the largest retina square inside the image
    epoch_size: int | None = None        # sequences per epoch (None = every image / world / object once)
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # more env keywords (e.g. max_step, max_angle)


@dataclass
class ModelConfig:
    """Architecture, mirrors :class:`seqjepa.SeqJEPAConfig` (channels/action size come from the data)."""

    # Defaults are SeqJEPAConfig's (the paper's reference sizes): one source of truth.
    encoder: str = SeqJEPAConfig.encoder                  # "resnet18" or "convnet"
    small_stem: bool = SeqJEPAConfig.small_stem           # CIFAR stem for 32 px glimpses
    embed_dim: int = SeqJEPAConfig.embed_dim              # D (512 for resnet18)
    action_embed_dim: int = SeqJEPAConfig.action_embed_dim  # E
    agg_heads: int = SeqJEPAConfig.agg_heads
    agg_layers: int = SeqJEPAConfig.agg_layers
    agg_ffn: int = SeqJEPAConfig.agg_ffn
    dropout: float = SeqJEPAConfig.dropout
    pred_hidden: int = SeqJEPAConfig.pred_hidden
    condition_aggregator: bool = SeqJEPAConfig.condition_aggregator
    condition_predictor: bool = SeqJEPAConfig.condition_predictor
    predictor_context: str = SeqJEPAConfig.predictor_context  # "agg" (the paper's) or "agg_last"
    predictor_action_map: bool = SeqJEPAConfig.predictor_action_map  # + rho(a) z_last (needs agg_last)
    target: str = "all"                  # the target encoder sees every retina scale ("all") or the fovea


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay (per step), EMA target schedule, probes."""

    lr: float = 4e-4                     # peak learning rate
    warmup_start_lr: float = 1e-5        # lr at step 0
    final_lr: float = 1e-5               # lr at the last step
    warmup_epochs: float = 20.0          # linear warm-up length in epochs
    weight_decay: float = 1e-3           # off for biases and norm parameters
    betas: tuple[float, ...] = (0.9, 0.999)  # Adam betas: two floats in [0, 1)
    grad_clip: float | None = None       # max global grad norm (None = no clipping)
    fused: bool = True                   # fused AdamW kernel on CUDA
    ema_base: float = 0.996              # EMA momentum at step 0 (BYOL cosine schedule)
    ema_final: float = 1.0               # EMA momentum at the last step
    probe_lr: float = 1e-3               # Adam lr of the online probes
    var_weight: float = 0.0              # VICReg-style variance term on the context latents (0 = off)
    cov_weight: float = 0.0              # VICReg-style covariance term on the context latents (0 = off)


@dataclass
class EvalConfig:
    """Frozen-model evaluation at the end of training (``experiments.evaluate``): converged
    probes on frozen features at every M_val, beside a random-init copy and model-free floors."""

    enabled: bool = True
    m_val: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)   # numbers of observed views
    train_split: str = "train"           # labeled split the probes are fitted on
    test_split: str = "test"             # labeled split they are scored on
    batch_size: int = 200                # sequences per feature-extraction batch (full batches only)
    max_batches: int | None = None       # cap the number of feature-extraction batches per split
    floors: bool = True                  # also score a random-init copy, raw pixels, colour histograms


@dataclass
class TrainConfig:
    """One pretraining run (``experiments/pretrain/train.py``)."""

    run_name: str | None = None          # runs/<run_name>; None = <timestamp>_<preset>
    preset: str = "custom"               # name of the preset this config came from
    out_dir: str = "runs"                # parent folder of run folders
    seed: int = 0
    device: str = "auto"                 # "auto", "cpu", "cuda", "cuda:N"
    threads: int | None = None           # torch CPU threads (None = torch's default)
    epochs: int = 1000                   # schedule length in epochs (if total_steps is None)
    total_steps: int | None = None       # schedule length in steps (overrides epochs)
    stop_after: int | None = None        # stop at this step without changing the schedule
    precision: str = "fp32"              # one of PRECISIONS; bf16/fp16 autocast on CUDA only
    compile: bool = False                # torch.compile the context forward
    channels_last: bool = False          # NHWC memory format for the conv encoder
    deterministic: bool = False          # torch.use_deterministic_algorithms + fixed seeds
    sync_bn: bool = False                # SyncBatchNorm across processes (CUDA + DDP only)
    log_every: int = 10                  # TensorBoard scalar period in steps
    probe_window: int = 50               # steps in the running mean of the online probe figures
    checkpoint_every: int = 1000         # overwrite ckpt_last.pt every N steps (and at the end)
    keep_every: int | None = None        # also keep ckpt_step<N>.pt every N steps
    progress: bool = True                # tqdm bar (rank 0, TTY only)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self) -> "TrainConfig":
        """Raise ValueError naming the first bad field and its allowed values; return self."""
        d, o, e = self.data, self.optim, self.eval
        check_choice("data.dataset", d.dataset, tuple(dataset_ids()))
        check_choice("data.split", d.split, SPLITS)
        check_choice("eval.train_split", e.train_split, LABELED_SPLITS)  # the probe needs labels
        check_choice("eval.test_split", e.test_split, LABELED_SPLITS)
        check_choice("data.policy", d.policy, POLICIES + ROTATION_ONLY_POLICIES)
        check_choice("data.periphery", d.periphery, PERIPHERIES)
        check_choice("model.target", self.model.target, TARGETS)
        check_real("data.uniform_weight", d.uniform_weight, 0.0, 1.0)
        if d.policy == "world_model" and not d.policy_checkpoint:
            raise ValueError("data.policy_checkpoint: data.policy 'world_model' needs the path of a seq-JEPA checkpoint "
                             "of this world (its model chooses the saccades)")
        # (ignored by the other policies: an evaluation may look at a world-model run on saliency scanpaths)
        if d.policy == "world_model" and not Path(str(d.policy_checkpoint)).expanduser().is_file():
            raise ValueError(f"data.policy_checkpoint {str(d.policy_checkpoint)!r:.200} is not a checkpoint file")
        if d.dataset in ROTATION_DATASETS:
            if d.policy not in ("saliency",) + ROTATION_POLICIES:
                raise ValueError(f"data.policy for data.dataset={d.dataset!r} must be one of {ROTATION_POLICIES} "
                                 f"(rotation policies; 'saliency', the default, means 'walk'), got {d.policy!r}")
        elif d.policy in ROTATION_ONLY_POLICIES:
            raise ValueError(f"data.policy={d.policy!r} is a rotation policy: it needs data.dataset "
                             f"{_either(ROTATION_DATASETS)}, got {d.dataset!r}; saccade worlds take one of {POLICIES}")
        elif d.policy != "saliency" and d.dataset not in SACCADE_DATASETS:
            raise ValueError(f"data.policy={d.policy!r} is a saccade policy: it needs data.dataset "
                             f"{_either(SACCADE_DATASETS)}, got {d.dataset!r} (other worlds have their own agent); "
                             f"use 'saliency' there")
        for name, value in (("optim.var_weight", o.var_weight), ("optim.cov_weight", o.cov_weight)):
            check_real(name, value, 0.0)
        check_choice("precision", self.precision, PRECISIONS)
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if not d.scales:
            raise ValueError("data.scales must be a non-empty list of ints (the retina's scales, first 1)")
        if not 2 <= d.seq_len:
            raise ValueError(f"data.seq_len must be >= 2 (M_tr >= 1 observed + 1 target), got {d.seq_len}")
        for name, value in (("data.glimpse_size", d.glimpse_size), ("data.batch_size", d.batch_size),
                            ("epochs", self.epochs), ("log_every", self.log_every),
                            ("probe_window", self.probe_window), ("checkpoint_every", self.checkpoint_every),
                            ("eval.batch_size", e.batch_size)):
            if value < 1:
                raise ValueError(f"{name} must be a positive int, got {value}")
        if d.prefetch < 0:
            raise ValueError(f"data.prefetch must be >= 0, got {d.prefetch}")
        for name, value in (("threads", self.threads), ("total_steps", self.total_steps), ("stop_after", self.stop_after),
                            ("keep_every", self.keep_every), ("eval.max_batches", e.max_batches),
                            ("data.n_train", d.n_train), ("data.n_test", d.n_test)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive int or null, got {value}")
        for name, value in (("optim.lr", o.lr), ("optim.warmup_start_lr", o.warmup_start_lr),
                            ("optim.final_lr", o.final_lr), ("optim.probe_lr", o.probe_lr)):
            check_real(name, value, 0.0, lo_open=True)
        check_real("optim.warmup_epochs", o.warmup_epochs, 0.0)
        check_real("optim.weight_decay", o.weight_decay, 0.0)
        check_int("seed", self.seed, 0, 2 ** 31 - 1)
        if o.grad_clip is not None and not o.grad_clip > 0:
            raise ValueError(f"optim.grad_clip must be > 0 or null, got {o.grad_clip}")
        if not (0.0 <= o.ema_base <= o.ema_final <= 1.0):
            raise ValueError(f"optim.ema_base <= optim.ema_final must lie in [0, 1], got {o.ema_base}, {o.ema_final}")
        if len(o.betas) != 2 or not all(0.0 <= b < 1.0 for b in o.betas):
            raise ValueError(f"optim.betas must be two floats in [0, 1), got {o.betas}")
        if not e.m_val or any(m < 1 for m in e.m_val):
            raise ValueError(f"eval.m_val must be a non-empty list of positive ints, got {e.m_val!r}")
        self.seqjepa_config(in_channels=3 * len(d.scales), action_dim=2)  # the model's own ranges
        _check_data_and_paths(self)
        return self

    def seqjepa_config(self, in_channels: int, action_dim: int) -> SeqJEPAConfig:
        """The :class:`seqjepa.SeqJEPAConfig` of this run for data with ``in_channels`` and ``action_dim``."""
        known = {f.name for f in dataclasses.fields(SeqJEPAConfig)}
        values = {k: v for k, v in dataclasses.asdict(self.model).items() if k in known}
        if self.model.target == "fovea":  # retina scales are stacked scale-major: the fovea comes first
            values["target_channels"] = in_channels // len(self.data.scales)
        return SeqJEPAConfig(in_channels=in_channels, action_dim=action_dim, **values)


def _either(names: Sequence[str]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [repr(n) for n in names]
    return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def _name_data_field(message: str, env_id: str) -> str:
    """An env's error about one of its keywords, reworded to name the ``data.`` field it came from."""
    keyword, _, rest = message.partition(" ")
    import envs

    if keyword == envs.family_of(env_id).length_kwarg:  # the episode length is seq_len - 1
        return f"data.seq_len - 1 ({env_id}'s {keyword}) {rest}"
    if keyword == "num_envs":  # the env's rows are the batch
        return f"data.batch_size / eval.batch_size ({env_id}'s num_envs) {rest}"
    field_name = {v: k for k, v in RENAMED.items()}.get(keyword, keyword)
    if field_name in {f.name for f in dataclasses.fields(DataConfig)}:
        return f"data.{field_name} {rest}" + (f" ({env_id}'s {keyword})" if field_name != keyword else "")
    return f"data: {env_id} refuses its keywords: {message}"


def _check_data_and_paths(config: TrainConfig) -> None:
    """The checks of :meth:`TrainConfig.validate` that would otherwise fail late: in data
    preparation, or after training (evaluation), or when the run folder is written."""
    d, e = config.data, config.eval
    check_choice("data.split", d.split, data_splits(d.dataset))  # e.g. the embedded scenes have no unlabeled split
    if not isinstance(d.env_kwargs, Mapping) or not all(isinstance(k, str) for k in d.env_kwargs):
        raise ValueError(f"data.env_kwargs must be a mapping of env keyword names to values, got {d.env_kwargs!r}")
    if d.epoch_size is not None and (isinstance(d.epoch_size, bool) or d.epoch_size < 1):
        raise ValueError(f"data.epoch_size must be a positive int or null, got {d.epoch_size!r}")
    env_id, kwargs = env_spec(d)  # unknown env keywords fail here, before any data is prepared
    import envs

    try:  # the env's own rules, checked by the env's own code without building data
        envs.check_env_kwargs(env_id, max(d.batch_size, e.batch_size), **kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(_name_data_field(str(exc), env_id)) from None
    if d.dataset == "scenes":  # every split the run reads must hold one full batch
        splits = [("data.split", d.split, "data.batch_size", d.batch_size)]
        if e.enabled:
            splits += [(name, split, "eval.batch_size", e.batch_size)
                       for name, split in (("eval.train_split", e.train_split), ("eval.test_split", e.test_split))]
        for name, split, batch_key, batch in splits:
            size = _scene_split_size(d, split)
            if size < batch:
                key = "data.n_train" if split == "train" else "data.n_test"
                raise ValueError(f"{batch_key}={batch} exceeds the {size} scenes of the {split!r} split "
                                 f"({name}); lower {batch_key} or raise {key}")
    from experiments.outputs import NAME_MAX, check_name_lengths

    # the run folder's name: run_name, else "<timestamp>_<preset>" (a 15-character timestamp and "_")
    for name, value, limit in (("run_name", config.run_name, NAME_MAX), ("preset", config.preset, NAME_MAX - 16)):
        if value is not None and (not value.strip() or value in (".", "..") or any(c in value for c in "/\\\0")):
            raise ValueError(f"{name} must be a plain folder name (no '/', '\\', not '.' or '..'), got {value!r:.80}")
        if value is not None and len(value.encode("utf-8", "surrogateescape")) > limit:
            raise ValueError(f"{name} must be at most {limit} bytes (it names the run folder), got {len(value.encode('utf-8', 'surrogateescape'))}")
    for name, value in (("out_dir", config.out_dir), ("data.root", d.root)):
        if value is not None:
            check_name_lengths(value, name)
        if value is not None and Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
            raise ValueError(f"{name} must be a folder, but {value!r} is a file")
    if config.threads is not None:  # beyond this torch allocates per-thread state until memory runs out
        check_int("threads", config.threads, 1, MAX_THREADS)
    if d.epoch_size is not None:  # the epoch's order is allocated whole
        check_int("data.epoch_size", d.epoch_size, 1, MAX_EPOCH_SIZE)


MAX_THREADS = 1024           # torch CPU threads a run may ask for
MAX_EPOCH_SIZE = 2 ** 31 - 1  # sequences per epoch (the shuffled order is held in memory)


def _scene_split_size(d: DataConfig, split: str) -> int:
    """Scenes in ``split`` of the embedded dataset (``n_train``/``n_test``, else load_scenes' defaults)."""
    import inspect

    from envs.datasets import load_scenes

    value = d.n_train if split == "train" else d.n_test
    if value is None:
        value = inspect.signature(load_scenes).parameters["n_train" if split == "train" else "n_test"].default
    return int(value)


def reset_invocation_keys(config: TrainConfig) -> TrainConfig:
    """``config`` with :data:`INVOCATION_KEYS` at their defaults (for a run's saved config on resume)."""
    defaults = TrainConfig()
    return dataclasses.replace(config, **{k: getattr(defaults, k) for k in INVOCATION_KEYS})


def _structured(values: Mapping[str, Any]) -> TrainConfig:
    """``values`` merged into the schema of :class:`TrainConfig` by OmegaConf (types converted and
    checked, unknown keys refused); a one-line ValueError naming the dotted key otherwise."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(TrainConfig), OmegaConf.create(dict(values)))
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        key = exc.full_key or ""
        if isinstance(exc, ConfigKeyError):
            section, _, name = key.rpartition(".")
            cls = _section_class(section)
            raise ValueError(f"unknown config key {key!r}; allowed in {section or 'the top level'}: "
                             f"{[f.name for f in dataclasses.fields(cls)] if cls else '?'}") from None
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{key or 'config'}: {problem}") from None


def _section_class(section: str) -> type | None:
    """The dataclass of a dotted section name ('' = :class:`TrainConfig`)."""
    cls: Any = TrainConfig
    for part in filter(None, section.split(".")):
        hints = typing.get_type_hints(cls)
        cls = hints.get(part)
        if not dataclasses.is_dataclass(cls):
            return None
    return cls


# keys of earlier versions that no longer mean anything: dropped with a warning when read
REMOVED_KEYS: dict[str, tuple[str, ...]] = {"eval": ("epochs", "lr")}  # the old Adam-trained probe


def config_from_dict(values: Mapping[str, Any]) -> TrainConfig:
    """Build (and validate) a :class:`TrainConfig` from nested plain values."""
    values = dict(values or {})
    for section, keys in REMOVED_KEYS.items():
        if isinstance(values.get(section), Mapping) and (old := sorted(set(keys) & set(values[section]))):
            warnings.warn(f"ignoring removed config key(s) {[f'{section}.{k}' for k in old]} "
                          f"(the evaluation's probes now converge; see experiments/evaluate)", UserWarning,
                          stacklevel=2)
            values[section] = {k: v for k, v in values[section].items() if k not in keys}
    return _structured(values).validate()


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """Nested plain dict (tuples as lists) suitable for YAML/JSON."""

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x

    return plain(dataclasses.asdict(config))


def apply_overrides(config: TrainConfig, overrides: Sequence[str]) -> TrainConfig:
    """Apply ``section.field=value`` strings (value parsed as YAML); returns a validated copy."""
    values = config_to_dict(config)
    for key, raw in (split_key_value(item, "override", "'section.field=value'") for item in overrides):
        node = values
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ValueError(f"override {key!r}: {part!r} is not a config section; "
                                 f"sections: {[k for k, v in node.items() if isinstance(v, dict)]}")
            node = node[part]
        if parts[-1] not in node:
            raise ValueError(f"override {key!r}: unknown field {parts[-1]!r}; allowed: {sorted(node)}")
        value = parse_value(raw, key, "override")
        node[parts[-1]] = [value] if isinstance(node[parts[-1]], list) and not isinstance(value, list) \
            and value is not None else value
    try:
        return config_from_dict(values)
    except RecursionError:  # a YAML alias that holds itself, or nesting deeper than Python's stack
        raise ValueError("config: a value is nested too deeply or holds itself (a recursive YAML alias)") from None


def preset_path(name: str) -> Path:
    """Path of a preset shipped in ``experiments/pretrain/configs`` (name with or without ``.yaml``)."""
    path = PRESETS_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        names = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"no preset {name!r} in {PRESETS_DIR}; available: {names}")
    return path


def list_presets() -> list[tuple[str, str]]:
    """``(name, first comment line)`` of every preset in :data:`PRESETS_DIR`, sorted by name."""
    out = []
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        first = next((line.lstrip("#").strip() for line in path.read_text().splitlines()
                      if line.startswith("#") and line.lstrip("#").strip()), "")
        out.append((path.stem, first))
    return out


def resolve_config_path(name: str | Path) -> Path:
    """A config file path: ``name`` itself when it is a file, else the packaged preset of that
    name (``scenes_cpu`` or ``scenes_cpu.yaml``, from any folder); FileNotFoundError naming both."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    if path.name == str(name) or path.parent == Path("."):  # a bare name: look among the presets
        candidate = PRESETS_DIR / (path.name if path.name.endswith(".yaml") else f"{path.name}.yaml")
        if candidate.is_file():
            return candidate
    names = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"config file not found: {name} (not a file, nor a preset name; presets: {names})")


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config file (or a preset by name, :func:`resolve_config_path`), apply
    ``overrides`` and validate. Broken YAML raises a one-line ValueError naming the file, the
    line and the problem."""
    path = resolve_config_path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            values = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{where}: invalid YAML: {problem}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a YAML text file (byte {exc.start} is not UTF-8)") from None
    except RecursionError:
        raise ValueError(f"{path}: invalid YAML: nested too deeply") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a mapping at top level, got {type(values).__name__}")
    values.setdefault("preset", path.stem)
    try:
        config = config_from_dict(values)
    except RecursionError:  # a YAML alias that holds itself (``&x [*x]``), or nesting deeper than Python's stack
        raise ValueError(f"{path}: a value is nested too deeply or holds itself (a recursive YAML alias)") from None
    return apply_overrides(config, overrides)


def dump_config(config: TrainConfig, path: str | Path) -> None:
    """Write the resolved config as YAML."""
    with Path(path).open("w") as fh:
        yaml.safe_dump(config_to_dict(config), fh, sort_keys=False)
