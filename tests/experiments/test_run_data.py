"""A run's data is never lost: finished runs keep their summary, fresh runs do not replace a run,
stop_after does not stick on resume, and the log after stop/crash + resume is the uninterrupted one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import experiments.pretrain.train as pretrain
from experiments.pretrain.checkpoint import LAST_NAME, load_checkpoint
from experiments.pretrain.config import EvalConfig, dump_config
from experiments.pretrain.cli import cli
from experiments.pretrain.cli import pretrain as main  # training with its end-of-training evaluation
from tests.experiments.test_pretrain import FakeSource, tiny_config

TB_TAGS = ("loss", "lr", "ema_momentum", "probe_acc", "probe_r2", "grad_norm")  # not sequences_per_s: timing


class _Crash(Exception):
    """Stands for a process killed in the middle of a step."""


def _summary(run: Path) -> dict[str, Any]:
    return json.loads((run / "summary.json").read_text())


def _scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """TensorBoard scalars of a run folder as TensorBoard shows them (purged events left out)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(f"train/{tag}")] for tag in TB_TAGS}


def test_resuming_a_finished_run_keeps_or_rebuilds_its_summary(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    main(cfg, source_factory=FakeSource.factory(cfg))
    run = tmp_path / "tiny"
    before = (run / "summary.json").read_text()
    good = json.loads(before)
    assert good["final_loss"] is not None and good["eval"]
    again = main(cfg, resume=True, source_factory=FakeSource.factory(cfg))
    assert (run / "summary.json").read_text() == before  # not rewritten
    assert again == good
    # a run that finished but lost its summary (e.g. a crash in the final evaluation) gets it back in full
    (run / "summary.json").unlink()
    rebuilt = main(cfg, resume=True, source_factory=FakeSource.factory(cfg))
    for key in ("steps", "first_loss", "final_loss", "probe_acc", "probe_r2", "loss_curve"):
        assert rebuilt[key] == good[key], key
    assert rebuilt["eval"] and _summary(run)["final_loss"] == good["final_loss"]


def test_fresh_run_refuses_a_folder_holding_a_run_before_preparing_data(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, stop_after=4, eval=EvalConfig(enabled=False))
    main(cfg, source_factory=FakeSource.factory(cfg))
    run = tmp_path / "tiny"
    old = load_checkpoint(run / LAST_NAME)["model"]
    calls: list[str] = []

    def counting(split: str, rank: int, world: int, seq_len: int) -> FakeSource:
        calls.append(split)
        return FakeSource.factory(other)(split, rank, world, seq_len)

    other = dataclasses.replace(cfg, seed=1)
    with pytest.raises(FileExistsError, match=r"already holds a run \(ckpt_last.pt, summary.json, tb/\).*--resume"
                                              r".*--overwrite"):
        main(other, source_factory=counting)
    assert calls == []  # refused before any data preparation
    assert all(torch.equal(v, load_checkpoint(run / LAST_NAME)["model"][k]) for k, v in old.items())
    with pytest.raises(ValueError, match="not both"):
        main(other, resume=True, overwrite=True, source_factory=counting)

    (run / "ckpt_step00000002.pt").write_bytes(b"old kept checkpoint")
    events_before = sorted(p.name for p in (run / "tb").iterdir())
    summary = main(other, overwrite=True, source_factory=counting)
    assert summary["steps"] == 4 and calls
    assert not (run / "ckpt_step00000002.pt").exists()
    assert not set(events_before) & {p.name for p in (run / "tb").iterdir()}  # old events removed
    new = load_checkpoint(run / LAST_NAME)
    assert new["config"]["seed"] == 1 and any(not torch.equal(v, new["model"][k]) for k, v in old.items())
    assert [s for s, *_ in _scalars(run)["loss"]] == [2, 4]

    # a folder with only a config in it is no run yet
    lone = tmp_path / "lone"
    lone.mkdir()
    dump_config(cfg, lone / "config.yaml")
    assert main(cfg, run_dir=lone, source_factory=FakeSource.factory(cfg))["steps"] == 4


def test_cli_refuses_an_existing_run_and_overwrites_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _fake_data(monkeypatch)
    cfg = tiny_config(tmp_path, stop_after=2, eval=EvalConfig(enabled=False))
    dump_config(cfg, tmp_path / "tiny.yaml")
    cli(["--config", str(tmp_path / "tiny.yaml"), "--run-dir", str(tmp_path / "r")])
    with pytest.raises(SystemExit):
        cli(["--config", str(tmp_path / "tiny.yaml"), "--run-dir", str(tmp_path / "r")])
    assert "--overwrite" in capsys.readouterr().err
    cli(["--config", str(tmp_path / "tiny.yaml"), "--run-dir", str(tmp_path / "r"), "--overwrite"])
    assert _summary(tmp_path / "r")["steps"] == 2


def _fake_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's default sequence source, replaced by the cheap synthetic one."""
    def make_source(cfg: Any, split: str, rank: int, world: int, seq_len: int, seed: int) -> FakeSource:
        return FakeSource(batch_size=cfg.batch_size, seq_len=seq_len, glimpse=cfg.glimpse_size,
                          seed=seed + (0 if split == cfg.split else 1), rank=rank, world_size=world)

    monkeypatch.setattr(pretrain, "make_source", make_source)


def test_stop_after_does_not_stick_on_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_data(monkeypatch)
    cfg = tiny_config(tmp_path, eval=EvalConfig(enabled=False))
    dump_config(cfg, tmp_path / "tiny.yaml")
    run = tmp_path / "run"
    cli(["--config", str(tmp_path / "tiny.yaml"), "--run-dir", str(run), "--set", "stop_after=6",
         "--set", "data.prefetch=0"])
    assert _summary(run)["steps"] == 6
    assert yaml.safe_load((run / "config.yaml").read_text())["stop_after"] == 6
    # the run's own config.yaml says stop_after: 6 (and prefetch 0); this command line says neither
    cli(["--resume", "--run-dir", str(run)])
    assert _summary(run)["steps"] == 12 and load_checkpoint(run / LAST_NAME)["step"] == 12
    assert yaml.safe_load((run / "config.yaml").read_text())["stop_after"] is None


@pytest.mark.parametrize("interruption", ["stop", "crash"])
def test_log_after_resume_is_the_uninterrupted_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   interruption: str) -> None:
    cfg = tiny_config(tmp_path / "a", eval=EvalConfig(enabled=False), probe_window=3, checkpoint_every=4)
    main(cfg, source_factory=FakeSource.factory(cfg))
    ref = tmp_path / "a" / "tiny"

    b = dataclasses.replace(cfg, out_dir=str(tmp_path / "b"))
    if interruption == "stop":  # stop at 5: off the log grid (every 2) and off the checkpoint grid
        main(dataclasses.replace(b, stop_after=5), source_factory=FakeSource.factory(b))
    else:  # a crash at step 7 after logging step 6: the resume goes back to the checkpoint at step 4
        real, calls = pretrain.prediction_loss, {"n": 0}

        def crashing(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            calls["n"] += 1
            if calls["n"] == 8:
                raise _Crash
            return real(pred, target)

        monkeypatch.setattr(pretrain, "prediction_loss", crashing)
        with pytest.raises(_Crash):
            main(b, source_factory=FakeSource.factory(b))
        monkeypatch.undo()
        assert load_checkpoint(tmp_path / "b" / "tiny" / LAST_NAME)["step"] == 4
    main(b, resume=True, source_factory=FakeSource.factory(b))
    run = tmp_path / "b" / "tiny"

    want, got = _summary(ref), _summary(run)
    assert got["loss_curve"] == want["loss_curve"]
    assert [row[0] for row in got["loss_curve"]] == [2, 4, 6, 8, 10, 12]
    for key in ("first_loss", "final_loss", "probe_acc", "probe_r2"):
        assert got[key] == want[key], key
    if interruption == "stop":  # a crash may lose unflushed events of the last, uncheckpointed steps
        assert _scalars(run) == _scalars(ref)
    else:
        assert [s for s, _ in _scalars(run)["loss"]] == [2, 4, 6, 8, 10, 12]  # the crashed 6 is purged
