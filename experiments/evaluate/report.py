"""Write an evaluation's report (``results.json``, ``report.md``, figures); the one import of its parts.

The parts: :mod:`~experiments.evaluate.metric_registry` (every metric and subject, their
descriptions), :mod:`~experiments.evaluate.tables` (summary rows, the Markdown tables, runs
compared), :mod:`~experiments.evaluate.claims` (the claims, a table of specs) and
:mod:`~experiments.evaluate.figures`. One report serves every world: class rows and claims appear
only where the data has labels (top-1 rows), the 3D-rotation family (``rot_r2_absolute`` rows) gets
its own metric wording (:data:`ROTATION_DESCRIPTIONS`) and claim, and the dead-reckoning claim only
for positions whose dead reckoning is not already exact (noisy self-motion).
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any, Mapping, Sequence

from experiments.evaluate.claims import EXACT_R2, check_ablation, check_claims, format_claims
from experiments.evaluate.figures import figures
from experiments.evaluate.metric_registry import (METRIC_DESCRIPTIONS, ROTATION_DESCRIPTIONS, SUBJECT_DESCRIPTIONS,
                                                  is_rotation, metric_descriptions)
from experiments.evaluate.tables import Measurement, _validate, compare, markdown_table, summarise

__all__ = ["METRIC_DESCRIPTIONS", "ROTATION_DESCRIPTIONS", "SUBJECT_DESCRIPTIONS", "summarise", "markdown_table",
           "write_report", "compare", "check_claims", "check_ablation", "format_claims", "is_rotation",
           "metric_descriptions", "EXACT_R2"]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` onto ``path`` atomically (``envs.storage.files.atomic_write``: unique temp, fsync, rename)."""
    from envs.storage.files import atomic_write

    atomic_write(path, lambda fh: fh.write(data))


def _jsonable(obj: Any) -> Any:
    """Non-finite floats become null (strict JSON); tuples lists; Paths and others str."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return _jsonable(float(obj))
    return str(obj)


def _meta_lines(meta: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in meta.items():
        if key == "title":
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(v, numbers.Number) for v in value):
            lines.append(f"- **{key}**: " + ", ".join(str(v) for v in value))
        elif isinstance(value, (list, tuple)):
            lines.append(f"- **{key}**:")
            lines.extend(f"  - `{v}`" if key in ("commands", "command") else f"  - {v}" for v in value)
        elif isinstance(value, Mapping):
            lines.append(f"- **{key}**: " + ", ".join(f"{k}={v}" for k, v in value.items()))
        elif key in ("commands", "command"):
            lines.append(f"- **{key}**: `{value}`")
        else:
            lines.append(f"- **{key}**: {value}")
    return lines


def write_report(out_dir: str | Path, measurements: Sequence[Measurement], meta: Mapping[str, Any],
                 overwrite: bool = False, title: str | None = None) -> dict[str, Path]:
    """Write ``results.json``, ``report.md`` and the figures into ``out_dir`` (created if needed).

    ``results.json`` = ``{"meta", "measurements", "summary"}`` (non-finite numbers as null);
    ``report.md`` = title (``title`` or ``meta["title"]``), meta lines, table, claims and figure
    links; figures ``top1_vs_views.png`` and ``pathint_r2_vs_views.png`` are skipped when their
    data is absent. Every file is written atomically; ``results.json`` last. Raises
    FileExistsError when ``out_dir/results.json`` exists and ``overwrite`` is False.
    Returns ``{"results": path, "report": path, "<figure stem>": path, ...}``.
    """
    if not isinstance(meta, Mapping):
        raise ValueError(f"meta must be a dict, got {type(meta).__name__}")
    rows = _validate(measurements)
    out = Path(out_dir)
    results_path = out / "results.json"
    if results_path.exists() and not overwrite:
        raise FileExistsError(f"{results_path} already exists (pass overwrite=True to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    paths: dict[str, Path] = {}
    for stem, png in figures(summary).items():
        if png is not None:
            paths[stem] = out / f"{stem}.png"
            _atomic_write(paths[stem], png)
        elif (out / f"{stem}.png").exists():  # overwrite: drop a figure the new data no longer supports
            (out / f"{stem}.png").unlink()
    heading = title or str(meta.get("title", "Evaluation report"))
    md = [f"# {heading}", "", *_meta_lines(meta), "", "## Results", "", markdown_table(summary),
          "## Claims", "", format_claims(check_claims(summary))]
    if paths:  # the figures written
        md += ["## Figures", ""] + [f"![{stem}]({paths[stem].name})\n" for stem in paths]
    paths["report"] = out / "report.md"
    _atomic_write(paths["report"], ("\n".join(md).rstrip() + "\n").encode("utf-8"))
    payload = _jsonable({"meta": dict(meta), "measurements": rows, "summary": summary})
    paths["results"] = results_path
    _atomic_write(results_path, (json.dumps(payload, indent=2, allow_nan=False) + "\n").encode("utf-8"))
    return paths

