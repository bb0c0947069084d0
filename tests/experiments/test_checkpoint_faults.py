"""Fault injection for what experiments/ writes: a checkpoint writer SIGKILLed mid-write, and the
viewer's nearest-glimpse latent cache truncated or zeroed on disk."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from envs.storage.files import clean_orphans  # noqa: E402
from experiments.pretrain.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _state(step: int) -> dict:
    g = torch.Generator().manual_seed(step)
    return {"model": {"w": torch.randn(512, 1024, generator=g)}, "step": step}  # 2 MB: many writes


def test_checkpoint_writer_killed_mid_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    path, marker = tmp_path / "ckpt_last.pt", tmp_path / "marker"
    save_checkpoint(path, _state(1))
    good = path.read_bytes()
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        import torch
        from experiments.pretrain.checkpoint import save_checkpoint

        real_save = torch.save

        class Stalling:  # forwards to the real file; stalls for good after the first 512 KB
            def __init__(self, f):
                self.f, self.n = f, 0
            def write(self, b):
                out = self.f.write(b)
                self.n += len(b)
                if self.n > (512 << 10):
                    self.f.flush()
                    Path({str(marker)!r}).touch()
                    time.sleep(600)
                return out
            def __getattr__(self, name):
                return getattr(self.f, name)

        torch.save = lambda obj, f, *a, **k: real_save(obj, Stalling(f), *a, **k)
        g = torch.Generator().manual_seed(2)
        save_checkpoint({str(path)!r}, {{"model": {{"w": torch.randn(512, 1024, generator=g)}}, "step": 2}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the writer never reached the marker"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (partial,) = tmp_path.glob(f".ckpt_last.pt.{proc.pid}.*.tmp")
    assert partial.stat().st_size > 0
    # the previous good state is what every reader sees; the partial file is never picked up
    assert path.read_bytes() == good and load_checkpoint(path)["step"] == 1
    assert latest_checkpoint(tmp_path) == path
    # the killed writer's temp file is an orphan: cleaned once stale, e.g. by the next save
    assert clean_orphans(tmp_path) == []  # fresh: could belong to a live writer elsewhere
    os.utime(partial, (time.time() - 3600,) * 2)
    save_checkpoint(path, _state(3))
    assert load_checkpoint(path)["step"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_last.pt", "marker"]


@pytest.mark.parametrize("how", ["truncate", "zero"])
def test_damaged_viewer_latent_cache_is_rebuilt(tmp_path: Path, how: str) -> None:
    import imageio.v3 as iio

    from experiments.pretrain.config import DataConfig, ModelConfig, TrainConfig, config_to_dict
    from experiments.viewer.cli import build_parser, make_viewer
    from seqjepa import SeqJEPA

    tiny = ModelConfig(encoder="convnet", embed_dim=16, action_embed_dim=8, agg_heads=2, agg_layers=1, agg_ffn=32,
                       dropout=0.0, pred_hidden=32)
    config = TrainConfig(model=tiny, data=DataConfig(glimpse_size=16, scales=(1, 2)))
    torch.manual_seed(0)
    model = SeqJEPA(config.seqjepa_config(in_channels=6, action_dim=2))
    ckpt = save_checkpoint(tmp_path / "ckpt" / "ckpt_last.pt",
                           {"model": model.state_dict(), "config": config_to_dict(config), "step": 0})
    src = tmp_path / "imgs"
    src.mkdir()
    iio.imwrite(src / "a.png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    args = build_parser().parse_args(["--images", str(src), "--image-size", "64", "--checkpoint", str(ckpt),
                                      "--n-cache", "16", "--out", str(tmp_path / "out")])
    first = make_viewer(args).monitor.cache_latents.clone()
    (stored,) = (tmp_path / "out" / "cache").glob("nearest-*.npy")
    data = stored.read_bytes()
    stored.write_bytes(data[: len(data) // 2] if how == "truncate" else bytes(len(data)))
    with pytest.warns(RuntimeWarning, match="nearest-glimpse cache is bad"):
        again = make_viewer(args).monitor.cache_latents
    assert torch.allclose(again, first, atol=1e-6)
    with warnings.catch_warnings():  # healed: the next start reads it silently
        warnings.simplefilter("error", RuntimeWarning)
        assert torch.equal(make_viewer(args).monitor.cache_latents, again)
