"""Probes on frozen features: closed-form ridge and L-BFGS logistic regression (converged, linear),
and an early-stopped MLP regressor (:func:`fit_mlp`, for transformations such as 3D rotations
that no linear map of two views' latents decodes; SIE's / 3DIEBench's protocol).

Both probes z-score the features with the mean/std of the rows they are fitted on (constant
columns are left at zero), choose their regularisation on a seeded held-out validation split
of the training set, then refit on the whole training set and score the test set. All maths
runs in float64 on the CPU, so results are deterministic for a given input and seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from checks import check_int, check_real
from seqjepa.probes import r2_score

__all__ = ["RidgeResult", "ClassifierResult", "MLPResult", "fit_ridge", "fit_logistic", "fit_mlp", "r2_scores",
           "DEFAULT_ALPHAS", "DEFAULT_L2"]

ArrayLike = Union[torch.Tensor, np.ndarray]

DEFAULT_ALPHAS: tuple[float, ...] = tuple(10.0 ** k for k in range(-4, 5))  # 1e-4 ... 1e4
DEFAULT_L2: tuple[float, ...] = tuple(10.0 ** k for k in range(-4, 0))  # 1e-4 ... 0.1 (mean-loss scale)
_EPS_STD = 1e-12


@dataclass(frozen=True)
class RidgeResult:
    """Ridge probe outcome.

    predictions: float64 ``[n_test, k]`` (``[n_test]`` when ``y`` was 1-D); ``r2_uniform``: mean
    over output dims of per-dim R^2 (scikit-learn's default); ``r2_global``: 1 - total SSE / total
    SST; ``alpha``: the chosen penalty; ``val_mse``: validation MSE (standardised targets) per alpha.
    """

    predictions: torch.Tensor
    r2_uniform: float
    r2_global: float
    alpha: float
    alphas: tuple[float, ...]
    val_mse: tuple[float, ...]


@dataclass(frozen=True)
class ClassifierResult:
    """Logistic probe outcome.

    accuracy: test top-1; predictions: int64 ``[n_test]``; ``l2``: the chosen L2 strength;
    ``val_accuracy`` per grid value; ``converged``: the final refit met the gradient tolerance;
    ``n_iter``: L-BFGS iterations of the final refit.
    """

    accuracy: float
    predictions: torch.Tensor
    l2: float
    l2_grid: tuple[float, ...]
    val_accuracy: tuple[float, ...]
    converged: bool
    n_iter: int


# --------------------------------------------------------------------------- input checks

def _to_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise ValueError(f"{name}: object arrays are not supported")
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    raise ValueError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}")


def _features(x: ArrayLike, name: str) -> torch.Tensor:
    t = _to_tensor(x, name)
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n, d], got shape {tuple(t.shape)}")
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must be real-valued, got dtype {t.dtype}")
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t.sum())) and not bool(torch.isfinite(t).all()):  # fast path first
        raise ValueError(f"{name} contains NaN or inf")
    return t


def _pair(x_train: ArrayLike, x_test: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    xtr, xte = _features(x_train, "x_train"), _features(x_test, "x_test")
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"x_train has {xtr.shape[1]} features but x_test has {xte.shape[1]}")
    if xtr.shape[1] == 0:
        raise ValueError("x_train must have at least one feature column")
    return xtr, xte


def _check_rows(name: str, y: torch.Tensor, n: int, x_name: str) -> None:
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} rows but {x_name} has {n}")


def _check_val_fraction(val_fraction: float, n_grid: int) -> None:
    if not (isinstance(val_fraction, (int, float)) and 0.0 < val_fraction < 1.0) and n_grid > 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")


def _grid(values: Sequence[float], name: str) -> tuple[float, ...]:
    grid = tuple(float(v) for v in values)
    if not grid:
        raise ValueError(f"{name} must not be empty")
    if any(not math.isfinite(v) or v < 0 for v in grid):
        raise ValueError(f"{name} must hold finite non-negative values, got {grid}")
    return grid


def _split(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (fit, val) index split of ``n`` rows; both parts non-empty."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    n_val = min(max(1, int(round(val_fraction * n))), n - 1)
    return perm[n_val:], perm[:n_val]


def _choose(grid: tuple[float, ...], n_rows: int, val_fraction: float, seed: int, name: str,
            validate: Callable[[torch.Tensor, torch.Tensor], tuple[float, tuple[float, ...]]]
            ) -> tuple[float, tuple[float, ...]]:
    """The regulariser ``name`` from ``grid`` and its per-value validation scores: a one-value grid's
    value with NaN, else ``validate(fit_idx, val_idx)`` on the seeded split of ``n_rows`` (>= 3) rows."""
    if len(grid) == 1:
        return grid[0], (float("nan"),)
    if n_rows < 3:
        raise ValueError(f"x_train needs at least 3 rows to choose {name}, got {n_rows}")
    return validate(*_split(n_rows, val_fraction, seed))


def _standardise(x_fit: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Z-score with ``x_fit``'s column mean/std; constant columns become 0."""
    mean = x_fit.mean(0)
    std = x_fit.std(0, unbiased=False)
    std = torch.where(std > _EPS_STD * (1.0 + mean.abs()), std, torch.ones_like(std))
    return [(t - mean) / std for t in (x_fit, *others)]


# --------------------------------------------------------------------------- ridge

def r2_scores(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[float, float]:
    """(r2_uniform, r2_global) of predictions ``[n, k]`` (or ``[n]``) against targets:
    :func:`seqjepa.r2_score` with ``"uniform_average"`` and ``"variance_weighted"``
    (= 1 - sum SSE / sum SST over the dims that vary)."""
    yt = _to_tensor(y_true, "y_true").to(torch.float64)
    yp = _to_tensor(y_pred, "y_pred").to(torch.float64)
    if yt.shape != yp.shape:
        raise ValueError(f"y_true shape {tuple(yt.shape)} != y_pred shape {tuple(yp.shape)}")
    if yt.ndim == 1:
        yt, yp = yt[:, None], yp[:, None]
    if yt.ndim != 2 or yt.shape[0] < 2 or yt.shape[1] < 1:
        raise ValueError(f"y_true must be [n, k] with n >= 2, got shape {tuple(yt.shape)}")
    return float(r2_score(yp, yt)), float(r2_score(yp, yt, "variance_weighted"))


def _targets(y: ArrayLike, name: str) -> tuple[torch.Tensor, bool]:
    """Regression targets as float64 ``[n, k]`` and whether they were given 1-D."""
    t = _to_tensor(y, name)
    one_d = t.ndim == 1
    return _features(t[:, None] if one_d else t, name), one_d


class _RidgeSolver:
    """Ridge on centred ``x`` ``[n, d]`` for any alpha, in the cheaper of two equivalent forms.

    n >= d: primal, solve (X^T X + alpha I) W = X^T Y; n < d: dual, W = X^T (X X^T + alpha I)^-1 Y.
    Each alpha costs one Cholesky of a min(n, d)-square matrix; a singular system (alpha = 0)
    falls back to an eigendecomposition (pseudo-inverse on the null space).
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        n, d = x.shape
        self.primal = n >= d
        self.x = x
        self.gram = x.T @ x if self.primal else x @ x.T
        self.rhs = x.T @ y if self.primal else y
        self._eig: tuple[torch.Tensor, torch.Tensor] | None = None

    def weights(self, alpha: float) -> torch.Tensor:
        """Coefficients ``[d, k]`` minimising ||Y - XW||^2 + alpha ||W||^2."""
        system = self.gram.clone()
        system.diagonal().add_(alpha)
        chol, info = torch.linalg.cholesky_ex(system)
        del system
        if int(info) == 0 and alpha > 0:
            coef = torch.cholesky_solve(self.rhs, chol)
        else:
            if self._eig is None:
                evals, vecs = torch.linalg.eigh(self.gram)
                self._eig = (evals.clamp(min=0.0), vecs)
            evals, vecs = self._eig
            shifted = evals + alpha
            keep = shifted > evals.max() * 1e-12
            inv = torch.where(keep, 1.0 / torch.where(keep, shifted, torch.ones_like(shifted)),
                              torch.zeros_like(shifted))
            coef = vecs @ (inv[:, None] * (vecs.T @ self.rhs))
        return coef if self.primal else self.x.T @ coef


def _ridge_fit_predict(x_fit: torch.Tensor, y_fit: torch.Tensor, x_eval: torch.Tensor,
                       alphas: Sequence[float]) -> list[torch.Tensor]:
    """Predictions on ``x_eval`` for each alpha; features standardised, intercept unpenalised."""
    xf, xe = _standardise(x_fit, x_eval)
    y_mean = y_fit.mean(0)
    solver = _RidgeSolver(xf, y_fit - y_mean)
    return [xe @ solver.weights(a) + y_mean for a in alphas]


def fit_ridge(x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, y_test: ArrayLike,
              alphas: Sequence[float] = DEFAULT_ALPHAS, val_fraction: float = 0.2,
              seed: int = 0) -> RidgeResult:
    """Closed-form ridge regression probe.

    Args: x_train ``[n, d]``, y_train ``[n, k]`` or ``[n]``, x_test ``[m, d]``, y_test like y_train
    with ``m >= 2`` rows. ``alphas``: penalty grid on the sum-of-squares loss (scikit-learn scale),
    chosen by validation MSE of per-dim standardised targets on a ``val_fraction`` split drawn with
    ``seed``; a one-value grid skips validation. Returns a :class:`RidgeResult`.
    """
    xtr, xte = _pair(x_train, x_test)
    ytr_raw, one_d = _targets(y_train, "y_train")
    yte, one_d_test = _targets(y_test, "y_test")
    if one_d != one_d_test:
        raise ValueError(f"y_test must have as many dims as y_train, got shape {tuple(yte.shape)}")
    _check_rows("y_train", ytr_raw, xtr.shape[0], "x_train")
    _check_rows("y_test", yte, xte.shape[0], "x_test")
    if yte.shape[1] != ytr_raw.shape[1]:
        raise ValueError(f"y_train has {ytr_raw.shape[1]} output dims but y_test has {yte.shape[1]}")
    if ytr_raw.shape[1] == 0:
        raise ValueError("y_train must have at least one output dim")
    if xtr.shape[0] < 2:
        raise ValueError(f"x_train needs at least 2 rows, got {xtr.shape[0]}")
    if xte.shape[0] < 2:
        raise ValueError(f"x_test needs at least 2 rows for R^2, got {xte.shape[0]}")
    grid = _grid(alphas, "alphas")
    _check_val_fraction(val_fraction, len(grid))

    def validate(fit_idx: torch.Tensor, val_idx: torch.Tensor) -> tuple[float, tuple[float, ...]]:
        y_fit, y_val = ytr_raw[fit_idx], ytr_raw[val_idx]
        y_std = y_fit.std(0, unbiased=False)
        y_std = torch.where(y_std > _EPS_STD * (1.0 + y_fit.mean(0).abs()), y_std, torch.ones_like(y_std))
        preds = _ridge_fit_predict(xtr[fit_idx], y_fit, xtr[val_idx], grid)
        mse = tuple(float((((p - y_val) / y_std) ** 2).mean()) for p in preds)
        return grid[min(range(len(grid)), key=lambda i: (mse[i], -grid[i]))], mse  # ties -> larger alpha

    alpha, val_mse = _choose(grid, xtr.shape[0], val_fraction, seed, "alpha", validate)
    pred = _ridge_fit_predict(xtr, ytr_raw, xte, [alpha])[0]
    r2u, r2g = r2_scores(yte, pred)
    return RidgeResult(predictions=pred[:, 0] if one_d else pred, r2_uniform=r2u, r2_global=r2g,
                       alpha=alpha, alphas=grid, val_mse=val_mse)


# --------------------------------------------------------------------------- logistic

def _labels(y: ArrayLike, name: str) -> torch.Tensor:
    t = _to_tensor(y, name)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D [n] integer labels, got shape {tuple(t.shape)}")
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name} must hold integer labels, got dtype {t.dtype}")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()) or not bool((t == t.round()).all()):
            raise ValueError(f"{name} must hold integer labels 0..K-1")
    t = t.to(torch.int64)
    if t.numel() and int(t.min()) < 0:
        raise ValueError(f"{name} must hold labels >= 0, got {int(t.min())}")
    return t


def _lbfgs(x: torch.Tensor, y: torch.Tensor, n_classes: int, l2: float, init: torch.Tensor | None,
           max_iter: int, tol: float) -> tuple[torch.Tensor, bool, int]:
    """Minimise mean CE + l2/2 ||W||^2 (bias free) with full-batch L-BFGS.

    x ``[n, d]`` standardised, y ``[n]`` in 0..C-1. Returns flat params ``[(d+1) C]`` (W then b),
    whether max |grad| <= tol, and the iteration count.
    """
    d = x.shape[1]
    theta = (init.clone() if init is not None
             else torch.zeros((d + 1) * n_classes, dtype=torch.float64)).requires_grad_(True)
    opt = torch.optim.LBFGS([theta], lr=1.0, max_iter=max_iter, max_eval=max_iter * 2,
                            tolerance_grad=tol, tolerance_change=1e-15, history_size=20,
                            line_search_fn="strong_wolfe")

    onehot = F.one_hot(y, n_classes).to(x.dtype)
    n = x.shape[0]

    def closure() -> torch.Tensor:
        """Mean CE + l2/2 ||W||^2 and its analytic gradient (no autograd graph: ~2x faster)."""
        with torch.no_grad():
            w = theta[: d * n_classes].view(d, n_classes)
            logits = x @ w + theta[d * n_classes:]
            logp = torch.log_softmax(logits, 1)
            loss = -(logp * onehot).sum() / n + 0.5 * l2 * (w * w).sum()
            residual = (logp.exp() - onehot) / n
            grad_w = x.T @ residual + l2 * w
            theta.grad = torch.cat([grad_w.reshape(-1), residual.sum(0)])
        return loss

    opt.step(closure)
    n_iter = int(opt.state[theta].get("n_iter", 0))
    closure()
    return theta.detach(), bool(theta.grad.abs().max() <= tol), n_iter


def _predict(theta: torch.Tensor, x: torch.Tensor, n_classes: int) -> torch.Tensor:
    d = x.shape[1]
    return (x @ theta[: d * n_classes].view(d, n_classes) + theta[d * n_classes:]).argmax(1)


def fit_logistic(x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, y_test: ArrayLike,
                 l2_grid: Sequence[float] = DEFAULT_L2, val_fraction: float = 0.2, seed: int = 0,
                 max_iter: int = 500, tol: float = 1e-4) -> ClassifierResult:
    """Multinomial logistic-regression probe (full-batch L-BFGS, strong Wolfe, float64).

    Args: x_train ``[n, d]``, y_train int ``[n]`` in 0..K-1, x_test ``[m, d]``, y_test int ``[m]``.
    The loss is mean cross-entropy + ``l2``/2 ||W||^2 (bias unpenalised); ``l2`` is chosen from
    ``l2_grid`` by validation accuracy (ties: lower validation log-loss, then larger l2) on a
    ``val_fraction`` split drawn with ``seed``, then refit on all training rows. Only classes seen
    in the training set are modelled (others can never be predicted). L-BFGS stops when
    max |grad| <= ``tol`` or after ``max_iter`` iterations. Returns a :class:`ClassifierResult`.
    """
    xtr, xte = _pair(x_train, x_test)
    ytr, yte = _labels(y_train, "y_train"), _labels(y_test, "y_test")
    _check_rows("y_train", ytr, xtr.shape[0], "x_train")
    _check_rows("y_test", yte, xte.shape[0], "x_test")
    if xtr.shape[0] < 1:
        raise ValueError("x_train needs at least 1 row")
    if xte.shape[0] < 1:
        raise ValueError("x_test needs at least 1 row")
    grid = _grid(l2_grid, "l2_grid")
    _check_val_fraction(val_fraction, len(grid))
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}")
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be positive, got {tol!r}")

    classes = torch.unique(ytr)  # sorted; model only the classes present in training
    n_cls = len(classes)
    if n_cls == 1:  # degenerate: a constant predictor is the exact optimum
        pred = classes.expand(xte.shape[0]).clone()
        return ClassifierResult(accuracy=float((pred == yte).double().mean()), predictions=pred,
                                l2=grid[0], l2_grid=grid, val_accuracy=tuple(float("nan") for _ in grid),
                                converged=True, n_iter=0)
    ytr_c = torch.searchsorted(classes, ytr)

    thetas: dict[float, torch.Tensor] = {}

    def validate(fit_idx: torch.Tensor, val_idx: torch.Tensor) -> tuple[float, tuple[float, ...]]:
        xf, xv = _standardise(xtr[fit_idx], xtr[val_idx])
        yf, yv = ytr_c[fit_idx], ytr_c[val_idx]
        scores: list[tuple[float, float]] = []
        theta = None
        for lam in sorted(grid, reverse=True):  # strong -> weak, warm-started
            theta, _, _ = _lbfgs(xf, yf, n_cls, lam, theta, max_iter, tol)
            thetas[lam] = theta
            d = xv.shape[1]
            logits = xv @ theta[: d * n_cls].view(d, n_cls) + theta[d * n_cls:]
            acc = float((logits.argmax(1) == yv).double().mean())
            scores.append((acc, float(F.cross_entropy(logits, yv))))
        by_lam = dict(zip(sorted(grid, reverse=True), scores))
        best = max(grid, key=lambda lam: (by_lam[lam][0], -by_lam[lam][1], lam))
        return best, tuple(by_lam[lam][0] for lam in grid)

    l2, val_acc = _choose(grid, xtr.shape[0], val_fraction, seed, "l2", validate)
    xs, xt = _standardise(xtr, xte)
    start = thetas.get(l2)  # warm start: the same l2 on 80% of the rows (None for a one-value grid)
    theta, converged, n_iter = _lbfgs(xs, ytr_c, n_cls, l2, start, max_iter, tol)
    pred = classes[_predict(theta, xt, n_cls)]
    return ClassifierResult(accuracy=float((pred == yte).double().mean()), predictions=pred, l2=l2,
                            l2_grid=grid, val_accuracy=val_acc, converged=converged, n_iter=n_iter)


# --------------------------------------------------------------------------- MLP regression

@dataclass(frozen=True)
class MLPResult:
    """MLP probe outcome: ``predictions`` float64 ``[n_test, k]``, ``r2_uniform`` / ``r2_global`` as
    :class:`RidgeResult`, ``best_epoch`` (the epoch whose weights were kept), ``val_mse`` per epoch run
    (standardised targets)."""

    predictions: torch.Tensor
    r2_uniform: float
    r2_global: float
    best_epoch: int
    val_mse: tuple[float, ...]


def fit_mlp(x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, y_test: ArrayLike,
            hidden: int = 256, layers: int = 2, epochs: int = 100, lr: float = 1e-3,
            weight_decay: float = 1e-4, batch_size: int = 256, patience: int = 10,
            val_fraction: float = 0.2, seed: int = 0) -> MLPResult:
    """Early-stopped MLP regression probe (``layers`` hidden layers of ``hidden`` units, ReLU).

    Features and targets are z-scored with the fitting rows' statistics; Adam (``lr``,
    ``weight_decay``) on minibatches of ``batch_size`` minimises the MSE for at most ``epochs``
    epochs; the weights of the epoch with the lowest validation MSE (a ``val_fraction`` split of
    the training rows drawn with ``seed``) are kept, and training stops ``patience`` epochs after
    the last improvement. Deterministic for a given input and seed (CPU, float32).

    Args: x_train ``[n, d]``, y_train ``[n, k]`` or ``[n]``, x_test ``[m, d]``, y_test like y_train
    (``m >= 2``). Returns an :class:`MLPResult`.
    """
    xtr, xte = _pair(x_train, x_test)
    ytr, one_d = _targets(y_train, "y_train")
    yte, one_d_test = _targets(y_test, "y_test")
    if one_d != one_d_test or yte.shape[1] != ytr.shape[1]:
        raise ValueError(f"y_test must have y_train's output dims {tuple(ytr.shape[1:])}, got {tuple(yte.shape)}")
    _check_rows("y_train", ytr, xtr.shape[0], "x_train")
    _check_rows("y_test", yte, xte.shape[0], "x_test")
    if xte.shape[0] < 2:
        raise ValueError(f"x_test needs at least 2 rows for R^2, got {xte.shape[0]}")
    hidden, layers, epochs, batch_size, patience = (check_int(name, value, 1) for name, value in (
        ("hidden", hidden), ("layers", layers), ("epochs", epochs), ("batch_size", batch_size), ("patience", patience)))
    lr = check_real("lr", lr, 0.0, lo_open=True)
    weight_decay = check_real("weight_decay", weight_decay, 0.0)
    _check_val_fraction(val_fraction, 2)
    fit_idx, val_idx = _split(xtr.shape[0], val_fraction, seed)
    xf, xv, xt = (t.float() for t in _standardise(xtr[fit_idx], xtr[val_idx], xte))
    y_mean, y_std = ytr[fit_idx].mean(0), ytr[fit_idx].std(0, unbiased=False)
    y_std = torch.where(y_std > _EPS_STD * (1.0 + y_mean.abs()), y_std, torch.ones_like(y_std))
    yf, yv = (((y - y_mean) / y_std).float() for y in (ytr[fit_idx], ytr[val_idx]))
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        dims = [xf.shape[1]] + [hidden] * layers
        mods: list[torch.nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        net = torch.nn.Sequential(*mods, torch.nn.Linear(dims[-1], yf.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    best, best_epoch, history, state = math.inf, 0, [], None
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(xf.shape[0], generator=gen)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            F.mse_loss(net(xf[rows]), yf[rows]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            mse = float(F.mse_loss(net(xv), yv))
        history.append(mse)
        if mse < best:
            best, best_epoch = mse, epoch + 1
            state = {k: v.clone() for k, v in net.state_dict().items()}
        elif epoch + 1 - best_epoch >= patience:
            break
    if state is not None:
        net.load_state_dict(state)
    with torch.no_grad():
        pred = net(xt).double() * y_std + y_mean
    r2u, r2g = r2_scores(yte, pred)
    return MLPResult(predictions=pred[:, 0] if one_d else pred, r2_uniform=r2u, r2_global=r2g,
                     best_epoch=best_epoch, val_mse=tuple(history))
