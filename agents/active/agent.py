"""``ActiveAgent``: supervised class head + SAC movement on a vector env in ap_gym's protocol.

Every vector step the agent acts (the move, and the head's logits as the prediction), stores each
row's finished episode in a replay buffer, and makes ``updates_per_step`` updates on a batch of
whole episodes: the perception model (encoder + GRU + head) is trained on the env's
``loss_fn.torch`` at every step; with ``movement="learned"``, SAC learns the move on the GRU
state (detached) with reward ``base_reward - loss_fn(head's logits, target)``: the env's reward,
re-scored with the current head (the stored logits of an older head would make it stale), plus
``intrinsic_scale`` x a seq-JEPA world model's prediction error of the glimpse each move reached, where
asked. ``movement="world_model"`` lets that world model choose the saccades (``agents.world_model``).
Episodes end with the env's time limit, which is part of the task (no bootstrap past it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from agents.active.nets import Actor, Critic, Perception, default_encoder
from agents.active.observe import observe
from agents.batched import BatchedSaliencyAgent
from checks import check_choice, check_int, check_real
from envs.engine.retina import grey_periphery

__all__ = ["ActiveAgent", "AgentConfig", "MOVEMENTS", "TUNED", "EpisodeBuffer"]

MOVEMENTS = ("learned", "random", "still", "saliency", "world_model")
# world_model: a seq-JEPA checkpoint chooses each saccade (agents.world_model); scores it can use without a class
# head on z_AGG (the active agent's head reads its own GRU state)
WM_SCORES = ("novelty", "disagreement")
# AgentConfig values measured to work best per world (studies and pilots in docs/results/rl/), used by
# AgentConfig.for_env and the CLI unless a flag says otherwise
TUNED: dict[str, dict[str, Any]] = {
    # 16-step episodes, endless scenes: two updates of 256 steps per vector step instead of one of 512 (the same
    # replay ratio and cost) learn faster; two of 512 learn fast early but stall near 0.88
    "CircleSquare-v0": {"updates_per_step": 2, "batch_transitions": 256},
    # 4-step episodes over 2000 scenes: a 512-step batch (or 2 updates per step) lets the head memorise
    # replayed episodes; 128 steps learn better and 4x cheaper. SAC's gamma and lr are the ones its studies ran
    # with (APPLE's 0.99 / 1e-3 were level in a 1-seed pilot)
    "Saccade-Shapes-Classify-v0": {"batch_transitions": 128, "gamma": 0.9, "lr": 3e-4},
}


# Upper bounds of the sizes and counts (a batch of 2**62 transitions would be allocated after the first episodes)
LIMITS = {"hidden": (1, 1 << 14), "batch_transitions": (1, 1 << 20), "buffer_episodes": (1, 1 << 24),
          "learning_starts": (0, 1 << 40), "updates_per_step": (0, 1 << 10), "policy_updates": (1, 1 << 10)}


@dataclass
class AgentConfig:
    """Hyper-parameters (defaults sized for a CPU: 16-32 env rows, one update per vector step);
    :meth:`for_env` adds the values tuned for a world (:data:`TUNED`)."""

    movement: str = "learned"
    hidden: int = 128
    batch_transitions: int = 512  # steps per update: batch_transitions // T whole episodes (a replay ratio of
    # 32 with 16 rows)
    buffer_episodes: int = 20000
    lr: float = 1e-3  # SAC's (actor, critic); with gamma 0.99, APPLE's SAC values: on CircleSquare-v0 they
    # lift 128k-step accuracy from 0.83 (gamma 0.9, lr 3e-4) to 0.95, APPLE's (docs/results/rl/)
    head_lr: float = 1e-3
    gamma: float = 0.99
    tau: float = 0.01
    init_alpha: float = 0.1  # SAC temperature at the start (tuned automatically, target entropy -A)
    alpha_lr: float = 1e-3
    learning_starts: int = 2000  # env transitions of random moves before the actor acts
    updates_per_step: int = 1  # updates (perception and SAC, each on a fresh batch) per vector step
    policy_updates: int = 1  # SAC updates per perception update, on minibatches of its (detached) states
    wm_score: str = "novelty"  # movement world_model: how candidates are scored (WM_SCORES)
    wm_candidates: int = 16  # movement world_model: K candidate saccades per step
    wm_layout: str = "grid"  # movement world_model: "grid" or "sample" candidates
    intrinsic_scale: float = 0.0  # learned movement: SAC's reward + this x the world model's prediction error of
    # the glimpse reached (0: none)

    @classmethod
    def for_env(cls, env_id: str | None, **fields: Any) -> "AgentConfig":
        """The config for ``env_id``: its :data:`TUNED` values, then ``fields`` (which win)."""
        return cls(**{**TUNED.get(env_id or "", {}), **fields})

    def __post_init__(self) -> None:
        check_choice("movement", self.movement, MOVEMENTS)
        for name in ("hidden", "batch_transitions", "buffer_episodes", "policy_updates"):
            check_int(name, getattr(self, name), lo=1)
        for name in ("learning_starts", "updates_per_step"):
            check_int(name, getattr(self, name), lo=0)
        for name, (lo, hi) in LIMITS.items():  # beyond these a run allocates without bound (or never ends a step)
            check_int(name, getattr(self, name), lo, hi)
        for name in ("lr", "head_lr", "init_alpha", "alpha_lr"):
            check_real(name, getattr(self, name), lo=0.0, lo_open=True)
        for name in ("gamma", "tau"):
            check_real(name, getattr(self, name), lo=0.0, hi=1.0)
        check_choice("wm_score", self.wm_score, WM_SCORES)
        check_int("wm_candidates", self.wm_candidates, 1, 4096)
        check_choice("wm_layout", self.wm_layout, ("grid", "sample"))
        check_real("intrinsic_scale", self.intrinsic_scale, 0.0, 1e6)
        if self.intrinsic_scale > 0 and self.movement != "learned":
            raise ValueError(f"intrinsic_scale: the world model's intrinsic reward is for the learned movement, "
                             f"got movement={self.movement!r}")


class EpisodeBuffer:
    """Whole episodes of a fixed length ``T`` (ring buffer of ``capacity`` episodes)."""

    KEYS = ("glimpse", "pos", "time", "move", "base", "bonus", "target")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self._next = 0
        self.data: dict[str, np.ndarray] = {}

    def add(self, episode: dict[str, np.ndarray]) -> None:
        if not self.data:
            self.data = {k: np.zeros((self.capacity, *episode[k].shape), episode[k].dtype) for k in self.KEYS}
        if episode["move"].shape[0] != self.data["move"].shape[1]:
            raise ValueError(f"episodes must all last {self.data['move'].shape[1]} steps, got one of "
                             f"{episode['move'].shape[0]}")
        for k in self.KEYS:
            self.data[k][self._next] = episode[k]
        self._next = (self._next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        idx = rng.integers(0, self.size, n)
        return {k: torch.from_numpy(v[idx]) for k, v in self.data.items()}


def _space_dims(venv: Any) -> tuple[int, int]:
    space = venv.single_action_space
    return int(space["action"].shape[0]), int(space["prediction"].shape[0])


def _horizon(venv: Any) -> int:
    try:
        return int(getattr(venv, "max_steps"))
    except AttributeError:
        return 1  # ap_gym's envs report the time in the observation


class ActiveAgent:
    """The learning agent (module docstring) for ``venv``, a vector env in ap_gym's protocol.

    Args:
        venv: e.g. ``envs.wrappers.active_perception.make_active(id, 16)`` or ``gym.make_vec("CircleSquare-v0", 16)``.
        config: :class:`AgentConfig` (``AgentConfig.for_env(id)`` has the values tuned for a world).
        seed: seeds torch and the agent's own draws.
        encoder: a glimpse encoder ``[N, C, G, G] -> [N, D]`` (e.g. a seq-JEPA checkpoint's); default: a new one.
        freeze_encoder: keep ``encoder``'s weights fixed.
        mean, std: per-channel input statistics (a checkpoint's); default 0.5 / 0.25.
        periphery: ``"grey"`` turns the scales after the fovea grey (a checkpoint trained that way).
        world_model: a seq-JEPA checkpoint of ``venv``'s world (path, or ``(model, meta)`` from
            ``seqjepa.load_pretrained``): the movement ``world_model`` and the intrinsic reward need it.
    """

    def __init__(self, venv: Any, config: AgentConfig | None = None, seed: int = 0, encoder: nn.Module | None = None,
                 freeze_encoder: bool = False, mean: Any = None, std: Any = None, periphery: str = "colour",
                 world_model: Any = None) -> None:
        self.config = config = config or AgentConfig()
        self.venv = venv
        self.n = venv.num_envs
        self.move_dim, self.n_classes = _space_dims(venv)
        self.horizon = _horizon(venv)
        self.loss_fn = venv.loss_fn
        self.periphery = periphery
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        obs, info = venv.reset(seed=seed)
        g, p, _ = self._see(obs, info)
        channels, size = g.shape[1], g.shape[-1]
        self.perception = Perception(encoder or default_encoder(channels, size), channels, size, p.shape[1],
                                     self.n_classes, config.hidden, mean, std)
        self.frozen = encoder is not None and freeze_encoder
        if self.frozen:
            self.perception.encoder.requires_grad_(False)
        self.actor = Actor(config.hidden, self.move_dim)
        self.critic = Critic(config.hidden, self.move_dim)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = torch.tensor(float(np.log(config.init_alpha)), requires_grad=True)
        params = [q for q in self.perception.parameters() if q.requires_grad]
        self.opt_head = torch.optim.Adam(params, lr=config.head_lr)
        self.opt_actor = torch.optim.Adam(self.actor.parameters(), lr=config.lr)
        self.opt_critic = torch.optim.Adam(self.critic.parameters(), lr=config.lr)
        self.opt_alpha = torch.optim.Adam([self.log_alpha], lr=config.alpha_lr)
        self.buffer = EpisodeBuffer(config.buffer_episodes)
        self.saliency = self._saliency_agent(info, seed) if config.movement == "saliency" else None
        self.wm = self._world_model_agent(world_model, seed)
        self._start(obs, info)
        self.steps = 0  # env transitions (rows that acted; autoreset steps excluded)

    # ------------------------------------------------------------------ acting
    def _saliency_agent(self, info: dict[str, Any], seed: int) -> BatchedSaliencyAgent:
        """Saliency-IoR movement: from ``info['priority']`` or, for a default saccade vector env (no maps
        in its infos), from its world's fused kernels."""
        world = getattr(self.venv.unwrapped, "world", None)
        if "priority" not in info and not hasattr(world, "sample_fixations"):
            raise ValueError("movement='saliency' needs a saccade recognition env (its info['priority'] or its "
                             "world's saliency with IoR); choose 'learned', 'random' or 'still'")
        return BatchedSaliencyAgent(mode="sample", seed=seed, world=None if "priority" in info else world)

    def _world_model_agent(self, world_model: Any, seed: int) -> Any:
        """The world-model agent of the ``world_model`` movement and of the intrinsic reward (None if neither)."""
        c = self.config
        if c.movement != "world_model" and c.intrinsic_scale == 0:
            return None
        if world_model is None:
            raise ValueError("world_model: movement='world_model' and intrinsic_scale > 0 need a seq-JEPA checkpoint "
                             "of this world")
        from agents.world_model import BatchedWorldModelAgent
        model, meta = world_model if isinstance(world_model, tuple) else (world_model, None)
        return BatchedWorldModelAgent(model, self.venv, k=c.wm_candidates, candidates=c.wm_layout, score=c.wm_score,
                                      seed=seed, meta=meta, prediction_errors=c.intrinsic_scale > 0)

    def _see(self, obs: dict[str, Any], info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.periphery == "grey" and "glimpse_pos" not in obs:
            obs = {**obs, "glimpse": grey_periphery(np.array(obs["glimpse"]))}
        return observe(obs, info, self.horizon)

    def _start(self, obs: dict[str, Any], info: dict[str, Any]) -> None:
        self.obs, self.info = obs, info
        self.h = torch.zeros(self.n, self.config.hidden)
        self.skip = np.zeros(self.n, bool)  # the next step is an autoreset: its action is ignored
        self.episodes: list[list[dict[str, Any]]] = [[] for _ in range(self.n)]

    def _moves(self, states: torch.Tensor) -> np.ndarray:
        movement = self.config.movement
        if movement == "still":
            return np.zeros((self.n, self.move_dim), np.float32)
        if movement == "saliency":
            return self.saliency.act(self.obs, self.info)
        if movement == "world_model":
            return self.wm.act(self.obs, self.info)
        if movement == "random" or self.steps < self.config.learning_starts:
            return self.rng.uniform(-1.0, 1.0, (self.n, self.move_dim)).astype(np.float32)
        with torch.no_grad():
            return self.actor(states)[0].numpy()

    def act(self) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, ...]]:
        """The Dict action for the current observation, and what was seen (for :meth:`record`)."""
        seen = self._see(self.obs, self.info)
        if self.wm is not None:
            self.wm.observe(self.obs, self.info)  # its memory follows every view (the intrinsic reward's context)
        g, p, t = (torch.from_numpy(x) for x in seen)
        with torch.no_grad():
            self.h = self.perception.step(g, p, t, self.h)
            logits = self.perception.head(self.h).numpy().astype(np.float32)
        return {"action": self._moves(self.h), "prediction": logits}, seen

    def record(self, seen: tuple[np.ndarray, ...], action: dict[str, np.ndarray], obs: dict[str, Any],
               terminated: np.ndarray, truncated: np.ndarray, info: dict[str, Any]) -> list[dict[str, float]]:
        """Store the step; returns the episodes it finished (``return``, ``accuracy`` of the last prediction)."""
        done = np.asarray(terminated) | np.asarray(truncated)
        base = np.asarray(info["base_reward"], np.float64)
        target = np.asarray(info["prediction"]["target"])
        loss = np.asarray(info["prediction"]["loss"], np.float64)
        bonus = np.zeros(self.n)
        if self.config.intrinsic_scale > 0:  # the world model's error on the glimpse each move reached
            self.wm.observe(obs, info)
            bonus = self.config.intrinsic_scale * np.nan_to_num(self.wm.errors, nan=0.0)
        finished = []
        for i in np.flatnonzero(~self.skip):
            self.episodes[i].append({"glimpse": seen[0][i], "pos": seen[1][i], "time": seen[2][i],
                                     "move": action["action"][i], "base": base[i], "bonus": bonus[i],
                                     "target": target[i],
                                     "reward": base[i] - loss[i],
                                     "correct": float(np.argmax(action["prediction"][i]) == target[i])})
            self.steps += 1
            if done[i]:
                ep = self.episodes[i]
                self.buffer.add({k: np.stack([np.asarray(s[k]) for s in ep]) for k in EpisodeBuffer.KEYS})
                finished.append({"return": float(sum(s["reward"] for s in ep)), "accuracy": ep[-1]["correct"]})
                self.episodes[i] = []
        self.h[torch.from_numpy(self.skip | done)] = 0.0  # rows starting over (NEXT_STEP autoreset)
        self.skip = done
        self.obs, self.info = obs, info
        return finished

    # ------------------------------------------------------------------ learning
    def update(self) -> dict[str, float]:
        """One gradient step on a batch of stored episodes; returns the losses (empty before enough data)."""
        t = self.buffer.data["move"].shape[1] if self.buffer.size else 0
        b = max(1, self.config.batch_transitions // max(t, 1))
        if self.buffer.size < min(b, 8):
            return {}
        batch = self.buffer.sample(b, self.rng)
        h = self.perception.unroll(batch["glimpse"], batch["pos"], batch["time"])
        loss = self.loss_fn.torch(self.perception.head(h), batch["target"].long(), (b, t))
        head_loss = loss.mean()
        self.opt_head.zero_grad()
        head_loss.backward()
        self.opt_head.step()
        stats = {"head_loss": float(head_loss.detach())}
        if self.config.movement == "learned":
            reward = batch["base"].float() + batch["bonus"].float() - loss.detach().float()
            s, a = h.detach(), batch["move"]
            for part in np.array_split(self.rng.permutation(b), min(self.config.policy_updates, b)):
                stats.update(self._sac(s[part], a[part], reward[part]))
        return stats

    def _sac(self, s: torch.Tensor, a: torch.Tensor, r: torch.Tensor) -> dict[str, float]:
        """One SAC update on episodes: states ``s [B, T, H]`` (detached GRU states), moves ``a [B, T, A]``,
        rewards ``r [B, T]``."""
        c = self.config
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            a2, logp2 = self.actor(s[:, 1:])
            v = torch.min(*self.critic_target(s[:, 1:], a2)) - alpha * logp2
            y = r.clone()
            y[:, :-1] += c.gamma * v
        q1, q2 = self.critic(s, a)
        critic_loss = ((q1 - y) ** 2 + (q2 - y) ** 2).mean()
        self.opt_critic.zero_grad()
        critic_loss.backward()
        self.opt_critic.step()
        a_new, logp = self.actor(s)
        actor_loss = (alpha * logp - torch.min(*self.critic(s, a_new))).mean()
        self.opt_actor.zero_grad()
        actor_loss.backward()
        self.opt_actor.step()
        alpha_loss = -(self.log_alpha * (logp.detach() - self.move_dim)).mean()  # target entropy -A
        self.opt_alpha.zero_grad()
        alpha_loss.backward()
        self.opt_alpha.step()
        with torch.no_grad():
            for p, pt in zip(self.critic.parameters(), self.critic_target.parameters()):
                pt.lerp_(p, c.tau)
        return {"critic_loss": float(critic_loss.detach()), "actor_loss": float(actor_loss.detach()), "alpha": float(alpha)}

    def learn(self, total_steps: int, callback: Callable[[int, list[dict[str, float]], dict[str, float]], None]
              | None = None) -> None:
        """Act and learn for ``total_steps`` env transitions; ``callback(steps, finished episodes, losses)``
        after every vector step."""
        while self.steps < total_steps:
            action, seen = self.act()
            obs, _, terminated, truncated, info = self.venv.step(action)
            finished = self.record(seen, action, obs, terminated, truncated, info)
            stats: dict[str, float] = {}
            for _ in range(self.config.updates_per_step):
                stats = self.update() or stats
            if callback is not None:
                callback(self.steps, finished, stats)
