"""The batched sequence source: contracts, determinism, shards, and agreement with env rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.utils.seeding import np_random

from agents import SaliencyAgent, rollout
from envs.retina import Retina
from envs.saccade_env import SaccadeEnv
from envs.sequences import SaccadeSequenceSource
from saliency import saliency_maps
from tests.envs.helpers import blob_dataset

G, SCALES, T = 16, (1, 2), 5


@pytest.fixture(scope="module")
def dataset():
    return blob_dataset(n=12)


@pytest.fixture(scope="module")
def maps(dataset):
    return saliency_maps(np.asarray(dataset.images))  # the default method, as the env uses


def make_source(dataset, maps, **kwargs) -> SaccadeSequenceSource:
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("ior_radius", 8)
    kwargs.setdefault("seq_len", T)
    return SaccadeSequenceSource(dataset, maps, Retina(G, SCALES), **kwargs)


def test_batch_shapes_dtypes_and_action_convention(dataset, maps):
    source = make_source(dataset, maps)
    batch = next(iter(source))
    assert batch["glimpses"].shape == (4, T, len(SCALES) * 3, G, G) and batch["glimpses"].dtype == torch.uint8
    assert batch["actions"].shape == (4, T, 2) and batch["actions"].dtype == torch.float32
    assert batch["labels"].dtype == torch.int64 and batch["labels"].shape == (4,)
    torch.testing.assert_close(batch["actions"][:, 0], torch.zeros(4, 2))
    torch.testing.assert_close(batch["actions"][:, 1:], batch["positions"][:, 1:] - batch["positions"][:, :-1])
    np.testing.assert_array_equal(batch["labels"].numpy(), dataset.labels[batch["indices"].numpy()])
    assert source.channels == 6 and len(source.mean) == 6 and source.n_classes == 3


def test_hard_ior_keeps_fixations_apart(dataset, maps):
    source = make_source(dataset, maps, ior="square", ior_radius=4)
    for batch in source.batches(0):
        fix = batch["fixations"].numpy()
        for seq in fix:
            for k in range(1, T):
                assert np.abs(seq[:k] - seq[k]).max(axis=1).min() > 4


def test_batches_are_deterministic_and_resumable(dataset, maps):
    a = list(make_source(dataset, maps, seed=3).batches(epoch=2))
    b = list(make_source(dataset, maps, seed=3).batches(epoch=2, start=1))
    assert len(a) == 3 and len(b) == 2
    for x, y in zip(a[1:], b):
        for key in x:
            torch.testing.assert_close(x[key], y[key])
    c = next(make_source(dataset, maps, seed=3).batches(epoch=3))
    assert not torch.equal(a[0]["indices"], c["indices"]) or not torch.equal(a[0]["fixations"], c["fixations"])


def test_distributed_shards_are_disjoint_and_equal(dataset, maps):
    shards = [make_source(dataset, maps, batch_size=2, rank=r, world_size=3).epoch_indices(0) for r in range(3)]
    assert all(len(s) == len(shards[0]) for s in shards)
    joined = np.concatenate(shards)
    assert len(np.unique(joined)) == len(joined)


@pytest.mark.parametrize("mode", ["sample", "argmax"])
def test_env_rollouts_and_source_agree_for_the_same_seed(dataset, maps, mode):
    """The env + SaliencyAgent and the batched source see the same fixations, glimpses and actions."""
    env = SaccadeEnv(dataset, glimpse_size=G, scales=SCALES, ior_radius=8, max_saccades=T - 1, first_fixation=mode)
    source = make_source(dataset, maps, fixation_mode=mode)
    for seed, index in ((0, 3), (7, 9)):
        episode = rollout(env, SaliencyAgent(mode=mode, seed=100 + seed), seed=seed, options={"index": index})
        # The env draws its first fixation's uniform from its own seeded generator, the agent the rest.
        uniforms = np.concatenate([[np_random(seed)[0].random()], np.random.default_rng(100 + seed).random(T - 1)])
        batch = source.make_batch(np.array([index]), uniforms[None])
        glimpses = episode.glimpses.transpose(0, 1, 4, 2, 3).reshape(T, len(SCALES) * 3, G, G)
        np.testing.assert_array_equal(batch["glimpses"][0].numpy(), glimpses)
        np.testing.assert_array_equal(batch["actions"][0].numpy(), episode.actions)
        np.testing.assert_array_equal(batch["positions"][0].numpy(), episode.positions)


def test_bad_arguments(dataset, maps):
    with pytest.raises(ValueError, match="seq_len"):
        make_source(dataset, maps, seq_len=1)
    with pytest.raises(ValueError, match="batch_size"):
        make_source(dataset, maps, batch_size=100)
    with pytest.raises(ValueError, match="fixation_mode"):
        make_source(dataset, maps, fixation_mode="greedy")
    with pytest.raises(ValueError, match="rank"):
        make_source(dataset, maps, rank=2, world_size=2)
    with pytest.raises(ValueError, match="saliency must be"):
        SaccadeSequenceSource(dataset, maps[:3], Retina(G, SCALES))
