"""Two CPU processes (gloo) train with DistributedDataParallel: replicas must stay identical."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from experiments.config import EvalConfig
from tests.experiments.test_pretrain import FakeSource, tiny_config

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(WORLD),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import experiments.pretrain as pretrain

    built = []

    class Recording(pretrain.SeqJEPA):  # keeps a handle on this rank's own replica
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    pretrain.SeqJEPA = Recording
    cfg = tiny_config(out, total_steps=6, checkpoint_every=3, eval=EvalConfig(enabled=False))
    cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, grad_clip=1.0))
    try:
        summary = pretrain.main(cfg, source_factory=FakeSource.factory(cfg))
        seen = [b["indices"] for b in FakeSource(rank=rank, world_size=WORLD).batches(0)]
        torch.save({"model": built[0].state_dict(), "indices": torch.cat(seen),
                    "world_size": summary["world_size"], "steps": summary["steps"]},
                   Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_replicas_agree(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    states = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    # every rank read its own shard
    assert not set(states[0]["indices"].tolist()) & set(states[1]["indices"].tolist())
    assert [(s["world_size"], s["steps"]) for s in states] == [(WORLD, 6)] * WORLD
    m0, m1 = states[0]["model"], states[1]["model"]
    params = [k for k in m0 if "running_" not in k and "num_batches" not in k]
    assert any(k.startswith("target_encoder.") for k in params)
    for k in params:
        assert torch.equal(m0[k], m1[k]), k
    # only rank 0 wrote the run folder, and its checkpoint holds the same weights
    from experiments.checkpoint import load_checkpoint

    saved = load_checkpoint(tmp_path / "tiny" / "ckpt_last.pt")["model"]
    assert saved["encoder.head.weight"].equal(m0["encoder.head.weight"])
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["ckpt_last.pt", "config.yaml",
                                                                     "summary.json", "tb"]
