"""The metric registry is the one home of metric names: every metric the code measures, claims,
plots or prints is an entry, and an entry is consistent (arrow, computing function, families)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from envs.families import FAMILIES
from experiments.evaluate import claims, figures, metric_registry, runner
from experiments.evaluate.metric_registry import (ALL_FAMILIES, METRIC_DESCRIPTIONS, METRICS, ROTATION_MARKER,
                                                  SUBJECTS, Metric, ablation_rows, metric)

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"""["'`]((?:top1|equiv_r2|rot_r2|pathint_r2|pred_loss|target_r2)_[a-z_0-9]+)["'`]""")
FILE_STEMS = {"top1_vs_views", "pathint_r2_vs_views"}  # figure files, not metrics


def test_every_metric_named_in_evaluate_is_registered() -> None:
    for path in (ROOT / "experiments" / "evaluate").glob("*.py"):
        if path.name == "metric_registry.py":
            continue
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            assert name in METRICS or name in FILE_STEMS, f"{path.name}: {name!r} is not in the metric registry"


def test_every_stored_result_uses_registered_names() -> None:
    for path in (ROOT / "docs" / "results").rglob("results.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for row in data.get("measurements", []):
            assert row["metric"] in METRICS and row["subject"] in SUBJECTS, (path, row["metric"], row["subject"])


@pytest.mark.parametrize("entry", list(METRICS.values()), ids=list(METRICS))
def test_an_entry_is_consistent(entry: Metric) -> None:
    wrong = "↓" if entry.higher_is_better else "↑"  # the shares of variance (target_r2_*) state no arrow
    assert wrong not in entry.description and wrong not in (entry.rotation_description or "")
    module, _, func = entry.computed_by.rpartition(".")
    assert callable(getattr(importlib.import_module(module), func))
    assert entry.families and set(entry.families) <= set(FAMILIES) == set(ALL_FAMILIES)
    assert METRIC_DESCRIPTIONS[entry.name] == entry.description


def test_claims_and_figures_name_registered_metrics() -> None:
    for spec in claims.CLAIMS:
        assert spec.rule in claims.RULES and spec.a.metric in METRICS and spec.b.metric in METRICS
        assert spec.a.subject in SUBJECTS and spec.b.subject in SUBJECTS
    assert [stem for stem, _ in figures.FIGURES] == ["top1_vs_views", "pathint_r2_vs_views"]
    assert set(runner._HEADLINE_SUBJECTS) <= set(SUBJECTS)
    assert metric(ROTATION_MARKER).families == ("rotation",)


def test_unknown_metric_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="top1_z_agg"):
        metric_registry.metric("top2")


def test_ablation_rows_are_the_flagged_metrics() -> None:
    rows = [{"metric": k} for k in (*METRICS, "unregistered")]
    assert [r["metric"] for r in ablation_rows(rows)] == ["top1_z_agg", "equiv_r2_uniform", "equiv_r2_global",
                                                          "equiv_r2_mlp", "pathint_r2_odometry"]
