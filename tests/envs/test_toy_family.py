"""A new world family added the way docs/ARCHITECTURE.md ("Adding a world family") says, registered in
this test only: its World, its env and record, its Family. Nothing else of the project is edited, and it
runs through ``gym.make`` + ``check_env``, ``gym.make_vec``, the pretraining sequence source, one training
step and the viewer's headless frame (issue 26's done-when: a new world in four files)."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pathlib import Path  # noqa: E402
from typing import Any, Iterator, Sequence  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402

import envs  # noqa: E402
from envs.datasets.base import ImageDataset  # noqa: E402
from envs.engine.coordinates import pixel_to_norm  # noqa: E402
from envs.engine.env import ActiveVisionEnv  # noqa: E402
from envs.engine.keywords import int_in, noted, real_in  # noqa: E402
from envs.engine.retina import Retina  # noqa: E402
from envs.engine.vector_env import vector_entry  # noqa: E402
from envs.engine.world import MAX_STEPS, World, check_retina_fits  # noqa: E402
from envs.families import Family  # noqa: E402

TOY_ID = "ToySearch-v0"

# --------------------------------------------------------------------------- 1. the family (envs/families/__init__.py)
TOY = Family("toy_search", "max_steps", "position", "positions", 2)


# --------------------------------------------------------------------------- 2. the world (its own module)
class ToySearchWorld(World):
    """A retina moved over small random images by ``action * max_step`` (clipped to the image).

    Arguments: ``n`` rows, ``n_images``, ``image_size``, ``seed``, ``glimpse_size``, ``max_step``, ``max_steps``.
    """

    family = TOY
    action_dim = 2
    keyword_ranges = {
        "n_images": int_in(1, 64),
        "image_size": int_in(8, 256),
        "seed": int_in(0, 2 ** 31),
        "glimpse_size": noted("as the retina's, at most image_size"),
        "max_step": real_in(0.0, 1.0, lo_open=True),
        "max_steps": int_in(1, MAX_STEPS),
    }

    @classmethod
    def check_keywords(cls, n: int, **kwargs: Any) -> dict[str, Any]:
        k = cls.keyword_values(kwargs)
        k["retina"] = Retina(glimpse_size=k["glimpse_size"])
        check_retina_fits(k["retina"], (k["image_size"], k["image_size"]))
        return k

    def __init__(self, n: int, n_images: int = 4, image_size: int = 24, seed: int = 0, glimpse_size: int = 8,
                 max_step: float = 0.25, max_steps: int = 6) -> None:
        k = self.check_keywords(n, n_images=n_images, image_size=image_size, seed=seed, glimpse_size=glimpse_size,
                                max_step=max_step, max_steps=max_steps)
        super().__init__(n, k["retina"], 3, k["max_steps"], action_scale=k["max_step"], last_action_bound=2.0)
        rng = np.random.default_rng(k["seed"])
        images = rng.integers(0, 256, (k["n_images"], image_size, image_size, 3), np.uint8)
        self.dataset = ImageDataset(name="toy", images=images, labels=np.arange(k["n_images"]) % 2,
                                    class_names=("a", "b"))
        self.max_step, self.size = k["max_step"], image_size
        self.index = np.zeros(self.n, np.int64)
        self.pixel = np.zeros((self.n, 2), np.int64)

    def reset_rows(self, rows: np.ndarray, rngs: Sequence[np.random.Generator],
                   options: Sequence[dict[str, Any]]) -> None:
        for k, (o, g) in enumerate(zip(options, rngs)):
            self.index[rows[k]] = o["index"] if "index" in o else g.integers(len(self.dataset))
            self.pixel[rows[k]] = g.integers(0, self.size, 2)

    def apply(self, rows: np.ndarray, actions: np.ndarray, rngs: Sequence[np.random.Generator],
              last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        before = pixel_to_norm(self.pixel[rows], (self.size, self.size))
        target = np.rint((before + actions * self.max_step) * self.size).astype(np.int64)
        self.pixel[rows] = np.clip(target, 0, self.size - 1)
        applied = pixel_to_norm(self.pixel[rows], (self.size, self.size)) - before
        return applied.astype(np.float32), np.zeros(len(rows))

    def glimpses(self) -> np.ndarray:
        return self.retina.gather(np.asarray(self.dataset.images), self.index, self.pixel)

    def info(self) -> dict[str, np.ndarray]:
        return {"position": pixel_to_norm(self.pixel, (self.size, self.size)), "index": self.index.copy(),
                "label": self.item_labels[self.index]}

    def render_frame(self, row: int = 0) -> np.ndarray:
        return np.asarray(self.dataset.images[self.index[row]])


# --------------------------------------------------------------------------- 3. the env and its record
class ToySearchEnv(ActiveVisionEnv):
    """The toy world through the project's single-env base (Arguments: :class:`ToySearchWorld`)."""

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(ToySearchWorld(1, **kwargs), render_mode=render_mode)


make_vector = vector_entry(ToySearchWorld)


def check_kwargs(n: int, render_mode: str | None = None, **kwargs: Any) -> None:
    ToySearchWorld.check_keywords(n, **kwargs)


RECORD = envs.EnvRecord(TOY_ID, f"{__name__}:ToySearchEnv", f"{__name__}:make_vector", TOY, f"{__name__}:check_kwargs",
                        (f"{__name__}:ToySearchWorld.__init__",), dataset="toy_search")


@pytest.fixture
def toy_id() -> Iterator[str]:
    envs.add_record(RECORD)  # in envs/records.py this is one more line of RECORDS
    try:
        yield TOY_ID
    finally:
        envs.remove_record(TOY_ID)
    assert TOY_ID not in gym.registry


def test_gym_make_check_env_and_keyword_checks(toy_id: str) -> None:
    env = gym.make(toy_id, max_steps=3)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs["glimpse"].shape == (1, 8, 8, 3) and info["position"].shape == (2,)
    env.close()
    assert envs.family_of(toy_id) is TOY and "max_step" in envs.env_keywords(toy_id)
    with pytest.raises(ValueError, match="max_step must be"):
        envs.check_env_kwargs(toy_id, 2, max_step=3.0)
    with pytest.raises(TypeError, match="image_sise"):
        envs.check_env_kwargs(toy_id, 2, image_sise=3)


def test_make_vec_rows_match_single_envs(toy_id: str) -> None:
    venv = gym.make_vec(toy_id, num_envs=3, max_steps=4)
    obs, _ = venv.reset(seed=5)
    single = gym.make(toy_id, max_steps=4)
    one, _ = single.reset(seed=6)
    np.testing.assert_array_equal(obs["glimpse"][1], one["glimpse"])
    actions = np.full((3, 2), 0.5, np.float32)
    obs, *_ = venv.step(actions)
    one, *_ = single.step(actions[1])
    np.testing.assert_array_equal(obs["glimpse"][1], one["glimpse"])
    venv.close(), single.close()


def test_sequence_source_and_one_training_step(toy_id: str, tmp_path: Path) -> None:
    from experiments.pretrain.config import DataConfig, EvalConfig
    from experiments.pretrain.source import SequenceSource
    from experiments.pretrain.train import main
    from tests.experiments.test_pretrain import tiny_config

    source = SequenceSource(toy_id, {"n_images": 8}, seq_len=3, batch_size=4, seed=0)
    batch = next(iter(source.batches(0)))
    assert batch["glimpses"].shape == (4, 3, 3, 8, 8) and batch["positions"].shape == (4, 3, 2)
    assert float(batch["actions"][:, 0].abs().sum()) == 0.0

    data = DataConfig(dataset="toy_search", glimpse_size=8, scales=(1,), seq_len=3, batch_size=4,
                      env_kwargs={"n_images": 8})
    summary = main(tiny_config(tmp_path, data=data, total_steps=1, checkpoint_every=1, eval=EvalConfig(enabled=False)))
    assert summary["steps"] == 1 and np.isfinite(summary["final_loss"])


def test_the_viewer_draws_a_headless_frame(toy_id: str, tmp_path: Path) -> None:
    from experiments.viewer.adapters import FrameAdapter
    from experiments.viewer.cli import Viewer
    from experiments.viewer.env import EnvFactory

    size = (640, 400)
    v = Viewer(EnvFactory(env_id=toy_id, kwargs={}), size=size, fps=4.0, seed=0, out_dir=tmp_path / "out")
    try:
        assert isinstance(v.adapter, FrameAdapter)  # a family without its own panel gets the env's frame
        frame = v.render_frame()
        assert frame.shape == (size[1], size[0], 3) and frame.std() > 5
    finally:
        v.close()
