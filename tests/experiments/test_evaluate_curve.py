"""experiments/evaluate/curve: points per step and policy, paired margins over the floor, the files, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from experiments.evaluate import curve
from experiments.evaluate.curve import CurveMetric, parse_metric


def _fake_evaluate(points: dict[str, tuple[int, int, int, float, float]]):
    """An evaluation that returns, for path p, top1 (trained, random_init) at M=4 and a loss without M;
    ``points[p] = (seed, step, total_steps, trained, floor)``; the policy shifts the values by 0.1."""
    calls: list[tuple[str, Any]] = []

    def evaluate(paths, floors=True, progress=True, overrides=None, data_overrides=None, device="cpu"):
        (path,) = paths
        calls.append((str(path), data_overrides))
        seed, step, total, trained, floor = points[str(path)]
        shift = 0.1 if data_overrides else 0.0
        rows = [{"metric": "top1_z_agg", "subject": "trained", "m": 4, "seed": seed, "value": trained + shift},
                {"metric": "top1_z_agg", "subject": "random_init", "m": 4, "seed": seed, "value": floor + shift},
                {"metric": "pred_loss_true_action", "subject": "trained", "m": None, "seed": seed,
                 "value": 1 - trained}]
        return rows, {"steps": [step], "total_steps": [total], "policy": "uniform fixations"}

    return evaluate, calls


POINTS = {"a": (0, 2500, 2500, 0.30, 0.25), "b": (1, 2500, 2500, 0.34, 0.27), "c": (0, 10000, 10000, 0.40, 0.26),
          "d": (0, 5000, 25000, 0.35, 0.26)}


def test_points_group_by_series_and_step_and_pair_the_floor_by_seed() -> None:
    evaluate, calls = _fake_evaluate(POINTS)
    rows = curve.curve_rows(list(POINTS), policies=["own", "saliency"], progress=False, evaluate=evaluate)
    assert len(calls) == 8 and {c[1] is None for c in calls[:4]} == {True} and calls[4][1] == {"policy": "saliency"}
    top = {(r["policy"], r["series"], r["step"]): r for r in rows
           if r["metric"] == "top1_z_agg" and r["subject"] == "trained"}
    assert set(top) == {(p, s, n) for p in ("uniform fixations", "saliency")
                        for s, n in (("full schedule", 2500), ("full schedule", 10000),
                                     ("mid-schedule of the 25000-step run", 5000))}
    two = top[("uniform fixations", "full schedule", 2500)]
    assert two["n"] == 2 and two["seeds"] == [0, 1] and two["mean"] == pytest.approx(0.32)
    assert top[("saliency", "full schedule", 10000)]["mean"] == pytest.approx(0.50)
    table = curve.tables(rows, [CurveMetric("top1_z_agg", 4), CurveMetric("pred_loss_true_action", None)])
    assert "### Sequences: uniform fixations" in table and "### Sequences: saliency" in table
    # paired margin over the two seeds at 2500 steps: 0.05 and 0.07, mean 0.06, std 0.014
    assert "+0.060 ± 0.014 (paired, 2 seeds)" in table and "+0.140" in table
    full, mid = table.index("| full schedule | 10000"), table.index("| mid-schedule of the 25000-step run | 5000")
    assert full < mid  # the full-schedule series first


def test_files_are_written_and_never_overwritten_unasked(tmp_path: Path) -> None:
    evaluate, _ = _fake_evaluate(POINTS)
    rows = curve.curve_rows(list(POINTS), progress=False, evaluate=evaluate)
    metrics = [CurveMetric("top1_z_agg", 4), CurveMetric("equiv_r2_uniform", 2)]  # the second has no points
    files = curve.write_curve(tmp_path / "out", rows, metrics, {"command": "x", "paths": list(POINTS)})
    assert files["figure"].read_bytes()[:4] == b"\x89PNG"
    saved = json.loads(files["results"].read_text())
    assert saved["meta"]["command"] == "x" and len(saved["rows"]) == len(rows)
    report = files["report"].read_text()
    assert "equiv_r2_uniform" not in report and "top1_z_agg (M=4)" in report and "![curve](curve.png)" in report
    with pytest.raises(FileExistsError, match="--overwrite"):
        curve.write_curve(tmp_path / "out", rows, metrics, {})
    curve.write_curve(tmp_path / "out", rows[:1], metrics, {}, overwrite=True)
    assert len(json.loads(files["results"].read_text())["rows"]) == 1
    assert curve.figure(rows, [CurveMetric("equiv_r2_uniform", 2)]) is None
    curve.write_curve(tmp_path / "out", rows, [CurveMetric("equiv_r2_uniform", 2)], {}, overwrite=True)
    assert not files["figure"].exists()  # no stale figure beside a curve that has none
    assert "![curve]" not in files["report"].read_text()


def test_a_mid_schedule_series_knows_its_runs_length() -> None:
    assert curve._total_of("mid-schedule of the 25000-step run") == 25000
    assert curve._total_of(curve.FULL) is None and curve._total_of("mid-schedule of the x-step run") is None


@pytest.mark.parametrize("text, expected", [("top1_z_agg@4", CurveMetric("top1_z_agg", 4)),
                                            ("pred_loss_copy_last", CurveMetric("pred_loss_copy_last", None))])
def test_parse_metric(text: str, expected: CurveMetric) -> None:
    assert parse_metric(text) == expected


@pytest.mark.parametrize("text, match", [("top1@4", "unknown metric 'top1'.*registered: .*top1_z_agg"),
                                         ("top1_z_agg@0", "positive int"), ("top1_z_agg@x", "positive int")])
def test_parse_metric_errors_name_the_allowed_values(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_metric(text)


def test_cli_errors_are_one_line_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        curve.cli([str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "missing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        curve.cli([str(tmp_path), "--out", str(tmp_path / "o"), "--metric", "nope"])
    assert exc.value.code == 2 and "unknown metric 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_end_to_end_on_a_kept_checkpoint_and_the_final_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A real run with a kept mid-schedule checkpoint: two series, both policies, floors beside."""
    from experiments.pretrain.cli import pretrain
    from experiments.pretrain.config import DataConfig, EvalConfig
    from tests.experiments.test_pretrain import tiny_config

    monkeypatch.setenv("SACCADE_DATA", str(tmp_path / "data"))
    data = DataConfig(dataset="scenes", glimpse_size=8, scales=(1, 3), seq_len=3, batch_size=16, n_train=64,
                      n_test=32, scene_style="shapes", max_objects=3, keep_inside=True, ior_radius=4, prefetch=0)
    cfg = tiny_config(tmp_path / "runs", data=data, seed=0, run_name="s0", total_steps=4, keep_every=2,
                      eval=EvalConfig(m_val=(1, 2), batch_size=16, enabled=False))
    run = Path(pretrain(cfg)["run_dir"])
    kept = run / "ckpt_step00000002.pt"
    assert kept.exists()
    out = tmp_path / "curve"
    with pytest.raises(SystemExit) as exc:  # a policy the world lacks: refused before any evaluation
        curve.cli([str(run), "--out", str(out), "--policy", "own", "walk"])
    assert exc.value.code == 2 and "walk" in capsys.readouterr().err and not out.exists()
    curve.cli([str(kept), str(run), "--out", str(out), "--policy", "own", "uniform", "--metric", "top1_z_agg@2",
               "pred_loss_true_action"])
    printed = capsys.readouterr().out
    assert "mid-schedule of the 4-step run | 2" in printed and "full schedule | 4" in printed
    rows = json.loads((out / "curve.json").read_text())["rows"]
    assert {r["policy"] for r in rows} >= {"uniform"} and len({r["policy"] for r in rows}) == 2
    assert {r["subject"] for r in rows if r["metric"] == "top1_z_agg"} >= {"trained", "random_init"}
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
