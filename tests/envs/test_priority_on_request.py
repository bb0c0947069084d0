"""The priority map on request (issue 16): a saccade vector env writes ``infos["priority"]`` only when
made with ``priority_info=True``; ``world.priority_maps()`` computes the same maps when asked; the
single env keeps ``info["priority"]`` by default."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs  # noqa: F401  (registers the ids)
from agents.batched import BatchedSaliencyAgent
from saliency.batch_ior import PriorityBatch

KW = {"n_train": 12, "n_test": 4, "glimpse_size": 16, "scales": (1, 2), "ior_radius": 8, "max_saccades": 3}
N = 4


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("scenes_priority")


@pytest.mark.parametrize("env_id", ["Saccade-Scenes-v0", "Saccade-Scenes-Classify-v0"])
def test_vector_env_writes_maps_only_when_asked_and_computes_them_on_request(root, env_id):
    lean = gym.make_vec(env_id, N, root=root, **KW)
    full = gym.make_vec(env_id, N, root=root, priority_info=True, **KW)
    singles = [gym.make(env_id, root=root, **KW) for _ in range(N)]
    (_, linfo), (_, finfo) = lean.reset(seed=5), full.reset(seed=5)
    sinfos = [s.reset(seed=5 + i)[1] for i, s in enumerate(singles)]
    rng = np.random.default_rng(1)
    for t in range(7):  # two episodes and an autoreset
        assert "priority" not in linfo and "_priority" not in linfo
        maps = lean.world.priority_maps()
        assert maps.shape == (N, 96, 96) and maps.dtype == np.float32
        np.testing.assert_array_equal(maps, finfo["priority"], err_msg=f"step {t}")
        assert finfo["_priority"].all()
        for i, info in enumerate(sinfos):  # row i == the single env seeded alike, whose info holds the map
            np.testing.assert_array_equal(maps[i], info["priority"], err_msg=f"row {i}, step {t}")
        np.testing.assert_array_equal(lean.world.priority_maps(np.array([2, 0])), maps[[2, 0]])
        np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, rtol=1e-4)
        actions = rng.uniform(-1, 1, lean.action_space.shape).astype(np.float32)
        _, _, _, truncs, linfo = lean.step(actions)
        _, _, _, ftruncs, finfo = full.step(actions)
        np.testing.assert_array_equal(truncs, ftruncs)
        for i, s in enumerate(singles):
            sinfos[i] = s.reset()[1] if t % 4 == 3 else s.step(actions[i])[4]  # row autoreset after step 3


def test_priority_maps_are_fresh_arrays(root):
    venv = gym.make_vec("Saccade-Scenes-v0", 2, root=root, **KW)
    venv.reset(seed=0)
    first = venv.world.priority_maps()
    kept = first.copy()
    first[:] = 0  # the caller owns it
    venv.step(np.full((2, 2), 0.2, np.float32))
    second = venv.world.priority_maps()
    assert not np.shares_memory(first, second)
    assert not np.array_equal(second, kept)  # inhibition of return moved on
    np.testing.assert_allclose(second.sum(axis=(1, 2)), 1.0, rtol=1e-4)


def test_single_env_keeps_priority_in_info_by_default_and_can_drop_it(root):
    env = gym.make("Saccade-Scenes-v0", root=root, **KW)
    _, info = env.reset(seed=3)
    assert info["priority"].shape == (96, 96)
    np.testing.assert_array_equal(env.unwrapped.priority, info["priority"])
    lean = gym.make("Saccade-Scenes-v0", root=root, priority_info=False, **KW)
    _, lean_info = lean.reset(seed=3)
    assert "priority" not in lean_info
    np.testing.assert_array_equal(lean.unwrapped.priority, info["priority"])  # the property computes it


def test_batched_saliency_agent_on_a_default_vector_env_says_how_to_get_maps(root):
    venv = gym.make_vec("Saccade-Scenes-v0", 2, root=root, **KW)
    obs, info = venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"priority_info=True; else pass world=venv.world"):
        BatchedSaliencyAgent(seed=0).act(obs, info)
    action = BatchedSaliencyAgent(seed=0, world=venv.world).act(obs, info)
    assert action.shape == (2, 2) and np.all(np.abs(action) <= 1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 5), h=st.integers(1, 12), w=st.integers(1, 12),
       mode=st.sampled_from(["square", "disc", "gaussian"]), zeros=st.booleans())
def test_maps_on_request_equal_the_materialised_maps_bit_for_bit(seed, n, h, w, mode, zeros):
    rng = np.random.default_rng(seed)
    sal = rng.random((n, h, w)).astype(np.float32) * (rng.random((n, h, w)) < 0.5)
    if zeros:
        sal[0] = 0  # no saliency at all: the fallback maps
    batches = [PriorityBatch(n, (h, w), mode, radius=2.5, decay=0.8 if mode == "gaussian" else 1.0,
                             materialize=m) for m in (True, False)]
    rows = np.arange(n)
    for b in batches:
        b.start(rows, sal)
    for _ in range(3):
        some = rng.permutation(n)[: rng.integers(1, n + 1)]
        fix = np.stack([rng.integers(0, h, len(some)), rng.integers(0, w, len(some))], 1)
        for b in batches:
            b.fixate(some, fix)
        np.testing.assert_array_equal(batches[1].maps(), batches[0].priority)
        np.testing.assert_array_equal(batches[1].maps(some), batches[0].maps(some))
