"""ap_gym's active-perception protocol for the recognition ids (one documented wrapper).

``active_perception(env)`` wraps a recognition env (``gym.make`` of a ``*-Classify-v0`` id) and
``active_perception(venv)`` its native vector env (``gym.make_vec``); ``make_active(id, num_envs)``
does both steps. The wrapped env speaks ap_gym's interface:

- action ``Dict(action=Box(-1, 1, (A,)), prediction=Box(-inf, inf, (K,)))``: the move (the Box
  contract's first ``A`` entries) and the class **logits** (unbounded; no ``logit_scale``);
- ``prediction_target_space``: ``Discrete(K)`` (vector: ``MultiDiscrete([K] * N)`` and
  ``single_prediction_target_space``);
- ``loss_fn``: :class:`CrossEntropyLoss`, the cross-entropy of the logits (``numpy``/``__call__``,
  ``torch``, ``*_loss_and_metrics``);
- reward = ``base_reward - loss`` (``base_reward``: the inner world's own reward, 0 for saccades);
  ``info["base_reward"]`` and ``info["prediction"] = {"target", "loss", "metrics"}`` as ap_gym
  reports them (reset: ``{"target"}``); ``predicted_class``, ``correct`` and ``accuracy`` (last
  step; ``_accuracy`` in a vector env) are the Box contract's keys, judged on the logits.

ap_gym is not a dependency: when it is imported (before or after ``import envs``),
:func:`register_ap_gym` (the wrappers call it; call it yourself if ap_gym is imported after the env is made) makes the wrappers virtual subclasses of its
``BaseActivePerceptionEnv`` / ``BaseActivePerceptionVectorEnv``, so that
``ap_gym.ensure_active_perception_env`` / ``ensure_active_perception_vector_env`` accept them
as they are and its ``ActiveClassificationLogWrapper`` runs on them.
"""

from __future__ import annotations

import sys
from typing import Any

import gymnasium as gym
import numpy as np
from scipy.special import log_softmax

__all__ = ["CrossEntropyLoss", "ActivePerceptionEnv", "ActivePerceptionVectorEnv", "active_perception",
           "make_active", "register_ap_gym"]


class CrossEntropyLoss:
    """Cross-entropy of class logits ``[..., K]`` against integer targets ``[...]`` in ``[0, K)`` (ap_gym's
    ``LossFn``). Logits are real numbers (not bool or complex); targets are integers (not floats, which would
    be truncated, nor -1, which would index the last class); a wrong shape is a ValueError."""

    def __init__(self, num_classes: int) -> None:
        from checks import check_int
        self.num_classes = check_int("num_classes", num_classes, 1)

    def _check(self, shape: tuple[int, ...], target_shape: tuple[int, ...], kind: str, target_kind: str,
               lo: Any, hi: Any) -> None:
        """``kind``/``target_kind``: NumPy dtype kinds of the logits and targets; ``lo``/``hi``: the targets' range."""
        if kind not in "fiu":
            raise ValueError(f"prediction must hold real logits, got dtype kind {kind!r} (bool or complex are refused)")
        if target_kind not in "iu":
            raise ValueError(f"target must hold integer class indices, got dtype kind {target_kind!r}")
        if len(shape) < 1 or shape[-1] != self.num_classes or tuple(shape[:-1]) != tuple(target_shape):
            raise ValueError(f"prediction must have shape [..., {self.num_classes}] matching target "
                             f"{tuple(target_shape)}, got {tuple(shape)}")
        if lo is not None and (lo < 0 or hi >= self.num_classes):
            raise ValueError(f"target must hold class indices in [0, {self.num_classes}), got values in [{lo}, {hi}]")

    def numpy(self, prediction: Any, target: Any, batch_shape: tuple[int, ...] = (), rng: Any = None) -> np.ndarray:
        """Loss as float64 NumPy, shape ``target.shape``."""
        logits, target = np.asarray(prediction), np.asarray(target)
        self._check(logits.shape, target.shape, logits.dtype.kind, target.dtype.kind,
                    *((target.min(), target.max()) if target.size else (None, None)))
        logp = log_softmax(logits.astype(np.float64).reshape(-1, self.num_classes), axis=1)
        return -logp[np.arange(logp.shape[0]), target.astype(np.int64).reshape(-1)].reshape(target.shape)

    __call__ = numpy

    def torch(self, prediction: Any, target: Any, batch_shape: tuple[int, ...] = (), rng: Any = None) -> Any:
        """Differentiable loss (torch tensors), shape ``target.shape``."""
        import torch  # envs/ does not import torch unless asked for the torch loss
        kind = "b" if prediction.dtype == torch.bool else "c" if prediction.is_complex() else \
            "f" if prediction.is_floating_point() else "i"
        target_kind = "b" if target.dtype == torch.bool else "f" if (target.is_floating_point() or target.is_complex()) \
            else "i"
        bounds = (int(target.min()), int(target.max())) if target.numel() and target_kind == "i" else (None, None)
        self._check(tuple(prediction.shape), tuple(target.shape), kind, target_kind, *bounds)
        logp = torch.log_softmax(prediction, dim=-1)
        return -torch.take_along_dim(logp, target.long()[..., None], dim=-1)[..., 0]

    def numpy_loss_and_metrics(self, prediction: Any, target: Any, batch_shape: tuple[int, ...] = (),
                               rng: Any = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self.numpy(prediction, target, batch_shape, rng), {}

    def torch_loss_and_metrics(self, prediction: Any, target: Any, batch_shape: tuple[int, ...] = (),
                               rng: Any = None) -> tuple[Any, dict[str, Any]]:
        return self.torch(prediction, target, batch_shape, rng), {}

    @property
    def lower_bound(self) -> float:
        return 0.0

    @property
    def blind_guessing_expected_value(self) -> float:
        return float(np.log(self.num_classes))


def _split_spaces(inner_space: gym.spaces.Box, n_classes: int) -> gym.spaces.Dict:
    move = inner_space.shape[0] - n_classes
    return gym.spaces.Dict({"action": gym.spaces.Box(-1.0, 1.0, (move,), np.float32),
                            "prediction": gym.spaces.Box(-np.inf, np.inf, (n_classes,), np.float32)})


def _box_action(action: Any, move_dim: int, n_classes: int, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(Box action [n, A + K] with zero scores, logits [n, K])`` from a Dict action of exactly the action
    space's shapes: ``(A,)`` and ``(K,)`` for a single env (``n=None``), ``(n, A)`` and ``(n, K)`` for a vector
    env (no reshaping: a transposed or flattened array is refused, never scored against scrambled rows)."""
    if not isinstance(action, dict) or set(action) != {"action", "prediction"}:
        raise TypeError("action must be a dict with keys 'action' (the move) and 'prediction' (class logits), "
                        f"got {type(action).__name__}")
    rows = () if n is None else (n,)
    parts = []
    for key, size in (("action", move_dim), ("prediction", n_classes)):
        value = np.asarray(action[key])
        if value.dtype.kind not in "fiu":
            raise ValueError(f"action[{key!r}] must hold real numbers, got dtype {value.dtype}")
        if value.shape != (*rows, size):
            raise ValueError(f"action[{key!r}] must have shape {(*rows, size)}, got {value.shape}")
        parts.append(value.reshape(-1, size))
    move, logits = parts[0].astype(np.float32), parts[1].astype(np.float64)
    if not np.isfinite(logits).all():
        raise ValueError(f"action['prediction'] must hold {n_classes} finite floats per row")
    return np.concatenate([move, np.zeros((move.shape[0], n_classes), np.float32)], axis=1), logits


class _Protocol:
    """What the single and vector wrappers share: turn an inner step into ap_gym's."""

    loss_fn: CrossEntropyLoss
    n_classes: int

    def _setup(self, inner_space: gym.spaces.Box, n_classes: int) -> gym.spaces.Dict:
        register_ap_gym()
        self.n_classes = int(n_classes)
        self.loss_fn = CrossEntropyLoss(self.n_classes)
        self._log_k = float(np.log(self.n_classes))  # -log_softmax(zero scores)[label]: the inner score's cost
        return _split_spaces(inner_space, self.n_classes)

    @property
    def prediction_space(self) -> gym.Space:
        """The ``"prediction"`` part of the (batched, for a vector env) action space."""
        return self.action_space["prediction"]

    @property
    def inner_action_space(self) -> gym.Space:
        """The ``"action"`` (movement) part of the (batched, for a vector env) action space."""
        return self.action_space["action"]

    def _convert(self, reward: np.ndarray, info: dict[str, Any], logits: np.ndarray, stepped: np.ndarray,
                 last: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        labels = np.asarray(info["label"], np.int64).reshape(-1)
        loss = np.where(stepped, self.loss_fn(logits, labels), 0.0)
        base = np.where(stepped, np.asarray(reward, np.float64).reshape(-1) + self._log_k, 0.0)
        predicted = np.argmax(logits, axis=1)
        info = dict(info)
        info.pop("_prediction", None)
        info["base_reward"] = base
        info["prediction"] = {"target": labels, "loss": loss, "metrics": {}}
        info["predicted_class"] = np.where(stepped, predicted, -1)
        info["correct"] = stepped & (predicted == labels)
        info["accuracy"] = np.where(last, info["correct"].astype(np.float64), 0.0)
        return base - loss, info


class ActivePerceptionEnv(gym.Wrapper, gym.utils.RecordConstructorArgs, _Protocol):
    """A single recognition env in ap_gym's protocol (module docstring)."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)  # its spec can be recreated (gym.make of the spec)
        gym.Wrapper.__init__(self, env)
        k = int(env.get_wrapper_attr("n_classes"))
        self.action_space = self._setup(env.action_space, k)
        self.prediction_target_space = gym.spaces.Discrete(k)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        info = dict(info)
        info.pop("prediction", None)
        info["prediction"] = {"target": int(info["label"])}
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        box, logits = _box_action(action, self.inner_action_space.shape[0], self.n_classes, None)
        obs, reward, terminated, truncated, info = self.env.step(box[0])
        done = np.array([terminated or truncated])
        r, info = self._convert(np.array([reward]), info, logits, np.ones(1, bool), done)
        info["base_reward"] = float(info["base_reward"][0])
        info["prediction"] = {"target": int(info["prediction"]["target"][0]),
                              "loss": np.float64(info["prediction"]["loss"][0]), "metrics": {}}
        for key in ("predicted_class", "correct", "accuracy"):
            info[key] = info[key][0].item()
        if not done[0]:
            del info["accuracy"]  # the Box contract's single env reports it on the last step only
        return obs, float(r[0]), terminated, truncated, info


class ActivePerceptionVectorEnv(gym.vector.VectorWrapper, _Protocol):
    """A native recognition vector env in ap_gym's protocol (module docstring; NEXT_STEP autoreset:
    the step after a row's episode ends resets it with reward 0 and loss 0)."""

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        super().__init__(env)
        k = int(env.get_wrapper_attr("n_classes")) if hasattr(env, "get_wrapper_attr") else int(env.n_classes)
        self.single_action_space = self._setup(env.single_action_space, k)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.single_prediction_target_space = gym.spaces.Discrete(k)
        self.prediction_target_space = gym.spaces.MultiDiscrete([k] * self.num_envs)
        self._autoreset = np.zeros(self.num_envs, bool)

    def __getattr__(self, name: str) -> Any:
        """The wrapped env's public attributes (``max_steps``, ``world``, ...)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def single_prediction_space(self) -> gym.Space:
        return self.single_action_space["prediction"]

    @property
    def single_inner_action_space(self) -> gym.Space:
        return self.single_action_space["action"]

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)  # checks the options (reset_mask included) before anything changes
        options = kwargs.get("options") or {}
        mask = options.get("reset_mask") if isinstance(options, dict) else None
        if mask is None:
            self._autoreset = np.zeros(self.num_envs, bool)
        else:  # a partial reset: the rows left alone keep their pending autoreset (scored 0 on the next step)
            self._autoreset = self._autoreset & ~np.asarray(mask, bool).reshape(self.num_envs)
        info = dict(info)
        info.pop("_prediction", None)
        info["prediction"] = {"target": np.asarray(info["label"], np.int64)}
        return obs, info

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        box, logits = _box_action(actions, self.single_inner_action_space.shape[0], self.n_classes, self.num_envs)
        obs, reward, terminated, truncated, info = self.env.step(box)
        stepped = ~self._autoreset
        done = terminated | truncated
        self._autoreset = done.copy()
        r, info = self._convert(reward, info, logits, stepped, done)
        info["_accuracy"] = done.copy()
        return obs, r, terminated, truncated, info


def active_perception(env: gym.Env | gym.vector.VectorEnv) -> ActivePerceptionEnv | ActivePerceptionVectorEnv:
    """Wrap a recognition env (single or native vector) in ap_gym's protocol; an env already in it (one of
    these wrappers, possibly under others) is returned as it is."""
    if _already_wrapped(env):
        return env
    if not hasattr(env, "n_classes") and not _has_wrapper_attr(env, "n_classes"):
        raise ValueError("env must be an active-recognition env (a *-Classify-v0 id, which has n_classes), "
                         f"got {getattr(env, 'spec', None) and env.spec.id or type(env).__name__}")
    if isinstance(env, gym.vector.VectorEnv):
        return ActivePerceptionVectorEnv(env)
    return ActivePerceptionEnv(env)


def _already_wrapped(env: Any) -> bool:
    """Whether ``env`` (or an env it wraps) is one of the protocol's wrappers."""
    seen = 0
    while env is not None and seen < 64:
        if isinstance(env, (ActivePerceptionEnv, ActivePerceptionVectorEnv)):
            return True
        env, seen = getattr(env, "env", None), seen + 1
    return False


def _has_wrapper_attr(env: Any, name: str) -> bool:
    try:
        env.get_wrapper_attr(name)
    except (AttributeError, TypeError):
        return False
    return True


def make_active(env_id: str, num_envs: int | None = None, **kwargs: Any) -> Any:
    """``gym.make(env_id)`` (``num_envs=None``) or ``gym.make_vec(env_id, num_envs)``, in ap_gym's protocol."""
    env = gym.make(env_id, **kwargs) if num_envs is None else gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    return active_perception(env)


def register_ap_gym() -> bool:
    """Make the wrappers virtual subclasses of ap_gym's base classes if ap_gym is imported; True if so."""
    ap = sys.modules.get("ap_gym")
    if ap is None:
        return False
    from ap_gym.active_perception_env import BaseActivePerceptionEnv
    from ap_gym.active_perception_vector_env import BaseActivePerceptionVectorEnv
    BaseActivePerceptionEnv.register(ActivePerceptionEnv)
    BaseActivePerceptionVectorEnv.register(ActivePerceptionVectorEnv)
    return True
