"""Headless tests of the viewer on the non-saccade env families (path integration, 3D rotation)."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pathlib import Path  # noqa: E402

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
from gymnasium import spaces  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from envs.render.drawing import FOVEA_COLOR  # noqa: E402
from envs.render.mesh_renderer import quat_to_matrix  # noqa: E402
from experiments.viewer.cli import Viewer, build_parser, cli, make_viewer  # noqa: E402
from experiments.viewer.adapters import (  # noqa: E402
    PathIntegrationAdapter,
    RandomBoxPolicy,
    RotationAdapter,
    SaccadeAdapter,
    adapter_for,
)
from experiments.viewer.env import EnvFactory  # noqa: E402
from experiments.viewer.panels import START_COLOR, displacement_panel, pixel_to_screen  # noqa: E402

SIZE = (960, 600)
PI_ID, ROT_ID = "PathIntegration-Scenes-v0", "Rotation3D-Shapes-v0"
PI_KW = dict(n_worlds=2, world_size=64, glimpse_size=16)
ROT_KW = dict(n_objects=4, image_size=32)
FAMILIES = {PI_ID: (PI_KW, PathIntegrationAdapter, 2), ROT_ID: (ROT_KW, RotationAdapter, 4)}


def open_viewer(tmp_path: Path, env_id: str, seed: int = 1, **kwargs: object) -> Viewer:
    return Viewer(EnvFactory(env_id=env_id, kwargs=dict(FAMILIES[env_id][0])), size=SIZE, fps=4.0, seed=seed,
                  out_dir=tmp_path / "out", **kwargs)


@pytest.fixture
def pi(tmp_path: Path) -> Viewer:
    v = open_viewer(tmp_path, PI_ID)
    yield v
    v.close()


@pytest.fixture
def rot(tmp_path: Path) -> Viewer:
    v = open_viewer(tmp_path, ROT_ID)
    yield v
    v.close()


def key(v: Viewer, k: int) -> None:
    v.handle_event(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))


def click(v: Viewer, pixel: tuple[int, int]) -> None:
    """Click the middle of main-picture ``pixel`` (row, col)."""
    r, (h, w) = v.layout.image, v.adapter.image_shape
    pos = (int(r.x + (pixel[1] + 0.5) * r.w / w), int(r.y + (pixel[0] + 0.5) * r.h / h))
    v.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))


def near_colour(frame: np.ndarray, xy: tuple[int, int], colour: tuple[int, int, int], radius: int = 3,
                tol: int = 40) -> bool:
    x, y = xy
    patch = frame[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1].astype(int)
    return bool((np.abs(patch - np.array(colour)).max(axis=-1) <= tol).any())


# ---------------------------------------------------------------------- every family
@pytest.mark.parametrize("env_id", [PI_ID, ROT_ID])
def test_viewer_opens_each_family_and_space_steps_with_random_actions(tmp_path: Path, env_id: str) -> None:
    v = open_viewer(tmp_path, env_id)
    _, adapter, n_items = FAMILIES[env_id]
    assert isinstance(v.adapter, adapter) and v.n_images == n_items
    assert v.render_frame().shape == (SIZE[1], SIZE[0], 3)
    space = v.env.observation_space["last_action"]  # world units (the action space is normalised)
    for k in range(3):
        key(v, pygame.K_SPACE)
        assert v.info["step"] == k + 1 and len(v.glimpses) == k + 2 and len(v.infos) == k + 2
        assert space.contains(v.obs["last_action"])
    frame = v.render_frame()
    t, side = v.layout.timeline, v.layout.timeline_tile
    g = v.glimpses[0].shape[1]
    for k, glimpse in enumerate(v.glimpses):  # the timeline holds one fovea per step
        y, x = int(t.y + (g // 2 + 0.5) * side / g), int(t.x + k * (side + 10) + (g // 2 + 0.5) * side / g)
        assert np.array_equal(frame[y, x], glimpse[0, g // 2, g // 2])
    for k, rect in enumerate(v.layout.glimpses):  # the glimpse tiles show the observation
        y, x = int(rect.y + (g // 2 + 0.5) * rect.h / g), int(rect.x + (g // 2 + 0.5) * rect.w / g)
        assert np.array_equal(frame[y, x], v.obs["glimpse"][k, g // 2, g // 2])
    v.close()


@pytest.mark.parametrize("env_id", [PI_ID, ROT_ID])
def test_space_actions_are_reproducible_from_the_seed(tmp_path: Path, env_id: str) -> None:
    runs = []
    for seed in (3, 3, 4):
        v = open_viewer(tmp_path, env_id, seed=seed)
        for _ in range(3):
            key(v, pygame.K_SPACE)
        runs.append(np.stack([np.asarray(info["fixation" if env_id == PI_ID else "rotation"]) for info in v.infos]))
        v.close()
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("env_id", [PI_ID, ROT_ID])
def test_n_p_r_cycle_through_worlds_or_objects(tmp_path: Path, env_id: str) -> None:
    v = open_viewer(tmp_path, env_id)
    n_items = FAMILIES[env_id][2]
    key(v, pygame.K_n)
    assert v.index == 1 and v.info["index"] == 1 and v.info["step"] == 0
    if env_id == PI_ID:
        assert np.array_equal(v.base.world_image, v.base.dataset.images[1])
    else:
        assert v.base.object is v.base.objects[1]
    key(v, pygame.K_p)
    key(v, pygame.K_p)
    assert v.index == n_items - 1 and v.info["index"] == n_items - 1  # wraps around
    key(v, pygame.K_SPACE)
    key(v, pygame.K_r)
    assert v.index == n_items - 1 and v.info["step"] == 0 and len(v.glimpses) == 1
    v.close()


@pytest.mark.parametrize("env_id", [PI_ID, ROT_ID])
def test_episode_end_moves_on_to_the_next_item(tmp_path: Path, env_id: str) -> None:
    v = Viewer(EnvFactory(env_id=env_id, kwargs={**FAMILIES[env_id][0], "max_steps": 2}), size=SIZE,
               out_dir=tmp_path)
    for _ in range(2):
        key(v, pygame.K_SPACE)
    assert v.truncated and "(end)" in v.status_text()
    key(v, pygame.K_SPACE)
    assert v.index == 1 and v.info["step"] == 0 and not v.truncated
    v.close()


@pytest.mark.parametrize("env_id", [PI_ID, ROT_ID])
def test_number_keys_are_ignored_with_a_message_outside_saccade_envs(tmp_path: Path, env_id: str) -> None:
    v = open_viewer(tmp_path, env_id)
    env = v.env
    key(v, pygame.K_1)
    key(v, pygame.K_5)
    assert v.env is env and v.factory.kwargs == FAMILIES[env_id][0]
    assert "saccade" in v.message
    assert not any("saliency method" in line for line in v.help_lines())
    key(v, pygame.K_h)
    assert v.render_frame().shape == (SIZE[1], SIZE[0], 3)
    v.close()


def test_status_lines_name_the_env_item_and_step(pi: Viewer, rot: Viewer) -> None:
    key(pi, pygame.K_n)
    key(pi, pygame.K_SPACE)
    for part in (PI_ID, "world 2/2", "step 1/16"):
        assert part in pi.status_text()
    key(rot, pygame.K_SPACE)
    for part in (ROT_ID, "object 1/4", rot.base.object.name, "step 1/8"):
        assert part in rot.status_text()


# ---------------------------------------------------------------------- path integration
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 63), col=st.integers(0, 63))
def test_path_click_moves_toward_the_clicked_point_at_most_max_step(pi: Viewer, row: int, col: int) -> None:
    pi.reset()
    h, w = pi.adapter.image_shape
    start = np.asarray(pi.info["fixation"], np.float64)
    target = np.array([row, col], np.float64)
    click(pi, (row, col))
    assert pi.info["step"] == 1
    moved = np.asarray(pi.info["fixation"], np.float64)
    reach = pi.base.max_step * np.array([h, w])  # max_step per axis, in pixels
    assert np.all(np.abs(moved - start) <= reach + 1)
    assert np.all(np.abs(target - moved) <= np.abs(target - start) + 1)  # never farther away, on any axis
    g = pi.base.retina.glimpse_size  # keep_inside: fixations in [g // 2, size - g + g // 2]
    lo, hi = g // 2, np.array([h, w]) - g + g // 2
    if np.all((target >= lo) & (target <= hi)):  # a reachable point: exactly there, or max_step along the line
        expected = start + (target - start) * min(1.0, float(np.min(reach / np.maximum(np.abs(target - start), 1e-9))))
        assert np.all(np.abs(moved - expected) <= 1)
        if np.all(np.abs(target - start) <= reach):
            assert np.array_equal(moved, target)


def test_path_picture_marks_the_start_and_the_panel_tracks_the_displacement(pi: Viewer) -> None:
    start = pi.base.path[0]
    for _ in range(3):
        key(pi, pygame.K_SPACE)
    frame = pi.render_frame()
    ring = pixel_to_screen(pi.layout.image, start, pi.adapter.image_shape)
    r = pi.layout.image
    k = int(np.ceil(max(r.w, r.h) / 64))  # the picture's integer enlargement before fitting
    radius = max(6, 2 * k + 4) * r.w / (64 * k)
    on_ring = [(int(ring[0] + radius * np.cos(a)), int(ring[1] + radius * np.sin(a))) for a in np.linspace(0, 6, 8)]
    assert sum(near_colour(frame, xy, START_COLOR, radius=2) for xy in on_ring) >= 6
    offsets = pi.adapter.offsets()
    assert offsets.shape == (4, 2) and np.array_equal(offsets[0], [0, 0])
    assert np.allclose(offsets[-1], pi.info["displacement"], atol=1e-6)
    _, readout = pi.adapter.panels(pi.layout, pi.obs, pi.info)
    assert readout.rect == pi.layout.side and any("displacement" in line for line in readout.lines)


def test_displacement_panel_draws_start_at_the_centre_and_the_arrow_to_the_displacement() -> None:
    w = h = 201
    offsets = np.array([[0.0, 0.0], [0.1, -0.05], [-0.2, 0.3]])
    panel = displacement_panel(offsets, w, h)
    assert panel.shape == (h, w, 3) and panel.dtype == np.uint8
    assert near_colour(panel, (100, 100), START_COLOR, radius=1, tol=10)
    extent = 1.1 * 0.3
    k = (100.5 - 8) / extent
    tip = (int(round(100.5 + 0.3 * k)), int(round(100.5 - 0.2 * k)))
    midway = (int(round(100.5 + 0.15 * k)), int(round(100.5 - 0.1 * k)))
    assert near_colour(panel, tip, FOVEA_COLOR, tol=30) and near_colour(panel, midway, FOVEA_COLOR, tol=30)
    with pytest.raises(ValueError, match="offsets"):
        displacement_panel(np.array([[np.nan, 0.0]]), w, h)


# ---------------------------------------------------------------------- rotation
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 31), col=st.integers(0, 31))
def test_rotation_click_turns_the_front_toward_the_clicked_point(rot: Viewer, row: int, col: int) -> None:
    rot.reset()
    before = quat_to_matrix(rot.info["rotation"])
    offset = np.array([col + 0.5 - 16, row + 0.5 - 16]) / 16  # (x right, y down) from the centre
    click(rot, (row, col))
    if np.linalg.norm(offset) < 0.05:
        assert rot.info["step"] == 0 and rot.message  # the centre: nothing, says what a click does
        return
    assert rot.info["step"] == 1
    turn = quat_to_matrix(rot.info["rotation"]) @ before.T  # camera-frame rotation applied
    front = turn @ np.array([0.0, 0.0, -1.0])               # where the point facing the viewer went
    assert np.dot(front[:2], offset) / (np.linalg.norm(front[:2]) * np.linalg.norm(offset)) > 0.999
    angle = np.arccos(np.clip(-front[2], -1, 1))
    assert np.isclose(angle, np.pi / 2 * min(1.0, np.linalg.norm(offset)), atol=1e-4)


def test_rotation_panels_recover_the_first_view(rot: Viewer) -> None:
    for _ in range(3):
        key(rot, pygame.K_SPACE)
    q0 = rot.adapter.first_rotation(rot.info)
    assert np.allclose(q0, rot.infos[0]["rotation"], atol=1e-5) or np.allclose(q0, -rot.infos[0]["rotation"],
                                                                             atol=1e-5)
    first, readout = rot.adapter.panels(rot.layout, rot.obs, rot.info)
    assert first.make().shape == (first.rect.h, first.rect.w, 3)
    assert any(rot.base.object.name in line for line in readout.lines)
    assert rot.adapter.caption(rot.infos[0]) == "0 deg"


# ---------------------------------------------------------------------- construction, CLI
def test_adapters_and_the_random_policy_check_their_input() -> None:
    from envs.families import PATH, ROTATION, SACCADE, Family
    from experiments.viewer.adapters import FrameAdapter

    assert adapter_for(SACCADE) is SaccadeAdapter and adapter_for(PATH) is PathIntegrationAdapter
    assert adapter_for(ROTATION) is RotationAdapter
    assert adapter_for(Family("toy", "max_steps", "position", "positions", 2)) is FrameAdapter
    with pytest.raises(ValueError, match="families"):
        adapter_for(dict)
    box = spaces.Box(-0.5, 0.25, (2,), np.float32)
    draws = np.stack([RandomBoxPolicy(box, seed=0).act({}, {}) for _ in range(2)])
    assert np.array_equal(draws[0], draws[1])
    policy = RandomBoxPolicy(box, seed=0)
    many = np.stack([policy.act({}, {}) for _ in range(200)])
    assert many.dtype == np.float32 and many.min() >= -0.5 and many.max() <= 0.25 and many.std() > 0.1
    with pytest.raises(ValueError, match="Box"):
        RandomBoxPolicy(spaces.Discrete(3))


def test_checkpoint_mode_is_refused_for_other_families(tmp_path: Path, pi: Viewer) -> None:
    args = build_parser().parse_args(["--env", PI_ID, "--checkpoint", str(tmp_path / "none.pt")])
    with pytest.raises(ValueError, match="saccade"):
        make_viewer(args)
    with pytest.raises(ValueError, match="monitor"):
        open_viewer(tmp_path, PI_ID, monitor=object())


@pytest.mark.parametrize("env_id", [PI_ID, ROT_ID])
def test_cli_screenshot_of_each_family(tmp_path: Path, env_id: str) -> None:
    shot = tmp_path / "shot.png"
    kws = [f"--kw={k}={v}" for k, v in FAMILIES[env_id][0].items()]
    cli(["--env", env_id, *kws, "--screenshot", str(shot), "--steps", "2", "--size", "800x500"])
    image = iio.imread(shot)
    assert image.shape == (500, 800, 3) and image.std() > 10
