import pytest
import torch

from seqjepa import param_groups_for_weight_decay

from .conftest import tiny_model


def test_groups_split_by_dimension_and_skip_target() -> None:
    model = tiny_model()
    groups = param_groups_for_weight_decay(model, 1e-3)
    assert [g["weight_decay"] for g in groups] == [1e-3, 0.0]
    decay, no_decay = ({id(p) for p in g["params"]} for g in groups)
    assert all(p.ndim >= 2 for p in groups[0]["params"])
    assert all(p.ndim <= 1 for p in groups[1]["params"])
    online = {id(p) for p in model.online_parameters()}
    assert decay | no_decay == online and not decay & no_decay
    # biases and norm weights are not decayed
    assert id(model.aggregator.transformer.norm.weight) in no_decay
    assert id(model.predictor.net[3].bias) in no_decay
    same = param_groups_for_weight_decay(model.online_named_parameters(), 1e-3)
    assert [len(g["params"]) for g in same] == [len(g["params"]) for g in groups]
    torch.optim.AdamW(groups, lr=1e-3)  # accepted by torch


def test_bad_weight_decay() -> None:
    with pytest.raises(ValueError, match="weight_decay"):
        param_groups_for_weight_decay(torch.nn.Linear(2, 2), -1.0)
