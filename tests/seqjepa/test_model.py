import numpy as np
import pytest
import torch

from seqjepa import SeqJEPA, SeqJEPAOutput, prediction_loss

from .conftest import random_batch, tiny_config, tiny_model


@pytest.mark.parametrize("b, t, m, c, a", [(2, 2, 1, 3, 2), (3, 5, 4, 6, 2), (4, 4, 2, 9, 3)])
def test_forward_shapes(b: int, t: int, m: int, c: int, a: int) -> None:
    model = tiny_model(in_channels=c, action_dim=a)
    glimpses, actions = random_batch(b, t, c, 8, a)
    out = model(glimpses, actions, n_observed=m)
    assert isinstance(out, SeqJEPAOutput)
    assert out.prediction.shape == (b, 16)
    assert out.z_agg.shape == (b, 24)
    assert out.z_views.shape == (b, m, 16)
    assert torch.isfinite(out.prediction).all()
    assert model.encode_target(glimpses).shape == (b, t, 16)


def test_z_views_are_the_online_encoder_of_observed_views() -> None:
    model = tiny_model().eval()
    glimpses, actions = random_batch()
    out = model(glimpses, actions, n_observed=3)
    expected = model.encoder(glimpses[:, :3].reshape(-1, 3, 8, 8)).reshape(4, 3, 16)
    torch.testing.assert_close(out.z_views, expected)


def test_tokens_follow_the_incoming_action_convention() -> None:
    """token i = (z_i, emb(actions[:, i+1])) for i < M-1; the last token's action slot is zero."""
    model = tiny_model().eval()
    z = torch.randn(3, 4, 16)
    _, actions = random_batch(3, 4)
    emb = model.action_embed(actions[:, 1:])
    tokens = torch.cat([z, torch.cat([emb, torch.zeros(3, 1, 8)], dim=1)], dim=2)
    torch.testing.assert_close(model.aggregate(z, actions), model.aggregator(tokens))
    pred = model.predict(model.aggregate(z, actions), actions[:, 3])
    manual = model.predictor(torch.cat([model.aggregator(tokens), model.action_embed(actions[:, 3])], 1))
    torch.testing.assert_close(pred, manual)
    # without predictor conditioning the action slot is zeros (not the embedding of a zero action)
    z_agg = model.aggregate(z, actions)
    torch.testing.assert_close(model.predict(z_agg, actions[:, 3], condition=False),
                               model.predictor(torch.cat([z_agg, torch.zeros(3, 8)], 1)))


def _perturb(actions: torch.Tensor, index: slice | int) -> torch.Tensor:
    changed = actions.clone()
    changed[:, index] += torch.randn_like(changed[:, index]) + 1.0
    return changed


@pytest.mark.parametrize("condition", [True, False])
def test_predictor_conditioning_switch(condition: bool) -> None:
    model = tiny_model(condition_predictor=condition).eval()
    glimpses, actions = random_batch(t=5)
    base = model(glimpses, actions, 3)
    other = model(glimpses, _perturb(actions, 3), 3)
    torch.testing.assert_close(other.z_agg, base.z_agg)  # a_M never enters the aggregator
    assert torch.equal(other.prediction, base.prediction) is (not condition)


@pytest.mark.parametrize("condition", [True, False])
def test_aggregator_conditioning_switch(condition: bool) -> None:
    model = tiny_model(condition_aggregator=condition).eval()
    glimpses, actions = random_batch(t=5)
    base = model(glimpses, actions, 3)
    other = model(glimpses, _perturb(actions, slice(1, 3)), 3)
    assert torch.equal(other.z_agg, base.z_agg) is (not condition)


def test_unused_actions_never_matter() -> None:
    """actions[:, 0] (incoming to view 0) and actions after the target view are ignored."""
    model = tiny_model().eval()
    glimpses, actions = random_batch(t=6)
    base = model(glimpses, actions, 3)
    for index in (0, slice(4, 6)):
        other = model(glimpses, _perturb(actions, index), 3)
        torch.testing.assert_close(other.prediction, base.prediction, rtol=0, atol=0)


def test_no_action_conditioning_at_all() -> None:
    model = tiny_model(condition_aggregator=False, condition_predictor=False).eval()
    glimpses, actions = random_batch(t=5)
    base = model(glimpses, actions, 3).prediction
    assert torch.equal(model(glimpses, torch.randn_like(actions), 3).prediction, base)


def test_aggregate_is_invariant_to_permuting_view_action_pairs() -> None:
    model = tiny_model().eval()
    z = torch.randn(3, 5, 16)
    _, actions = random_batch(3, 5)
    perm = torch.tensor([2, 0, 3, 1])  # permute the first M-1 tokens (the last keeps a zero slot)
    z_p = torch.cat([z[:, perm], z[:, 4:]], dim=1)
    a_p = actions.clone()
    a_p[:, 1:5] = actions[:, 1:5][:, perm]
    torch.testing.assert_close(model.aggregate(z_p, a_p), model.aggregate(z, actions),
                               rtol=1e-5, atol=1e-5)
    # and the raw aggregator is invariant to any permutation of its tokens
    tokens = torch.randn(3, 5, 24)
    full = torch.randperm(5)
    torch.testing.assert_close(model.aggregator(tokens[:, full]), model.aggregator(tokens),
                               rtol=1e-5, atol=1e-5)


def test_key_padding_mask_equals_truncation() -> None:
    model = tiny_model().eval()
    z = torch.randn(2, 5, 16)
    _, actions = random_batch(2, 5)
    mask = torch.tensor([[False, False, False, True, True], [False, False, False, False, False]])
    padded = model.aggregate(z, actions, key_padding_mask=mask)
    torch.testing.assert_close(padded[0], model.aggregate(z[:1, :3], actions[:1, :3])[0],
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(padded[1], model.aggregate(z[1:], actions[1:])[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="key_padding_mask"):
        model.aggregate(z, actions, key_padding_mask=mask[:, :4])


def test_condition_override_at_inference() -> None:
    model = tiny_model().eval()
    z = torch.randn(2, 3, 16)
    _, actions = random_batch(2, 3)
    no_action = tiny_model(condition_aggregator=False).eval()
    no_action.load_state_dict(model.state_dict())
    torch.testing.assert_close(model.aggregate(z, actions, condition=False), no_action.aggregate(z, actions))


def test_variable_number_of_observed_views() -> None:
    model = tiny_model()
    glimpses, actions = random_batch(b=4, t=6)
    model(glimpses, actions, 2)  # "train" at M = 2
    model.eval()
    for m in range(1, 6):
        out = model(glimpses, actions, n_observed=np.int64(m))
        assert out.z_views.shape == (4, m, 16) and out.prediction.shape == (4, 16)


def test_target_encoder_is_a_frozen_copy() -> None:
    model = tiny_model()
    assert all(not p.requires_grad for p in model.target_encoder.parameters())
    for (n1, p1), (n2, p2) in zip(model.encoder.state_dict().items(),
                                  model.target_encoder.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2) and p1.data_ptr() != p2.data_ptr()
    online = {id(p) for p in model.online_parameters()}
    assert online.isdisjoint(id(p) for p in model.target_encoder.parameters())
    assert online == {id(p) for p in model.parameters()} - {id(p) for p in model.target_encoder.parameters()}
    glimpses, _ = random_batch()
    assert not model.encode_target(glimpses).requires_grad


def test_training_step_only_moves_online_parameters_and_ema_follows() -> None:
    model = tiny_model()
    glimpses, actions = random_batch(b=6, t=4)
    before = {k: v.clone() for k, v in model.target_encoder.state_dict().items()}
    opt = torch.optim.SGD(model.online_parameters(), lr=0.5)
    target = model.encode_target(glimpses[:, 3:4])[:, 0]
    loss = prediction_loss(model(glimpses, actions, 3).prediction, target)
    loss.backward()
    opt.step()
    assert all(torch.equal(before[k], v) for k, v in model.target_encoder.state_dict().items()
               if "running" not in k and "num_batches" not in k)
    model.update_target(0.0)
    for k, v in model.target_encoder.state_dict().items():
        assert torch.equal(v, model.encoder.state_dict()[k])


def test_short_overfit_lowers_the_loss() -> None:
    model = tiny_model(dropout=0.0)
    glimpses, actions = random_batch(b=8, t=4, seed=1)
    target = model.encode_target(glimpses[:, 3:4])[:, 0]  # fixed target from the frozen EMA copy
    opt = torch.optim.Adam(model.online_parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = prediction_loss(model(glimpses, actions, 3).prediction, target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * losses[0]


@pytest.mark.parametrize("glimpses, actions, m, exc, words", [
    (torch.randn(2, 4, 3, 8), torch.zeros(2, 4, 2), 2, ValueError, "glimpses must be a tensor of shape [B, T, 3, G, G]"),
    (torch.randn(2, 4, 5, 8, 8), torch.zeros(2, 4, 2), 2, ValueError, "glimpses"),
    (torch.zeros(2, 4, 3, 8, 8, dtype=torch.uint8), torch.zeros(2, 4, 2), 2, TypeError, "float"),
    (torch.randn(2, 4, 3, 8, 8), torch.zeros(2, 3, 2), 2, ValueError, "actions must have shape [2, 4, 2]"),
    (torch.randn(2, 4, 3, 8, 8), torch.zeros(2, 4, 3), 2, ValueError, "actions must have shape [2, 4, 2]"),
    (torch.randn(2, 4, 3, 8, 8), torch.zeros(2, 4, 2), 0, ValueError, "n_observed must be an int in [1, 3]"),
    (torch.randn(2, 4, 3, 8, 8), torch.zeros(2, 4, 2), 4, ValueError, "n_observed"),
    (torch.randn(2, 4, 3, 8, 8), torch.zeros(2, 4, 2), True, ValueError, "n_observed"),
])
def test_forward_shape_errors(glimpses: torch.Tensor, actions: torch.Tensor, m: int,
                              exc: type, words: str) -> None:
    model = tiny_model()
    with pytest.raises(exc) as info:
        model(glimpses, actions, m)
    assert words in str(info.value)


def test_part_shape_errors() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match=r"z must have shape \[B, M, 16\]"):
        model.aggregate(torch.randn(2, 3, 15), torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match=r"actions must have shape \[2, 3, 2\]"):
        model.aggregate(torch.randn(2, 3, 16), torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"z_agg must have shape \[B, 24\]"):
        model.predict(torch.randn(2, 16), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"next_action must have shape \[2, 2\]"):
        model.predict(torch.randn(2, 24), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="SeqJEPAConfig"):
        SeqJEPA({"embed_dim": 16})  # type: ignore[arg-type]


def test_default_resnet_model_runs_on_multiscale_glimpses() -> None:
    model = SeqJEPA(tiny_config(encoder="resnet18", embed_dim=512, action_embed_dim=128,
                                agg_heads=4, in_channels=9))
    glimpses, actions = random_batch(b=2, t=3, c=9, g=16)
    out = model(glimpses, actions, 2)
    assert out.prediction.shape == (2, 512) and out.z_agg.shape == (2, 640)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_step_on_cuda() -> None:
    device = torch.device("cuda")
    model = tiny_model().to(device)
    glimpses, actions = (x.to(device) for x in random_batch(b=4, t=5))
    target = model.encode_target(glimpses[:, 3:4])[:, 0]
    loss = prediction_loss(model(glimpses, actions, 3).prediction, target)
    loss.backward()
    model.update_target(0.99)
    mask = torch.zeros(4, 3, dtype=torch.bool, device=device)
    mask[0, 2] = True
    z_agg = model.aggregate(torch.randn(4, 3, 16, device=device), actions[:, :3], key_padding_mask=mask)
    assert z_agg.device.type == "cuda" and torch.isfinite(loss)
