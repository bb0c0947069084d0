"""Vector-env throughput of every registered family, side by side with ap_gym's ``CircleSquare-v0``.

For each id in ``envs.ENV_IDS`` (``Saccade-STL10-v0`` only when its data is present), at default
kwargs, this measures glimpses/s (env-row steps per second, ``num_envs * steps / seconds``) of:

- ``gym.make_vec(id, num_envs=64)``: the registered vector env (native once ``vector_entry_point``
  lands; Gymnasium falls back to ``SyncVectorEnv`` before that; the table names the class);
- ``gym.make_vec(id, 64, vectorization_mode="sync")``: 64 single envs in Gymnasium's
  ``SyncVectorEnv``, for reference (the native/sync ratio);
- ``gym.make(id)``: the single env, steps/s (target >= 5,000/s for the default saccade env);

and the peer, ap_gym's ``CircleSquare-v0`` vector env at 64 envs. Every number comes from one
function, :func:`measure`: random actions pre-drawn from the env's own ``action_space.sample()``
(so sampling is not timed; the peer's is a ``Dict(action=Box, prediction=LogitSpace)``), warm-up
steps excluded, Gymnasium 1.x autoreset included (the single env is reset by the loop when an
episode ends), median over a few repeats.

The peer is never a dependency of this package and nothing is installed into the dev venv.
When ``ap_gym`` imports in this interpreter it is measured in-process. Otherwise it is measured in
a subprocess of a dedicated venv (``--peer-venv``, default ``/work/apgym_venv``) that runs this
same file with ``--peer-only`` and prints JSON back, in the same run on the same machine (after
our envs, never concurrently, so the two do not share cores). ``--install-peer`` creates that venv
with ``python -m venv`` and installs ``ap-gym aiohttp datasets pillow`` into it from the package
registry (ap_gym needs those to import). Without the peer the table says
"peer: not measured (run with --install-peer)".

    python -m experiments.benchmarks.bench_vector                    # full sizes
    python -m experiments.benchmarks.bench_vector --quick            # < 60 s
    python -m experiments.benchmarks.bench_vector --install-peer --json bench_vector.json

This file imports only Gymnasium (and the standard library) at module level, so the peer venv can run it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from experiments.cliconfig import Parser

PEER_ID = "CircleSquare-v0"
PEER_PACKAGES = ("ap-gym", "aiohttp", "datasets", "pillow")
DEFAULT_PEER_VENV = "/work/apgym_venv"
SACCADE_TARGET = 5_000.0  # single-env steps/s wanted for the default saccade env
DEFAULT_SACCADE_ID = "Saccade-Scenes-v0"


@dataclass(frozen=True)
class Sizes:
    """Steps per timed repeat, warm-up steps and repeats of one run."""

    vector_steps: int = 200
    single_steps: int = 2_000
    warmup: int = 20
    repeats: int = 5

    @classmethod
    def quick(cls) -> "Sizes":
        """A short run (< 60 s in all)."""
        return cls(vector_steps=15, single_steps=300, warmup=3, repeats=3)


@dataclass
class Rate:
    """One measurement: glimpses/s = ``num_envs * steps / seconds``, median over repeats."""

    family: str
    mode: str
    num_envs: int
    glimpses_per_s: float
    repeats_per_s: list[float] = field(default_factory=list)
    steps: int = 0
    glimpse_shape: tuple[int, ...] | None = None


def _glimpse_shape(env: gym.Env | gym.vector.VectorEnv) -> tuple[int, ...] | None:
    """Per-row shape of the ``glimpse`` observation, if the env has one."""
    space = getattr(env, "single_observation_space", env.observation_space)
    if isinstance(space, gym.spaces.Dict) and "glimpse" in space.spaces:
        return tuple(int(d) for d in space["glimpse"].shape)
    return None


def measure(env: gym.Env | gym.vector.VectorEnv, steps: int, warmup: int, repeats: int,
            seed: int = 0) -> tuple[float, list[float]]:
    """Glimpses/s of ``env`` under random actions: (median over ``repeats``, each repeat's rate).

    A vector env autoresets itself (Gymnasium 1.x semantics); a single env is reset here when an
    episode ends, inside the timed loop. Actions are drawn from ``env.action_space`` beforehand.
    """
    if steps < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"need steps >= 1, repeats >= 1, warmup >= 0; got {steps}, {repeats}, {warmup}")
    vector = isinstance(env, gym.vector.VectorEnv)
    num_envs = env.num_envs if vector else 1
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(warmup + steps * repeats)]
    env.reset(seed=seed)

    def run(chunk: list[Any]) -> None:
        for action in chunk:
            _, _, terminated, truncated, _ = env.step(action)
            if not vector and (terminated or truncated):
                env.reset()

    run(actions[:warmup])
    rates = []
    for k in range(repeats):
        chunk = actions[warmup + k * steps:warmup + (k + 1) * steps]
        start = time.perf_counter()
        run(chunk)
        rates.append(num_envs * steps / (time.perf_counter() - start))
    return float(statistics.median(rates)), rates


def _measure_made(family: str, mode: str, env: gym.Env | gym.vector.VectorEnv, steps: int,
                  sizes: Sizes) -> Rate:
    """Measure an env built by the caller, close it, and label the result."""
    try:
        median, rates = measure(env, steps, sizes.warmup, sizes.repeats)
        num_envs = env.num_envs if isinstance(env, gym.vector.VectorEnv) else 1
        return Rate(family, mode, num_envs, median, rates, steps, _glimpse_shape(env))
    finally:
        env.close()


def _vector_class(env: gym.vector.VectorEnv) -> str:
    """Name of the innermost vector env class (under wrappers)."""
    return type(getattr(env, "unwrapped", env)).__name__


def measure_ours(env_ids: tuple[str, ...], num_envs: int, sizes: Sizes) -> tuple[list[Rate], list[str]]:
    """Rates of our families (vector, sync reference, single) and notes on skipped ids."""
    envs = importlib.import_module("envs")  # registers the ids

    rates, notes = [], []
    for env_id in env_ids:
        try:
            single = gym.make(env_id)
        except FileNotFoundError as err:
            notes.append(f"{env_id}: skipped, data not present ({str(err).splitlines()[0][:120]}...)")
            continue
        rates.append(_measure_made(env_id, "single", single, sizes.single_steps, sizes))
        vec = gym.make_vec(env_id, num_envs=num_envs)
        rates.append(_measure_made(env_id, f"make_vec ({_vector_class(vec)})", vec, sizes.vector_steps, sizes))
        if "priority_info" in envs.env_keywords(env_id):  # asking for the [N, H, W] maps in the infos (default: not)
            maps = gym.make_vec(env_id, num_envs=num_envs, priority_info=True)
            rates.append(_measure_made(env_id, "make_vec, priority_info=True", maps, sizes.vector_steps, sizes))
        sync = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
        rates.append(_measure_made(env_id, "sync (SyncVectorEnv)", sync, sizes.vector_steps, sizes))
    return rates, notes


def measure_peer_here(num_envs: int, sizes: Sizes) -> Rate:
    """ap_gym's ``CircleSquare-v0`` vector env, in this interpreter (ap_gym must import)."""
    importlib.import_module("ap_gym")  # registers the ids

    vec = gym.make_vec(PEER_ID, num_envs=num_envs)
    return _measure_made(f"ap_gym {PEER_ID}", f"make_vec ({_vector_class(vec)})", vec, sizes.vector_steps, sizes)


def _peer_python(venv: Path) -> Path:
    """The interpreter of a venv."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def install_peer(venv: Path) -> None:
    """Create ``venv`` (``python -m venv``) and install the peer into it; the dev venv is untouched."""
    python = _peer_python(venv)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)


def measure_peer_subprocess(venv: Path, num_envs: int, sizes: Sizes) -> Rate:
    """Run this file with ``--peer-only`` in the peer venv and read its JSON back."""
    cmd = [str(_peer_python(venv)), str(Path(__file__).resolve()), "--peer-only",
           "--num-envs", str(num_envs), "--sizes", json.dumps(asdict(sizes))]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["glimpse_shape"] = tuple(data["glimpse_shape"]) if data["glimpse_shape"] else None
    return Rate(**data)


def _peer_available_here() -> bool:
    """Whether ap_gym imports in this interpreter (without importing it)."""
    return importlib.util.find_spec("ap_gym") is not None


def measure_peer(args: argparse.Namespace, sizes: Sizes) -> tuple[Rate | None, str]:
    """The peer's rate and how it was obtained (or why not)."""
    if _peer_available_here():
        return measure_peer_here(args.num_envs, sizes), "peer: measured in this process"
    venv = Path(args.peer_venv)
    if args.install_peer:
        install_peer(venv)
    if not _peer_python(venv).exists():
        return None, "peer: not measured (run with --install-peer)"
    rate = measure_peer_subprocess(venv, args.num_envs, sizes)
    return rate, (f"peer: ap_gym is not in this interpreter (not a dependency; the dev venv is never "
                  f"installed into), so it was measured in a subprocess of {venv}, in the same run on the "
                  f"same machine, after ours (not concurrently)")


def _load() -> str:
    """The 1-minute load average (a busy machine makes every rate noisy)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def table(rates: list[Rate], peer: Rate | None) -> str:
    """Markdown table: family, mode, num_envs, glimpse shape, glimpses/s, ratio vs peer, vs sync."""
    sync = {r.family: r.glimpses_per_s for r in rates if r.mode.startswith("sync")}
    lines = ["| family | mode | num_envs | glimpse shape | glimpses/s | ratio vs peer | vs sync |",
             "|---|---|---:|---|---:|---:|---:|"]
    for r in rates + ([peer] if peer else []):
        vs_peer = f"{r.glimpses_per_s / peer.glimpses_per_s:.2f}" if peer else "n/a"
        vs_sync = f"{r.glimpses_per_s / sync[r.family]:.2f}" if r.family in sync else ""
        shape = "x".join(map(str, r.glimpse_shape)) if r.glimpse_shape else "?"
        lines.append(f"| {r.family} | {r.mode} | {r.num_envs} | {shape} | {_fmt(r.glimpses_per_s)} "
                     f"| {vs_peer} | {vs_sync} |")
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (``envs.storage.files``; imported here, not at module level,
    so that the peer's venv can run this file without our package)."""
    from envs.storage.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(payload, indent=2).encode()
    atomic_write(path, lambda fh: fh.write(data))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = Parser("python -m experiments.benchmarks.bench_vector", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer steps (< 60 s in all)")
    p.add_argument("--num-envs", type=int, default=64, help="rows of every vector env")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (median reported)")
    p.add_argument("--ids", nargs="*", default=None, help="our ids (default: envs.ENV_IDS)")
    p.add_argument("--json", type=Path, default=None, help="write the numbers here (atomically)")
    p.add_argument("--install-peer", action="store_true", help="create --peer-venv and install ap_gym into it")
    p.add_argument("--peer-venv", default=DEFAULT_PEER_VENV, help="venv holding ap_gym (never the dev venv)")
    p.add_argument("--no-peer", action="store_true", help="skip the peer")
    p.add_argument("--peer-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--sizes", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, return (and optionally write) the numbers."""
    args = parse_args(argv)
    sizes = Sizes(**json.loads(args.sizes)) if args.sizes else (Sizes.quick() if args.quick else Sizes())
    if args.repeats is not None:
        sizes = Sizes(sizes.vector_steps, sizes.single_steps, sizes.warmup, args.repeats)
    if args.peer_only:  # runs in the peer venv: one JSON line on stdout
        print(json.dumps(asdict(measure_peer_here(args.num_envs, sizes))))
        return {}

    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, "-m",
                                                 "experiments.benchmarks.bench_vector", *(argv or sys.argv[1:])])
    if args.ids is None:
        import envs

        args.ids = list(envs.ENV_IDS)
    load_before = _load()
    start = time.perf_counter()
    rates, notes = measure_ours(tuple(args.ids), args.num_envs, sizes)
    peer, peer_note = (None, "peer: not measured (--no-peer)") if args.no_peer else measure_peer(args, sizes)

    load = f"load average before/after: {load_before} / {_load()} on {os.cpu_count()} CPUs"
    print(f"command: {command}")
    print(f"sizes: {asdict(sizes)}; glimpses/s = num_envs * steps / s, median of {sizes.repeats}")
    print()
    print(table(rates, peer))
    print()
    for note in notes + [peer_note]:
        print(note)
    for r in rates:
        if r.family == DEFAULT_SACCADE_ID and r.mode == "single":
            met = "met" if r.glimpses_per_s >= SACCADE_TARGET else "NOT met"
            print(f"single {r.family}: {_fmt(r.glimpses_per_s)} steps/s (target >= {_fmt(SACCADE_TARGET)}/s: {met})")
    print(load)
    print(f"total: {time.perf_counter() - start:.1f} s")

    payload = {"command": command, "sizes": asdict(sizes), "results": [asdict(r) for r in rates],
               "peer": asdict(peer) if peer else None, "notes": notes + [peer_note, load]}
    if args.json is not None:
        write_json(args.json, payload)
    return payload


if __name__ == "__main__":
    main()
