"""Checkpoints: round trip, atomic writes, clear errors on corrupt files, RNG capture."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import experiments.pretrain.checkpoint as ckpt
from experiments.pretrain.checkpoint import (
    CheckpointError,
    capture_rng,
    check_compatible,
    latest_checkpoint,
    load_checkpoint,
    periodic_name,
    restore_rng,
    save_checkpoint,
)


def _state(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"model": {"w": torch.randn(4, 3, generator=g), "b": torch.zeros(3)}, "step": 7 + seed,
            "epoch": 1, "batch": 2, "config": {"model": {"encoder": "convnet"}, "seed": seed, "m": [1, 2]}}


def test_round_trip(tmp_path: Path) -> None:
    state = _state()
    save_checkpoint(tmp_path / "sub" / "c.pt", state)
    back = load_checkpoint(tmp_path / "sub" / "c.pt")
    assert torch.equal(back["model"]["w"], state["model"]["w"])
    assert (back["step"], back["config"]) == (state["step"], state["config"])
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["c.pt"]  # no temp file left


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state(0))
    before = path.read_bytes()

    def broken_save(obj: object, f: object, *args: object, **kwargs: object) -> None:
        f.write(b"partial bytes of a checkpoint")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, _state(1))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 7


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_file_raises_clear_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state())
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "flip":
        data[len(data) // 3] ^= 0x01
    elif damage == "garbage":
        data = bytearray(b"not a checkpoint at all" * 10)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=str(path.name)):
        load_checkpoint(path)


def test_plain_torch_file_is_rejected_and_missing_file(tmp_path: Path) -> None:
    torch.save(_state(), tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="no integrity digest"):
        load_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_checkpoint_opens_with_plain_torch_load(tmp_path: Path) -> None:
    state = {**_state(), "rng": capture_rng()}
    save_checkpoint(tmp_path / "c.pt", state)
    plain = torch.load(tmp_path / "c.pt", weights_only=True)
    assert torch.equal(plain["model"]["w"], state["model"]["w"]) and plain["config"] == state["config"]
    assert load_checkpoint(tmp_path / "c.pt")["sha256"] == hashlib.sha256(
        (tmp_path / "c.pt").read_bytes()[:-79]).hexdigest()


@pytest.mark.parametrize("where", [0.0, 0.1, 0.5, 0.9, -30, -1])
def test_a_flipped_byte_anywhere_is_detected(tmp_path: Path, where: float) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"w": torch.randn(64, 64), "step": 3})
    data = bytearray(path.read_bytes())
    i = int(where * len(data)) if isinstance(where, float) else len(data) + where
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="c.pt"):
        load_checkpoint(path)


def test_state_that_plain_torch_load_would_refuse_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"state\['extra'\] is a ndarray"):
        save_checkpoint(tmp_path / "c.pt", {**_state(), "extra": np.zeros(3)})
    assert not list(tmp_path.iterdir())


def test_checkpoints_of_the_earlier_format_still_load(tmp_path: Path) -> None:
    payload = io.BytesIO()
    torch.save(_state(), payload)
    raw = payload.getvalue()
    path = tmp_path / "old.pt"
    path.write_bytes(b"SACCKPT1" + hashlib.sha256(raw).digest() + raw)
    assert load_checkpoint(path)["step"] == 7
    path.write_bytes(b"SACCKPT1" + hashlib.sha256(raw).digest() + raw[:-5])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_latest_checkpoint_prefers_last_then_highest_step(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path) is None
    for step in (50, 200, 1000):
        save_checkpoint(tmp_path / periodic_name(step), _state())
    assert latest_checkpoint(tmp_path) == tmp_path / periodic_name(1000)
    save_checkpoint(tmp_path / "ckpt_last.pt", _state())
    assert latest_checkpoint(tmp_path) == tmp_path / "ckpt_last.pt"


def test_check_compatible_names_the_keys_that_differ(tmp_path: Path) -> None:
    saved = {"model": {"embed_dim": 16}, "data": {"glimpse_size": 8}, "seed": 0}
    check_compatible(saved, dict(saved), tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match=r"data\.glimpse_size: 8 -> 16; resume"):
        check_compatible(saved, {**saved, "data": {"glimpse_size": 16}}, tmp_path / "c.pt")


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), draws=st.integers(1, 20))
def test_rng_capture_restores_every_generator(seed: int, draws: int) -> None:
    random.seed(seed), np.random.seed(seed % 2 ** 32), torch.manual_seed(seed)
    np.random.standard_normal()  # leaves a cached gaussian in the legacy state
    state = capture_rng()

    def sample() -> tuple:
        return (tuple(random.random() for _ in range(draws)), tuple(np.random.standard_normal(draws)),
                tuple(torch.rand(draws).tolist()))

    first = sample()
    restore_rng(state)
    assert sample() == first
    restore_rng(load_checkpoint_roundtrip(state))
    assert sample() == first


def load_checkpoint_roundtrip(state: dict) -> dict:
    """RNG states survive save/load with weights_only loading."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        save_checkpoint(Path(d) / "r.pt", {"rng": state})
        return load_checkpoint(Path(d) / "r.pt")["rng"]
