"""Frozen-feature probes: closed-form ridge and L-BFGS logistic regression."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.evaluate.probes import (
    DEFAULT_ALPHAS,
    DEFAULT_L2,
    fit_logistic,
    fit_ridge,
    r2_scores,
)


def _linear_data(n: int, d_signal: int, d_noise: int, k: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x_sig = torch.randn(n, d_signal, generator=g, dtype=torch.float64) * torch.linspace(0.1, 10, d_signal,
                                                                                         dtype=torch.float64)
    x = torch.cat([x_sig, torch.randn(n, d_noise, generator=g, dtype=torch.float64)], 1)
    w = torch.randn(d_signal, k, generator=g, dtype=torch.float64)
    return x, x_sig @ w + torch.randn(k, generator=g, dtype=torch.float64) * 5


def _blobs(n: int, d: int, k: int, sep: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    centres = torch.randn(k, d, generator=g) * sep
    return centres[y] + torch.randn(n, d, generator=g), y


def _sklearn_r2_uniform(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """scikit-learn ``r2_score(..., multioutput="uniform_average")`` for non-constant targets."""
    num = ((y_true - y_pred) ** 2).sum(axis=0)
    den = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.mean(1.0 - num / den))


# ----------------------------------------------------------------------------- ridge

def test_ridge_recovers_exact_linear_targets() -> None:  # n >> d: primal form
    x, y = _linear_data(500, d_signal=6, d_noise=5, k=3)
    r = fit_ridge(x[:400], y[:400], x[400:], y[400:])
    assert r.r2_uniform > 0.99 and r.r2_global > 0.99
    assert r.alpha in DEFAULT_ALPHAS and r.alphas == DEFAULT_ALPHAS
    assert r.predictions.shape == (100, 3) and r.predictions.dtype == torch.float64
    assert len(r.val_mse) == len(DEFAULT_ALPHAS)


def test_ridge_wide_low_rank_features() -> None:  # d >> n: dual form, pixel-like low-rank features
    g = torch.Generator().manual_seed(5)
    z = torch.randn(160, 6, generator=g, dtype=torch.float64)
    x = z @ torch.randn(6, 500, generator=g, dtype=torch.float64) + 1e-3 * torch.randn(160, 500, generator=g,
                                                                                     dtype=torch.float64)
    y = z @ torch.randn(6, 2, generator=g, dtype=torch.float64) - 1.0
    r = fit_ridge(x[:60], y[:60], x[60:], y[60:])
    assert r.r2_uniform > 0.99 and r.r2_global > 0.99 and r.alpha in DEFAULT_ALPHAS


def test_ridge_1d_targets_numpy_inputs_and_constant_columns() -> None:
    x, y = _linear_data(300, d_signal=4, d_noise=2, k=1)
    x = torch.cat([x, torch.full((300, 1), 7.0, dtype=torch.float64)], 1)  # constant column is safe
    r = fit_ridge(x[:200].numpy(), y[:200, 0].numpy(), x[200:].numpy(), y[200:, 0].numpy())
    assert r.predictions.shape == (100,)
    assert r.r2_uniform > 0.99 and r.r2_global == pytest.approx(r.r2_uniform)


def test_ridge_on_noise_features_is_not_better_than_the_mean() -> None:
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(600, 20, generator=g), torch.randn(600, 2, generator=g)
    r = fit_ridge(x[:400], y[:400], x[400:], y[400:])
    assert r.r2_uniform < 0.05 and r.r2_global < 0.05
    assert r.alpha >= 100.0  # validation picks strong shrinkage on pure noise


def test_ridge_is_deterministic_and_seed_changes_only_the_split() -> None:
    x, y = _linear_data(150, d_signal=3, d_noise=30, k=2)
    y = y + torch.randn(150, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 3
    a = fit_ridge(x[:100], y[:100], x[100:], y[100:], seed=5)
    b = fit_ridge(x[:100], y[:100], x[100:], y[100:], seed=5)
    assert torch.equal(a.predictions, b.predictions) and a.alpha == b.alpha and a.val_mse == b.val_mse
    c = fit_ridge(x[:100], y[:100], x[100:], y[100:], seed=6)
    assert c.val_mse != a.val_mse


def test_ridge_single_alpha_matches_the_normal_equations() -> None:
    x, y = _linear_data(80, d_signal=3, d_noise=4, k=2)
    y = y + torch.randn(80, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    r = fit_ridge(x[:50], y[:50], x[50:], y[50:], alphas=[3.0])
    mean, std = x[:50].mean(0), x[:50].std(0, unbiased=False)
    xs, xt = (x[:50] - mean) / std, (x[50:] - mean) / std
    w = torch.linalg.solve(xs.T @ xs + 3.0 * torch.eye(7, dtype=torch.float64), xs.T @ (y[:50] - y[:50].mean(0)))
    assert torch.allclose(r.predictions, xt @ w + y[:50].mean(0), atol=1e-9)
    # the dual form (d > n) gives the same answer
    wide = torch.cat([x, torch.randn(80, 60, generator=torch.Generator().manual_seed(9), dtype=torch.float64)], 1)
    r_wide = fit_ridge(wide[:50], y[:50], wide[50:], y[50:], alphas=[3.0])
    mean, std = wide[:50].mean(0), wide[:50].std(0, unbiased=False)
    xs, xt = (wide[:50] - mean) / std, (wide[50:] - mean) / std
    w = torch.linalg.solve(xs.T @ xs + 3.0 * torch.eye(67, dtype=torch.float64), xs.T @ (y[:50] - y[:50].mean(0)))
    assert torch.allclose(r_wide.predictions, xt @ w + y[:50].mean(0), atol=1e-8)


def test_r2_conventions_by_hand() -> None:
    y_true = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    y_pred = np.array([[1.0, 12.0], [2.0, 18.0], [3.0, 33.0], [5.0, 40.0]])
    # dim 0: SSE = 1, SST = 5 -> 0.8; dim 1: SSE = 4 + 4 + 9 = 17, SST = 500 -> 0.966
    uniform, global_ = r2_scores(y_true, y_pred)
    assert uniform == pytest.approx((0.8 + (1 - 17 / 500)) / 2)
    assert uniform == pytest.approx(_sklearn_r2_uniform(y_true, y_pred))
    assert global_ == pytest.approx(1 - (1 + 17) / (5 + 500))
    # constant target dim: 1 if predicted exactly, else 0 (sklearn force_finite)
    const = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0]])
    assert r2_scores(const, const)[0] == 1.0
    assert r2_scores(const, const + [[0.0, 1.0]] * 3)[0] == pytest.approx(0.5)


def test_ridge_reported_r2_matches_its_predictions() -> None:
    x, y = _linear_data(200, d_signal=3, d_noise=3, k=3)
    y = y * torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64)
    y = y + torch.randn(200, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 20
    r = fit_ridge(x[:150], y[:150], x[150:], y[150:])
    yt, yp = y[150:].numpy(), r.predictions.numpy()
    assert r.r2_uniform == pytest.approx(_sklearn_r2_uniform(yt, yp))
    sst = ((yt - yt.mean(0)) ** 2).sum()
    assert r.r2_global == pytest.approx(1 - ((yt - yp) ** 2).sum() / sst)
    assert r.r2_uniform != pytest.approx(r.r2_global)


@settings(max_examples=15, deadline=None)
@given(d=st.integers(1, 60), extra=st.integers(0, 60), k=st.integers(1, 4), wide=st.booleans(),
       seed=st.integers(0, 10_000))
def test_ridge_property_noiseless_affine_targets(d: int, extra: int, k: int, wide: bool, seed: int) -> None:
    """Tall (n > 1.5 d) full-rank features, or wide (d >> n) features of rank < n / 3."""
    g = torch.Generator().manual_seed(seed)
    if wide:
        n, rank = 12 + extra, max(1, (12 + extra) // 4)
        z = torch.randn(n + 30, rank, generator=g, dtype=torch.float64)
        x = z @ torch.randn(rank, n + 10 * d, generator=g, dtype=torch.float64)
    else:
        n = 3 * d // 2 + 8 + extra
        x = z = torch.randn(n + 30, d, generator=g, dtype=torch.float64)
    y = z @ torch.randn(z.shape[1], k, generator=g, dtype=torch.float64) + 3.0
    r = fit_ridge(x[:n], y[:n], x[n:], y[n:], alphas=(1e-6, 1e-4, 1e-2))
    assert r.r2_uniform > 0.999 and r.r2_global > 0.999


# ----------------------------------------------------------------------------- logistic

def test_logistic_separable_three_classes() -> None:
    x, y = _blobs(300, d=5, k=3, sep=8.0)
    r = fit_logistic(x[:200], y[:200], x[200:], y[200:])
    assert r.accuracy == 1.0
    assert torch.equal(r.predictions, y[200:]) and r.predictions.dtype == torch.int64
    assert r.l2 in DEFAULT_L2 and r.l2_grid == DEFAULT_L2 and len(r.val_accuracy) == len(DEFAULT_L2)
    assert r.converged


def test_logistic_noise_features_give_chance() -> None:
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(2000, 30, generator=g), torch.randint(0, 5, (2000,), generator=g)
    r = fit_logistic(x[:1500], y[:1500], x[1500:], y[1500:])
    assert abs(r.accuracy - 0.2) < 0.06


def test_logistic_is_deterministic_and_converges_on_overlapping_classes() -> None:
    x, y = _blobs(600, d=20, k=4, sep=0.4, seed=3)
    a = fit_logistic(x[:400].numpy(), y[:400].numpy(), x[400:].numpy(), y[400:].numpy())
    b = fit_logistic(x[:400], y[:400], x[400:], y[400:])
    assert torch.equal(a.predictions, b.predictions) and (a.l2, a.val_accuracy) == (b.l2, b.val_accuracy)
    assert a.converged and 0 < a.n_iter < 1000
    assert a.accuracy > 0.4


def test_logistic_classes_absent_from_training() -> None:
    x, y = _blobs(400, d=4, k=4, sep=6.0, seed=1)
    train = y != 1  # class 1 never seen in training
    r = fit_logistic(x[:300][train[:300]], y[:300][train[:300]], x[300:], y[300:])
    assert not bool((r.predictions == 1).any())
    seen = y[300:] != 1
    assert torch.equal(r.predictions[seen], y[300:][seen])
    only = fit_logistic(x[:10], torch.full((10,), 2), x[300:], y[300:])  # a single training class
    assert bool((only.predictions == 2).all())


# ----------------------------------------------------------------------------- errors

def test_bad_inputs_raise_clear_errors() -> None:
    x, y = torch.randn(30, 4), torch.randn(30, 2)
    with pytest.raises(ValueError, match="x_train"):
        fit_ridge(x[:, 0], y, x, y)
    with pytest.raises(ValueError, match="x_train has 4 features but x_test has 3"):
        fit_ridge(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="y_train has 29 rows"):
        fit_ridge(x, y[:29], x, y)
    with pytest.raises(ValueError, match="y_test"):
        fit_ridge(x, y, x, y[:, :1])
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="x_test contains NaN or inf"):
        fit_ridge(x, y, bad, y)
    bad[3, 1] = float("inf")
    with pytest.raises(ValueError, match="x_train contains NaN or inf"):
        fit_logistic(bad, torch.zeros(30, dtype=torch.long), x, torch.zeros(30, dtype=torch.long))
    with pytest.raises(ValueError, match="alphas"):
        fit_ridge(x, y, x, y, alphas=())
    with pytest.raises(ValueError, match="val_fraction"):
        fit_ridge(x, y, x, y, val_fraction=1.0)
    labels = torch.arange(30) % 3
    with pytest.raises(ValueError, match="y_train"):
        fit_logistic(x, labels.float() + 0.5, x, labels)
    with pytest.raises(ValueError, match="y_test must hold labels >= 0"):
        fit_logistic(x, labels, x, labels - 1)
    with pytest.raises(ValueError, match="y_train must be 1-D"):
        fit_logistic(x, labels[:, None], x, labels)
    with pytest.raises(ValueError, match="l2_grid"):
        fit_logistic(x, labels, x, labels, l2_grid=(-1.0,))
    with pytest.raises(ValueError, match="max_iter"):
        fit_logistic(x, labels, x, labels, max_iter=0)
    with pytest.raises(ValueError, match="x_train must be a torch.Tensor or numpy.ndarray"):
        fit_logistic(x.tolist(), labels, x, labels)


# --------------------------------------------------------------------------- MLP probe
def _xor_like(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 4, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.stack([x[:, 0] * x[:, 1], torch.sin(3 * x[:, 2]) * x[:, 3]], 1)
    return x, y


def test_mlp_decodes_what_ridge_cannot() -> None:
    from experiments.evaluate.probes import fit_mlp

    x, y = _xor_like(2000, 0)
    xt, yt = _xor_like(800, 1)
    mlp = fit_mlp(x, y, xt, yt, seed=0)
    ridge = fit_ridge(x, y, xt, yt)
    assert ridge.r2_uniform < 0.2 < 0.8 < mlp.r2_uniform
    assert mlp.predictions.shape == yt.shape and 1 <= mlp.best_epoch <= len(mlp.val_mse)


def test_mlp_is_deterministic_and_scores_noise_near_zero() -> None:
    from experiments.evaluate.probes import fit_mlp

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(600, 5, generator=gen), torch.randn(600, generator=gen)
    xt, yt = torch.randn(300, 5, generator=gen), torch.randn(300, generator=gen)
    a = fit_mlp(x, y, xt, yt, seed=2, epochs=20)
    b = fit_mlp(x, y, xt, yt, seed=2, epochs=20)
    assert a.r2_uniform == b.r2_uniform and a.predictions.shape == (300,)
    assert a.r2_uniform < 0.05  # early stopping keeps an MLP from fitting noise


@pytest.mark.parametrize("kwargs, name", [({"hidden": 0}, "hidden"), ({"epochs": 1.5}, "epochs"),
                                          ({"lr": 0.0}, "lr"), ({"layers": True}, "layers")])
def test_mlp_bad_settings_are_named(kwargs: dict, name: str) -> None:
    from experiments.evaluate.probes import fit_mlp

    x = torch.randn(20, 3)
    with pytest.raises(ValueError, match=name):
        fit_mlp(x, x[:, 0], x, x[:, 0], **kwargs)
