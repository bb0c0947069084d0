"""The process's place in a torchrun job, resolved once (CPU/gloo or CUDA/NCCL)."""

from __future__ import annotations

import dataclasses
import os

import torch
import torch.distributed as dist

__all__ = ["Dist", "init_distributed", "barrier"]


@dataclasses.dataclass(frozen=True)
class Dist:
    """This process's place in the job (``world_size = 1`` without torchrun)."""

    rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_spec: str) -> tuple[Dist, torch.device]:
    """Read torchrun's env vars, init the process group when WORLD_SIZE > 1, resolve the device once."""
    world, local = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("LOCAL_RANK", "0"))
    if device_spec == "auto":
        device_spec = "cuda" if torch.cuda.is_available() else "cpu"
    if device_spec.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device_spec!r} but CUDA is not available; use 'auto' or 'cpu'")
    device = torch.device(f"cuda:{local}" if device_spec == "cuda" and world > 1 else device_spec)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if dist.is_initialized():
        return Dist(dist.get_rank(), dist.get_world_size()), device
    return Dist(), device


def barrier(d: Dist) -> None:
    """Wait for every rank (no-op in a single process)."""
    if d.world_size > 1:
        dist.barrier()
