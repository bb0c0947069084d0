"""World-model glue for the viewer: run a pretrained seq-JEPA beside the episode.

For every saccade, the model aggregates the glimpses seen so far (with their incoming actions),
predicts the latent of the next view from the saccade about to be made, and the viewer shows

- ``cosine``: cos(prediction, target encoder(actual next glimpse)), in [-1, 1];
- the **nearest glimpse** to the prediction (cosine) among a cache of target-encoded
  glimpses of random fixations over the dataset's images.

Conventions follow ``experiments.pretrain.train``: glimpses ``[S, G, G, C]`` become channels
``S*C`` stacked scale-major, normalised ``(x/255 - mean)/std``, actions are incoming
(``actions[0] = 0``), the model runs in eval mode on CPU.
"""

from __future__ import annotations

import hashlib
import inspect
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from envs.storage.files import CacheError, read_verified_npy, warn_rebuild, warn_unwritable, write_verified_npy

__all__ = ["Prediction", "WorldModelMonitor", "load_world_model"]


@dataclass(frozen=True)
class Prediction:
    """The model's view of one saccade (into view ``step``).

    Attributes:
        step: index of the view that was predicted (1 = the first saccade's target).
        cosine: cos(predicted latent, target-encoded actual glimpse), float in [-1, 1].
        nearest: uint8 ``[S, G, G, C]`` cached glimpse whose latent is nearest to the prediction.
        nearest_cosine: its cosine with the prediction.
        nearest_source: ``(image index, row, col)`` the cached glimpse came from.
    """

    step: int
    cosine: float
    nearest: np.ndarray
    nearest_cosine: float
    nearest_source: tuple[int, int, int]


def _first_weight(state: dict[str, torch.Tensor], prefix: str, ndim: int) -> torch.Tensor:
    for key, value in state.items():
        if key.startswith(prefix) and key.endswith("weight") and value.dim() == ndim:
            return value
    raise ValueError(f"checkpoint model state has no {ndim}-D '{prefix}*weight' tensor; is it a SeqJEPA state dict?")


def load_world_model(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load the seq-JEPA of a pretraining checkpoint on CPU, in eval mode.

    The checkpoint (``experiments.pretrain.checkpoint`` format) holds ``model`` (the SeqJEPA state dict),
    ``config`` (the resolved ``TrainConfig`` as a dict) and, when written by a current
    ``saccade-pretrain``, ``pretrained`` (architecture, statistics, env: see
    :func:`seqjepa.load_pretrained`); without it the architecture comes from ``config`` and the
    input channels and action size from the weights.

    Returns:
        ``(model, config_dict)``.

    Raises:
        FileNotFoundError / experiments.pretrain.checkpoint.CheckpointError: missing or corrupt file.
        ValueError: the state lacks ``model``/``config`` or does not fit the configured architecture.
    """
    from experiments.pretrain.checkpoint import load_checkpoint

    model, config, _ = _model_from_state(load_checkpoint(path, map_location="cpu"), path)
    return model, config


def _model_from_state(state: dict[str, Any], path: str | Path) -> tuple[Any, dict[str, Any], dict[str, Any] | None]:
    """``(model, training config dict, pretrained meta or None)`` of a verified checkpoint state."""
    from experiments.pretrain.config import config_from_dict
    from seqjepa import SeqJEPA
    from seqjepa.pretrained import META_KEY, pretrained_from_state

    if META_KEY in state:
        model, meta = pretrained_from_state(state, path)
        return model, dict(state.get("config") or {}), meta
    missing = [k for k in ("model", "config") if k not in state]
    if missing:
        raise ValueError(f"checkpoint {path} lacks {missing}; expected a saccade-pretrain checkpoint "
                         f"with 'model' (state dict) and 'config' (resolved config)")
    weights = state["model"]
    config = config_from_dict(state["config"])
    in_channels = int(_first_weight(weights, "encoder.", 4).shape[1])
    action_dim = int(_first_weight(weights, "action_embed.", 2).shape[1])
    model = SeqJEPA(config.seqjepa_config(in_channels, action_dim))
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(f"checkpoint {path}: weights do not fit the configured architecture: {exc}") from exc
    return model.eval(), state["config"], None


def _plain(value: Any) -> Any:
    return tuple(_plain(v) for v in value) if isinstance(value, (list, tuple)) else value


def _env_parameters(env_id: str | None) -> set[str]:
    """Keyword arguments the registered ``env_id`` accepts (None: ``SaccadeEnv`` over a dataset)."""
    if env_id is None:
        from envs.families.saccade_world import SaccadeWorld

        return set(inspect.signature(SaccadeWorld.__init__).parameters) - {"self", "n", "dataset"}
    from experiments.pretrain.envspec import env_parameters

    return set(env_parameters(env_id))


def _to_channels(glimpses: np.ndarray) -> np.ndarray:
    """uint8 ``[..., S, G, G, C]`` -> ``[..., S*C, G, G]`` (scale-major, as the sequence source)."""
    *lead, s, g, w, c = glimpses.shape
    moved = np.moveaxis(glimpses, -1, -3)  # [..., S, C, G, G]
    return np.ascontiguousarray(moved.reshape(*lead, s * c, g, w))


class WorldModelMonitor:
    """Keeps the episode's glimpses/actions and scores every saccade with the world model.

    Args:
        model: a :class:`seqjepa.SeqJEPA` (put in eval mode here).
        glimpse_size, scales: the retina the model was trained with (the env must match).
        dataset: ``"stl10"`` (fixed STL-10 statistics) or anything else (statistics of the
            viewed dataset's images, as pretraining computes them for the embedded scenes).
        max_context: most recent views to aggregate (None = all views of the episode).
    """

    def __init__(self, model: Any, glimpse_size: int, scales: Sequence[int], dataset: str = "scenes",
                 max_context: int | None = None) -> None:
        if max_context is not None and max_context < 1:
            raise ValueError(f"max_context must be a positive int or None, got {max_context}")
        self.model = model.eval()
        self.glimpse_size, self.scales = int(glimpse_size), tuple(int(s) for s in scales)
        self.dataset_kind, self.max_context = dataset, max_context
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        self.cache_latents: torch.Tensor | None = None   # float [N, D], unit norm
        self.cache_glimpses: np.ndarray | None = None    # uint8 [N, S, G, G, C]
        self.cache_sources: np.ndarray | None = None     # int64 [N, 3] (image, row, col)
        self.checkpoint_digest = ""                       # identifies the weights (disk cache key)
        self.trained_env_id: str | None = None            # the env the model was trained on (None: unknown)
        self.trained_env_kwargs: dict[str, Any] = {"glimpse_size": self.glimpse_size, "scales": self.scales}
        self.trained_stats: tuple[list[float], list[float]] | None = None  # training mean, std [S*C]
        self._views: list[torch.Tensor] = []              # each float [S*C, G, G]
        self._actions: list[np.ndarray] = []              # incoming actions float32 [2]

    @classmethod
    def from_checkpoint(cls, path: str | Path, max_context: int | None = None) -> "WorldModelMonitor":
        """Monitor for the model in checkpoint ``path``: the env it was trained on and the
        training statistics come from the checkpoint (older checkpoints: the retina settings
        from its config, statistics from the viewed images)."""
        from experiments.pretrain.checkpoint import load_checkpoint

        state = load_checkpoint(path, map_location="cpu")
        model, config, meta = _model_from_state(state, path)
        data = config.get("data", {})
        kwargs = meta["env_kwargs"] if meta is not None else data
        monitor = cls(model, glimpse_size=kwargs.get("glimpse_size", 32), scales=kwargs.get("scales", (1,)),
                      dataset=data.get("dataset", "scenes"), max_context=max_context)
        if meta is not None:
            monitor.trained_env_id, monitor.trained_env_kwargs = meta["env_id"], dict(meta["env_kwargs"])
            monitor.trained_stats = (list(meta["mean"]), list(meta["std"]))
        monitor.checkpoint_digest = str(state.get("sha256", ""))
        return monitor

    def env_kwargs(self) -> dict[str, Any]:
        """The retina keyword arguments the viewed env must use."""
        return {"glimpse_size": self.glimpse_size, "scales": self.scales}

    def viewer_env(self, env_id: str | None, kwargs: dict[str, Any],
                   images: bool = False) -> tuple[str | None, dict[str, Any]]:
        """``(env id, kwargs)`` to view: the env the model was trained on, changed by the user's
        ``env_id`` / ``kwargs`` (each difference is warned about: the model then sees another
        world than it learned). ``images``: a user's images (only the env's viewing settings,
        retina, saliency and IoR, are taken from the checkpoint; id None)."""
        trained, base = self.trained_env_id, dict(self.trained_env_kwargs)
        if images or (env_id is not None and trained is not None and env_id != trained):
            if not images:
                warnings.warn(f"--env {env_id} is not the env the model was trained on ({trained}); "
                              f"its predictions there say little about what it learned", stacklevel=2)
            accepted = _env_parameters(None if images else env_id)
            base = {k: v for k, v in base.items() if k in accepted}
        differ = {k: (base[k], v) for k, v in kwargs.items() if k in base and _plain(v) != _plain(base[k])}
        if differ:
            listed = ", ".join(f"{k}={new!r} (trained with {old!r})" for k, (old, new) in differ.items())
            warnings.warn(f"--kw {listed}: differs from the env the model was trained on", stacklevel=2)
        return (None if images else env_id or trained), {**base, **kwargs}

    # ------------------------------------------------------------------ setup
    def attach(self, env: Any, n_cache: int = 2000, seed: int = 0, batch_size: int = 256,
               cache_dir: str | Path | None = None, progress: bool = False) -> None:
        """Check the env's retina, set the normalisation and build the nearest-glimpse cache.

        The cache is ``n_cache`` glimpses at uniformly random fixations (from ``seed``) on random
        images of ``env.dataset``, encoded once by the target encoder. With ``cache_dir`` the
        latents are stored there, keyed by the checkpoint's digest, the dataset's fingerprint
        and these settings, and reused on the next start. ``progress`` shows a tqdm bar.
        """
        from seqjepa import STL10_MEAN, STL10_STD

        retina = env.retina
        if retina.glimpse_size != self.glimpse_size or tuple(retina.scales) != self.scales:
            raise ValueError(f"the env's retina (glimpse_size={retina.glimpse_size}, scales={tuple(retina.scales)}) "
                             f"must match the checkpoint's (glimpse_size={self.glimpse_size}, scales={self.scales})")
        channels = int(env.observation_space["glimpse"].shape[-1])
        expected = self.model.config.in_channels
        if channels * len(self.scales) != expected:
            raise ValueError(f"the model expects {expected} input channels, the env gives "
                             f"{len(self.scales)} scales x {channels} channels")
        if n_cache < 1:
            raise ValueError(f"n_cache must be a positive int, got {n_cache}")
        if self.trained_stats is not None:  # exactly what the training batches were normalised with
            mean, std = self.trained_stats
            self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
            self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        else:
            if self.dataset_kind == "stl10" and channels == 3:
                mean, std = STL10_MEAN, STL10_STD
            else:
                from experiments.pretrain.source import channel_stats

                mean, std = channel_stats(env.dataset)
            self.mean = torch.tensor(list(mean) * len(self.scales), dtype=torch.float32).view(-1, 1, 1)
            self.std = torch.tensor(list(std) * len(self.scales), dtype=torch.float32).view(-1, 1, 1)

        rng = np.random.default_rng(seed)
        data = env.dataset
        h, w = int(data.images.shape[1]), int(data.images.shape[2])
        sources = np.stack([rng.integers(0, len(data), n_cache), rng.integers(0, h, n_cache),
                            rng.integers(0, w, n_cache)], axis=1).astype(np.int64)
        order = np.argsort(sources[:, 0], kind="stable")  # one image read per distinct index
        glimpses = np.empty((n_cache,) + tuple(env.observation_space["glimpse"].shape), np.uint8)
        current, image = -1, None
        for i in order:
            idx, r, c = (int(v) for v in sources[i])
            if idx != current:
                current, image = idx, np.asarray(data.images[idx], np.uint8)
                image = image[:, :, None] if image.ndim == 2 else image
            glimpses[i] = retina.glimpse(image, (r, c))
        self.cache_glimpses, self.cache_sources = glimpses, sources
        fingerprint = getattr(data, "fingerprint", "")
        file, meta = None, None
        if cache_dir is not None and self.checkpoint_digest and fingerprint:
            key = hashlib.sha256(repr((self.checkpoint_digest, fingerprint, n_cache, seed, self.glimpse_size,
                                       self.scales, retina.padding, tuple(mean), tuple(std))).encode()).hexdigest()
            file, meta = Path(cache_dir) / f"nearest-{key[:20]}.npy", {"key": key}
            try:  # verified (manifest with SHA-256); a bad file is rebuilt below
                cached = read_verified_npy(file, dtype=np.float32, meta=meta, mmap_mode=None)
                if cached.ndim != 2 or cached.shape[0] != n_cache:
                    raise CacheError(f"{file} holds shape {cached.shape}, expected ({n_cache}, D)")
                self.cache_latents = torch.from_numpy(cached)
                return
            except FileNotFoundError:
                pass
            except CacheError as exc:
                warn_rebuild(exc, "the viewer's nearest-glimpse")
        latents = []
        steps = range(0, n_cache, batch_size)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc=f"encoding {n_cache} glimpses for the nearest-glimpse cache", unit="batch")
        with torch.no_grad():
            for start in steps:
                views = self._normalise(glimpses[start:start + batch_size])[:, None]
                latents.append(self.model.encode_target(views)[:, 0])
        self.cache_latents = F.normalize(torch.cat(latents), dim=1)
        if file is not None:
            try:  # atomic (unique temp name + rename), then its manifest
                write_verified_npy(file, self.cache_latents.detach().cpu().numpy().astype(np.float32), meta=meta)
            except OSError as exc:
                warn_unwritable(file.parent, exc, "the viewer's nearest-glimpse latents")

    def _normalise(self, glimpses: np.ndarray) -> torch.Tensor:
        """uint8 ``[..., S, G, G, C]`` -> float ``[..., S*C, G, G]``."""
        if self.mean is None or self.std is None:
            raise RuntimeError("call attach(env) before feeding glimpses")
        x = torch.from_numpy(_to_channels(np.asarray(glimpses, np.uint8))).float() / 255.0
        return (x - self.mean) / self.std

    # ------------------------------------------------------------------ episode
    def start(self, glimpse: np.ndarray) -> None:
        """A new episode whose first view is ``glimpse`` uint8 ``[S, G, G, C]``."""
        self._views = [self._normalise(glimpse)]
        self._actions = [np.zeros(2, np.float32)]

    @property
    def n_views(self) -> int:
        return len(self._views)

    def observe(self, glimpse: np.ndarray, action: np.ndarray) -> Prediction:
        """Score the saccade ``action`` float ``[A]`` (the env's ``last_action``) that led to ``glimpse``.

        Prediction from views so far = ``predict(aggregate(encode(views), actions), action)``;
        target = ``encode_target(glimpse)``. The view is then appended to the episode.
        """
        if not self._views:
            raise RuntimeError("call start(first_glimpse) before observe()")
        if self.cache_latents is None:
            raise RuntimeError("call attach(env) before observe()")
        action = np.asarray(action, np.float32).reshape(-1)
        if action.shape != (self.model.config.action_dim,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be finite float [{self.model.config.action_dim}], got {action}")
        start = 0 if self.max_context is None else max(0, len(self._views) - self.max_context)
        views = torch.stack(self._views[start:])[None]                       # [1, M, S*C, G, G]
        actions = np.stack(self._actions[start:]).astype(np.float32)
        actions[0] = 0.0                                                     # first view has no incoming action
        target_view = self._normalise(glimpse)
        with torch.no_grad():
            z = self.model.encode(views)
            z_agg = self.model.aggregate(z, torch.from_numpy(actions)[None])
            prediction = self.model.predict(z_agg, torch.from_numpy(action)[None], z_last=z[:, -1])
            target = self.model.encode_target(target_view[None, None])[:, 0]
            cosine = float(F.cosine_similarity(prediction, target, dim=1)[0].clamp(-1.0, 1.0))
            sims = self.cache_latents @ F.normalize(prediction, dim=1)[0]
            best = int(torch.argmax(sims))
        self._views.append(target_view)
        self._actions.append(action)
        src = self.cache_sources[best]
        return Prediction(step=len(self._views) - 1, cosine=cosine, nearest=self.cache_glimpses[best],
                          nearest_cosine=float(sims[best].clamp(-1.0, 1.0)),
                          nearest_source=(int(src[0]), int(src[1]), int(src[2])))
