"""The SB3 study (experiments.rl.sb3_study) runs end to end on a tiny budget; its baselines behave as designed."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")


def test_tiny_study_writes_results_table_and_curves(tmp_path):
    from experiments.rl.sb3_study import cli

    out = tmp_path / "rl"
    results = cli(["--tasks", "home", "--seeds", "0", "--steps", "128", "--eval-every", "64", "--eval-episodes", "3",
                   "--n-envs", "2", "--out", str(out)])
    saved = json.loads((out / "results.json").read_text())
    rows = saved["tasks"]["home"]
    assert set(rows) == {"random", "stand_still", "dead_reckoning", "ppo", "recurrent_ppo"}
    assert [p["steps"] for p in rows["ppo"]["0"]] == [0, 64, 128]
    assert rows["stand_still"]["0"][0]["return"] == 0.0
    assert rows["dead_reckoning"]["0"][0]["return"] > rows["random"]["0"][0]["return"]
    assert "| dead_reckoning |" in (out / "README.md").read_text() and (out / "curves.png").stat().st_size > 0
    assert np.isfinite(results["wall_s"])


def test_bad_budget_is_a_usage_error(tmp_path):
    from experiments.rl.sb3_study import cli

    with pytest.raises(SystemExit) as err:
        cli(["--steps", "0", "--out", str(tmp_path)])
    assert err.value.code == 2
