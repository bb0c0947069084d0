"""The batched step path (issue 16): the shortcuts it takes give exactly what the general code gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs.render.mesh_renderer as render3d
from envs.datasets.objects3d import make_objects
from envs.engine.retina import Retina
from envs.engine.vector_env import ActiveVisionVectorEnv
from envs.families.rotation_world import RotationWorld, centre_glimpses
from envs.families.saccade_world import SaccadeWorld
from envs.render.mesh_renderer import MeshBank, Renderer, random_quaternion
from tests.envs.helpers import blob_dataset


@settings(max_examples=40, deadline=None)
@given(side=st.integers(4, 40), g=st.integers(1, 48), scales=st.sampled_from([(1,), (1, 2), (1, 3)]),
       n=st.integers(1, 4), seed=st.integers(0, 2 ** 32 - 1))
def test_centre_glimpses_equal_the_retina_at_the_centre(side, g, scales, n, seed):
    views = np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    retina = Retina(glimpse_size=g, scales=scales)
    out = centre_glimpses(retina, views)
    expected = np.stack([retina.glimpse(v, (side // 2, side // 2)) for v in views])
    np.testing.assert_array_equal(out, expected)
    assert not np.shares_memory(out, views)  # a fresh observation: views are rewritten in place


def test_rotation_observations_are_not_rewritten_by_later_steps():
    venv = ActiveVisionVectorEnv(RotationWorld(3, n_objects=3, image_size=16, max_steps=4))
    obs, _ = venv.reset(seed=0)
    kept = obs["glimpse"].copy()
    venv.step(np.full((3, 3), 0.7, np.float32))
    np.testing.assert_array_equal(obs["glimpse"], kept)
    np.testing.assert_array_equal(venv.step(np.zeros((3, 3), np.float32))[0]["glimpse"][:, 0], venv.world.views)


@pytest.mark.parametrize("supersample", [1, 2])
def test_parallel_and_serial_batches_render_the_same_bits(monkeypatch, supersample):
    meshes = make_objects(6, seed=2)
    bank = MeshBank(meshes)
    renderer = Renderer(20, supersample=supersample)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(meshes), 40)
    q = np.stack([random_quaternion(rng) for _ in idx])
    assert 40 * 20 * 20 * 3 * supersample ** 2 < render3d._PARALLEL_SAMPLES  # serial by default
    serial = renderer.render_batch(bank, idx, q)
    monkeypatch.setattr(render3d, "_PARALLEL_SAMPLES", 0)  # every batch parallel
    parallel = renderer.render_batch(bank, idx, q)
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(serial[5], renderer.render(meshes[idx[5]], q[5]))


@pytest.mark.parametrize("reward", ["saliency", "object"])
def test_batched_rewards_equal_the_per_row_definition(reward):
    """The reward kernels against the definition written out row by row in NumPy."""
    world = SaccadeWorld(6, blob_dataset(n=4), glimpse_size=10, ior_radius=5, max_saccades=5, reward=reward,
                         priority_info=False)
    venv = ActiveVisionVectorEnv(world)
    venv.reset(seed=2)
    rng = np.random.default_rng(5)
    g, (h, w) = 10, world.image_shape
    seen = np.zeros((6, h, w), bool)
    for t in range(5):
        before_sal, before_inh = world.priority.saliency.copy(), world.priority.inhibition.copy()
        if t == 0:
            for row in range(6):  # the first fixation's square counts as seen
                r, c = world.fixations[row, 0] - g // 2
                seen[row, max(r, 0):r + g, max(c, 0):c + g] = True
        _, rewards, _, _, info = venv.step(rng.uniform(-1, 1, (6, 2)).astype(np.float32))
        for row, (fr, fc) in enumerate(info["fixation"]):
            r, c = fr - g // 2, fc - g // 2
            win = np.s_[max(r, 0):min(r + g, h), max(c, 0):min(c + g, w)]
            if reward == "saliency":
                mass = before_sal[row].astype(np.float64) * before_inh[row]
                assert rewards[row] == pytest.approx(mass[win].sum() / mass.sum(), rel=1e-12, abs=1e-15)
            else:
                objects = world._objects[row]
                assert rewards[row] == (objects[win] & ~seen[row][win]).sum() / max(objects.sum(), 1)
                seen[row][win] = True
