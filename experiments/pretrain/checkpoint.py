"""Atomic, integrity-checked training checkpoints and RNG-state capture.

File format (``.pt``): a plain ``torch.save`` file of a dict of plain values, so
``torch.load(path, weights_only=True)`` opens it; its zip comment holds the SHA-256 of every
byte before it (:mod:`seqjepa.serialization`). Writes go through
:func:`envs.storage.files.atomic_write`: a uniquely named temporary file in the same folder (pid +
random token), fsync'ed and then ``os.replace``'d over the target, so a crash, a SIGKILL or an
exception during a write leaves the previous checkpoint intact; temporary files of killed
writers are removed by a later save. Loading verifies the digest and raises
:class:`CheckpointError` naming the file on any mismatch: a run never silently restarts from
scratch. Files of the earlier ``SACCKPT1`` format are still read.

The state is a plain dict (see ``experiments.pretrain.train``): ``model`` (online + EMA target),
``optimizer``, ``probes``, ``probe_optimizer``, ``scaler``, ``step``, ``epoch``, ``batch``
(position inside the epoch), ``curve`` and ``probe_window`` (what the log is made of), ``rng``
(:func:`capture_rng`; every rank's in ``rng_per_rank``), ``config`` (resolved, as a dict) and
``pretrained`` (what :func:`seqjepa.load_pretrained` needs: architecture, preprocessing
statistics, env id and kwargs).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.storage.files import atomic_write
from seqjepa.serialization import CheckpointError, check_plain, read_checkpoint, write_checkpoint_file

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "capture_rng", "restore_rng",
           "latest_checkpoint", "check_compatible", "LAST_NAME", "periodic_name"]

LAST_NAME = "ckpt_last.pt"
_PERIODIC = re.compile(r"ckpt_step(\d+)\.pt")


def periodic_name(step: int) -> str:
    """File name of the kept checkpoint at ``step``: ``ckpt_step00001000.pt``."""
    return f"ckpt_step{step:08d}.pt"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write ``state`` (tensors, numbers, strings, lists, dicts) to ``path``.

    The file ends with its SHA-256 (checked on loading). The previous file at ``path`` stays
    untouched until the new one is complete on disk.

    Raises:
        TypeError: ``state`` holds something that is not a plain value (nothing is written).
    """
    path = Path(path)
    check_plain(state)  # before touching the disk
    return atomic_write(path, lambda fh: write_checkpoint_file(fh, state))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and verify a checkpoint written by :func:`save_checkpoint` (the file's hex SHA-256
    comes back under ``"sha256"``).

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: truncated, corrupt or foreign file, digest missing or mismatched.
    """
    return read_checkpoint(path, map_location=map_location)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """``ckpt_last.pt`` in ``run_dir``, else the highest-step ``ckpt_step*.pt``, else None."""
    run_dir = Path(run_dir)
    if (run_dir / LAST_NAME).is_file():
        return run_dir / LAST_NAME
    kept = [(int(m.group(1)), p) for p in run_dir.glob("ckpt_step*.pt")
            if (m := _PERIODIC.fullmatch(p.name)) and p.is_file()]  # a FIFO or folder by that name is not one
    return max(kept)[1] if kept else None


def check_compatible(saved: dict[str, Any], current: dict[str, Any], path: str | Path,
                     keys: tuple[str, ...] = ("model", "data", "seed"), ignore: tuple[str, ...] = ()) -> None:
    """Raise :class:`CheckpointError` if a checkpoint's config differs from the run's in ``keys``.

    ``ignore`` lists dotted keys inside those sections that may differ (run control such as
    ``"data.prefetch"``: how the data is fed, not what is learned).
    """
    missing = object()
    old = _flatten({k: saved.get(k, missing) for k in keys})
    new = _flatten({k: current.get(k, missing) for k in keys})
    diffs = [f"{k}: {_show(old.get(k, missing), missing)} -> {_show(new.get(k, missing), missing)}"
             for k in sorted(set(old) | set(new)) if k not in ignore and old.get(k, missing) != new.get(k, missing)]
    if diffs:
        more = f" (and {len(diffs) - 5} more)" if len(diffs) > 5 else ""
        raise CheckpointError(f"{path} was written with another config: {'; '.join(diffs[:5])}{more}; "
                              f"resume with the run's own config.yaml")


def _flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """``{"data": {"dataset": "x"}}`` -> ``{"data.dataset": "x"}`` (non-dict values are leaves)."""
    if not isinstance(values, dict) or not values and prefix:
        return {prefix.rstrip("."): values}
    out: dict[str, Any] = {}
    for key, value in values.items():
        out.update(_flatten(value, f"{prefix}{key}."))
    return out


def _show(value: Any, missing: object) -> str:
    text = "(absent)" if value is missing else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
