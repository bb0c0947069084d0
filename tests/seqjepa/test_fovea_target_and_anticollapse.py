"""The fovea-only prediction target and the variance/covariance terms against collapse."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.losses import variance_covariance_loss


def _model(target_channels: int) -> SeqJEPA:
    torch.manual_seed(0)
    cfg = SeqJEPAConfig(in_channels=6, action_dim=2, encoder="convnet", embed_dim=16, action_embed_dim=8,
                        agg_heads=2, agg_layers=1, agg_ffn=32, pred_hidden=32, target_channels=target_channels)
    return SeqJEPA(cfg).eval()


def test_fovea_target_ignores_the_periphery_channels() -> None:
    model = _model(target_channels=3)
    x = torch.randn(4, 2, 6, 8, 8)
    y = x.clone()
    y[:, :, 3:] = torch.randn_like(y[:, :, 3:]) * 5  # another periphery
    torch.testing.assert_close(model.encode_target(x), model.encode_target(y))
    z = x.clone()
    z[:, :, :3] += 1.0  # another fovea
    assert not torch.allclose(model.encode_target(x), model.encode_target(z))
    # the context (online encoder) still sees the periphery
    assert not torch.allclose(model.encode(x), model.encode(y))


def test_fovea_target_equals_the_full_target_on_a_blank_periphery() -> None:
    full, fovea = _model(0), _model(3)
    fovea.load_state_dict(full.state_dict())
    x = torch.randn(3, 2, 6, 8, 8)
    x[:, :, 3:] = 0.0
    torch.testing.assert_close(full.encode_target(x), fovea.encode_target(x))


@pytest.mark.parametrize("bad", [-1, 7, 1.5, True])
def test_target_channels_range_is_checked(bad: object) -> None:
    with pytest.raises(ValueError, match=r"target_channels must be an int in \[0, 6\]"):
        SeqJEPAConfig(in_channels=6, encoder="convnet", embed_dim=16, target_channels=bad)


def test_variance_covariance_terms_vanish_on_whitened_latents_and_grow_on_collapse() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(20000, 8, generator=gen)
    var, cov = variance_covariance_loss(z)
    assert var.item() < 0.02 and cov.item() < 0.01
    collapsed = torch.ones(64, 8) + 1e-3 * torch.randn(64, 8, generator=gen)
    var_c, _ = variance_covariance_loss(collapsed)
    assert var_c.item() > 0.95
    shared = torch.randn(5000, 1, generator=gen).expand(5000, 8) * 2.0  # every dim the same signal
    _, cov_s = variance_covariance_loss(shared)
    assert cov_s.item() > 10.0


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 12), scale=st.floats(1e-3, 1e3))
def test_variance_covariance_terms_are_finite_non_negative_and_differentiable(n: int, d: int, scale: float) -> None:
    z = (torch.randn(n, d) * scale).requires_grad_(True)
    var, cov = variance_covariance_loss(z)
    assert torch.isfinite(var) and torch.isfinite(cov) and var.item() >= 0 and cov.item() >= 0
    (var + cov).backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("bad", [torch.zeros(1, 4), torch.zeros(4), "z"])
def test_variance_covariance_rejects_bad_input(bad: object) -> None:
    with pytest.raises(ValueError, match=r"z must be a \[N, D\] tensor with N >= 2"):
        variance_covariance_loss(bad)
