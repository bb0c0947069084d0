import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqjepa import cosine_similarity_per_item, prediction_loss


def test_known_values() -> None:
    x = torch.randn(5, 7)
    assert float(prediction_loss(x, x.clone())) == pytest.approx(0.0, abs=1e-6)
    assert float(prediction_loss(x, -x)) == pytest.approx(2.0, abs=1e-6)
    e = torch.eye(4)
    assert float(prediction_loss(e[:2], e[2:])) == pytest.approx(1.0, abs=1e-6)
    # mean over items: one identical pair (0) and one opposite pair (2)
    pred = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([[3.0, 0.0], [0.0, -2.0]])
    assert float(prediction_loss(pred, target)) == pytest.approx(1.0)
    torch.testing.assert_close(cosine_similarity_per_item(pred, target), torch.tensor([1.0, -1.0]))


@settings(max_examples=30, deadline=None)
@given(scale_p=st.floats(1e-3, 1e3), scale_t=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_scale_invariance(scale_p: float, scale_t: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    p, t = torch.randn(6, 5, generator=gen, dtype=torch.float64), torch.randn(6, 5, generator=gen, dtype=torch.float64)
    base = prediction_loss(p, t)
    torch.testing.assert_close(prediction_loss(scale_p * p, scale_t * t), base)
    assert 0.0 <= float(base) <= 2.0


def test_gradient_and_zero_vector() -> None:
    p = torch.randn(3, 4, requires_grad=True)
    prediction_loss(p, torch.randn(3, 4)).backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    loss = prediction_loss(torch.zeros(2, 4), torch.randn(2, 4))
    assert float(loss) == pytest.approx(1.0)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"same shape \[..., D\]"):
        prediction_loss(torch.randn(3, 4), torch.randn(3, 5))
    with pytest.raises(ValueError, match="at least one item"):
        prediction_loss(torch.randn(0, 4), torch.randn(0, 4))
    with pytest.raises(TypeError, match="torch tensors"):
        prediction_loss([1.0], torch.randn(1))  # type: ignore[arg-type]
