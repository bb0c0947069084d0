"""``predictor_context="agg_last"``: the predictor sees z_agg, the last view's latent and the action."""

from __future__ import annotations

import pytest
import torch

from seqjepa import SeqJEPAConfig
from tests.seqjepa.conftest import random_batch, tiny_config, tiny_model


def test_predictor_width_follows_the_context() -> None:
    agg = tiny_config()
    last = tiny_config(predictor_context="agg_last")
    assert agg.predictor_in_dim == agg.agg_dim + agg.action_embed_dim
    assert last.predictor_in_dim == last.agg_dim + last.embed_dim + last.action_embed_dim
    assert tiny_model(predictor_context="agg_last").predictor.in_dim == last.predictor_in_dim


def test_bad_context_is_named() -> None:
    with pytest.raises(ValueError, match="predictor_context.*'agg', 'agg_last'"):
        tiny_config(predictor_context="last")


def test_forward_uses_the_last_observed_view() -> None:
    model = tiny_model(predictor_context="agg_last").eval()
    glimpses, actions = random_batch(b=3, t=5)
    m = 3
    out = model(glimpses, actions, n_observed=m)
    z = model.encode(glimpses[:, :m])
    z_agg = model.aggregate(z, actions[:, :m])
    expected = model.predict(z_agg, actions[:, m], z_last=z[:, m - 1])
    torch.testing.assert_close(out.prediction, expected)
    other = model.predict(z_agg, actions[:, m], z_last=z[:, 0])
    assert not torch.allclose(other, expected)  # the last view's latent really enters the prediction


def test_agg_last_requires_z_last_of_the_right_shape() -> None:
    model = tiny_model(predictor_context="agg_last")
    z_agg = torch.zeros(2, model.config.agg_dim)
    a = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="z_last must have shape"):
        model.predict(z_agg, a)
    with pytest.raises(ValueError, match="z_last must have shape"):
        model.predict(z_agg, a, z_last=torch.zeros(3, model.config.embed_dim))


def test_paper_form_ignores_z_last() -> None:
    model = tiny_model().eval()
    z_agg = torch.randn(2, model.config.agg_dim)
    a = torch.randn(2, 2)
    torch.testing.assert_close(model.predict(z_agg, a), model.predict(z_agg, a, z_last=torch.randn(2, 16)))


def test_agg_last_trains_and_round_trips_its_config() -> None:
    cfg = tiny_config(predictor_context="agg_last")
    assert SeqJEPAConfig.from_dict(cfg.to_dict()) == cfg
    model = tiny_model(predictor_context="agg_last").train()
    glimpses, actions = random_batch(b=4, t=4)
    out = model(glimpses, actions, n_observed=2)
    out.prediction.pow(2).mean().backward()
    grads = [p.grad for p in model.encoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_action_map_needs_the_last_view() -> None:
    with pytest.raises(ValueError, match="predictor_action_map=True needs predictor_context='agg_last'"):
        tiny_config(predictor_action_map=True)


def test_action_map_adds_an_action_generated_linear_map_of_the_last_latent() -> None:
    model = tiny_model(predictor_context="agg_last", predictor_action_map=True).eval()
    d = model.config.embed_dim
    assert model.action_map.out_features == d * d
    z_agg, z_last, a = torch.randn(3, model.config.agg_dim), torch.randn(3, d), torch.randn(3, 2)
    with torch.no_grad():
        full = model.predict(z_agg, a, z_last=z_last)
        emb = model.action_embed(a)
        rho = model.action_map(emb).view(3, d, d)
        mlp = model.predictor(torch.cat([z_agg, z_last, emb], 1))
        torch.testing.assert_close(full, mlp + torch.einsum("bij,bj->bi", rho, z_last))
        # the map is linear in z_last for a fixed action
        twice = model.predict(z_agg, a, z_last=2 * z_last) - model.predictor(torch.cat([z_agg, 2 * z_last, emb], 1))
        torch.testing.assert_close(twice, 2 * (full - mlp))
        # unconditioned: the map is the same constant for every action
        off_a = model.predict(z_agg, a, condition=False, z_last=z_last)
        off_b = model.predict(z_agg, -a, condition=False, z_last=z_last)
        torch.testing.assert_close(off_a, off_b)


def test_action_map_trains() -> None:
    model = tiny_model(predictor_context="agg_last", predictor_action_map=True).train()
    glimpses, actions = random_batch(b=4, t=4)
    model(glimpses, actions, n_observed=3).prediction.pow(2).mean().backward()
    assert model.action_map.weight.grad is not None and torch.isfinite(model.action_map.weight.grad).all()
