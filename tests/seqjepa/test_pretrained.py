"""represent() and load_pretrained() on hand-made checkpoints (torch only: no env, no experiments)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqjepa import CheckpointError, SeqJEPA, load_pretrained, pretrained_meta
from seqjepa.serialization import write_checkpoint_file
from tests.seqjepa.conftest import tiny_model

S, C, G, T = 2, 3, 8, 4
MEAN = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
STD = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45]


def _model() -> SeqJEPA:
    model = tiny_model(in_channels=S * C)
    model.set_input_stats(MEAN, STD)
    return model


def _episodes(b: int = 3, t: int = T, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [B, T, S, G, G, C] glimpses and float32 [B, T, 2] actions, as an env hands them out."""
    rng = np.random.default_rng(seed)
    glimpses = rng.integers(0, 256, (b, t, S, G, G, C), dtype=np.uint8)
    actions = (rng.random((b, t, 2)) - 0.5).astype(np.float32)
    actions[:, 0] = 0
    return glimpses, actions


def _normalised(glimpses: np.ndarray) -> torch.Tensor:
    """The training layout [B, T, S*C, G, G] and normalisation, written out independently."""
    b, t, s, g, _, c = glimpses.shape
    x = torch.from_numpy(glimpses.astype(np.float32) / 255.0).permute(0, 1, 2, 5, 3, 4)  # [B, T, S, C, G, G]
    x = x.reshape(b, t, s * c, g, g)
    return (x - torch.tensor(MEAN).view(1, 1, -1, 1, 1)) / torch.tensor(STD).view(1, 1, -1, 1, 1)


def test_represent_shapes_and_equality_with_the_model_parts() -> None:
    model = _model()
    glimpses, actions = _episodes()
    out = model.represent(glimpses, actions)
    d, e = model.config.embed_dim, model.config.action_embed_dim
    assert set(out) == {"z_agg", "z_views"}
    assert out["z_agg"].shape == (3, d + e) and out["z_views"].shape == (3, T, d)
    assert out["z_agg"].dtype == torch.float32 and not out["z_agg"].requires_grad
    assert model.training  # the mode is restored
    model.eval()
    with torch.no_grad():
        x = _normalised(glimpses)
        z = model.encode(x)
        agg = model.aggregate(z, torch.from_numpy(actions))
        fwd = model(torch.cat([x, x[:, :1]], 1), torch.cat([torch.from_numpy(actions)] * 2, 1)[:, :T + 1],
                    n_observed=T)
    torch.testing.assert_close(out["z_views"], z, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out["z_agg"], agg, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out["z_agg"], fwd.z_agg, atol=1e-5, rtol=1e-5)
    same = model.represent(torch.from_numpy(glimpses), torch.from_numpy(actions).double())  # tensors too
    torch.testing.assert_close(same["z_agg"], out["z_agg"])


def test_represent_is_deterministic_in_train_mode_too() -> None:
    model = _model().train()  # dropout on in train mode: represent must switch it off
    glimpses, actions = _episodes()
    a, b = model.represent(glimpses, actions), model.represent(glimpses, actions)
    assert torch.equal(a["z_agg"], b["z_agg"]) and model.training


@pytest.mark.parametrize("which, bad, match", [
    ("glimpses", lambda g: g.astype(np.float32), r"glimpses must be uint8 \[B, T, S, G, G, C\] with S\*C = 6"),
    ("glimpses", lambda g: g[:, :, 0], r"glimpses must be uint8 \[B, T, S, G, G, C\]"),
    ("glimpses", lambda g: g[..., :2], r"glimpses must be .* S\*C = 6.*\(3, 4, 2, 8, 8, 2\)"),
    ("glimpses", lambda g: g.tolist(), r"glimpses must be a torch.Tensor or a numpy.ndarray"),
    ("actions", lambda a: a[:, :-1], r"actions must be float \[3, 4, 2\] = \[B, T, A\]"),
    ("actions", lambda a: a[..., :1], r"actions must be float \[3, 4, 2\]"),
    ("actions", lambda a: (a * 10).astype(np.int64), r"actions must be float .*got torch.int64"),
])
def test_represent_names_the_bad_argument(which: str, bad, match: str) -> None:  # type: ignore[no-untyped-def]
    model = _model()
    glimpses, actions = _episodes()
    if which == "glimpses":
        glimpses = bad(glimpses)
    else:
        actions = bad(actions)
    with pytest.raises(ValueError, match=match):
        model.represent(glimpses, actions)


def test_represent_needs_statistics_and_they_are_checked() -> None:
    model = tiny_model(in_channels=S * C)
    with pytest.raises(RuntimeError, match="set_input_stats"):
        model.represent(*_episodes())
    with pytest.raises(ValueError, match="mean must hold 6 finite floats"):
        model.set_input_stats(MEAN[:3], STD)
    with pytest.raises(ValueError, match="std must be > 0"):
        model.set_input_stats(MEAN, [0.0] * 6)
    assert "input_mean" not in model.state_dict()  # weights only: old checkpoints keep loading


def test_action_embedding_use_follows_the_conditioning() -> None:
    assert tiny_model().uses_action_embedding(3)
    assert not tiny_model(condition_aggregator=False, condition_predictor=False).uses_action_embedding(3)
    assert not tiny_model(condition_predictor=False).uses_action_embedding(1)
    assert tiny_model(condition_predictor=False).uses_action_embedding(2)


def _write(path: Path, state: dict) -> Path:
    with path.open("wb") as fh:
        write_checkpoint_file(fh, state)
    return path


def _checkpoint(tmp_path: Path, model: SeqJEPA) -> Path:
    meta = pretrained_meta(model.config, MEAN, STD, "Saccade-Scenes-v0",
                           {"glimpse_size": G, "scales": (1, 2), "split": "train"})
    return _write(tmp_path / "c.pt", {"model": model.state_dict(), "pretrained": meta, "step": 5,
                                      "config": {"seed": 0}})


def test_load_pretrained_round_trip(tmp_path: Path) -> None:
    model = _model()
    path = _checkpoint(tmp_path, model)
    loaded, meta = load_pretrained(path)
    assert not loaded.training and next(loaded.parameters()).device.type == "cpu"
    assert meta["env_id"] == "Saccade-Scenes-v0" and meta["env_kwargs"]["scales"] == (1, 2)
    assert meta["mean"] == pytest.approx(MEAN) and meta["std"] == pytest.approx(STD)
    assert meta["config"] == model.config.to_dict() and meta["step"] == 5 and meta["train_config"] == {"seed": 0}
    glimpses, actions = _episodes()
    model.eval()
    torch.testing.assert_close(loaded.represent(glimpses, actions)["z_agg"],
                               model.represent(glimpses, actions)["z_agg"], atol=0, rtol=0)
    assert torch.load(path, weights_only=True)["pretrained"]["env_id"] == "Saccade-Scenes-v0"
    on_meta, _ = load_pretrained(path, device="meta")
    assert next(on_meta.parameters()).device.type == "meta"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_load_pretrained_refuses_damaged_files(tmp_path: Path, damage: str) -> None:
    path = _checkpoint(tmp_path, _model())
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x10
    else:
        data = data[:-100]
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="c.pt"):
        load_pretrained(path)
    with pytest.raises(FileNotFoundError):
        load_pretrained(tmp_path / "none.pt")


def test_load_pretrained_refuses_a_checkpoint_without_metadata(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.pt", {"model": _model().state_dict(), "step": 1})
    with pytest.raises(CheckpointError, match="no pretrained world model"):
        load_pretrained(path)
    meta = pretrained_meta(tiny_model(in_channels=3).config, MEAN[:3], STD[:3], "Saccade-Scenes-v0", {})
    path = _write(tmp_path / "d.pt", {"model": _model().state_dict(), "pretrained": meta})
    with pytest.raises(CheckpointError, match="do not fit the stored architecture"):
        load_pretrained(path)


def test_seqjepa_imports_neither_gymnasium_nor_experiments() -> None:
    code = "import sys, seqjepa; bad = {'gymnasium', 'experiments', 'envs'} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
