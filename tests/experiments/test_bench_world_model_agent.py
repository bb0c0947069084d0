"""Smoke test of the world-model agent benchmark at tiny sizes (no timing asserted)."""

from __future__ import annotations

import math
from pathlib import Path

from experiments.benchmarks.bench_world_model_agent import run, table


def test_bench_world_model_agent_runs_at_tiny_sizes(tmp_path: Path) -> None:
    kwargs = dict(glimpse_size=8, scales=(1, 2), n_train=8, n_test=4, style="simple", max_objects=1, ior_radius=4,
                  max_saccades=2, root=str(tmp_path))
    results = run("Saccade-Scenes-v0", kwargs, rows=2, k=3, steps=2, repeats=1)
    assert [r["mode"] for r in results] == ["single"] * 5 + ["batched"] * 5
    assert all(math.isfinite(r["us_per_step"]) and r["us_per_step"] > 0 for r in results)
    assert [r["ratio"] for r in results if r["agent"] == "saliency-IoR"] == [1.0, 1.0]
    assert "world model, entropy, K=3" in table(results)
