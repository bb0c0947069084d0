"""Pretraining script: end-to-end run on a fake source, exact resume, NaN guard, CLI, data helpers."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import torch
import yaml

from experiments.pretrain.checkpoint import (
    LAST_NAME,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from experiments.pretrain.config import (
    DataConfig,
    EvalConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
)
from experiments.pretrain.data import Prefetcher, iterate_batches, prepare_batch
from experiments.pretrain.cli import cli
from experiments.pretrain.cli import pretrain as main  # training with its end-of-training evaluation
from experiments.pretrain.probing import OnlineProbes




class FakeSource:
    """Same interface as ``experiments.pretrain.source.SequenceSource``, synthetic and cheap.

    Item ``k`` has class ``k % n_classes``; each glimpse is that class's channel pattern plus
    noise, so z_AGG can be classified. Batches depend only on (seed, epoch, batch, rank).
    """

    def __init__(self, n_items: int = 64, batch_size: int = 8, seq_len: int = 3, glimpse: int = 8,
                 channels: int = 3, n_classes: int = 4, seed: int = 0, rank: int = 0, world_size: int = 1,
                 labeled: bool = True) -> None:
        self.n_items, self.batch_size, self.seq_len, self.glimpse = n_items, batch_size, seq_len, glimpse
        self.channels, self.n_classes, self.action_dim = channels, n_classes, 2
        self.seed, self.rank, self.world_size, self.labeled = seed, rank, world_size, labeled
        self.mean, self.std = (0.5,) * channels, (0.25,) * channels
        self.patterns = np.random.default_rng(123).integers(0, 256, (n_classes, channels, glimpse, glimpse))

    def __len__(self) -> int:
        return (self.n_items // self.world_size) // self.batch_size

    def batches(self, epoch: int, start: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n_items)[self.rank::self.world_size]
        for b in range(start, len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            rng = np.random.default_rng([self.seed, epoch, b, self.rank])
            labels = idx % self.n_classes
            noise = rng.integers(-40, 41, (len(idx), self.seq_len, self.channels, self.glimpse, self.glimpse))
            glimpses = np.clip(self.patterns[labels][:, None] + noise, 0, 255).astype(np.uint8)
            positions = rng.random((len(idx), self.seq_len, 2)).astype(np.float32)
            actions = np.zeros_like(positions)
            actions[:, 1:] = positions[:, 1:] - positions[:, :-1]
            yield {"glimpses": torch.from_numpy(glimpses), "actions": torch.from_numpy(actions),
                   "positions": torch.from_numpy(positions),
                   "labels": torch.from_numpy(labels if self.labeled else -np.ones_like(labels)),
                   "indices": torch.from_numpy(idx.astype(np.int64))}

    @staticmethod
    def factory(config: TrainConfig, **kwargs: Any) -> Callable[[str, int, int, int], "FakeSource"]:
        def make(split: str, rank: int, world_size: int, seq_len: int) -> FakeSource:
            seed = config.seed + (0 if split == config.data.split else 1)
            return FakeSource(batch_size=config.data.batch_size, seq_len=seq_len, glimpse=config.data.glimpse_size,
                              seed=seed, rank=rank, world_size=world_size, **kwargs)
        return make


def tiny_config(out_dir: str | Path, **overrides: Any) -> TrainConfig:
    """A seconds-long CPU config (convnet encoder, 8 px glimpses, 2 observed views)."""
    values: dict[str, Any] = dict(
        run_name="tiny", out_dir=str(out_dir), device="cpu", total_steps=12, log_every=2, checkpoint_every=4,
        progress=False, deterministic=True,
        data=DataConfig(glimpse_size=8, seq_len=3, batch_size=8),
        model=ModelConfig(encoder="convnet", embed_dim=16, action_embed_dim=8, agg_heads=2, agg_layers=1,
                          agg_ffn=32, pred_hidden=32),
        optim=OptimConfig(lr=1e-3, warmup_epochs=0.5, probe_lr=1e-2),
        eval=EvalConfig(m_val=(1, 2), batch_size=32))
    values.update(overrides)
    return TrainConfig(**values)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / LAST_NAME)["model"]


def test_main_writes_run_folder(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    summary = main(cfg, source_factory=FakeSource.factory(cfg))
    run = tmp_path / "tiny"
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["encoder"] == "convnet"
    saved = json.loads((run / "summary.json").read_text())
    assert saved["steps"] == summary["steps"] == 12
    assert math.isfinite(saved["final_loss"]) and 0.0 <= saved["final_loss"] <= 2.0
    assert 0.0 <= saved["probe_acc"] <= 1.0 and math.isfinite(saved["probe_r2"])
    top1 = {(r["subject"], r["m"]): r["mean"] for r in saved["eval"]["summary"] if r["metric"] == "top1_z_agg"}
    assert {m for s, m in top1 if s == "trained"} == {1, 2}
    assert all(0.0 <= a <= 1.0 for a in top1.values())
    assert {"random_init", "raw_pixels", "colour_hist", "chance"} <= {s for s, _ in top1}
    assert (run / "eval" / "report.md").is_file() and (run / "eval" / "results.json").is_file()
    assert "z_AGG top-1, 2 views" in saved["eval"]["headline"]
    assert [row[0] for row in saved["loss_curve"]] == list(range(2, 13, 2))
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert (run / LAST_NAME).is_file()
    state = load_checkpoint(run / LAST_NAME)
    assert state["step"] == 12 and (state["epoch"], state["batch"]) == (1, 4)  # 8 batches per epoch
    assert any(k.startswith("target_encoder.") for k in state["model"])


def test_target_is_ema_of_encoder_and_keep_every(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, keep_every=4, eval=EvalConfig(enabled=False))
    main(cfg, source_factory=FakeSource.factory(cfg))
    run = tmp_path / "tiny"
    assert sorted(p.name for p in run.glob("ckpt_step*.pt")) == [f"ckpt_step{s:08d}.pt" for s in (4, 8, 12)]
    w = _weights(run)
    online = {k: v for k, v in w.items() if k.startswith("encoder.") and v.is_floating_point()}
    # EMA momentum ~0.996: target moved from the init but lags the online encoder
    assert any(not torch.equal(v, w["target_encoder." + k[len("encoder."):]]) for k, v in online.items())


def test_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    cfg_a = tiny_config(tmp_path / "a", eval=EvalConfig(enabled=False))
    main(cfg_a, source_factory=FakeSource.factory(cfg_a))
    cfg_b = dataclasses.replace(cfg_a, out_dir=str(tmp_path / "b"), stop_after=6, checkpoint_every=3)
    part = main(cfg_b, source_factory=FakeSource.factory(cfg_b))
    assert part["steps"] == 6 and load_checkpoint(tmp_path / "b/tiny" / LAST_NAME)["step"] == 6
    cfg_b = dataclasses.replace(cfg_b, stop_after=None)
    done = main(cfg_b, resume=True, source_factory=FakeSource.factory(cfg_b))
    assert done["steps"] == 12
    wa, wb = _weights(tmp_path / "a/tiny"), _weights(tmp_path / "b/tiny")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_resume_from_corrupt_checkpoint_raises(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, stop_after=4, eval=EvalConfig(enabled=False))
    main(cfg, source_factory=FakeSource.factory(cfg))
    ckpt = tmp_path / "tiny" / LAST_NAME
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        main(dataclasses.replace(cfg, stop_after=None), resume=True, source_factory=FakeSource.factory(cfg))
    ckpt.unlink()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        main(cfg, resume=True, source_factory=FakeSource.factory(cfg))


def test_resume_with_other_model_raises(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, stop_after=4, eval=EvalConfig(enabled=False))
    main(cfg, source_factory=FakeSource.factory(cfg))
    other = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, embed_dim=24))
    with pytest.raises(CheckpointError, match=r"model\.embed_dim: 16 -> 24"):
        main(other, resume=True, source_factory=FakeSource.factory(other))


def test_nan_loss_raises_with_step_and_keeps_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_config(tmp_path, eval=EvalConfig(enabled=False))
    import experiments.pretrain.train as pretrain

    real = pretrain.prediction_loss
    calls = {"n": 0}

    def flaky(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        loss = real(pred, target)
        return loss * float("nan") if calls["n"] == 7 else loss  # step index 6

    monkeypatch.setattr(pretrain, "prediction_loss", flaky)
    with pytest.raises(FloatingPointError, match="step 6"):
        main(cfg, source_factory=FakeSource.factory(cfg))
    state = load_checkpoint(tmp_path / "tiny" / LAST_NAME)
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_unlabeled_source_and_single_view(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, data=DataConfig(glimpse_size=8, seq_len=2, batch_size=8),
                      eval=EvalConfig(enabled=False))
    summary = main(cfg, source_factory=FakeSource.factory(cfg, labeled=False))
    assert math.isfinite(summary["final_loss"])
    assert math.isnan(summary["probe_acc"])  # no label seen


def test_online_probes_statistics() -> None:
    torch.manual_seed(0)
    probes = OnlineProbes(agg_dim=6, embed_dim=4, n_classes=3, action_dim=2)
    z_agg, z_views = torch.randn(5, 6), torch.randn(5, 3, 4, requires_grad=True)
    actions = torch.randn(5, 3, 2)
    actions[:, 0] = 0
    labels = torch.tensor([0, 2, -1, 1, -1])
    pairs = torch.tensor([[0, 2], [1, 0], [2, 1], [0, 1], [1, 2]])
    loss, stats = probes(z_agg, z_views.detach(), actions, labels, pairs)
    loss.backward()
    assert stats[1] == 3 and stats[2] == 5  # labeled items, pairs
    logits = probes.classifier(z_agg)
    keep = labels >= 0
    assert stats[0] == (logits.argmax(1)[keep] == labels[keep]).sum()
    positions = actions.cumsum(1)
    target = positions[torch.arange(5), pairs[:, 1]] - positions[torch.arange(5), pairs[:, 0]]
    assert torch.allclose(stats[5:7], target.sum(0), atol=1e-5)
    assert z_views.grad is None and probes.regressor.net.weight.grad is not None


def test_prepare_batch_normalises_on_device() -> None:
    src = FakeSource()
    batch = next(iter(src.batches(0)))
    mean, std = torch.tensor([0.1, 0.5, 0.9]), torch.tensor([0.2, 0.25, 0.5])
    x, a, y = prepare_batch(batch, torch.device("cpu"), mean, std, channels_last=True)
    ref = (batch["glimpses"].float() / 255 - mean.view(1, 1, 3, 1, 1)) / std.view(1, 1, 3, 1, 1)
    assert x.dtype == torch.float32 and torch.allclose(x, ref, atol=1e-5)
    assert x.reshape(-1, 3, 8, 8).is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(a, batch["actions"]) and torch.equal(y, batch["labels"])
    with pytest.raises(ValueError, match="mean and std"):
        prepare_batch(batch, torch.device("cpu"), mean[:2], std[:2])
    with pytest.raises(ValueError, match="uint8"):
        prepare_batch({**batch, "glimpses": batch["glimpses"].float()}, torch.device("cpu"), mean, std)


def test_prefetched_batches_keep_order_and_errors() -> None:
    src = FakeSource()
    plain = list(src.batches(1, start=2))
    ahead = list(iterate_batches(src, 1, start=2, prefetch=2))
    assert len(ahead) == len(plain) == len(src) - 2
    for p, q in zip(plain, ahead):
        assert torch.equal(p["indices"], q["indices"]) and torch.equal(p["glimpses"], q["glimpses"])

    def broken() -> Iterator[dict[str, torch.Tensor]]:
        yield from src.batches(0, start=len(src) - 1)
        raise ValueError("source failed")

    it = Prefetcher(broken(), depth=1)
    assert next(it)["glimpses"].dtype == torch.uint8
    with pytest.raises(ValueError, match="source failed"):
        next(it)
    early = Prefetcher(src.batches(0), depth=1)
    next(early)
    early.close()  # producer stops although batches are left
    early._thread.join(timeout=5)
    assert not early._thread.is_alive()
    with pytest.raises(ValueError, match="prefetch"):
        iterate_batches(src, 0, prefetch=-1)


def test_cli_overrides_and_resume_needs_run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import experiments.pretrain.train as pretrain

    seen: dict[str, Any] = {}
    monkeypatch.setattr(pretrain, "main", lambda config, run_dir=None, resume=False, overwrite=False,
                        end_of_training=None: seen.update(config=config, run_dir=run_dir, resume=resume,
                                                          overwrite=overwrite, end_of_training=end_of_training) or {})
    # None: the console-script wrapper calls sys.exit(cli()), and anything else would exit 1.
    assert cli(["--set", "optim.lr=2e-3", "--set", "data.scales=[1, 2]", "--run-dir", str(tmp_path)]) is None
    assert seen["config"].optim.lr == 2e-3 and seen["config"].data.scales == (1, 2)
    assert seen["config"].preset == "scenes_cpu" and seen["run_dir"] == str(tmp_path)
    assert seen["end_of_training"] is not None  # the command evaluates the finished model
    with pytest.raises(SystemExit):
        cli(["--resume"])
    save_checkpoint(tmp_path / "x.pt", {"a": 1})  # unrelated file does not count as a run config
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"run_name": "r", "seed": 7, "stop_after": 3,
                                                          "progress": False, "log_every": 5}))
    cli(["--resume", "--run-dir", str(tmp_path)])
    assert seen["config"].seed == 7 and seen["resume"] is True and seen["overwrite"] is False
    # run control of a resumed run comes from this command line, the rest from the run's config.yaml
    assert (seen["config"].stop_after, seen["config"].progress, seen["config"].log_every) == (None, True, 5)
    cli(["--resume", "--run-dir", str(tmp_path), "--set", "stop_after=9"])
    assert seen["config"].stop_after == 9
    cli(["--run-dir", str(tmp_path), "--overwrite"])
    assert seen["overwrite"] is True and seen["resume"] is False
    with pytest.raises(SystemExit):
        cli(["--resume", "--overwrite", "--run-dir", str(tmp_path)])


@pytest.mark.slow
def test_bench_train_small_smoke() -> None:
    from experiments.benchmarks.bench_train import run

    res = run(small=True, steps=1)
    assert [r["pipeline"] for r in res["rows"]] == ["ours", "paper-style"]
    for row in res["rows"]:
        assert row["sequences_per_s"] > 0 and 0.0 <= row["data_wait_frac"] <= 1.0
    assert res["ratios"]["throughput_ours_over_paper"] > 0


def test_format_summary_reads_like_a_report() -> None:
    from experiments.pretrain.cli import format_summary

    text = format_summary({"run_dir": "runs/x", "steps": 10, "first_loss": 0.9, "final_loss": 0.2, "probe_acc": 0.3,
                           "chance_acc": 0.1, "probe_r2": None, "sequences_per_s": 512.0,
                           "eval": {"headline": "z_AGG top-1, 4 views  0.500  0.300", "report": "runs/x/eval/report.md"}})
    assert "loss 0.900 -> 0.200" in text and "R^2 n/a" in text and "z_AGG top-1, 4 views  0.500" in text
    assert "runs/x/eval/report.md" in text


def test_module_entry_point_runs_and_rejects_unknown_fields() -> None:
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "experiments.pretrain", "--help"], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0 and "--resume" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "experiments.pretrain", "--set", "no_such_field=1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown field 'no_such_field'" in bad.stderr
