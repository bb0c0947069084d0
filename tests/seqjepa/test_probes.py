import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from seqjepa import ActionRegressor, LinearProbe, r2_score


def _r2_numpy(pred: np.ndarray, target: np.ndarray, multioutput: str) -> float:
    """sklearn's definition written out independently (no constant columns)."""
    ss_res = ((target - pred) ** 2).sum(axis=0)
    ss_tot = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    per_output = 1.0 - ss_res / ss_tot
    weights = ss_tot if multioutput == "variance_weighted" else None
    return float(np.average(per_output, weights=weights))


def test_r2_hand_computed() -> None:
    # y = [1, 2, 3], p = [1, 2, 4]: SS_res = 1, SS_tot = 2 -> R^2 = 0.5
    assert float(r2_score(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 2.0, 3.0]))) == pytest.approx(0.5)
    # two outputs: column 0 as above (0.5); column 1 y = [0, 0, 6] (SS_tot 24), p = [0, 0, 0]
    # (SS_res 36) -> R^2 = -0.5. uniform = 0; variance weighted = (0.5*2 - 0.5*24)/26 = -11/26
    y = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 6.0]])
    p = torch.tensor([[1.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    torch.testing.assert_close(r2_score(p, y, "raw_values"), torch.tensor([0.5, -0.5], dtype=torch.float64))
    assert float(r2_score(p, y)) == pytest.approx(0.0)
    assert float(r2_score(p, y, "variance_weighted")) == pytest.approx(-11 / 26)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(3, 40), a=st.integers(1, 4), seed=st.integers(0, 10_000),
       multioutput=st.sampled_from(["uniform_average", "variance_weighted"]))
def test_r2_matches_sklearn_convention(n: int, a: int, seed: int, multioutput: str) -> None:
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(n, a)) * rng.uniform(0.1, 10, size=a)
    pred = target + rng.normal(size=(n, a))
    got = float(r2_score(torch.from_numpy(pred), torch.from_numpy(target), multioutput))
    assert got == pytest.approx(_r2_numpy(pred, target, multioutput), rel=1e-9, abs=1e-12)


def test_r2_special_cases() -> None:
    y = torch.randn(10, 3)
    assert float(r2_score(y, y)) == pytest.approx(1.0)
    assert float(r2_score(y.mean(0, keepdim=True).expand_as(y), y)) == pytest.approx(0.0, abs=1e-12)
    const = torch.ones(5, 1)
    assert float(r2_score(const, const)) == 1.0  # constant target predicted exactly
    assert float(r2_score(const + 1, const)) == 0.0  # constant target missed: 0, not -inf/NaN
    with pytest.raises(ValueError, match="N >= 2"):
        r2_score(torch.ones(1, 2), torch.ones(1, 2))
    with pytest.raises(ValueError, match="multioutput must be one of"):
        r2_score(y, y, "mean")
    with pytest.raises(ValueError, match="same shape"):
        r2_score(y, y[:, :2])


def test_linear_probe_ignores_unlabeled_and_detaches() -> None:
    probe = LinearProbe(6, 3)
    feats = torch.randn(8, 6, requires_grad=True)
    labels = torch.tensor([0, -1, 2, 1, -1, 0, 2, -1])
    loss, acc = probe.loss_and_accuracy(feats, labels)
    keep = labels >= 0
    logits = probe.linear(feats.detach()[keep])
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels[keep]))
    assert float(acc) == pytest.approx(float((logits.argmax(1) == labels[keep]).float().mean()))
    loss.backward()
    assert feats.grad is None and probe.linear.weight.grad is not None
    none_loss, none_acc = probe.loss_and_accuracy(feats, torch.full((8,), -1))
    assert none_loss.item() == 0.0 and none_acc.item() == 0.0
    none_loss.backward()  # still differentiable
    with pytest.raises(ValueError, match=r"labels must lie in \[-1, 2\]"):
        probe.loss_and_accuracy(feats, torch.tensor([0, 3, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"features must have shape \[N, 6\]"):
        probe(torch.randn(2, 5))


@pytest.mark.parametrize("hidden", [None, 16])
def test_regressor_probes(hidden: int | None) -> None:
    reg = ActionRegressor(5, 2, hidden=hidden)
    f1, f2 = torch.randn(4, 5, requires_grad=True), torch.randn(4, 5)
    out = reg(f1, f2)
    assert out.shape == (4, 2)
    out.sum().backward()
    assert f1.grad is None
    with pytest.raises(ValueError, match="same N"):
        reg(f1, torch.randn(3, 5))
    with pytest.raises(ValueError, match="hidden"):
        ActionRegressor(5, 2, hidden=0)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), a=st.integers(1, 4), chunks=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_r2_from_streamed_sums_equals_r2_score(n: int, a: int, chunks: int, seed: int) -> None:
    """The online probe streams SSE, sum y and sum y^2 in chunks (or across ranks); R^2 from those
    sums equals r2_score on the whole arrays (one R^2 rule for the whole project)."""
    from seqjepa import r2_from_sums

    g = torch.Generator().manual_seed(seed)
    y, p = torch.randn(n, a, generator=g, dtype=torch.float64), torch.randn(n, a, generator=g, dtype=torch.float64)
    sse, sy, syy = torch.zeros(a, dtype=torch.float64), torch.zeros(a, dtype=torch.float64), torch.zeros(a, dtype=torch.float64)
    for part in torch.tensor_split(torch.arange(n), chunks):
        sse += ((y[part] - p[part]) ** 2).sum(0)
        sy += y[part].sum(0)
        syy += (y[part] ** 2).sum(0)
    sst = syy - sy ** 2 / n
    torch.testing.assert_close(r2_from_sums(sse, sst, "raw_values"), r2_score(p, y, "raw_values"))
