"""The claims of an evaluation report, as a table: one :class:`ClaimSpec` per claim, one function
(:func:`check_claims`) evaluates them all.

A claim compares two sides (:class:`Side`: metric, subject, M) by a rule of :data:`RULES`; "a
beats b" follows a's arrow in :mod:`experiments.evaluate.metric_registry` (higher or lower is
better). Rules: ``margin`` (the difference of the means > 2× the larger std), ``above`` (a's mean
beyond b's), ``per_m`` (a beats b at every common M, subject "trained"), ``relative`` (paired by
seed: a's loss lower than b's by more than ``at_least`` in every seed, the mean of the relative
gaps > 2× their std) and ``beats_dead_reckoning``. Each claim returns ``{"claim", "holds",
"detail"}``, ``holds`` None where data is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from experiments.evaluate.metric_registry import ABLATION_METRIC, METRICS, ROTATION_MARKER
from experiments.evaluate.metric_registry import metric as registered
from experiments.evaluate.tables import _as_summary, _fmt, _m_key, _mean_std, paired_differences

__all__ = ["Side", "ClaimSpec", "CLAIMS", "RULES", "EXACT_R2", "check_claims", "check_ablation", "format_claims"]

EXACT_R2 = 0.999  # a dead-reckoning R² at least this high leaves vision nothing to add
M_EQUIV = "equiv"  # a Side's M: 2 where "trained" has equiv_r2_uniform at M=2, else None

Index = Mapping[tuple[str, str, "int | None"], Mapping[str, Any]]
Claim = dict[str, Any]


@dataclass(frozen=True)
class Side:
    """One side of a claim: ``metric`` of ``subject`` at ``m`` (an int, None or :data:`M_EQUIV`),
    named ``label`` in the detail; ``fallback_none``: a row measured without M stands in."""

    metric: str
    subject: str = "trained"
    m: int | str | None = None
    label: str = "trained"
    fallback_none: bool = False


@dataclass(frozen=True)
class ClaimSpec:
    """One claim: its ``text``, the ``rule`` (a key of :data:`RULES`) comparing side ``a`` with side
    ``b``, ``when`` it applies (``"always"``, ``"labeled"``: the data has class labels,
    ``"rotation"`` / ``"position"``: the 3D-rotation family or the others), ``needs`` (the sides,
    ``"a"`` / ``"b"``, that must be measured for the claim to appear at all), ``at_least`` (the
    ``relative`` rule's smallest gap) and ``skip_m1`` (``per_m``: leave out M=1 when other Ms exist)."""

    text: str
    rule: str
    a: Side
    b: Side
    when: str = "always"
    needs: str = ""
    at_least: float = 0.0
    skip_m1: bool = False


def _index(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, int | None], Mapping[str, Any]]:
    return {(r["metric"], r["subject"], r["m"]): r for r in rows}


def _get(idx: Index, metric: str, subject: str, m: int | None,
         fallback_none: bool = False) -> Mapping[str, Any] | None:
    row = idx.get((metric, subject, m))
    if row is None and fallback_none:
        row = idx.get((metric, subject, None))
    return row


def _equiv_m(idx: Index, subject: str) -> int | None:
    return 2 if (ABLATION_METRIC, subject, 2) in idx else None


def _side(idx: Index, side: Side) -> Mapping[str, Any] | None:
    m = _equiv_m(idx, "trained") if side.m == M_EQUIV else side.m
    return _get(idx, side.metric, side.subject, m, side.fallback_none)


def _finite(*rows: Mapping[str, Any]) -> bool:
    return all(math.isfinite(r["mean"]) and math.isfinite(r["std"]) for r in rows)


def _ms(row: Mapping[str, Any]) -> str:
    return _mean_std(row)


def _claim(text: str, holds: bool | None, detail: str) -> Claim:
    return {"claim": text, "holds": holds, "detail": detail}


def _margin_claim(text: str, a: Mapping | None, b: Mapping | None, name_a: str, name_b: str) -> Claim:
    """holds iff mean(a) - mean(b) > 2 * max(std(a), std(b))."""
    if a is None or b is None:
        missing = [n for n, r in ((name_a, a), (name_b, b)) if r is None]
        return _claim(text, None, f"missing: {', '.join(missing)}")
    if not _finite(a, b):
        return _claim(text, None, f"non-finite: {name_a} {_ms(a)}, {name_b} {_ms(b)}")
    margin, need = a["mean"] - b["mean"], 2.0 * max(a["std"], b["std"])
    if min(a.get("n", 2), b.get("n", 2)) < 2:  # a spread needs seeds: one seed decides nothing
        return _claim(text, None, f"{name_a} {_ms(a)} vs {name_b} {_ms(b)}: margin {_fmt(margin)}; "
                                  f"one seed, no spread to compare it with (run several seeds)")
    return _claim(text, bool(margin > need),
                  f"{name_a} {_ms(a)} vs {name_b} {_ms(b)}: margin {_fmt(margin)} "
                  f"{'>' if margin > need else '≤'} 2×std {_fmt(need)}")


def _higher_is_better(name: str) -> bool:
    return registered(name).higher_is_better


def _margin_rule(spec: ClaimSpec, idx: Index) -> Claim:
    """a beats b by more than 2× the larger std (the larger mean first in the detail)."""
    a, b = _side(idx, spec.a), _side(idx, spec.b)
    if _higher_is_better(spec.a.metric):
        return _margin_claim(spec.text, a, b, spec.a.label, spec.b.label)
    return _margin_claim(spec.text, b, a, spec.b.label, spec.a.label)


def _above_rule(spec: ClaimSpec, idx: Index) -> Claim:
    """a's mean beyond b's (no spread asked)."""
    a, b = _side(idx, spec.a), _side(idx, spec.b)
    if a is None or b is None:
        return _claim(spec.text, None, "missing: " + ", ".join(s.label for s, r in ((spec.a, a), (spec.b, b))
                                                                 if r is None))
    if not _finite(a, b):
        return _claim(spec.text, None, "non-finite values")
    beyond = a["mean"] > b["mean"] if _higher_is_better(spec.a.metric) else a["mean"] < b["mean"]
    return _claim(spec.text, bool(beyond), f"{spec.a.label} {_ms(a)} vs {spec.b.label} {_ms(b)}")


def _per_m_rule(spec: ClaimSpec, idx: Index) -> Claim:
    """a's metric beats b's at every M both have for "trained"."""
    better, worse, text = spec.a.metric, spec.b.metric, spec.text
    ms = sorted({k[2] for k in idx if k[0] == better and k[1] == "trained"}
                & {k[2] for k in idx if k[0] == worse and k[1] == "trained"}, key=_m_key)
    if not ms:
        return _claim(text, None, f"missing: {better} and {worse} of trained at a common M")
    parts, results = [], []
    if spec.skip_m1 and len(ms) > 1:  # M=1: no action slot in the aggregator to ablate
        ms = [m for m in ms if m != 1]
    lower_is_better = not _higher_is_better(better)
    for m in ms:
        a, b = idx[(better, "trained", m)], idx[(worse, "trained", m)]
        if not _finite(a, b):
            return _claim(text, None, f"non-finite at M={m}")
        ok = a["mean"] < b["mean"] if lower_is_better else a["mean"] > b["mean"]
        results.append(ok)
        parts.append(f"M={'–' if m is None else m}: {_fmt(a['mean'])} vs {_fmt(b['mean'])}")
    return _claim(text, all(results), "; ".join(parts))


def _relative_rule(spec: ClaimSpec, idx: Index) -> Claim:
    """a's loss lower than b's in every seed by more than ``at_least`` (:func:`_relative_claim`)."""
    if _higher_is_better(spec.a.metric):
        raise ValueError(f"the relative rule compares losses; {spec.a.metric} is higher-is-better")
    return _relative_claim(spec.text, _side(idx, spec.b), _side(idx, spec.a), spec.at_least)


def _dead_reckoning_rule(spec: ClaimSpec, idx: Index) -> Claim | None:
    """a (trained pathint_r2) beats b (dead_reckoning) at the largest common M, where dead reckoning
    is not exact (noisy self-motion). None where it is exact (noise-free displacements: nothing can
    beat summed actions); the rotation family is left out by ``when`` (a linear read-out of
    rotation vectors is no information limit: composing the noise-free actions is exact)."""
    a_key, b_key = (spec.a.metric, spec.a.subject), (spec.b.metric, spec.b.subject)
    ms = sorted({k[2] for k in idx if k[:2] == a_key and k[2] is not None}
                & {k[2] for k in idx if k[:2] == b_key and k[2] is not None})
    if not ms:
        return None
    m = ms[-1]
    a, b = idx[(*a_key, m)], idx[(*b_key, m)]
    if math.isfinite(b["mean"]) and b["mean"] >= EXACT_R2:
        return None
    return _margin_claim(spec.text.format(m=m), a, b, spec.a.label, spec.b.label)


RULES: dict[str, Callable[[ClaimSpec, Index], "Claim | None"]] = {
    "margin": _margin_rule, "above": _above_rule, "per_m": _per_m_rule, "relative": _relative_rule,
    "beats_dead_reckoning": _dead_reckoning_rule}

_MARGIN = "(margin > 2× the larger std)"
_TRUE_LOSS = Side("pred_loss_true_action", label="true action")
_LOSS_FLOORS = (("pred_loss_shuffled_action", "shuffled action"), ("pred_loss_mean_target", "mean target"),
                ("pred_loss_copy_last", "copy-last"))

# The report's claims, in the order it lists them.
CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec(f"trained beats random_init on top1_z_agg at M=4 {_MARGIN}", "margin", Side("top1_z_agg", m=4),
              Side("top1_z_agg", "random_init", 4, "random_init", True), when="labeled"),
    ClaimSpec(f"trained beats random_init on equiv_r2_uniform {_MARGIN}", "margin",
              Side("equiv_r2_uniform", m=M_EQUIV),
              Side("equiv_r2_uniform", "random_init", M_EQUIV, "random_init", True)),
    ClaimSpec(f"trained beats random_init on equiv_r2_mlp {_MARGIN}", "margin", Side("equiv_r2_mlp", m=M_EQUIV),
              Side("equiv_r2_mlp", "random_init", M_EQUIV, "random_init", True), needs="a"),
    ClaimSpec("trained top1_z_agg is higher at M=4 than at M=1", "above", Side("top1_z_agg", m=4, label="M=4"),
              Side("top1_z_agg", m=1, label="M=1"), when="labeled"),
    ClaimSpec("prediction loss with the true action < with shuffled actions (trained)", "per_m", _TRUE_LOSS,
              Side("pred_loss_shuffled_action")),
    *(ClaimSpec(f"prediction loss with the true action below the {name} loss (trained; margin > 2× the larger std)",
                "margin", _TRUE_LOSS, Side(loss, label=name), needs="b") for loss, name in _LOSS_FLOORS),
    *(ClaimSpec(f"prediction loss with the true action lower than with the {name} in every seed (by more than "
                f"{at_least:.0%}; paired, mean > 2× std)", "relative", _TRUE_LOSS, Side(loss, label=name),
                needs="ab", at_least=at_least)
      for loss, name, at_least in (("pred_loss_shuffled_action", "shuffled action", 0.2),
                                   ("pred_loss_copy_last", "copy-last", 0.0))),
    ClaimSpec("pathint_r2 > pathint_r2_no_action at every M (trained)", "per_m", Side("pathint_r2"),
              Side("pathint_r2_no_action"), skip_m1=True),
    ClaimSpec("trained top1_z_agg at M=4 is above the colour_hist baseline", "above", Side("top1_z_agg", m=4),
              Side("top1_z_agg", "colour_hist", 4, "colour_hist", True), when="labeled"),
    ClaimSpec(f"trained beats random_init on {ROTATION_MARKER} {_MARGIN}", "margin", Side(ROTATION_MARKER, m=1),
              Side(ROTATION_MARKER, "random_init", 1, "random_init", True), when="rotation"),
    ClaimSpec("trained beats dead_reckoning on pathint_r2 at M={m}: vision adds to the reported actions "
              f"{_MARGIN}", "beats_dead_reckoning", Side("pathint_r2"),
              Side("pathint_r2", "dead_reckoning", label="dead_reckoning"), when="position"),
    ClaimSpec("trained, vision + actions step by step, beats dead_reckoning on path integration at M={m} "
              f"{_MARGIN}", "beats_dead_reckoning", Side("pathint_r2_odometry", label="trained, step by step"),
              Side("pathint_r2", "dead_reckoning", label="dead_reckoning"), when="position"),
)


def _applies(spec: ClaimSpec, idx: Index, labeled: bool, rotation: bool) -> bool:
    when = {"always": True, "labeled": labeled, "rotation": rotation, "position": not rotation}[spec.when]
    return when and all(_side(idx, getattr(spec, s)) is not None for s in spec.needs)


def check_claims(summary: Sequence[Mapping[str, Any]], claims: Sequence[ClaimSpec] = CLAIMS) -> list[Claim]:
    """Evaluate ``claims`` (default: the report's, :data:`CLAIMS`) on one run's summary
    (measurements are summarised first).

    Returns ``[{"claim": str, "holds": bool | None, "detail": str}]``, None where data is missing.
    Floors (random_init, colour_hist) measured without M (m=None) stand in for every M. The claims
    on class accuracy are left out when the summary has no class rows (data without labels); a
    rotation claim (rot_r2_absolute, trained vs random_init) is added for the 3D-rotation family
    and a dead-reckoning claim for positions where dead reckoning is not exact (R² <
    :data:`EXACT_R2`: noisy self-motion, where vision must help).
    """
    idx = _index(_as_summary(summary))
    labeled = any(k[0] in METRICS and METRICS[k[0]].needs_labels for k in idx)
    rotation = any(k[0] == ROTATION_MARKER for k in idx)
    out = []
    for spec in claims:
        if _applies(spec, idx, labeled, rotation):
            claim = RULES[spec.rule](spec, idx)
            if claim is not None:
                out.append(claim)
    return out


def _relative_claim(text: str, worse: Mapping | None, better: Mapping | None, at_least: float) -> dict[str, Any]:
    """Paired by seed: holds iff ``1 - better / worse`` is > ``at_least`` in every seed and its mean is > 2×
    its std (a scale-free test: the loss scale of a latent space differs between seeds)."""
    if worse is None or better is None or not _paired(worse, better):
        return _claim(text, None, "needs the same seeds in both rows")
    vw, vb = dict(zip(worse["seeds"], worse["values"])), dict(zip(better["seeds"], better["values"]))
    rel = np.array([1.0 - vb[k] / vw[k] if vw[k] else np.nan for k in sorted(vw)], dtype=float)
    if len(rel) < 2 or not np.isfinite(rel).all():
        return _claim(text, None, f"{len(rel)} seed(s) or non-finite ratios: one seed decides nothing")
    mean, std = float(rel.mean()), float(rel.std(ddof=1))
    holds = bool((rel > at_least).all() and mean > 2 * std)
    return _claim(text, holds, f"per seed {', '.join(f'{r:.0%}' for r in rel)} lower; mean {mean:.1%} ± {std:.1%}")


def _paired(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Both rows carry the same set of distinct seeds, one value each."""
    sa, sb = list(a.get("seeds") or []), list(b.get("seeds") or [])
    return (bool(sa) and len(set(sa)) == len(sa) and sorted(sa) == sorted(sb)
            and len(sa) == len(a.get("values") or []) and len(sb) == len(b.get("values") or []))


def _ablation_m(iw: Index, io_: Index, metric: str) -> int | None:
    """The M of an ablation claim: 2 for the equivariance probes (measured at views 0 -> 1), the
    largest M both runs measured for a metric of several Ms (path integration), else None."""
    ms = ({k[2] for k in iw if k[:2] == (metric, "trained") and k[2] is not None}
          & {k[2] for k in io_ if k[:2] == (metric, "trained") and k[2] is not None})
    if len(ms) > 1:
        return max(ms)
    return _equiv_m(iw, "trained")


def check_ablation(summary_with: Sequence[Mapping[str, Any]],
                   summary_without: Sequence[Mapping[str, Any]], metric: str = ABLATION_METRIC) -> dict[str, Any]:
    """Claim: the action-conditioned run beats the no-action ablation on ``metric`` (trained; the
    equivariance probes ``equiv_r2_uniform`` or ``equiv_r2_mlp`` at M = 2, a metric of several Ms
    such as ``pathint_r2_odometry`` at the largest M both measured).

    With the same seeds in both runs, per-seed differences are used: holds iff every paired
    difference is > 0 (detail: mean diff ± sample std, and whether mean > 2×std). Otherwise the
    unpaired rule: mean difference > 2× the larger std. Returns ``{"claim", "holds", "detail"}``.
    """
    iw, io_ = _index(_as_summary(summary_with)), _index(_as_summary(summary_without))
    m = _ablation_m(iw, io_, metric)
    text = f"action-conditioned beats the no-action ablation on {metric}{'' if m in (None, 2) else f' at M={m}'} (trained)"
    a = _get(iw, metric, "trained", m)
    b = _get(io_, metric, "trained", m)
    if a is None or b is None or not _paired(a, b):
        out = _margin_claim(text, a, b, "with actions", "without")
        if a is not None and b is not None:
            out["detail"] += " (unpaired: seeds differ)"
        return out
    diffs = paired_differences(a, b)
    if not np.isfinite(diffs).all():
        return _claim(text, None, "non-finite paired values")
    mean = float(diffs.mean())
    std = float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0
    all_pos = bool((diffs > 0).all())
    return _claim(text, all_pos,
                  f"paired diff {_mean_std({'mean': mean, 'std': std})} over {len(diffs)} seeds; "
                  f"{'all' if all_pos else 'not all'} paired diffs > 0; "
                  f"mean {'>' if mean > 2 * std else '≤'} 2×std")


def format_claims(claims: Sequence[Mapping[str, Any]]) -> str:
    """Markdown bullets: ✓ holds, ✗ fails, – not enough data."""
    mark = {True: "✓", False: "✗", None: "–"}
    return "".join(f"- {mark[c['holds']]} {c['claim']} — {c['detail']}\n" for c in claims)

