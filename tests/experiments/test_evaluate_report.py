"""Evaluation report: aggregation, Markdown table, files and figures, run comparison, claims."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from experiments.evaluate.report import (
    METRIC_DESCRIPTIONS,
    SUBJECT_DESCRIPTIONS,
    check_ablation,
    check_claims,
    compare,
    format_claims,
    markdown_table,
    summarise,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _m(metric: str, subject: str, m: int | None, seed: int, value: float) -> dict:
    return {"metric": metric, "subject": subject, "m": m, "seed": seed, "value": value}


def _run(shift: float = 0.0, seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict]:
    """A full, plausible run: trained clearly above the floors."""
    rows = []
    for s in seeds:
        e = 0.01 * s
        for m, acc in ((1, 0.50), (2, 0.65), (4, 0.80)):
            rows += [_m("top1_z_agg", "trained", m, s, acc + e + shift),
                     _m("top1_z_agg", "random_init", m, s, 0.30 + e),
                     _m("top1_z_agg", "colour_hist", m, s, 0.40 + e),
                     _m("pathint_r2", "trained", m, s, 0.90 + e),
                     _m("pathint_r2_no_action", "trained", m, s, 0.20 + e),
                     _m("pathint_r2_no_vision", "trained", m, s, 0.60 + e),
                     _m("pathint_r2", "dead_reckoning", m, s, 1.0),
                     _m("pathint_r2", "random_init", m, s, 0.10 + e)]
        rows += [_m("top1_z_agg", "chance", None, s, 0.1),
                 _m("equiv_r2_uniform", "trained", 2, s, 0.70 + e + shift),
                 _m("equiv_r2_uniform", "random_init", 2, s, 0.10 + e),
                 _m("pred_loss_true_action", "trained", 4, s, 0.20 + e),
                 _m("pred_loss_shuffled_action", "trained", 4, s, 0.50 + e)]
    return rows


# ----------------------------------------------------------------------------- summarise

def test_summarise_by_hand() -> None:
    rows = [_m("top1_z_agg", "trained", 4, s, v) for s, v in ((2, 0.9), (0, 0.7), (1, 0.8))]
    rows += [_m("top1_z_agg", "random_init", 4, 0, 0.3), _m("equiv_r2_uniform", "trained", None, 0, 0.5)]
    out = summarise(rows)
    assert [(r["metric"], r["subject"], r["m"]) for r in out] == [
        ("top1_z_agg", "trained", 4), ("top1_z_agg", "random_init", 4), ("equiv_r2_uniform", "trained", None)]
    t = out[0]
    assert t["mean"] == pytest.approx(0.8) and t["n"] == 3
    assert t["std"] == pytest.approx(math.sqrt(((0.1) ** 2 + 0 + 0.1 ** 2) / 2))  # ddof = 1
    assert t["values"] == pytest.approx([0.7, 0.8, 0.9]) and t["seeds"] == [0, 1, 2]
    assert out[1]["std"] == 0.0 and out[1]["n"] == 1


@pytest.mark.parametrize("bad,match", [
    ({"metric": "x", "subject": "trained", "m": 1, "seed": 0}, r" lacks keys \['value'\]"),
    (_m("x", "trained", True, 0, 1.0), r"\['m'\] must be an int or None"),
    (_m("x", "trained", 1, 0.5, 1.0), r"\['seed'\] must be an int"),
    (_m("x", "trained", 1, 0, "high"), r"\['value'\] must be a number"),
    (_m("", "trained", 1, 0, 1.0), r"\['metric'\]"),
])
def test_summarise_rejects_bad_rows(bad: dict, match: str) -> None:
    with pytest.raises(ValueError, match=r"measurements\[1\]" + match):
        summarise([_m("x", "trained", 1, 9, 1.0), bad])


def test_summarise_rejects_duplicate_seeds() -> None:
    with pytest.raises(ValueError, match="repeats"):
        summarise([_m("x", "trained", 1, 0, 1.0), _m("x", "trained", 1, 0, 2.0)])


# ----------------------------------------------------------------------------- markdown

def test_markdown_table_cells_order_and_descriptions() -> None:
    rows = [_m("top1_z_agg", "trained", 4, s, v) for s, v in ((0, 0.8), (1, 0.82), (2, 0.84))]
    rows += [_m("top1_z_agg", "zebra", 4, s, 0.5) for s in range(3)]
    rows += [_m("top1_z_agg", "random_init", 4, s, 0.3) for s in range(3)]
    rows += [_m("top1_z_agg", "chance", 4, s, 0.1) for s in range(3)]
    rows += [_m("top1_z_agg", "trained", 1, s, 0.6) for s in range(2)]
    rows += [_m("pred_loss_true_action", "trained", None, s, 0.25) for s in range(3)]
    md = markdown_table(summarise(rows), title="Shapes")
    lines = md.splitlines()
    assert lines[0] == "### Shapes"
    assert "mean ± std over 3 seeds" in md
    header = next(ln for ln in lines if ln.startswith("| metric"))
    assert header == "| metric | M | trained | random_init | chance | zebra |"
    body = [ln for ln in lines if ln.startswith("| `")]
    assert body[0] == "| `top1_z_agg` | 1 | 0.600 ± 0.000 (n=2) | – | – | – |"
    assert body[1] == "| `top1_z_agg` | 4 | 0.820 ± 0.020 | 0.300 ± 0.000 | 0.100 ± 0.000 | 0.500 ± 0.000 |"
    assert body[2].startswith("| `pred_loss_true_action` | – | 0.250 ± 0.000 |")
    assert METRIC_DESCRIPTIONS["top1_z_agg"] in md and METRIC_DESCRIPTIONS["pred_loss_true_action"] in md
    assert SUBJECT_DESCRIPTIONS["random_init"] in md and "`zebra`: no description" in md
    assert markdown_table(rows) == markdown_table(summarise(rows))  # measurements are summarised


def test_markdown_orders_known_metrics_and_small_numbers() -> None:
    rows = [_m("pathint_r2", "trained", 2, 0, 0.5), _m("top1_z_agg", "trained", 2, 0, 0.5),
            _m("aaa_custom", "trained", 2, 0, 1.5e-5)]
    body = [ln for ln in markdown_table(rows).splitlines() if ln.startswith("| `")]
    assert [ln.split("`")[1] for ln in body] == ["top1_z_agg", "pathint_r2", "aaa_custom"]
    assert "| 1.50e-05 |" in body[2]  # one seed: the value alone, no spread


# ----------------------------------------------------------------------------- files

def test_write_report_files_and_round_trip(tmp_path: Path) -> None:
    rows = _run()
    meta = {"title": "seq-JEPA on shapes", "runs": ["runs/a", "runs/b"], "seeds": [0, 1, 2],
            "commands": ["python -m experiments.evaluate.cli --run runs/a"], "checkpoint": Path("x/ckpt.pt")}
    paths = write_report(tmp_path / "out", rows, meta)
    assert set(paths) == {"results", "report", "top1_vs_views", "pathint_r2_vs_views"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "pathint_r2_vs_views.png", "report.md", "results.json", "top1_vs_views.png"]  # no temp files left
    data = json.loads(paths["results"].read_text())
    assert data["measurements"] == rows
    assert data["summary"] == summarise(rows)
    assert data["meta"] == {**meta, "checkpoint": "x/ckpt.pt"}
    md = paths["report"].read_text()
    assert md.startswith("# seq-JEPA on shapes\n")
    assert "`python -m experiments.evaluate.cli --run runs/a`" in md and "runs/b" in md
    assert "| `top1_z_agg` | 4 | 0.810 ± 0.010 |" in md
    assert "![top1_vs_views](top1_vs_views.png)" in md and "![pathint_r2_vs_views](pathint_r2_vs_views.png)" in md
    assert "## Claims" in md and "✓" in md
    for key in ("top1_vs_views", "pathint_r2_vs_views"):
        blob = paths[key].read_bytes()
        assert blob[:8] == PNG_MAGIC and len(blob) > 5_000


def test_write_report_refuses_overwrite_and_skips_missing_figures(tmp_path: Path) -> None:
    write_report(tmp_path, _run(), {"runs": 1})
    with pytest.raises(FileExistsError, match=str(tmp_path / "results.json")):
        write_report(tmp_path, _run(), {"runs": 1})
    only_pred = [r for r in _run() if r["metric"].startswith("pred_loss")]
    paths = write_report(tmp_path, only_pred, {"runs": 2}, overwrite=True, title="T")
    assert set(paths) == {"results", "report"}
    assert not (tmp_path / "top1_vs_views.png").exists()  # stale figure dropped on overwrite
    md = paths["report"].read_text()
    assert md.startswith("# T\n") and ".png" not in md
    assert json.loads(paths["results"].read_text())["meta"] == {"runs": 2}


def test_write_report_non_finite_values_become_null(tmp_path: Path) -> None:
    rows = [_m("pathint_r2", "trained", 2, 0, float("nan")), _m("pathint_r2", "trained", 2, 1, 0.5)]
    paths = write_report(tmp_path, rows, {})
    text = paths["results"].read_text()
    assert "NaN" not in text
    data = json.loads(text)
    assert data["measurements"][0]["value"] is None
    assert summarise(data["measurements"])[0]["n"] == 2  # null reloads as NaN


# ----------------------------------------------------------------------------- compare

def test_compare_columns_and_values(tmp_path: Path) -> None:
    write_report(tmp_path / "b", _run(shift=0.05), {})
    md = compare({"base": _run(), "bigger": tmp_path / "b", "file": tmp_path / "b" / "results.json"})
    header = next(ln for ln in md.splitlines() if ln.startswith("| metric"))
    assert header == "| metric | M | base | bigger | file | random_init (base) |"
    row = next(ln for ln in md.splitlines() if ln.startswith("| `top1_z_agg` | 4 |"))
    assert row == "| `top1_z_agg` | 4 | 0.810 ± 0.010 | 0.860 ± 0.010 | 0.860 ± 0.010 | 0.310 ± 0.010 |"
    assert "| `pathint_r2_no_vision` | 2 |" in md and "mean ± std over 3 seeds" in md
    with pytest.raises(ValueError, match="reports"):
        compare({})
    with pytest.raises(ValueError, match="no results file"):
        compare({"missing": tmp_path / "nothing"})


# ----------------------------------------------------------------------------- claims

def _holds(claims: list[dict]) -> list[bool | None]:
    return [c["holds"] for c in claims]


def test_check_claims_all_hold_on_a_good_run() -> None:
    claims = check_claims(summarise(_run()))
    assert len(claims) == 6 and _holds(claims) == [True] * 6
    assert all(set(c) == {"claim", "holds", "detail"} and c["detail"] for c in claims)


def test_check_claims_false_cases() -> None:
    rows = _run()
    for r in rows:
        if r["subject"] == "trained" and r["metric"] == "top1_z_agg" and r["m"] == 4:
            r["value"] = 0.32 + 0.05 * r["seed"]  # barely above random_init, noisy; below M=1 and colour_hist
        if r["metric"] == "pred_loss_true_action":
            r["value"] = 0.9
        if r["metric"] == "pathint_r2_no_action" and r["m"] == 2:
            r["value"] = 0.99
    assert _holds(check_claims(rows)) == [False, True, False, False, False, False]


def test_check_claims_none_when_data_missing() -> None:
    claims = check_claims([_m("top1_z_agg", "chance", 2, 0, 0.5)])
    assert _holds(claims) == [None] * 6
    assert "missing" in claims[0]["detail"]
    # floors measured without M stand in for M=4; equivariance without m is used when m=2 is absent
    rows = [_m("top1_z_agg", "trained", 4, s, 0.9 + d) for s, d in ((0, 0.0), (1, 0.01))]
    rows += [_m("top1_z_agg", "random_init", None, s, 0.2 + d) for s, d in ((0, 0.0), (1, 0.01))]
    rows += [_m("equiv_r2_uniform", "trained", None, s, 0.6 + d) for s, d in ((0, 0.0), (1, 0.01))]
    rows += [_m("equiv_r2_uniform", "random_init", None, s, 0.1 + d) for s, d in ((0, 0.0), (1, 0.01))]
    assert _holds(check_claims(rows))[:2] == [True, True]
    one_seed = check_claims([r for r in rows if r["seed"] == 0])  # one seed has no spread: undecided
    assert _holds(one_seed)[:2] == [None, None] and "one seed" in one_seed[0]["detail"]


def test_check_claims_per_family() -> None:
    """No class claims without labels; dead reckoning only where it is inexact for positions;
    a rotation claim for the rotation family."""
    worlds = [dict(r, value=0.8 + 0.01 * r["seed"]) if r["subject"] == "dead_reckoning" else r
              for r in _run() if not r["metric"].startswith("top1")]
    claims = check_claims(worlds)
    keys = ("equiv_r2_uniform", "shuffled", "pathint_r2_no_action", "dead_reckoning")
    assert len(claims) == 4 and all(k in c["claim"] for k, c in zip(keys, claims))
    assert _holds(claims) == [True] * 4 and "M=4" in claims[3]["claim"]
    worse = [dict(r, value=0.95) if r["metric"] == "pathint_r2" and r["subject"] == "dead_reckoning" else r
             for r in worlds]
    assert check_claims(worse)[3]["holds"] is False
    rot = [_m("rot_r2_absolute", s, 1, seed, v + 0.01 * seed) for seed in (0, 1, 2)
           for s, v in (("trained", 0.6), ("random_init", 0.2), ("raw_pixels", 0.1))]
    inexact = [dict(r, value=0.5) if r["subject"] == "dead_reckoning" else r for r in _run()]
    claims = check_claims(inexact + rot)  # rotations: no dead-reckoning claim even where it is inexact
    assert len(claims) == 7 and "rot_r2_absolute" in claims[6]["claim"] and claims[6]["holds"] is True
    assert not any("dead_reckoning" in c["claim"] for c in claims)
    low = [dict(r, value=0.15) if r["subject"] == "trained" else r for r in rot]
    assert check_claims(_run() + low)[6]["holds"] is False
    one_seed = check_claims([r for r in _run() + rot if r["seed"] == 0])
    assert one_seed[6]["holds"] is None and "one seed" in one_seed[6]["detail"]


def test_check_ablation_paired_and_unpaired() -> None:
    with_a = _run()
    without = [dict(r, value=r["value"] - 0.3) if r["metric"] == "equiv_r2_uniform" else r for r in _run()]
    out = check_ablation(summarise(with_a), summarise(without))
    assert out["holds"] is True and "paired diff 0.300 ± 0.000 over 3 seeds" in out["detail"]
    mixed = [dict(r, value=r["value"] + (0.5 if r["seed"] == 1 else 0.0))
             if r["metric"] == "equiv_r2_uniform" and r["subject"] == "trained" else r for r in _run()]
    out = check_ablation(with_a, mixed)  # seed 1: ablation better
    assert out["holds"] is False and "not all paired diffs > 0" in out["detail"]
    other_seeds = [dict(r, value=r["value"] - 0.3) for r in _run(seeds=(5, 6, 7))]
    out = check_ablation(with_a, other_seeds)
    assert out["holds"] is True and "unpaired" in out["detail"]
    assert check_ablation(with_a, [])["holds"] is None


def test_ablation_claim_of_a_metric_of_several_ms_is_at_the_largest_m() -> None:
    """``pathint_r2_odometry`` (M = 1, 2, 4, 8): paired by seed at M = 8, the longest path."""
    def rows(gap_at_8: float, gap_else: float) -> list[dict]:
        return [_m("pathint_r2_odometry", "trained", m, seed, 0.9 + 0.001 * seed + (gap_at_8 if m == 8 else gap_else))
                for seed in (0, 1, 2) for m in (1, 2, 4, 8)]

    out = check_ablation(rows(0.02, -0.05), rows(0.0, 0.0), "pathint_r2_odometry")
    assert "at M=8" in out["claim"] and out["holds"] is True and "paired diff 0.020" in out["detail"]
    assert check_ablation(rows(-0.01, 0.05), rows(0.0, 0.0), "pathint_r2_odometry")["holds"] is False
    # the equivariance claim keeps its views 0 -> 1 (M = 2) and its wording
    assert check_ablation(_run(), _run())["claim"] == ("action-conditioned beats the no-action ablation on "
                                                       "equiv_r2_uniform (trained)")


def test_format_claims_marks() -> None:
    text = format_claims([{"claim": "a", "holds": True, "detail": "x"}, {"claim": "b", "holds": False, "detail": "y"},
                          {"claim": "c", "holds": None, "detail": "z"}])
    assert text.splitlines() == ["- ✓ a — x", "- ✗ b — y", "- – c — z"]


def test_relative_loss_claims_are_paired_by_seed() -> None:
    """True-action loss vs shuffled / copy-last: per-seed relative reductions, scale-free."""
    def rows(metric: str, values: list[float]) -> list[dict]:
        return [{"metric": metric, "subject": "trained", "m": None, "seed": s, "value": v} for s, v in enumerate(values)]

    # losses whose scale differs threefold between seeds, the true action always ~58% below shuffled
    meas = (rows("pred_loss_true_action", [0.019, 0.056, 0.035]) + rows("pred_loss_shuffled_action", [0.043, 0.132, 0.092])
            + rows("pred_loss_copy_last", [0.024, 0.074, 0.051]))
    claims = {c["claim"]: c for c in check_claims(summarise(meas))}
    shuffled = next(c for k, c in claims.items() if "lower than with the shuffled action in every seed" in k)
    copy = next(c for k, c in claims.items() if "lower than with the copy-last in every seed" in k)
    assert shuffled["holds"] is True and "56%" in shuffled["detail"]
    assert copy["holds"] is True
    unpaired = next(c for k, c in claims.items() if k.startswith("prediction loss with the true action below the shuffled"))
    assert unpaired["holds"] is False  # the unpaired 2-std rule cannot see it
    worse = rows("pred_loss_true_action", [0.019, 0.056, 0.035]) + rows("pred_loss_shuffled_action", [0.043, 0.060, 0.092])
    claim = next(c for c in check_claims(summarise(worse)) if "shuffled action in every seed" in c["claim"])
    assert claim["holds"] is False  # one seed only 7% lower
    one = rows("pred_loss_true_action", [0.02]) + rows("pred_loss_shuffled_action", [0.04])
    claim = next(c for c in check_claims(summarise(one)) if "shuffled action in every seed" in c["claim"])
    assert claim["holds"] is None
