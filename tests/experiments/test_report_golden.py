"""Stored reports come out unchanged: ``report.md`` and the headline regenerated from three
``docs/results/*/results.json`` equal the text the code wrote before the report was split into
tables, claims and figures (``report_golden/``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.evaluate.report import summarise, write_report
from experiments.evaluate.runner import headline

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("report_golden")
RUNS = ("quickstart", "rotation_body", "pathint_last")


def _results(name: str) -> dict:
    return json.loads((ROOT / "docs" / "results" / name / "results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", RUNS)
def test_report_from_stored_results_is_unchanged(name: str, tmp_path: Path) -> None:
    data = _results(name)
    paths = write_report(tmp_path, data["measurements"], data["meta"])
    assert paths["report"].read_text(encoding="utf-8") == (GOLDEN / f"{name}.md").read_text(encoding="utf-8")
    figures = {stem for stem in paths if stem not in ("report", "results")}
    assert figures == {line[2:line.index("]")] for line in (GOLDEN / f"{name}.md").read_text().splitlines()
                       if line.startswith("![")}


@pytest.mark.parametrize("name", RUNS)
def test_headline_from_stored_results_is_unchanged(name: str) -> None:
    text = headline(summarise(_results(name)["measurements"]), 4, "pol") + "\n"
    assert text == (GOLDEN / f"{name}.headline.txt").read_text(encoding="utf-8")
