"""The viewer's world-model mode: a tiny seq-JEPA checkpoint scored against independent computations."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from experiments.pretrain.source import channel_stats  # noqa: E402
from experiments.pretrain.checkpoint import CheckpointError, save_checkpoint  # noqa: E402
from experiments.pretrain.config import DataConfig, ModelConfig, TrainConfig, config_to_dict  # noqa: E402
from experiments.viewer.cli import Viewer, build_parser, make_viewer  # noqa: E402
from experiments.viewer.env import EnvFactory  # noqa: E402
from experiments.viewer.model import WorldModelMonitor, load_world_model  # noqa: E402
from saliency import METHODS  # noqa: E402
from seqjepa import SeqJEPA  # noqa: E402
from tests.envs.helpers import blob_dataset  # noqa: E402

G, SCALES = 16, (1, 2)
TINY = ModelConfig(encoder="convnet", embed_dim=16, action_embed_dim=8, agg_heads=2, agg_layers=1, agg_ffn=32,
                   dropout=0.0, pred_hidden=32)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeqJEPA]:
    """A checkpoint in the pretraining format: model state dict + resolved config."""
    config = TrainConfig(model=TINY, data=DataConfig(glimpse_size=G, scales=SCALES))
    torch.manual_seed(0)
    model = SeqJEPA(config.seqjepa_config(in_channels=3 * len(SCALES), action_dim=2))
    with torch.no_grad():  # make the EMA target differ from the online encoder, as after training
        for p in model.target_encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("ckpt") / "ckpt_last.pt"
    save_checkpoint(path, {"model": model.state_dict(), "config": config_to_dict(config), "step": 0})
    return path, model.eval()


def normalise(glimpses: np.ndarray, dataset: object) -> torch.Tensor:
    """uint8 [T, S, G, G, C] -> float [T, S*C, G, G], the sequence source's layout, written out by hand."""
    mean, std = channel_stats(dataset)
    t, s, g, _, c = glimpses.shape
    x = torch.from_numpy(glimpses.astype(np.float32) / 255.0)           # [T, S, G, G, C]
    x = (x - torch.tensor(mean)) / torch.tensor(std)
    return x.permute(0, 1, 4, 2, 3).reshape(t, s * c, g, g)


def test_load_world_model_restores_the_weights_in_eval_mode(checkpoint: tuple[Path, SeqJEPA]) -> None:
    path, reference = checkpoint
    model, config = load_world_model(path)
    assert not model.training and config["data"]["glimpse_size"] == G
    assert model.config.in_channels == 3 * len(SCALES)
    for (name, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), name


def test_corrupt_or_foreign_checkpoints_raise(tmp_path: Path, checkpoint: tuple[Path, SeqJEPA]) -> None:
    bad = tmp_path / "bad.pt"
    data = bytearray(checkpoint[0].read_bytes())
    data[-10] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_world_model(bad)
    with pytest.raises(FileNotFoundError):
        load_world_model(tmp_path / "missing.pt")
    no_config = tmp_path / "noconfig.pt"
    save_checkpoint(no_config, {"model": checkpoint[1].state_dict()})
    with pytest.raises(ValueError, match="config"):
        load_world_model(no_config)


def test_viewer_scores_every_saccade_like_the_model_forward(tmp_path: Path,
                                                              checkpoint: tuple[Path, SeqJEPA]) -> None:
    path, model = checkpoint
    dataset = blob_dataset(n=4, size=64)
    monitor = WorldModelMonitor.from_checkpoint(path)
    factory = EnvFactory(dataset=dataset, kwargs={**monitor.env_kwargs(), "ior_radius": 8, "max_saccades": 4})
    viewer = Viewer(factory, size=(900, 560), seed=3, out_dir=tmp_path, monitor=monitor, n_cache=48)
    before = viewer.render_frame()
    for _ in range(3):
        viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode="", scancode=0))
    assert [p.step for p in viewer.predictions] == [1, 2, 3]

    views = normalise(np.stack(viewer.glimpses), dataset)[None]        # [1, T, S*C, G, G]
    positions = viewer.base.scanpath / 64.0
    actions = np.zeros_like(positions)
    actions[1:] = positions[1:] - positions[:-1]
    actions = torch.tensor(actions, dtype=torch.float32)[None]
    cache = monitor.cache_latents.shape[0]
    assert cache == 48
    with torch.no_grad():
        cached = F.normalize(model.encode_target(normalise(monitor.cache_glimpses, dataset)[:, None])[:, 0], dim=1)
        for m, pred in enumerate(viewer.predictions, start=1):
            out = model(views, actions, n_observed=m)
            target = model.encode_target(views[:, m:m + 1])[:, 0]
            cos = float(F.cosine_similarity(out.prediction, target)[0])
            assert -1.0 <= pred.cosine <= 1.0 and pred.cosine == pytest.approx(cos, abs=1e-5)
            sims = cached @ F.normalize(out.prediction, dim=1)[0]
            assert pred.nearest_cosine == pytest.approx(float(sims.max()), abs=1e-5)
            assert np.array_equal(pred.nearest, monitor.cache_glimpses[int(sims.argmax())])
            img, r, c = pred.nearest_source
            assert np.array_equal(pred.nearest, viewer.base.retina.glimpse(dataset.images[img], (r, c)))
    after = viewer.render_frame()
    side = viewer.layout.side
    assert not np.array_equal(before[side.y:side.y + side.h, side.x:side.x + side.w],
                              after[side.y:side.y + side.h, side.x:side.x + side.w])

    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_r, mod=0, unicode="", scancode=0))
    assert viewer.predictions == [] and monitor.n_views == 1
    latents = monitor.cache_latents
    viewer.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_1 + len(METHODS) - 1, mod=0, unicode="",
                                           scancode=0))  # a new saliency method keeps the model's cache
    assert viewer.base.saliency_method == METHODS[-1] and monitor.cache_latents is latents
    viewer.agent_step()
    assert len(viewer.predictions) == 1 and monitor.n_views == 2


def test_cli_takes_the_retina_from_the_checkpoint_and_rejects_a_mismatch(tmp_path: Path,
                                                                          checkpoint: tuple[Path, SeqJEPA]) -> None:
    import imageio.v3 as iio

    src = tmp_path / "imgs"
    src.mkdir()
    iio.imwrite(src / "a.png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    args = build_parser().parse_args(["--images", str(src), "--image-size", "64", "--checkpoint",
                                      str(checkpoint[0]), "--n-cache", "16", "--out", str(tmp_path)])
    viewer = make_viewer(args)
    assert viewer.base.retina.glimpse_size == G and tuple(viewer.base.retina.scales) == SCALES
    viewer.agent_step()
    assert len(viewer.predictions) == 1 and -1.0 <= viewer.predictions[0].cosine <= 1.0
    # the cache's latents are kept on disk (verified .npy) and reused by the next start with the same settings
    (stored,) = (tmp_path / "cache").glob("nearest-*.npy")
    assert torch.equal(torch.from_numpy(np.load(stored)), viewer.monitor.cache_latents)
    mtime = stored.stat().st_mtime_ns
    assert torch.equal(make_viewer(args).monitor.cache_latents, viewer.monitor.cache_latents)
    assert stored.stat().st_mtime_ns == mtime  # read, not rewritten
    other = build_parser().parse_args(["--images", str(src), "--image-size", "64", "--checkpoint",
                                       str(checkpoint[0]), "--n-cache", "16", "--out", str(tmp_path), "--seed", "1"])
    assert not torch.equal(make_viewer(other).monitor.cache_latents, viewer.monitor.cache_latents)
    assert len(list((tmp_path / "cache").glob("nearest-*.npy"))) == 2
    bad = build_parser().parse_args(["--images", str(src), "--image-size", "64", "--checkpoint",
                                     str(checkpoint[0]), "--kw", "glimpse_size=8", "--n-cache", "16"])
    with pytest.raises(ValueError, match="glimpse_size"), pytest.warns(UserWarning, match="glimpse_size=8"):
        make_viewer(bad)
