"""Two CPU processes (gloo) train with DistributedDataParallel: replicas must stay identical,
also in the no-action ablation (an action embedding that gets no gradient)."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from experiments.pretrain.checkpoint import load_checkpoint
from experiments.pretrain.config import EvalConfig
from seqjepa import SeqJEPA
from tests.experiments.test_pretrain import FakeSource, tiny_config

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str, no_actions: bool) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(WORLD),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import experiments.pretrain.train as pretrain

    built = []

    class Recording(pretrain.SeqJEPA):  # keeps a handle on this rank's own replica
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    pretrain.SeqJEPA = Recording
    cfg = tiny_config(out, total_steps=6, checkpoint_every=3, eval=EvalConfig(enabled=False))
    cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, grad_clip=1.0))
    if no_actions:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, condition_aggregator=False,
                                                                 condition_predictor=False))
    try:
        summary = pretrain.main(cfg, source_factory=FakeSource.factory(cfg))
        seen = [b["indices"] for b in FakeSource(rank=rank, world_size=WORLD).batches(0)]
        torch.save({"model": built[0].state_dict(), "indices": torch.cat(seen),
                    "world_size": summary["world_size"], "steps": summary["steps"]},
                   Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("no_actions", [False, True], ids=["actions", "no-action-ablation"])
def test_two_process_replicas_agree(tmp_path: Path, no_actions: bool) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path), no_actions), nprocs=WORLD, join=True)
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
    saved = load_checkpoint(tmp_path / "tiny" / "ckpt_last.pt")["model"]
    assert saved["encoder.head.weight"].equal(m0["encoder.head.weight"])
    if no_actions:  # the action embedding got no gradient: it is still the initial one
        cfg = tiny_config(tmp_path)
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, condition_aggregator=False,
                                                                 condition_predictor=False))
        torch.manual_seed(cfg.seed)
        init = SeqJEPA(cfg.seqjepa_config(3, 2)).state_dict()
        emb = [k for k in init if k.startswith("action_embed.")]
        assert emb and all(torch.equal(saved[k], init[k]) for k in emb)
        assert not torch.equal(saved["encoder.head.weight"], init["encoder.head.weight"])
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["ckpt_last.pt", "config.yaml",
                                                                     "summary.json", "tb"]


def _resume_worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(WORLD),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import experiments.pretrain.train as pretrain

    cfg = tiny_config(Path(out) / "a", total_steps=8, checkpoint_every=4, probe_window=3,
                      eval=EvalConfig(enabled=False))
    try:
        whole = pretrain.main(cfg, source_factory=FakeSource.factory(cfg))
        b = dataclasses.replace(cfg, out_dir=str(Path(out) / "b"))
        pretrain.main(dataclasses.replace(b, stop_after=3), source_factory=FakeSource.factory(b))
        resumed = pretrain.main(b, resume=True, source_factory=FakeSource.factory(b))
        torch.save({"whole": whole["loss_curve"], "resumed": resumed["loss_curve"]}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_stop_and_resume_keeps_the_log(tmp_path: Path) -> None:
    """Every rank's running probe window and RNG states go into the checkpoint and come back on resume."""
    mp.spawn(_resume_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    for rank in range(WORLD):
        curves = torch.load(tmp_path / f"rank{rank}.pt")
        assert [row[0] for row in curves["whole"]] == [2, 4, 6, 8]
        assert curves["resumed"] == curves["whole"], rank
    a, b = (load_checkpoint(tmp_path / run / "tiny" / "ckpt_last.pt") for run in ("a", "b"))
    assert b["probe_window"].shape[:2] == (WORLD, 3) and not torch.equal(b["probe_window"][0], b["probe_window"][1])
    assert len(b["rng_per_rank"]) == WORLD
    for k, v in a["model"].items():  # dropout of every rank continued as in the uninterrupted run
        assert torch.equal(v, b["model"][k]), k
