import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqjepa import ConvNetEncoder, ema_momentum, update_ema


def _pair() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    online = ConvNetEncoder(3, embed_dim=8, width=4)
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(torch.randn_like(p))
    online.train()(torch.randn(4, 3, 8, 8))  # moves online BN running stats
    return online, target


def test_momentum_zero_copies_online() -> None:
    online, target = _pair()
    update_ema(online, target, 0.0)
    for (name, v_t), v_o in zip(target.state_dict().items(), online.state_dict().values()):
        assert torch.equal(v_t, v_o), name


def test_momentum_one_keeps_params_but_copies_buffers() -> None:
    online, target = _pair()
    before = {n: p.clone() for n, p in target.named_parameters()}
    update_ema(online, target, 1.0)
    for n, p in target.named_parameters():
        assert torch.equal(p, before[n])
    for (n, b_t), b_o in zip(target.named_buffers(), online.buffers()):
        assert torch.equal(b_t, b_o), n


def test_lerp_value() -> None:
    online, target = _pair()
    m = 0.3
    expected = {n: m * p_t.detach() + (1 - m) * p_o.detach()
                for (n, p_t), p_o in zip(target.named_parameters(), online.parameters())}
    update_ema(online, target, m)
    for n, p in target.named_parameters():
        torch.testing.assert_close(p.detach(), expected[n])


def test_update_ema_errors() -> None:
    online, target = _pair()
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\]"):
        update_ema(online, target, 1.5)
    with pytest.raises(ValueError, match="same parameter and buffer names"):
        update_ema(online, nn.Linear(2, 2), 0.5)
    with pytest.raises(ValueError, match="shape"):
        update_ema(nn.Linear(3, 2), nn.Linear(2, 2), 0.5)


def test_ema_momentum_endpoints() -> None:
    assert ema_momentum(0, 100) == pytest.approx(0.996)
    assert ema_momentum(100, 100) == pytest.approx(1.0)
    assert ema_momentum(500, 100) == pytest.approx(1.0)
    assert ema_momentum(50, 100, base=0.9, final=1.0) == pytest.approx(0.95)
    with pytest.raises(ValueError, match="total_steps"):
        ema_momentum(0, 0)
    with pytest.raises(ValueError, match="step"):
        ema_momentum(-1, 10)
    with pytest.raises(ValueError, match="base"):
        ema_momentum(0, 10, base=1.2)


@settings(max_examples=50, deadline=None)
@given(total=st.integers(1, 10_000), a=st.integers(0, 12_000), b=st.integers(0, 12_000),
       base=st.floats(0.0, 1.0))
def test_ema_momentum_is_monotone_and_bounded(total: int, a: int, b: int, base: float) -> None:
    lo, hi = sorted((a, b))
    m_lo, m_hi = ema_momentum(lo, total, base=base), ema_momentum(hi, total, base=base)
    assert base - 1e-12 <= m_lo <= m_hi + 1e-12 <= 1.0 + 2e-12
    expected = 1.0 - (1.0 - base) * (math.cos(math.pi * min(lo, total) / total) + 1) / 2
    assert m_lo == pytest.approx(expected)
