"""What a pretraining run folder holds, and guarding it: a run's data is never replaced silently.

A run folder (``<out_dir>/<run_name>``) holds ``config.yaml``, checkpoints (``ckpt_last.pt``,
``ckpt_step*.pt``), TensorBoard events (``tb/``) and ``summary.json``. A fresh run refuses a
folder that already holds run data unless told to overwrite it (then the old data is removed
first); a resumed run keeps it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch.distributed as dist

from experiments.pretrain.distributed import Dist, barrier

__all__ = ["SUMMARY_NAME", "TB_NAME", "existing_run_data", "clear_run_data", "claim_run_dir", "read_summary",
           "kept_summary", "write_summary"]

SUMMARY_NAME = "summary.json"
TB_NAME = "tb"


def existing_run_data(run_dir: str | Path) -> list[str]:
    """Names of the run data in ``run_dir`` (checkpoints, ``summary.json``, a non-empty ``tb/``), sorted."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [p.name for p in run_dir.glob("ckpt_*.pt")]
    if (run_dir / SUMMARY_NAME).exists():
        found.append(SUMMARY_NAME)
    tb = run_dir / TB_NAME
    if tb.is_dir() and any(tb.iterdir()):
        found.append(TB_NAME + "/")
    return sorted(found)


def clear_run_data(run_dir: str | Path) -> None:
    """Remove the run data :func:`existing_run_data` lists (``config.yaml`` and other files stay)."""
    run_dir = Path(run_dir)
    for name in existing_run_data(run_dir):
        path = run_dir / name.rstrip("/")
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def claim_run_dir(run_dir: Path, d: Dist, overwrite: bool = False) -> None:
    """Make ``run_dir`` ready for a fresh run (rank 0 decides and clears; every rank agrees).

    Raises:
        FileExistsError: ``run_dir`` holds run data and ``overwrite`` is False.
    """
    found = [existing_run_data(run_dir) if d.main else []]
    if d.world_size > 1:
        dist.broadcast_object_list(found, src=0)
    if found[0] and not overwrite:
        raise FileExistsError(
            f"run folder {run_dir} already holds a run ({', '.join(found[0])}); a fresh run would replace it. "
            f"Continue it with --resume (main(..., resume=True)), pick another --run-dir or run_name, or "
            f"replace it with --overwrite (main(..., overwrite=True))")
    if found[0] and d.main:
        clear_run_data(run_dir)
    barrier(d)


def kept_summary(run_dir: Path, steps: int, d: Dist) -> dict[str, Any] | None:
    """Rank 0's ``summary.json`` of ``steps`` steps, on every rank (with its own ``rank``), else None."""
    kept = [read_summary(run_dir, steps=steps) if d.main else None]
    if d.world_size > 1:
        dist.broadcast_object_list(kept, src=0)
    return None if kept[0] is None else {**kept[0], "rank": d.rank}


def read_summary(run_dir: str | Path, steps: int | None = None) -> dict[str, Any] | None:
    """The run's ``summary.json`` (only if it reports ``steps`` steps, when given), else None."""
    from experiments.outputs import read_json_file

    try:
        summary = read_json_file(Path(run_dir) / SUMMARY_NAME, "a run summary")  # never opens a FIFO
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or (steps is not None and summary.get("steps") != steps):
        return None
    return summary


def write_summary(run_dir: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` (through a temporary file, so a crash never leaves half a summary)."""
    from envs.storage.files import atomic_write

    data = json.dumps(summary, indent=2).encode()
    return atomic_write(Path(run_dir) / SUMMARY_NAME, lambda fh: fh.write(data))
