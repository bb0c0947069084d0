"""Smoke test of the vector-env benchmark's measurement function (no ap_gym, no network)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym

from experiments.benchmarks.bench_vector import measure, write_json


def test_measure_gives_a_positive_finite_rate() -> None:
    vec = gym.make_vec("envs:PathIntegration-Scenes-v0", num_envs=2)
    try:
        median, rates = measure(vec, steps=5, warmup=2, repeats=2)
    finally:
        vec.close()
    assert len(rates) == 2
    assert math.isfinite(median) and median > 0
    assert all(math.isfinite(r) and r > 0 for r in rates)


def test_write_json_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out" / "bench.json"
    write_json(path, {"a": 1.5})
    assert json.loads(path.read_text()) == {"a": 1.5}
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]
