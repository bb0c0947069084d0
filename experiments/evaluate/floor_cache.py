"""The model-free floors, computed once per data and kept with it; on a spare core while training runs.

The floors of :func:`experiments.evaluate.metrics.floor_measurements` (raw pixels, colour
histograms, dead reckoning, chance) read the evaluation sequences only, never the model. They
are kept in the cache folder beside the generated data (``$SACCADE_CACHE``, see
:func:`envs.datasets.resolve_cache_root`) as ``<cache root>/floors/<key digest>.json``, keyed by
everything they depend on (:func:`floor_key`: the datasets' fingerprints, the env and policy the
sequences come from and a digest of their first batch, the evaluation settings, the seed, the
probe settings and a digest of the code that computes them), written atomically with the SHA-256
of the measurements and verified when read. An entry that is unusable (corrupt, another key,
not a regular file, rows that are not measurements) is recomputed with a warning; an unwritable
cache folder is warned about once and the floors are kept in memory.

:class:`FloorJob` computes them in a child process (a fresh interpreter with its own torch, Numba
and OpenMP threads) that ``saccade-pretrain`` starts when training starts
(:func:`start_floor_job`); the end-of-training evaluation takes them from it (:class:`FloorPlan`).
A failure inside it comes back as a :class:`FloorJobError` (type, message, traceback), which the
evaluation reports before computing the floors itself. The child ends itself when its parent
dies (it watches its parent's pid), is terminated when the run ends without reading it, and is
always waited for (no zombies).
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import traceback
import warnings
import weakref
from pathlib import Path
from typing import Any

import torch

from experiments.evaluate.cache_entry import EntryKind, entry, read_entry
from experiments.evaluate.features import HUE_BINS, PIXEL_SIDE, VALUE_BINS, SplitFeatures, extract_data
from experiments.evaluate.metrics import RAW_PIXEL_MAX_VIEWS, Measurement, floor_measurements
from experiments.evaluate.probes import DEFAULT_ALPHAS, DEFAULT_L2
from experiments.pretrain.config import TrainConfig, config_from_dict, config_to_dict

__all__ = ["FLOOR_CACHE_VERSION", "FloorJob", "FloorJobError", "FloorPlan", "floor_key", "floor_file",
           "read_floors", "write_floors", "compute_floors", "default_sources", "start_floor_job", "spare_cores",
           "BACKGROUND_ENV"]

FLOOR_CACHE_VERSION = 1  # bump when the floors' measurements change (other features, probes, metrics)
BACKGROUND_ENV = "SACCADE_BACKGROUND_FLOORS"  # "0": never in a background process; "1": also without a spare core
_DATA_KEYS_IGNORED = ("prefetch", "batch_size", "split", "seq_len")  # how training reads its data, not the eval's
_PARENT_POLL_S = 1.0
MAX_JOB_THREADS = 4  # the floors' probes are small: more threads than this only spin


class FloorJobError(RuntimeError):
    """The background floor computation failed (its exception, or the process died)."""


# ----------------------------------------------------------------------------- key and storage

def _fingerprint(source: Any) -> str:
    """The dataset fingerprint of a sequence source's world ("" when it has none)."""
    world = getattr(getattr(source, "env", None), "world", None)
    return str(getattr(getattr(world, "dataset", None), "fingerprint", "") or "")


def _batch_digest(source: Any) -> str:
    """SHA-256 of a source's first batch (every tensor's name, shape, dtype and bytes): the key then
    changes with anything that changes the sequences (retina, policy, env code), not only the data."""
    batch = next(iter(source.batches(0)))
    h = hashlib.sha256()
    for name in sorted(batch):
        t = torch.as_tensor(batch[name]).detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _code_digest() -> str:
    """SHA-256 of the source files the floors are computed by (features, metrics, probes): an edit
    there recomputes them."""
    import experiments.evaluate.features as features
    import experiments.evaluate.metrics as metrics
    import experiments.evaluate.probes as probes

    h = hashlib.sha256()
    for module in (features, metrics, probes):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """``value`` as the JSON it reads back as (tuples as lists, other objects as strings)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _settings(config: TrainConfig) -> dict[str, Any]:
    """The parts of ``config`` its floors depend on (the key less what the sources add)."""
    e, values = config.eval, config_to_dict(config)
    return _plain({
        "version": FLOOR_CACHE_VERSION, "seed": config.seed, "m_val": sorted({int(m) for m in e.m_val}),
        "data": {k: v for k, v in values["data"].items() if k not in _DATA_KEYS_IGNORED},
        "eval": {"train_split": e.train_split, "test_split": e.test_split, "batch_size": e.batch_size,
                 "max_batches": e.max_batches},
        "probes": {"alphas": DEFAULT_ALPHAS, "l2": DEFAULT_L2, "raw_pixel_max_views": RAW_PIXEL_MAX_VIEWS,
                   "pixel_side": PIXEL_SIDE, "hue_bins": HUE_BINS, "value_bins": VALUE_BINS},
    })


def floor_key(config: TrainConfig, train_src: Any, test_src: Any) -> dict[str, Any] | None:
    """Everything the floors of ``config`` depend on, as plain JSON; None when a source's world has no
    dataset fingerprint (then nothing is cached).

    The datasets' fingerprints, each split's env id and keywords (episode length included), the
    digest of each split's first batch, the data section (less how training reads it: ``prefetch``,
    ``batch_size``, ``split``, ``seq_len``), the evaluation's ``m_val`` / splits / ``batch_size`` /
    ``max_batches``, the seed, the probe grids and feature sizes, the digest of the code that
    computes them and :data:`FLOOR_CACHE_VERSION`.
    """
    prints = [_fingerprint(s) for s in (train_src, test_src)]
    if not all(prints):
        return None
    envs = [[getattr(s, "env_id", None), getattr(s, "env_kwargs", None)] for s in (train_src, test_src)]
    return {**_settings(config), "fingerprints": prints, "envs": _plain(envs), "code": _code_digest(),
            "first_batches": [_batch_digest(s) for s in (train_src, test_src)]}


def floor_file(config: TrainConfig, key: dict[str, Any]) -> Path:
    """``<cache root>/floors/<first 16 hex digits of the key's SHA-256>.json`` (cache root of ``config.data.root``)."""
    from envs.datasets.base import resolve_cache_root

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return resolve_cache_root(config.data.root) / "floors" / f"{digest}.json"


def _is_measurement(row: Any) -> bool:
    """``row`` is a measurement: ``{"metric": str, "subject": str, "m": int | None, "seed": int, "value": float}``."""
    return (isinstance(row, dict) and set(row) == {"metric", "subject", "m", "seed", "value"}
            and isinstance(row["metric"], str) and isinstance(row["subject"], str)
            and (row["m"] is None or type(row["m"]) is int) and type(row["seed"]) is int
            and type(row["value"]) in (int, float))


_FLOOR_ENTRY = EntryKind("a floor cache entry", "the floor cache entry", _is_measurement, "measurements",
                         "floors of other data or settings", "computing the floors afresh", RuntimeWarning)


def read_floors(file: Path, key: dict[str, Any]) -> list[Measurement] | None:
    """The floors kept in ``file`` for ``key`` if they verify; None when there is no entry, or (with a
    warning naming ``file`` and the reason) when the entry is unusable: not a regular file, not a JSON
    object, rows that are not measurements, another key, or measurements that do not match their digest."""
    return read_entry(file, key, _FLOOR_ENTRY)


def write_floors(file: Path, key: dict[str, Any], rows: list[Measurement]) -> list[Measurement]:
    """Keep ``rows`` in ``file`` (atomically, with their digest); an unwritable cache folder is warned
    about once and nothing is kept. Returns the rows as plain JSON values (as they read back)."""
    from envs.storage.files import atomic_write_json, warn_unwritable

    rows = _plain(rows)
    try:
        atomic_write_json(file, entry(key, rows))
    except OSError as exc:
        warn_unwritable(file, exc, "the floors")
    return rows


# ----------------------------------------------------------------------------- computing them

def default_sources(config: TrainConfig) -> tuple[Any, Any]:
    """The evaluation's default sequence sources (train and test split, ``max(m_val) + 1`` views,
    ``eval.batch_size`` sequences a batch), as :func:`experiments.evaluate.runner.evaluate_model` makes them."""
    from experiments.pretrain.data import make_source

    e = config.eval
    data = dataclasses.replace(config.data, batch_size=e.batch_size)
    seq_len = max(int(m) for m in e.m_val) + 1
    return tuple(make_source(data, split, 0, 1, seq_len=seq_len, seed=config.seed)
                 for split in (e.train_split, e.test_split))


def compute_floors(config: TrainConfig) -> tuple[dict[str, Any] | None, list[Measurement]]:
    """The key and the floors of ``config``: read from the cache, else computed from its default sources
    (one model-free data pass) and kept there."""
    train_src, test_src = default_sources(config)
    key = floor_key(config, train_src, test_src)
    file = floor_file(config, key) if key is not None else None
    if file is not None and (rows := read_floors(file, key)) is not None:
        return key, rows
    e, ms = config.eval, sorted({int(m) for m in config.eval.m_val})
    train, test = (extract_data(src.batches(0), ms[-1], e.max_batches) for src in (train_src, test_src))
    rows = floor_measurements(train, test, ms, config.seed)
    return key, write_floors(file, key, rows) if file is not None else _plain(rows)


# ----------------------------------------------------------------------------- the background process

def spare_cores(threads: int) -> int:
    """CPU cores this process may use beyond ``threads`` (its training threads)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - threads)


def _watch_parent(parent: int) -> None:
    """End this process when its parent is gone (a killed run leaves no worker behind)."""
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(_PARENT_POLL_S)


def _child_main(argv: list[str]) -> None:
    """The background process (``python -m experiments.evaluate.floor_cache FD PARENT``): read a config
    dict as JSON from stdin, compute its floors and write ``{"ok": true, "key", "rows"}`` or
    ``{"ok": false, "error", "traceback"}`` as JSON to file descriptor ``FD``."""
    fd, parent = int(argv[0]), int(argv[1])
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        key, rows = compute_floors(config_from_dict(json.loads(sys.stdin.read())))
        message: dict[str, Any] = {"ok": True, "key": key, "rows": rows}
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, named
        message = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    with os.fdopen(fd, "wb") as fh:
        fh.write(json.dumps(message).encode())
    sys.stdout.flush(), sys.stderr.flush()
    os._exit(0)  # answered (the floors are on disk): no interpreter teardown to wait for


def _reap(proc: subprocess.Popen) -> None:
    """Wait for ``proc`` as soon as it ends (no zombie, even when nobody reads the job)."""
    proc.wait()


def _stop(proc: subprocess.Popen, fh: Any) -> None:
    """Terminate (then kill) ``proc`` if it still runs, wait for it and close ``fh``."""
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGTERM ends a Python process
                proc.kill()
        proc.wait()
    finally:
        fh.close()


class FloorJob:
    """The floors of ``config`` computed in a child process with ``threads`` torch/Numba/OpenMP threads.

    The child is a fresh interpreter (``python -m experiments.evaluate.floor_cache``; never a fork of
    a process whose Numba/torch threads run, and no re-import of the caller's ``__main__``). It keeps
    the floors in the cache itself. :meth:`result` waits for them and returns ``(key, rows)`` or
    raises :class:`FloorJobError` naming the failure; :meth:`close` stops the process. Open jobs are
    registered (:func:`pending_jobs`) so the evaluation can join them; the child is always waited for
    (a reaper thread), stopped when the job is closed or garbage-collected and at interpreter exit,
    and ends itself when its parent dies.
    """

    def __init__(self, config: TrainConfig, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.settings = _settings(config)
        read_fd, write_fd = os.pipe()
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the experiments package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")})
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "experiments.evaluate.floor_cache", str(write_fd), str(os.getpid())],
                stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env, close_fds=True)
        finally:
            os.close(write_fd)
        self._fh = os.fdopen(read_fd, "rb")
        self._outcome: dict[str, Any] | None = None
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(config_to_dict(config), default=str).encode())
            self._proc.stdin.close()
        except OSError:  # the child already ended: result() reports it
            pass
        threading.Thread(target=_reap, args=(self._proc,), name="saccade-floors-reaper", daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._fh)
        _JOBS.append(self)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def done(self) -> bool:
        """The result (or the failure) is ready without waiting."""
        return self._outcome is not None or self._proc.poll() is not None

    def result(self) -> tuple[dict[str, Any] | None, list[Measurement]]:
        """``(key, rows)`` of the floors, waiting for them as long as it takes.

        Raises:
            FloorJobError: the computation raised (its type, message and traceback) or the process
                ended without an answer (its exit code).
        """
        if self._outcome is None:
            try:
                text = self._fh.read()  # until the child closes its end: its answer, or nothing
                self._outcome = json.loads(text) if text else None
            except (OSError, ValueError):
                self._outcome = None
            if not isinstance(self._outcome, dict) or "ok" not in self._outcome:
                code = self._proc.wait()
                self._outcome = {"ok": False, "error": f"the process ended without an answer (exit code {code})"}
            try:
                self._proc.wait(10.0)  # it exits right after answering
            except subprocess.TimeoutExpired:  # pragma: no cover - then close() stops it
                pass
            self.close()
        if self._outcome["ok"]:
            return self._outcome["key"], self._outcome["rows"]
        detail = f"\n{self._outcome['traceback']}" if self._outcome.get("traceback") else ""
        raise FloorJobError(f"the background floor computation failed: {self._outcome['error']}{detail}")

    def close(self) -> None:
        """Stop the process (if it still runs), wait for it and forget the job."""
        self._finalizer()
        if self in _JOBS:
            _JOBS.remove(self)


_JOBS: list[FloorJob] = []


def _close_all() -> None:
    for job in list(_JOBS):
        job.close()


atexit.register(_close_all)


def pending_jobs() -> list[FloorJob]:
    """The background floor jobs of this process not read yet."""
    return list(_JOBS)


def start_floor_job(config: TrainConfig, world_size: int = 1, custom_sources: bool = False) -> FloorJob | None:
    """Start computing ``config``'s floors in the background, where that helps and can work; else None.

    Off when the run evaluates no floors (``eval.enabled`` / ``eval.floors``), under DDP
    (``world_size > 1``), with custom sources (``custom_sources``: the process could not rebuild
    them) and unless ``config.threads`` leaves a core spare (:func:`spare_cores`; ``threads: null``,
    torch's default, uses them all); the process gets the spare cores (at most
    :data:`MAX_JOB_THREADS`). ``$SACCADE_BACKGROUND_FLOORS``:
    ``0`` never, ``1`` also without a spare core (one thread). A cache entry already there makes the
    job a quick read.
    """
    mode = os.environ.get(BACKGROUND_ENV, "").strip()
    if mode not in ("", "0", "1"):
        raise ValueError(f"${BACKGROUND_ENV} must be 0, 1 or unset, got {mode!r}")
    if mode == "0" or not (config.eval.enabled and config.eval.floors) or world_size > 1 or custom_sources:
        return None
    spare = spare_cores(config.threads) if config.threads is not None else 0
    if spare < 1 and mode != "1":
        return None
    return FloorJob(config, threads=min(max(1, spare), MAX_JOB_THREADS))


# ----------------------------------------------------------------------------- the evaluation's side

class FloorPlan:
    """Where the evaluation of ``config`` gets its floors: the cache, a background job, or its own features.

    Made before the feature pass: :attr:`needs_features` says whether the pass must also extract the
    raw-pixel and colour features (no cache entry, no job); :meth:`rows` then returns the floors and
    keeps computed ones in the cache; :attr:`origin` then says where they came from.
    ``cacheable=False`` (custom sources) computes them from the features and keeps nothing.
    """

    def __init__(self, config: TrainConfig, train_src: Any, test_src: Any, cacheable: bool = True) -> None:
        self.config = config
        self.key = floor_key(config, train_src, test_src) if cacheable else None
        self.file = floor_file(config, self.key) if self.key is not None else None
        self.cached = read_floors(self.file, self.key) if self.file is not None else None
        self.job = None
        if self.key is not None:
            settings = _settings(config)
            self.job = next((job for job in pending_jobs() if job.settings == settings), None)
        during = self.job is not None and self.job.done()  # it answered (and kept them) during training
        self.origin = ("" if self.cached is None else f"computed in a background process during training (kept in "
                       f"{self.file})" if during else f"read from the cache ({self.file})")
        if self.cached is not None:
            self.job = None

    @property
    def needs_features(self) -> bool:
        """The floors must come from the evaluation's own features (raw pixels, colour histograms)."""
        return self.cached is None and self.job is None

    def rows(self, train: SplitFeatures, test: SplitFeatures, ms: list[int], seed: int) -> list[Measurement]:
        """The floors: kept ones, the joined job's (when its key is this evaluation's), or computed from
        ``train`` / ``test`` (or, when those lack the pixel features, by :func:`compute_floors`)."""
        if self.cached is not None:
            return self.cached
        if self.job is not None:
            try:
                key, rows = self.job.result()
            except FloorJobError as exc:
                warnings.warn(f"{exc}\ncomputing the floors in the evaluation instead", RuntimeWarning, stacklevel=2)
            else:
                if key == self.key:  # the process kept them in the cache
                    self.origin = f"computed in a background process during training (kept in {self.file})"
                    return rows
                warnings.warn("the background floors were of other data or settings; computing them here",
                              RuntimeWarning, stacklevel=2)
        if train.pixels.shape[-1]:
            rows = floor_measurements(train, test, ms, seed)
        else:
            rows = compute_floors(self.config)[1]
        self.origin = "computed here" + (f" (kept in {self.file})" if self.file is not None else "")
        return write_floors(self.file, self.key, rows) if self.file is not None else _plain(rows)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
