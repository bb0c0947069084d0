"""The viewer opens every registered base id headless (issue 26): its adapter comes from the id's
family object, so 3DIEBench and the recognition ids open like the others."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

import envs  # noqa: E402
from envs.families import Family  # noqa: E402
from experiments.viewer.adapters import ADAPTERS, FrameAdapter, make_adapter  # noqa: E402
from experiments.viewer.cli import Viewer  # noqa: E402
from experiments.viewer.env import EnvFactory  # noqa: E402
from tests.envs.small_envs import make_data_root, small_kwargs  # noqa: E402

SIZE = (800, 520)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data_root(tmp_path_factory.mktemp("data"))


def key(v: Viewer, k: int) -> None:
    v.handle_event(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_the_viewer_opens_every_registered_id(tmp_path: Path, data_root: Path, env_id: str) -> None:
    record = envs.record_of(env_id)
    v = Viewer(EnvFactory(env_id=env_id, kwargs=small_kwargs(env_id, data_root)), size=SIZE, fps=4.0, seed=0,
               out_dir=tmp_path / "out")
    try:
        assert type(v.adapter) is ADAPTERS[record.family]  # chosen by the family object, not the env class
        assert v.render_frame().shape == (SIZE[1], SIZE[0], 3)
        for k in range(2):  # the space agent's move (class scores appended in a recognition env)
            key(v, pygame.K_SPACE)
            assert v.info["step"] == k + 1 and len(v.glimpses) == k + 2
        frame = v.render_frame()
        assert frame.shape == (SIZE[1], SIZE[0], 3) and frame.std() > 5
        assert ("prediction" in v.status_text()) == record.recognition
        key(v, pygame.K_n)  # the next item
        assert v.info["index"] == 1 % v.n_images and v.info["step"] == 0
    finally:
        v.close()


def test_a_family_without_an_adapter_gets_the_frame_adapter(data_root: Path) -> None:
    import gymnasium as gym

    env = gym.make("Rotation3D-Shapes-v0", n_objects=2, image_size=24, max_steps=3)
    env.unwrapped.world.family = Family("toy", "max_steps", "position", "positions", 2)
    obs, info = env.reset(seed=0)
    adapter = make_adapter(env)
    assert isinstance(adapter, FrameAdapter) and adapter.image_shape == env.unwrapped.world.render_frame(0).shape[:2]
    assert adapter.main_panel(120, 120).shape == (120, 120, 3)
    assert adapter.full_action(np.zeros(3, np.float32)).shape == (3,)
    env.close()
