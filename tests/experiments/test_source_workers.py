"""SequenceSource under DataLoader workers (issue 28, item 8): the workers share the epoch, each batch is
made once, and the loader yields the batches of ``num_workers=0`` in the same order."""

from __future__ import annotations

import pytest
import torch

from experiments.pretrain.source import SequenceSource

WORLD = dict(n_worlds=3, world_size=64, glimpse_size=16, scales=(1, 2))


@pytest.fixture(scope="module")
def source():
    return SequenceSource("PathIntegration-Scenes-v0", WORLD, seq_len=3, batch_size=2, epoch_size=10, seed=4)


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_yield_the_epoch_exactly_once_in_order(source, workers):
    alone = list(source)
    assert len(alone) == len(source) == 5
    loader = torch.utils.data.DataLoader(source, batch_size=None, num_workers=workers)
    shared = list(loader)
    assert len(shared) == len(alone)
    for a, b in zip(alone, shared):
        assert torch.equal(a["indices"], b["indices"]) and torch.equal(a["glimpses"], b["glimpses"])
        assert torch.equal(a["actions"], b["actions"])


def test_the_issues_loader_with_default_batching_has_no_duplicates(source):
    loader = torch.utils.data.DataLoader(source, num_workers=2)  # batch_size=1: each item gains a leading 1
    batches = list(loader)
    assert len(batches) == len(source)
    seeds = {tuple(b["glimpses"].flatten()[:64].tolist()) for b in batches}
    assert len(seeds) == len(source)  # distinct batches: none replayed by a second worker


def test_a_resumed_epoch_under_workers_continues_where_it_stopped(source):
    class From(torch.utils.data.IterableDataset):
        def __iter__(self):
            return source.batches(0, start=2)
    tail = list(torch.utils.data.DataLoader(From(), batch_size=None, num_workers=2))
    assert [b["indices"].tolist() for b in tail] == [b["indices"].tolist() for b in list(source.batches(0))[2:]]
