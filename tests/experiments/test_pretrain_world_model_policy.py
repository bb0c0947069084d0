"""Pretraining with ``data.policy: world_model``: a second round on the scanpaths a first checkpoint chooses."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.world_model import BatchedWorldModelAgent
from experiments.pretrain.checkpoint import LAST_NAME
from experiments.pretrain.config import DataConfig, EvalConfig
from experiments.pretrain.data import describe_policy, make_source
from experiments.pretrain.train import main
from seqjepa import load_pretrained
from tests.experiments.test_pretrain import tiny_config


def _data(tmp: Path, **kw: Any) -> DataConfig:
    return DataConfig(**{**dict(glimpse_size=8, scales=(1, 2), seq_len=4, batch_size=8, n_train=16, n_test=8,
                                root=str(tmp / "data"), scene_style="simple", max_objects=1, ior_radius=4), **kw})


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Round one: a 2-step pretraining run on the saliency policy."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("round1")
    main(tiny_config(tmp, data=_data(tmp), total_steps=2, checkpoint_every=2, eval=EvalConfig(enabled=False)))
    return tmp, tmp / "tiny" / LAST_NAME


def test_second_round_runs_on_the_first_models_scanpaths(first: tuple[Path, Path], tmp_path: Path) -> None:
    tmp, ckpt = first
    data = _data(tmp, policy="world_model", policy_checkpoint=str(ckpt))
    source = make_source(data, seed=0)
    assert isinstance(source.agent, BatchedWorldModelAgent) and source.agent.layout == "sample"
    batch = next(iter(source.batches(0)))
    assert batch["glimpses"].shape == (8, 4, 6, 8, 8) and torch.all(batch["actions"][:, 0] == 0)
    # the last move of every sequence is the world model's choice at that step
    np.testing.assert_allclose(batch["actions"][:, -1].numpy(), source.agent.last_plan.action, atol=1e-6)
    assert "world model" in describe_policy(data)
    cfg = tiny_config(tmp_path, data=data, total_steps=2, checkpoint_every=2, eval=EvalConfig(enabled=False))
    main(cfg)
    _, meta = load_pretrained(tmp_path / "tiny" / LAST_NAME)
    assert meta["policy"]["policy"] == "world_model" and meta["policy"]["checkpoint"] == str(ckpt)


def test_bad_policy_checkpoints_are_refused_before_any_env(first: tuple[Path, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tmp, ckpt = first

    def config(**kw: Any) -> Any:
        return tiny_config(tmp_path, data=_data(tmp, **kw), total_steps=2, eval=EvalConfig(enabled=False))

    with pytest.raises(ValueError, match=r"^data.policy_checkpoint: data.policy 'world_model' needs the path"):
        config(policy="world_model").validate()
    with pytest.raises(ValueError, match=r"^data.policy_checkpoint '.*missing.pt' is not a checkpoint file"):
        config(policy="world_model", policy_checkpoint=str(tmp_path / "missing.pt")).validate()
    config(policy="saliency", policy_checkpoint=str(tmp_path / "gone.pt")).validate()  # ignored by other policies
    import gymnasium as gym
    monkeypatch.setattr(gym, "make_vec", lambda *a, **k: pytest.fail("an env was built before the checkpoint check"))
    other = dataclasses.replace(_data(tmp), glimpse_size=12, policy="world_model", policy_checkpoint=str(ckpt))
    with pytest.raises(ValueError, match=r"^data.policy_checkpoint: the checkpoint was trained on Saccade-Scenes-v0 "
                                         r".*other glimpse size"):
        make_source(other)
    stl = dataclasses.replace(other, dataset="stl10", glimpse_size=8)
    with pytest.raises(ValueError, match=r"^data.policy_checkpoint: .*Saccade-STL10-v0.*other world"):
        make_source(stl)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"^data.policy_checkpoint .*junk.pt is not a seq-JEPA checkpoint"):
        make_source(dataclasses.replace(other, glimpse_size=8, policy_checkpoint=str(tmp_path / "junk.pt")))
