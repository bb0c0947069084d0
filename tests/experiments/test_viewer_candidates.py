"""The viewer's candidate scores (key c, --candidates): the world-model agent's scores of a grid of saccades as a
heat map over the image, its choice marked and taken by the space key; headless."""

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

from envs.engine.coordinates import norm_to_pixel  # noqa: E402
from experiments.pretrain.checkpoint import save_checkpoint  # noqa: E402
from experiments.viewer.candidates import CandidateView, candidate_panel  # noqa: E402
from experiments.viewer.cli import build_parser, main, make_viewer  # noqa: E402
from seqjepa import SeqJEPA, SeqJEPAConfig, pretrained_meta  # noqa: E402

SIZE = "820x560"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("viewer_wm")
    torch.manual_seed(0)
    config = SeqJEPAConfig(in_channels=6, action_dim=2, encoder="convnet", embed_dim=16, action_embed_dim=8,
                           agg_heads=2, agg_layers=1, agg_ffn=32, dropout=0.1, pred_hidden=32)
    model = SeqJEPA(config).eval()
    kwargs = dict(glimpse_size=8, scales=(1, 2), n_train=8, n_test=4, style="simple", max_objects=1, ior_radius=4,
                  max_saccades=3, root=str(tmp / "data"))
    meta = pretrained_meta(config, [0.4] * 6, [0.25] * 6, "Saccade-Scenes-v0", kwargs)
    return save_checkpoint(tmp / "ckpt_last.pt", {"model": model.state_dict(), "pretrained": meta, "step": 1,
                                                  "config": {}})


def key(v, k: int) -> None:  # type: ignore[no-untyped-def]
    v.handle_event(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))


def _viewer(ckpt: Path, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["--checkpoint", str(ckpt), "--n-cache", "4", "--out", str(tmp_path),
                                      "--size", SIZE, *extra])
    return make_viewer(args)


def test_candidate_scores_are_drawn_and_the_space_key_takes_the_choice(ckpt: Path, tmp_path: Path) -> None:
    v = _viewer(ckpt, tmp_path, "--candidates", "--candidate-grid", "4")
    try:
        assert v.show_candidates
        view = v.candidate_view()
        assert view.scores.shape == (4, 4) and view.targets.shape == (16, 2) and np.all(np.isfinite(view.scores))
        assert view.best == int(np.argmax(view.scores))
        low, high = v.base.world.fixation_bounds
        assert np.all(view.targets >= low) and np.all(view.targets <= high)
        with_map = v.render_frame()
        assert with_map.shape == (560, 820, 3)
        key(v, pygame.K_c)  # off: the priority map is back
        assert not v.show_candidates and not np.array_equal(v.render_frame(), with_map)
        key(v, pygame.K_c)
        assert v.show_candidates
        target = view.targets[view.best]
        key(v, pygame.K_SPACE)  # the world model's saccade
        assert tuple(v.info["fixation"]) == tuple(target)
        assert v.candidates.agent.batched.length.tolist() == [2]  # it followed the step
        key(v, pygame.K_SPACE)
        key(v, pygame.K_r)  # restart: the agent starts over with the first view
        assert v.candidates.agent.batched.length.tolist() == [1] and v.candidate_view() is not None
        assert any("candidate" in line for line in v.help_lines())
    finally:
        v.close()


def test_key_c_without_candidates_says_why_and_cli_errors(ckpt: Path, tmp_path: Path) -> None:
    from experiments.viewer.app import Viewer
    from experiments.viewer.candidates import CandidateScores
    from experiments.viewer.env import EnvFactory
    kwargs = dict(glimpse_size=12, scales=(1, 2), n_train=8, n_test=4, style="simple", max_objects=1,
                  root=str(ckpt.parent / "data"))
    factory = EnvFactory(env_id="Saccade-Scenes-v0", kwargs=kwargs)  # another retina: the agent refuses it
    v = Viewer(factory, size=(820, 560), out_dir=tmp_path, candidates=CandidateScores(ckpt, 4))
    try:
        key(v, pygame.K_c)
        assert not v.show_candidates and "candidate scores: model:" in v.message and "glimpse size" in v.message
    finally:
        v.close()
    v = Viewer(factory, size=(820, 560), out_dir=tmp_path)
    try:
        key(v, pygame.K_c)
        assert "they need --checkpoint" in v.message and v.candidate_view() is None
    finally:
        v.close()
    with pytest.raises(ValueError, match=r"^--candidates: model: .*glimpse size"):
        Viewer(factory, size=(820, 560), out_dir=tmp_path, candidates=CandidateScores(ckpt, 4), show_candidates=True)
    with pytest.raises(ValueError, match="--candidates needs --checkpoint"):
        main(build_parser().parse_args(["--candidates", "--headless", "--out", str(tmp_path)]))
    with pytest.raises(ValueError, match=r"--candidate-grid must be an int in \[2, 64\], got 1"):
        main(build_parser().parse_args(["--checkpoint", str(ckpt), "--candidates", "--candidate-grid", "1",
                                        "--headless", "--out", str(tmp_path)]))


def test_headless_frames_with_candidates(ckpt: Path, tmp_path: Path) -> None:
    args = build_parser().parse_args(["--checkpoint", str(ckpt), "--n-cache", "4", "--candidates", "--headless",
                                      "--frames", "3", "--size", SIZE, "--out", str(tmp_path / "frames")])
    main(args)
    assert sorted(p.name for p in (tmp_path / "frames").glob("frame_*.png")) == [f"frame_{k:05d}.png" for k in range(3)]


def test_candidate_panel_marks_the_choice() -> None:
    image = np.full((32, 32, 3), 128, np.uint8)
    targets = np.array([[r, c] for r in (8, 24) for c in (8, 24)], np.int64)
    view = CandidateView(np.array([[0.0, 1.0], [0.5, 0.2]]), targets, 1, np.zeros(2, np.float32),
                         np.array([8, 8]))
    panel = candidate_panel(image, view, 64, 64)
    assert panel.shape == (64, 64, 3) and panel.dtype == np.uint8
    assert panel[16, 48].tolist() != panel[48, 16].tolist()  # cells coloured by their scores
    assert np.all(panel[16, 48 + 9] == (60, 255, 120)) or (panel == (60, 255, 120)).all(-1).sum() > 10  # green ring
    assert norm_to_pixel(np.array([0.25, 0.75]), (32, 32)).tolist() == [8, 24]
