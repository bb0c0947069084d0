"""Atomic, integrity-checked training checkpoints and RNG-state capture.

File format (``.pt``): the 8-byte magic ``SACCKPT1``, the 32-byte SHA-256 of the payload,
then the payload, a ``torch.save`` zip archive of the state dict. Writes go to a temporary
file in the same folder, are fsync'ed and then ``os.replace``'d over the target, so a crash
or an exception during a write leaves the previous checkpoint intact. Loading verifies the
magic and the digest and raises :class:`CheckpointError` naming the file on any mismatch:
a run never silently restarts from scratch.

The state is a plain dict (see ``experiments.pretrain``): ``model`` (online + EMA target),
``optimizer``, ``probes``, ``probe_optimizer``, ``scaler``, ``step``, ``epoch``, ``batch``
(position inside the epoch), ``rng`` (:func:`capture_rng`), ``config`` (resolved, as a dict).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "capture_rng", "restore_rng",
           "latest_checkpoint", "check_compatible", "LAST_NAME", "periodic_name"]

MAGIC = b"SACCKPT1"
LAST_NAME = "ckpt_last.pt"
_PERIODIC = re.compile(r"ckpt_step(\d+)\.pt$")


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, corrupt or does not match the run."""


def periodic_name(step: int) -> str:
    """File name of the kept checkpoint at ``step``: ``ckpt_step00001000.pt``."""
    return f"ckpt_step{step:08d}.pt"


class _HashingWriter:
    """File-like that writes through to ``fh`` and hashes what passes."""

    def __init__(self, fh: Any) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write ``state`` (tensors, numbers, strings, lists, dicts) to ``path``.

    The previous file at ``path`` stays untouched until the new one is complete on disk.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + bytes(32))
            writer = _HashingWriter(fh)
            torch.save(state, writer)
            fh.seek(len(MAGIC))
            fh.write(writer.digest.digest())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # some filesystems do not support fsync on directories
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and verify a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: wrong magic, truncated file, digest mismatch or unreadable payload.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    data = path.read_bytes()
    head = len(MAGIC) + 32
    if len(data) < head or data[:len(MAGIC)] != MAGIC:
        raise CheckpointError(f"{path} is not a saccade-pretrain checkpoint (bad header); "
                              f"refusing to resume from it")
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):head]:
        raise CheckpointError(f"{path} is corrupt or truncated (SHA-256 mismatch, {len(data)} bytes); "
                              f"refusing to resume from it")
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file named
        raise CheckpointError(f"{path}: cannot unpickle checkpoint payload: {exc}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint payload must be a dict, got {type(state).__name__}")
    return state


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """``ckpt_last.pt`` in ``run_dir``, else the highest-step ``ckpt_step*.pt``, else None."""
    run_dir = Path(run_dir)
    if (run_dir / LAST_NAME).is_file():
        return run_dir / LAST_NAME
    kept = [(int(m.group(1)), p) for p in run_dir.glob("ckpt_step*.pt")
            if (m := _PERIODIC.search(p.name))]
    return max(kept)[1] if kept else None


def check_compatible(saved: dict[str, Any], current: dict[str, Any], path: str | Path,
                     keys: tuple[str, ...] = ("model", "data", "seed")) -> None:
    """Raise :class:`CheckpointError` if a checkpoint's config differs from the run's in ``keys``."""
    for key in keys:
        if saved.get(key) != current.get(key):
            raise CheckpointError(f"{path} was written with {key}={saved.get(key)!r}, but this run has "
                                  f"{key}={current.get(key)!r}; resume with the run's own config.yaml")


def capture_rng() -> dict[str, Any]:
    """States of Python's, NumPy's (global), torch's CPU and every CUDA generator."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached": float(cached)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
