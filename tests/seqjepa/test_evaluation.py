import pytest
import torch

from seqjepa import (
    extract_features,
    fit_linear_probe,
    fit_regressor,
    normalize_glimpses,
)

from .conftest import tiny_model


def _batches(n_batches: int = 3, b: int = 4, t: int = 5) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n_batches):
        positions = torch.rand(b, t, 2, generator=gen)
        actions = torch.zeros(b, t, 2)
        actions[:, 1:] = positions[:, 1:] - positions[:, :-1]
        out.append({"glimpses": torch.randint(0, 256, (b, t, 3, 8, 8), generator=gen, dtype=torch.uint8),
                    "actions": actions, "positions": positions,
                    "labels": torch.randint(0, 3, (b,), generator=gen)})
    return out


def test_extract_features() -> None:
    model = tiny_model().train()
    batches = _batches()
    feats = extract_features(model, batches, n_observed=3, preprocess=normalize_glimpses)
    assert model.training  # mode restored
    assert feats["z_agg"].shape == (12, 24) and feats["z_views"].shape == (12, 3, 16)
    assert feats["labels"].shape == (12,) and feats["actions"].shape == (12, 5, 2)
    assert not feats["z_agg"].requires_grad
    pos = feats["positions"]
    torch.testing.assert_close(feats["total_action"], pos[:, 3] - pos[:, 0])
    torch.testing.assert_close(feats["next_action"], pos[:, 3] - pos[:, 2])
    model.eval()
    with torch.no_grad():
        direct = model(normalize_glimpses(batches[0]["glimpses"]), batches[0]["actions"], 3).z_agg
    torch.testing.assert_close(feats["z_agg"][:4], direct)
    assert extract_features(model, batches, 1, normalize_glimpses, max_batches=1)["z_agg"].shape == (4, 24)


def test_extract_features_errors() -> None:
    model = tiny_model()
    with pytest.raises(TypeError, match="preprocess"):
        extract_features(model, _batches(1), n_observed=2)
    with pytest.raises(ValueError, match="no batch"):
        extract_features(model, [], n_observed=2)
    with pytest.raises(ValueError, match="'glimpses' and 'actions'"):
        extract_features(model, [{"images": torch.zeros(1)}], n_observed=2)
    with pytest.raises(ValueError, match="n_observed"):
        extract_features(model, _batches(1), n_observed=0, preprocess=normalize_glimpses)


def test_fit_linear_probe_separates_blobs() -> None:
    gen = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 10, generator=gen) * 4
    labels = torch.randint(0, 3, (300,), generator=gen)
    feats = centers[labels] + torch.randn(300, 10, generator=gen)
    labels_tr = labels[:200].clone()
    labels_tr[::7] = -1  # unlabeled items are ignored
    acc = fit_linear_probe(feats[:200], labels_tr, feats[200:], labels[200:], epochs=30, lr=1e-2,
                           batch_size=64)
    assert acc > 0.9
    with pytest.raises(ValueError, match="epochs"):
        fit_linear_probe(feats, labels, feats, labels, epochs=0)


@pytest.mark.parametrize("hidden", [None, 32])
def test_fit_regressor_recovers_linear_map(hidden: int | None) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(400, 8, generator=gen)
    y = x @ torch.randn(8, 2, generator=gen) * 5 + 3 + 0.1 * torch.randn(400, 2, generator=gen)
    r2 = fit_regressor(x[:300], y[:300], x[300:], y[300:], epochs=60, lr=1e-2, batch_size=64,
                       hidden=hidden)
    assert r2 > 0.95
    # features unrelated to the targets give R^2 near 0 or below
    noise = torch.randn(400, 8, generator=gen)
    assert fit_regressor(noise[:300], y[:300], noise[300:], y[300:], epochs=20, lr=1e-2) < 0.2
