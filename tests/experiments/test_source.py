"""The one sequence source: contracts, determinism, shards, and agreement with env + agent rollouts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents import BatchedSaliencyAgent, RotationWalkAgent, SmoothTrajectoryAgent
from envs import family_of
from envs.families.saccade_world import SaccadeWorld
from experiments.pretrain.source import SequenceSource
from envs.engine.vector_env import ActiveVisionVectorEnv
from saliency import saliency_maps
from tests.envs.helpers import blob_dataset

G, SCALES, T = 16, (1, 2), 5


@pytest.fixture(scope="module")
def dataset():
    return blob_dataset(n=12)


@pytest.fixture(scope="module")
def maps(dataset):
    return saliency_maps(np.asarray(dataset.images))  # the default method, as the env uses


def saccade_source(dataset, maps, batch_size=4, priority_info=False, first_fixation="sample",
                   **kwargs) -> SequenceSource:
    world = SaccadeWorld(batch_size, dataset, glimpse_size=G, scales=SCALES, ior_radius=8, max_saccades=T - 1,
                         saliency_maps=maps, priority_info=priority_info, first_fixation=first_fixation)
    return SequenceSource(ActiveVisionVectorEnv(world), seq_len=T, batch_size=batch_size, **kwargs)


WORLDS = {
    "PathIntegration-Scenes-v0": dict(n_worlds=3, world_size=64, glimpse_size=16, scales=(1, 2)),
    "Rotation3D-Shapes-v0": dict(n_objects=6, image_size=24),
}


def test_saccade_batch_shapes_dtypes_and_action_convention(dataset, maps):
    source = saccade_source(dataset, maps)
    batch = next(iter(source))
    assert batch["glimpses"].shape == (4, T, len(SCALES) * 3, G, G) and batch["glimpses"].dtype == torch.uint8
    assert batch["actions"].shape == (4, T, 2) and batch["actions"].dtype == torch.float32
    assert batch["labels"].dtype == torch.int64 and batch["labels"].shape == (4,)
    torch.testing.assert_close(batch["actions"][:, 0], torch.zeros(4, 2))
    torch.testing.assert_close(batch["actions"][:, 1:], batch["positions"][:, 1:] - batch["positions"][:, :-1])
    assert torch.equal(batch["states"], batch["positions"])
    np.testing.assert_array_equal(batch["labels"].numpy(), dataset.labels[batch["indices"].numpy()])
    assert source.channels == 6 and len(source.mean) == 6 and source.n_classes == 3


@pytest.mark.parametrize("env_id", list(WORLDS))
def test_every_family_feeds_the_same_batch_contract(env_id):
    source = SequenceSource(env_id, WORLDS[env_id], seq_len=T, batch_size=4, epoch_size=8)
    batch = next(iter(source))
    a = source.action_dim
    assert batch["glimpses"].dtype == torch.uint8 and batch["glimpses"].shape[:2] == (4, T)
    assert batch["glimpses"].shape[2] == source.channels and len(source.mean) == source.channels
    assert batch["actions"].shape == (4, T, a) and torch.all(batch["actions"][:, 0] == 0)
    assert batch["states"].shape[:2] == (4, T) and batch["labels"].shape == (4,)
    if family_of(env_id).name == "path":  # states are positions; actions their differences (no noise)
        torch.testing.assert_close(batch["actions"][:, 1:], batch["positions"][:, 1:] - batch["positions"][:, :-1])
        assert batch["actions"].abs().sum() > 0
    else:  # unit quaternions; every step turns by at most max_angle
        torch.testing.assert_close(batch["rotations"].norm(dim=-1), torch.ones(4, T), atol=1e-5, rtol=0)
        assert float(batch["actions"].norm(dim=-1).max()) <= np.pi / 2 + 1e-5
    assert len(source) == 2


def test_hard_ior_keeps_fixations_apart(dataset, maps):
    world = SaccadeWorld(4, dataset, glimpse_size=G, ior="square", ior_radius=4, max_saccades=T - 1,
                         saliency_maps=maps, priority_info=False)
    source = SequenceSource(ActiveVisionVectorEnv(world), seq_len=T, batch_size=4)
    for batch in source.batches(0):
        fix = np.rint(batch["positions"].numpy() * 96).astype(int)
        for seq in fix:
            for k in range(1, T):
                assert np.abs(seq[:k] - seq[k]).max(axis=1).min() > 4


@pytest.mark.parametrize("env_id", [None] + list(WORLDS))
def test_batches_are_deterministic_and_resumable(dataset, maps, env_id):
    def make():
        if env_id is None:
            return saccade_source(dataset, maps, seed=3)
        return SequenceSource(env_id, WORLDS[env_id], seq_len=T, batch_size=4, epoch_size=12, seed=3)

    a = list(make().batches(epoch=2))
    b = list(make().batches(epoch=2, start=1))
    assert len(a) == 3 and len(b) == 2
    for x, y in zip(a[1:], b):
        for key in x:
            torch.testing.assert_close(x[key], y[key])
    c = next(make().batches(epoch=3))
    assert not torch.equal(a[0]["glimpses"], c["glimpses"])


def test_distributed_shards_are_disjoint_and_equal(dataset, maps):
    shards = [saccade_source(dataset, maps, batch_size=2, rank=r, world_size=3).epoch_indices(0) for r in range(3)]
    assert all(len(s) == len(shards[0]) for s in shards)
    joined = np.concatenate(shards)
    assert len(np.unique(joined)) == len(joined)


def test_epoch_size_repeats_items_in_shuffled_passes():
    source = SequenceSource("PathIntegration-Scenes-v0", WORLDS["PathIntegration-Scenes-v0"], seq_len=3,
                            batch_size=4, epoch_size=9)
    order = source.epoch_indices(0)
    assert len(order) == 8 and set(np.bincount(order[:6], minlength=3)) == {2}  # whole passes first


@pytest.mark.parametrize("mode", ["sample", "argmax"])
def test_a_batch_is_what_the_env_and_its_agent_show_a_user(dataset, maps, mode):
    """The source is the vector env rolled by the batched agent: the same steps by hand, with
    the maps materialised in ``info["priority"]``, give the same batch."""
    source = saccade_source(dataset, maps, first_fixation=mode, agent_kwargs={"mode": mode})
    indices = np.array([3, 9, 0, 3])
    batch = source.make_batch(indices, seed=77)
    world = SaccadeWorld(4, dataset, glimpse_size=G, scales=SCALES, ior_radius=8, max_saccades=T - 1,
                         saliency_maps=maps, first_fixation=mode)
    venv, agent = ActiveVisionVectorEnv(world), BatchedSaliencyAgent(mode=mode, seed=77)
    obs, info = venv.reset(seed=77, options={"index": indices})
    glimpses, positions = [obs["glimpse"]], [info["position"]]
    for _ in range(T - 1):
        obs, _, _, _, info = venv.step(agent.act(obs, info))
        glimpses.append(obs["glimpse"])
        positions.append(info["position"])
    x = np.stack(glimpses, 1).transpose(0, 1, 2, 5, 3, 4).reshape(4, T, len(SCALES) * 3, G, G)
    np.testing.assert_array_equal(batch["glimpses"].numpy(), x)
    np.testing.assert_array_equal(batch["positions"].numpy(), np.stack(positions, 1))


def test_agents_of_each_family_are_the_batched_ones():
    path = SequenceSource("PathIntegration-Scenes-v0", WORLDS["PathIntegration-Scenes-v0"], seq_len=3,
                          batch_size=2, epoch_size=4)
    rot = SequenceSource("Rotation3D-Shapes-v0", WORLDS["Rotation3D-Shapes-v0"], seq_len=3, batch_size=2)
    assert isinstance(path.agent, SmoothTrajectoryAgent) and isinstance(rot.agent, RotationWalkAgent)


def test_bad_arguments(dataset, maps):
    with pytest.raises(ValueError, match="seq_len"):
        SequenceSource("Rotation3D-Shapes-v0", WORLDS["Rotation3D-Shapes-v0"], seq_len=1)
    with pytest.raises(ValueError, match="batch_size"):
        SequenceSource("Rotation3D-Shapes-v0", WORLDS["Rotation3D-Shapes-v0"], batch_size=7)
    with pytest.raises(ValueError, match="rank"):
        saccade_source(dataset, maps, rank=2, world_size=2)
    with pytest.raises(ValueError, match="env_id must be one of"):
        SequenceSource("CartPole-v1")
    with pytest.raises(ValueError, match="num_envs = batch_size"):
        SequenceSource(gym.make_vec("Rotation3D-Shapes-v0", 3, **WORLDS["Rotation3D-Shapes-v0"]), batch_size=2)
    with pytest.raises(ValueError, match="mode"):
        saccade_source(dataset, maps, agent_kwargs={"mode": "greedy"})


def test_every_registered_id_has_the_family_its_world_carries() -> None:
    """``envs.family_of(id)`` (read from the registration module, env not built) is the family the
    world of the built env carries; unknown ids are refused with a one-line error naming env_id."""
    import gymnasium as gym

    import envs

    ids = [i for i in gym.registry if i in envs.ENV_IDS or i in envs.VARIANTS]
    assert len(ids) == len(envs.ENV_IDS) + len(envs.VARIANTS)
    for env_id in ids:
        if "STL10" in env_id or "3DIEBench" in env_id:
            continue  # needs data on disk; their base ids' families are checked through the variants' worlds
        kwargs = {"n_train": 8} if "Scenes" in env_id or "Shapes-Classify" in env_id or "Saccade-Shapes" in env_id else {}
        try:
            env = gym.make(env_id, **kwargs)
        except TypeError:
            env = gym.make(env_id)
        assert env.unwrapped.world.family == family_of(env_id), env_id
        env.close()
    with pytest.raises(ValueError, match="env_id"):
        family_of("CartPole-v1")
