"""Headless tests of the pygame viewer: synthetic events in, rendered frames checked."""

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
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from envs.render.drawing import SCANPATH_COLOR, heatmap  # noqa: E402
from experiments.viewer.cli import Viewer, _window_loop, cli, key_bindings, write_animation  # noqa: E402
from experiments.cliconfig import parse_env_kwarg as parse_kw, parse_env_kwargs as parse_kws  # noqa: E402
from experiments.viewer.env import EnvFactory, load_image_folder  # noqa: E402
from experiments.viewer.panels import compute_layout, pixel_to_screen, screen_to_pixel  # noqa: E402
from saliency import IOR_MODES, METHODS  # noqa: E402
from tests.envs.helpers import blob_dataset  # noqa: E402

SIZE = (960, 600)
KW = dict(glimpse_size=16, scales=(1, 2), ior_radius=8, max_saccades=4)


def make_viewer(tmp_path: Path, **kwargs: object) -> Viewer:
    factory = EnvFactory(dataset=blob_dataset(n=4, size=64), kwargs=dict(KW))
    options = {"size": SIZE, "fps": 4.0, "seed": 1, "out_dir": tmp_path / "out", **kwargs}
    return Viewer(factory, **options)


@pytest.fixture
def viewer(tmp_path: Path) -> Viewer:
    v = make_viewer(tmp_path)
    yield v
    v.close()


def key(v: Viewer, k: int) -> None:
    v.handle_event(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))


def click(v: Viewer, pos: tuple[int, int], button: int = 1) -> None:
    v.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button))


def centre_of(v: Viewer, pixel: tuple[int, int]) -> tuple[int, int]:
    """Screen position of the middle of image pixel (row, col) in the image panel."""
    r, (h, w) = v.layout.image, v.base.image_shape
    return int(r.x + (pixel[1] + 0.5) * r.w / w), int(r.y + (pixel[0] + 0.5) * r.h / h)


def near_colour(frame: np.ndarray, xy: tuple[int, int], colour: tuple[int, int, int], radius: int = 2,
                tol: int = 40) -> bool:
    x, y = xy
    patch = frame[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1].astype(int)
    return bool((np.abs(patch - np.array(colour)).max(axis=-1) <= tol).any())


# ---------------------------------------------------------------------- clicks
def test_click_moves_the_eye_to_the_clicked_pixel_and_draws_the_marker_there(viewer: Viewer) -> None:
    pixel = (45, 9)
    marker = pixel_to_screen(viewer.layout.image, np.array(pixel), viewer.base.image_shape)
    before = viewer.render_frame()
    assert not near_colour(before, marker, SCANPATH_COLOR)
    click(viewer, centre_of(viewer, pixel))
    assert tuple(viewer.base.scanpath[-1]) == pixel
    assert tuple(viewer.info["fixation"]) == pixel
    assert viewer.info["step"] == 1 and len(viewer.glimpses) == 2
    assert near_colour(viewer.render_frame(), marker, SCANPATH_COLOR)


def test_clicks_outside_the_image_and_other_buttons_do_nothing(viewer: Viewer) -> None:
    r = viewer.layout.image
    click(viewer, (r.x + r.w + 3, r.y + 5))
    click(viewer, centre_of(viewer, (10, 10)), button=3)
    assert viewer.info["step"] == 0 and len(viewer.base.scanpath) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 63), col=st.integers(0, 63), width=st.integers(480, 1600), height=st.integers(320, 1000))
def test_click_round_trip_for_any_pixel_and_window(viewer: Viewer, row: int, col: int, width: int,
                                                    height: int) -> None:
    viewer.resize(width, height)
    layout = compute_layout(viewer.size, viewer.base.image_shape, 2)
    pos = centre_of(viewer, (row, col))
    assert tuple(screen_to_pixel(layout.image, pos, (64, 64))) == (row, col)
    viewer.reset()
    click(viewer, pos)
    assert tuple(viewer.info["fixation"]) == (row, col)


# ---------------------------------------------------------------------- panels
def test_priority_panel_is_hottest_exactly_where_the_priority_map_peaks(viewer: Viewer) -> None:
    for _ in range(2):
        key(viewer, pygame.K_SPACE)
    frame = viewer.render_frame()
    p = viewer.layout.priority
    panel = frame[p.y:p.y + p.h, p.x:p.x + p.w].astype(int)
    hottest = heatmap(np.ones((1, 1)))[0, 0].astype(int)
    ys, xs = np.nonzero((np.abs(panel - hottest).max(axis=-1) == 0))
    assert len(ys) > 0
    priority = viewer.base.priority
    top = priority.max()
    for y, x in zip(ys, xs):
        r, c = screen_to_pixel(p, (p.x + x, p.y + y), priority.shape)
        assert priority[r, c] >= top * 254.5 / 255  # the colour map's top bin
    peak = np.unravel_index(np.argmax(priority), priority.shape)
    centre = (int(p.x + (peak[1] + 0.5) * p.w / 64), int(p.y + (peak[0] + 0.5) * p.h / 64))
    assert np.array_equal(frame[centre[1], centre[0]], hottest)


def test_glimpse_tiles_show_the_observation_at_every_scale(viewer: Viewer) -> None:
    key(viewer, pygame.K_SPACE)
    frame = viewer.render_frame()
    glimpse = viewer.obs["glimpse"]  # [S, G, G, C]
    g = glimpse.shape[1]
    for k, rect in enumerate(viewer.layout.glimpses):
        for (i, j) in ((4, 5), (g // 2, g // 2), (g - 5, g - 4)):  # away from the coloured border
            y, x = int(rect.y + (i + 0.5) * rect.h / g), int(rect.x + (j + 0.5) * rect.w / g)
            assert np.array_equal(frame[y, x], glimpse[k, i, j])


def test_timeline_holds_one_fovea_per_fixation(viewer: Viewer) -> None:
    for _ in range(3):
        key(viewer, pygame.K_SPACE)
    frame = viewer.render_frame()
    t, side = viewer.layout.timeline, viewer.layout.timeline_tile
    g = viewer.glimpses[0].shape[1]
    for k, glimpse in enumerate(viewer.glimpses):
        x0 = t.x + k * (side + 10)
        i = j = g // 2
        y, x = int(t.y + (i + 0.5) * side / g), int(x0 + (j + 0.5) * side / g)
        assert np.array_equal(frame[y, x], glimpse[0, i, j])


# ---------------------------------------------------------------------- keys
def test_space_runs_the_agent_then_moves_to_the_next_image_after_the_last_saccade(viewer: Viewer) -> None:
    for k in range(4):
        key(viewer, pygame.K_SPACE)
        assert viewer.info["step"] == k + 1
    assert viewer.truncated and len(viewer.base.scanpath) == 5
    key(viewer, pygame.K_SPACE)
    assert viewer.index == 1 and viewer.info["step"] == 0 and not viewer.truncated


def test_n_p_r_navigate_images(viewer: Viewer) -> None:
    key(viewer, pygame.K_n)
    assert viewer.index == 1 and viewer.info["index"] == 1
    assert np.array_equal(viewer.base.image, viewer.base.dataset.images[1])
    key(viewer, pygame.K_p)
    key(viewer, pygame.K_p)
    assert viewer.index == 3  # wraps around
    key(viewer, pygame.K_SPACE)
    key(viewer, pygame.K_r)
    assert viewer.index == 3 and viewer.info["step"] == 0 and len(viewer.base.scanpath) == 1


def test_autoplay_steps_at_the_chosen_rate(viewer: Viewer) -> None:
    key(viewer, pygame.K_a)
    viewer.update(0.2)
    assert viewer.info["step"] == 0
    viewer.update(0.4)  # 0.6 s at 4 saccades/s
    assert viewer.info["step"] == 2
    key(viewer, pygame.K_a)
    viewer.update(5.0)
    assert viewer.info["step"] == 2


def test_number_keys_switch_saliency_method_and_ior_mode(viewer: Viewer) -> None:
    bindings = key_bindings()
    assert bindings[:len(METHODS)] == [("method", m) for m in METHODS]
    assert [v for kind, v in bindings if kind == "ior"] == list(IOR_MODES)[:9 - len(METHODS)]
    key(viewer, pygame.K_n)
    k_disc = bindings.index(("ior", "disc"))
    key(viewer, pygame.K_1 + k_disc)
    assert viewer.base.ior == "disc" and viewer.index == 1
    key(viewer, pygame.K_1 + len(METHODS) - 1)
    assert viewer.base.saliency_method == METHODS[-1] and viewer.base.ior == "disc"
    assert any(f"{k_disc + 1}: IoR mode disc   (active)" == line for line in viewer.help_lines())


def test_h_toggles_the_help_overlay(viewer: Viewer) -> None:
    plain = viewer.render_frame()
    key(viewer, pygame.K_h)
    assert viewer.show_help
    helped = viewer.render_frame()
    h, w = plain.shape[:2]
    assert not np.array_equal(plain[h // 2 - 40:h // 2 + 40, w // 2 - 80:w // 2 + 80],
                              helped[h // 2 - 40:h // 2 + 40, w // 2 - 80:w // 2 + 80])
    key(viewer, pygame.K_h)
    assert np.array_equal(viewer.render_frame(), plain)


def test_s_writes_a_png_of_the_current_frame(viewer: Viewer) -> None:
    key(viewer, pygame.K_SPACE)
    key(viewer, pygame.K_s)
    files = list((viewer.out_dir).glob("*.png"))
    assert len(files) == 1
    saved = iio.imread(files[0])
    assert saved.shape == (SIZE[1], SIZE[0], 3)
    r = viewer.layout.image  # the panels (not the status message) match the live frame
    assert np.array_equal(saved[r.y:r.y + r.h, r.x:r.x + r.w], viewer.render_frame()[r.y:r.y + r.h, r.x:r.x + r.w])


def test_g_twice_writes_a_gif_with_every_recorded_frame(viewer: Viewer) -> None:
    key(viewer, pygame.K_g)
    assert viewer.recording is not None
    for _ in range(3):
        key(viewer, pygame.K_SPACE)
    click(viewer, centre_of(viewer, (20, 30)))
    n = len(viewer.recording)
    assert n == 5  # the first frame + one per saccade
    key(viewer, pygame.K_g)
    assert viewer.recording is None
    gifs = list(viewer.out_dir.glob("*.gif"))
    assert len(gifs) == 1
    frames = iio.imread(gifs[0], index=None)
    assert frames.shape[:3] == (n, SIZE[1], SIZE[0])


def test_write_animation_rejects_unknown_formats_and_empty_input(tmp_path: Path) -> None:
    frame = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(ValueError, match="gif"):
        write_animation(tmp_path / "x.avi", [frame], 2.0)
    with pytest.raises(ValueError, match="frames"):
        write_animation(tmp_path / "x.gif", [], 2.0)


def test_resize_event_recomputes_the_layout(viewer: Viewer) -> None:
    old = viewer.layout
    viewer.handle_event(pygame.event.Event(pygame.VIDEORESIZE, size=(700, 420), w=700, h=420))
    new = viewer.layout
    assert viewer.size == (700, 420) and new.size == (700, 420)
    assert new.image.w < old.image.w and new.image.x + new.image.w <= new.glimpses[0].x
    frame = viewer.render_frame()
    assert frame.shape == (420, 700, 3)
    click(viewer, centre_of(viewer, (50, 7)))
    assert tuple(viewer.info["fixation"]) == (50, 7)
    surface = pygame.Surface((1000, 640))
    viewer.draw(surface)  # drawing onto a bigger window follows its size
    assert viewer.size == (1000, 640)


@pytest.mark.parametrize("size", [(480, 320), (800, 800), (1600, 500)])
def test_layout_panels_stay_inside_the_window_and_do_not_overlap(size: tuple[int, int]) -> None:
    lay = compute_layout(size, (64, 96), 3)
    rects = [lay.image, *lay.glimpses, lay.priority, lay.side, lay.timeline]
    for r in rects:
        assert r.x >= 0 and r.y >= 0 and r.x + r.w <= size[0] and r.y + r.h <= size[1] and r.w > 0 and r.h > 0
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
    assert abs(lay.image.w / lay.image.h - 96 / 64) < 0.02  # aspect kept


def test_quit_and_escape_stop_the_loop(viewer: Viewer) -> None:
    key(viewer, pygame.K_h)
    key(viewer, pygame.K_ESCAPE)
    assert viewer.running and not viewer.show_help
    viewer.handle_event(pygame.event.Event(pygame.QUIT))
    assert not viewer.running


def test_bad_arguments_raise_naming_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fps"):
        make_viewer(tmp_path, fps=0.0)
    with pytest.raises(ValueError, match="record_format"):
        make_viewer(tmp_path, record_format="avi")
    with pytest.raises(ValueError, match="registered"):
        EnvFactory(env_id="NoSuchEnv-v0")


# ---------------------------------------------------------------------- env construction
def test_parse_kw_values() -> None:
    assert parse_kw("scales=1,2,4") == ("scales", (1, 2, 4))
    assert parse_kw("scales=[1, 2]") == ("scales", (1, 2))
    assert parse_kws(["glimpse_size=32", "ior=disc", "ior_decay=0.5", "root=~/data"]) == {
        "glimpse_size": 32, "ior": "disc", "ior_decay": 0.5, "root": "~/data"}
    for bad in ("novalue", "=3", "1x=2"):
        with pytest.raises(ValueError, match="key=value"):
            parse_kw(bad)


def test_load_image_folder_fits_every_image_and_labels_them_unlabeled(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    iio.imwrite(tmp_path / "b.png", rng.integers(0, 255, (40, 80, 3), dtype=np.uint8))
    iio.imwrite(tmp_path / "a.png", rng.integers(0, 255, (100, 50), dtype=np.uint8))  # grey
    (tmp_path / "notes.txt").write_text("not an image")
    ds, files = load_image_folder(tmp_path, size=32)
    assert ds.images.shape == (2, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.labels.tolist() == [-1, -1] and files == ("a.png", "b.png")
    grey = ds.images[0]
    assert np.array_equal(grey[..., 0], grey[..., 1])
    with pytest.raises(FileNotFoundError, match="no such"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match="size"):
        load_image_folder(tmp_path, size=0)


def test_cli_headless_frames_from_an_image_folder(tmp_path: Path) -> None:
    src = tmp_path / "imgs"
    src.mkdir()
    for i in range(2):
        iio.imwrite(src / f"im{i}.png", np.full((48, 48, 3), 60 * i, np.uint8))
    out = tmp_path / "frames"
    cli(["--images", str(src), "--image-size", "48", "--kw", "glimpse_size=8", "--kw", "scales=1,2",
         "--kw", "max_saccades=2", "--headless", "--frames", "5", "--out", str(out), "--size", "640x400"])
    files = sorted(out.glob("frame_*.png"))
    assert [f.name for f in files] == [f"frame_{k:05d}.png" for k in range(5)]
    frames = [iio.imread(f) for f in files]
    assert all(f.shape == (400, 640, 3) for f in frames)
    assert not np.array_equal(frames[0], frames[1])


def test_cli_screenshot_of_a_registered_env(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    cli(["--env", "Saccade-Scenes-v0", "--kw", f"root={tmp_path}", "--kw", "n_train=6", "--kw", "n_test=2",
         "--kw", "scales=1,2,4", "--screenshot", str(shot), "--steps", "3", "--size", "800x500"])
    assert iio.imread(shot).shape == (500, 800, 3)


def test_cli_reports_bad_input_as_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        cli(["--images", str(tmp_path / "nothing"), "--headless"])
    with pytest.raises(SystemExit):
        cli(["--env", "Saccade-Scenes-v0", "--kw", "oops", "--headless"])


def test_window_loop_runs_until_quit(viewer: Viewer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    update = viewer.update

    def update_then_quit(dt: float) -> None:
        update(dt)
        calls.append(dt)
        if len(calls) == 1:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode="", scancode=0))
        elif len(calls) == 2:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    monkeypatch.setattr(viewer, "update", update_then_quit)
    _window_loop(viewer)
    assert not viewer.running and len(calls) == 3 and viewer.info["step"] == 1


def test_status_line_names_env_image_label_step_method_and_ior(viewer: Viewer, tmp_path: Path) -> None:
    key(viewer, pygame.K_n)
    key(viewer, pygame.K_SPACE)
    text = viewer.status_text()
    label = int(viewer.base.dataset.labels[1])
    for part in ("blobs", "image 2/4", f"label {label} ({'abc'[label]})", "step 1/4",
                 f"method {viewer.base.saliency_method}", f"IoR {viewer.base.ior} r=8"):
        assert part in text
    key(viewer, pygame.K_a)
    key(viewer, pygame.K_g)
    assert "autoplay 4/s" in viewer.status_text() and "REC 1" in viewer.status_text()

    rng = np.random.default_rng(1)
    for name in ("cat.png", "dog.png"):
        iio.imwrite(tmp_path / name, rng.integers(0, 255, (30, 30, 3), dtype=np.uint8))
    ds, files = load_image_folder(tmp_path, size=32)
    folder = Viewer(EnvFactory(dataset=ds, kwargs=dict(KW), files=files), size=SIZE, out_dir=tmp_path / "o", index=1)
    assert "image 2/2 dog.png" in folder.status_text() and "unlabeled" in folder.status_text()
    with pytest.raises(ValueError, match="files"):
        EnvFactory(dataset=ds, files=("only-one.png",))
