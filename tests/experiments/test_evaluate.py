"""experiments/evaluate: feature extraction, metrics on planted features, the runner and saccade-eval."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments.pretrain.config import DataConfig, EvalConfig
from experiments.evaluate.cli import cli
from experiments.evaluate.features import (
    HUE_BINS,
    VALUE_BINS,
    SplitFeatures,
    colour_histograms,
    extract_split,
    random_init_copy,
)
from experiments.evaluate.claims import check_claims
from experiments.evaluate.metrics import floor_measurements, model_measurements
from experiments.evaluate.metric_registry import METRICS, SUBJECTS
from experiments.pretrain.cli import pretrain as main  # training with its end-of-training evaluation
from seqjepa import SeqJEPA, SeqJEPAConfig
from tests.experiments.test_pretrain import FakeSource, tiny_config




def _tiny_model(seed: int = 0) -> SeqJEPA:
    torch.manual_seed(seed)
    return SeqJEPA(SeqJEPAConfig(in_channels=3, encoder="convnet", embed_dim=16, action_embed_dim=8, agg_heads=2,
                                 agg_layers=1, agg_ffn=32, pred_hidden=32))


def _prep(g: torch.Tensor) -> torch.Tensor:
    return g.float() / 127.5 - 1.0


def test_extract_split_shapes_and_restores_mode() -> None:
    model = _tiny_model().train()
    src = FakeSource(n_items=32, batch_size=8, seq_len=5)
    f = extract_split(model, src.batches(0), m_max=4, m_pred=3, preprocess=_prep, device=torch.device("cpu"))
    assert model.training
    assert f.z_views.shape == (32, 5, 16) and f.actions.shape == (32, 5, 2) and f.labels.shape == (32,)
    assert sorted(f.z_agg) == [1, 2, 3, 4] and f.z_agg[3].shape == (32, 24)
    assert f.pixels.shape == (32, 5, 3 * 8 * 8) and f.pixels.dtype == torch.float32 and f.pixels.max() <= 1.0
    assert f.colour.shape == (32, 5, HUE_BINS + VALUE_BINS)
    assert set(f.pred_losses) == {"true_action", "shuffled_action", "zero_action", "copy_last"}
    assert all(v.shape == (32,) and bool(((v >= 0) & (v <= 2)).all()) for v in f.pred_losses.values())
    torch.testing.assert_close(f.total_action[:, 3], f.actions[:, 1:4].sum(1))
    with pytest.raises(ValueError, match="T >= m_max"):
        extract_split(model, src.batches(0), m_max=5, m_pred=3, preprocess=_prep, device=torch.device("cpu"))


def test_ablations_remove_what_they_say() -> None:
    """no_vision depends only on actions, no_action only on glimpses."""
    model = _tiny_model()
    src = FakeSource(n_items=8, batch_size=8, seq_len=4)
    batch = next(iter(src.batches(0)))
    other_views = dict(batch, glimpses=torch.flip(batch["glimpses"], dims=[0]))
    other_actions = dict(batch, actions=torch.flip(batch["actions"], dims=[0]))
    dev = torch.device("cpu")
    base, views, acts = (extract_split(model, [b], 3, 2, _prep, dev) for b in (batch, other_views, other_actions))
    torch.testing.assert_close(base.z_agg_no_vision[3], views.z_agg_no_vision[3])
    torch.testing.assert_close(base.z_agg_no_action[3], acts.z_agg_no_action[3])
    assert not torch.allclose(base.z_agg[3], views.z_agg[3]) and not torch.allclose(base.z_agg[3], acts.z_agg[3])


def test_random_init_copy_is_fresh_seeded_and_calibrated() -> None:
    model = _tiny_model()
    src = FakeSource(n_items=32, batch_size=8, seq_len=4)
    dev = torch.device("cpu")
    a = random_init_copy(model, 5, src.batches(0), _prep, dev)
    b = random_init_copy(model, 5, src.batches(0), _prep, dev)
    c = random_init_copy(model, 6, src.batches(0), _prep, dev)
    assert not a.training
    for (name, pa), pb, pc, pm in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values(),
                                      model.state_dict().values()):
        torch.testing.assert_close(pa, pb, msg=name)
    assert not torch.equal(a.encoder.features[0].weight, model.encoder.features[0].weight)
    assert not torch.equal(a.encoder.features[0].weight, c.encoder.features[0].weight)
    bn = a.encoder.features[1]
    assert bn.running_mean.abs().sum() > 0 and not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))


def test_colour_histograms_of_plain_colours() -> None:
    g = np.zeros((1, 2, 3, 4, 4), np.uint8)
    g[0, 0, 0] = 255            # pure red: all hue mass in bin 0, brightest value bin
    g[0, 1] = 128               # grey: no saturation -> no hue mass
    h = colour_histograms(g)
    assert h.shape == (1, 2, HUE_BINS + VALUE_BINS)
    assert h[0, 0, 0] == pytest.approx(1.0) and h[0, 0, HUE_BINS - 1 + VALUE_BINS] == pytest.approx(1.0)
    assert h[0, 1, :HUE_BINS].sum() == 0 and h[0, 1, HUE_BINS + 4] == pytest.approx(1.0)
    assert colour_histograms(np.zeros((1, 1, 2, 4, 4), np.uint8)).shape == (1, 1, 0)


def _planted(n: int, seed: int) -> SplitFeatures:
    """Features that carry the class and the path so far in z_AGG, the position in the view latents."""
    rng = np.random.default_rng(seed)
    labels = torch.from_numpy(rng.integers(0, 3, n))
    actions = torch.from_numpy(rng.uniform(-0.3, 0.3, (n, 4, 2)).astype(np.float32))
    actions[:, 0] = 0
    positions = actions.cumsum(1)
    z_views = torch.cat([positions, torch.from_numpy(rng.normal(size=(n, 4, 6)).astype(np.float32))], 2)
    onehot = torch.nn.functional.one_hot(labels, 3).float() * 4
    z_agg = {m: torch.cat([onehot, positions[:, m - 1], torch.randn(n, 5)], 1) for m in (1, 2, 3)}
    noise = {m: torch.randn(n, 8) for m in (1, 2, 3)}
    return SplitFeatures(z_views=z_views, z_agg=z_agg, z_agg_no_action=noise, z_agg_no_vision=noise,
                         actions=actions, labels=labels, pixels=torch.rand(n, 4, 12), colour=torch.rand(n, 4, 5),
                         pred_losses={"true_action": torch.full((n,), 0.1), "shuffled_action": torch.full((n,), 0.3)})


def test_metrics_read_planted_signal_and_floors_stay_low() -> None:
    train, test = _planted(400, 0), _planted(200, 1)
    rows = model_measurements("trained", train, test, [1, 2, 3], seed=0) + floor_measurements(train, test, [1, 3], 0)
    got = {(r["metric"], r["subject"], r["m"]): r["value"] for r in rows}
    assert got[("top1_z_agg", "trained", 3)] == 1.0
    assert got[("equiv_r2_uniform", "trained", 2)] > 0.99 and got[("equiv_r2_global", "trained", 2)] > 0.99
    assert got[("top1_z_agg", "raw_pixels", 1)] < 0.6 and got[("top1_z_agg", "colour_hist", 3)] < 0.6
    assert got[("pathint_r2", "dead_reckoning", 3)] > 0.999
    assert got[("pathint_r2", "trained", 3)] > 0.6 > got[("pathint_r2_no_action", "trained", 3)]
    assert got[("pred_loss_true_action", "trained", None)] == pytest.approx(0.1)
    assert 0.2 < got[("top1_z_agg", "chance", 1)] < 0.5
    assert all({"metric", "subject", "m", "seed", "value"} == set(r) for r in rows)
    assert {r["metric"] for r in rows} <= set(METRICS) and {r["subject"] for r in rows} <= set(SUBJECTS)


def _noisy_walk(n: int, seed: int, noise: float, t: int = 6) -> SplitFeatures:
    """A random walk whose reported moves carry Gaussian ``noise``; the view latents hold the true
    position (so two consecutive views give the true step), the pixels nothing."""
    rng = np.random.default_rng(seed)
    steps = rng.uniform(-0.15, 0.15, (n, t, 2)).astype(np.float32)
    steps[:, 0] = 0
    states = torch.from_numpy(0.5 + steps.cumsum(1))
    actions = torch.from_numpy(steps + rng.normal(0, noise, steps.shape).astype(np.float32))
    actions[:, 0] = 0
    z_views = torch.cat([states, torch.from_numpy(rng.normal(size=(n, t, 4)).astype(np.float32))], 2)
    z = {m: torch.randn(n, 6) for m in (1, 2, 4)}
    return SplitFeatures(z_views=z_views, z_agg=z, z_agg_no_action=z, z_agg_no_vision=z, actions=actions,
                         labels=torch.full((n,), -1), pixels=torch.rand(n, t, 8), colour=torch.zeros(n, t, 0),
                         states=states)


def test_odometry_fuses_vision_with_noisy_moves_and_is_left_out_when_moves_are_exact() -> None:
    train, test = _noisy_walk(1500, 0, noise=0.08), _noisy_walk(400, 1, noise=0.08)
    rows = model_measurements("trained", train, test, [1, 2, 4], seed=0) + floor_measurements(train, test, [1, 2, 4], 0)
    got = {(r["metric"], r["subject"], r["m"]): r["value"] for r in rows}
    dead = got[("pathint_r2", "dead_reckoning", 4)]
    assert 0.3 < dead < 0.9  # the noise is real: summed moves drift
    for m in (1, 2, 4):  # the views hold the true steps: vision corrects the reported moves
        assert got[("pathint_r2_odometry", "trained", m)] > max(0.9, got[("pathint_r2", "dead_reckoning", m)] + 0.05)
    # raw pixels carry nothing here, so their step-by-step estimate is dead reckoning at best
    assert got[("pathint_r2_odometry", "raw_pixels", 4)] < dead + 0.05
    two_seeds = rows + [{**r, "seed": 1, "value": r["value"] + 0.001} for r in rows]
    claim = check_claims(two_seeds)[-1]
    assert "step by step" in claim["claim"] and claim["holds"] is True
    exact_train, exact_test = _noisy_walk(300, 0, noise=0.0), _noisy_walk(100, 1, noise=0.0)
    exact = model_measurements("trained", exact_train, exact_test, [1, 2], seed=0)
    exact += floor_measurements(exact_train, exact_test, [1, 2], 0)
    assert not any(r["metric"] == "pathint_r2_odometry" for r in exact)


def _scenes_run(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SACCADE_DATA", str(tmp_path / "data"))
    data = DataConfig(dataset="scenes", glimpse_size=8, scales=(1, 3), seq_len=3, batch_size=16, n_train=64,
                      n_test=32, scene_style="shapes", max_objects=3, keep_inside=True, ior_radius=4, prefetch=0)
    cfg = tiny_config(tmp_path / "runs", data=data, seed=seed, run_name=f"s{seed}", total_steps=4,
                      eval=EvalConfig(m_val=(1, 2, 3), batch_size=16))
    summary = main(cfg)
    assert {"trained", "random_init", "raw_pixels", "colour_hist"} <= {r["subject"] for r in summary["eval"]["summary"]}
    return Path(summary["run_dir"])


@pytest.mark.slow
def test_saccade_eval_cli_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    runs = [_scenes_run(tmp_path, s, monkeypatch) for s in (0, 1)]
    out = tmp_path / "eval"
    cli([str(r) for r in runs] + ["--out", str(out), "--m-val", "1", "2"])
    printed = capsys.readouterr().out
    assert "| " in printed and "random" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["seeds"] == [0, 1] and len(results["meta"]["runs"]) == 2
    top1 = [r for r in results["summary"] if r["metric"] == "top1_z_agg" and r["subject"] == "trained"]
    assert sorted(r["m"] for r in top1) == [1, 2] and all(r["n"] == 2 for r in top1)
    assert (out / "top1_vs_views.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit) as exc:  # never overwrites without being asked
        cli([str(runs[0]), "--out", str(out)])
    assert exc.value.code == 2 and "--overwrite" in capsys.readouterr().err
    cli(["--compare", str(out), str(runs[0] / "eval")])
    table = capsys.readouterr().out
    assert "eval" in table and "top1_z_agg" in table.replace("z_AGG", "z_agg") or "top-1" in table
    # a checkpoint file works as well as a run folder, and bad paths are usage errors
    with pytest.raises(SystemExit):
        cli([str(tmp_path / "missing"), "--out", str(tmp_path / "other")])


def test_removed_eval_keys_are_dropped_with_a_warning() -> None:
    from experiments.pretrain.config import config_from_dict, config_to_dict

    values = config_to_dict(dataclasses.replace(tiny_config("runs")))
    values["eval"].update(epochs=50, lr=1e-3)
    with pytest.warns(UserWarning, match="eval.epochs"):
        cfg = config_from_dict(values)
    assert not hasattr(cfg.eval, "epochs")


def test_evaluations_are_kept_per_checkpoint_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second evaluation of the same checkpoint, the same way, reads the kept measurements; another
    setting (no floors), a damaged cache file or a retrained checkpoint evaluates afresh."""
    from experiments.evaluate import runner

    run = _scenes_run(tmp_path, 0, monkeypatch)
    first, _ = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    files = sorted((run / "eval_cache").glob("*.json"))
    assert len(files) == 1
    real = runner.evaluate_model
    calls = {"n": 0}

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "evaluate_model", counting)
    again, _ = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    assert calls["n"] == 0 and again == json.loads(json.dumps(first))
    runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1]})  # another evaluation
    assert calls["n"] == 1 and len(list((run / "eval_cache").glob("*.json"))) == 2
    data = json.loads(files[0].read_text())
    data["measurements"][0]["value"] += 1.0  # tampered: the digest no longer matches
    files[0].write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="digest mismatch"):
        fresh, _ = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    assert calls["n"] == 2 and fresh == again
    runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]}, cache=False)
    assert calls["n"] == 3


@pytest.mark.parametrize("entry", ["symlink", "fifo", "json_list", "truncated", "rows_not_objects"])
def test_an_unusable_eval_cache_entry_is_recomputed_never_followed_or_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    """``eval_cache/<key>.json`` is untrusted: a symbolic link (even to a valid entry), a FIFO, JSON
    that is not an object, a truncated file or measurements that are not objects give a warning
    naming the file and a fresh evaluation, which replaces the entry with a regular file."""
    import re
    import signal

    from experiments.evaluate import runner

    run = _scenes_run(tmp_path, 0, monkeypatch)
    first, _ = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    (file,) = sorted((run / "eval_cache").glob("*.json"))
    valid = file.read_text()
    calls = {"n": 0}

    def counting(*args, **kwargs):
        calls["n"] += 1
        return json.loads(json.dumps(first))

    monkeypatch.setattr(runner, "evaluate_model", counting)
    file.unlink()
    if entry == "symlink":
        target = tmp_path / "elsewhere.json"
        target.write_text(valid)
        file.symlink_to(target)
    elif entry == "fifo":
        os.mkfifo(file)
    elif entry == "json_list":
        file.write_text(json.dumps([json.loads(valid)]))
    elif entry == "truncated":
        file.write_text(valid[: len(valid) // 2])
    else:
        data = json.loads(valid)
        data["measurements"] = [1, 2]
        file.write_text(json.dumps(data))

    def hung(*_):
        raise TimeoutError("blocked: the FIFO was opened")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.warns(UserWarning, match=re.escape(str(file))):
            again, _ = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert calls["n"] == 1 and again == json.loads(json.dumps(first))
    assert file.is_file() and not file.is_symlink() and json.loads(file.read_text())["measurements"] == again
    if entry == "symlink":
        assert (tmp_path / "elsewhere.json").read_text() == valid  # the link's target is left alone
    runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    assert calls["n"] == 1  # the rewritten entry is reused


def test_a_missing_eval_cache_entry_is_none_without_a_warning(tmp_path: Path) -> None:
    import warnings

    from experiments.evaluate.runner import _read_cache

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _read_cache(tmp_path / "eval_cache" / "nothing.json", {"k": 1}) is None
        assert _read_cache(tmp_path / "nothing.json", {"k": 1}) is None


def test_evaluation_on_another_policys_sequences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``saccade-eval --policy``: the sequences come from that policy (recorded in the report and in
    the cache key); a policy the world has not is a one-line error before any evaluation."""
    from experiments.evaluate import runner

    run = _scenes_run(tmp_path, 0, monkeypatch)
    own, own_meta = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]})
    uni, uni_meta = runner.evaluate_runs([run], floors=False, progress=False, overrides={"m_val": [1, 2]},
                                         data_overrides={"policy": "uniform"})
    assert "saliency" in own_meta["policy"] and "uniform" in uni_meta["policy"]
    assert own != uni  # other scanpaths, other features
    assert len(list((run / "eval_cache").glob("*.json"))) == 2
    with pytest.raises(ValueError, match="data_overrides may set"):
        runner.evaluate_runs([run], floors=False, progress=False, data_overrides={"split": "test"})
    calls = {"n": 0}
    monkeypatch.setattr(runner, "evaluate_model", lambda *a, **k: calls.__setitem__("n", 1) or [])
    with pytest.raises(SystemExit) as exc:
        cli([str(run), "--out", str(tmp_path / "bad"), "--policy", "walk"])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # (progress bars come before it)
    assert exc.value.code == 2 and last.startswith("saccade-eval: ") and "rotation policy" in last
    assert calls["n"] == 0 and not (tmp_path / "bad" / "results.json").exists()
