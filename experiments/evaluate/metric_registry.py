"""Every evaluation metric and subject, one entry each: a new metric is one :class:`Metric` line.

A :class:`Metric` names what the report, the headline, the claims, the figures and the
no-action ablation read: its description (with its arrow, ↑ higher is better, ↓ lower), the
function of :mod:`experiments.evaluate.metrics` that measures it, the rotation family's wording,
the families it applies to, whether it needs class labels, and its row in the headline table
(:class:`HeadlineRow`). The order of :data:`METRICS` is the order of the report's rows; unknown
metrics follow alphabetically. :data:`SUBJECTS` does the same for the columns (the model and its
floors). This module imports nothing of the project, so every layer of ``evaluate/`` may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

__all__ = ["Metric", "HeadlineRow", "Subject", "METRICS", "SUBJECTS", "ALL_FAMILIES", "METRIC_DESCRIPTIONS",
           "ROTATION_DESCRIPTIONS", "SUBJECT_DESCRIPTIONS", "ROTATION_MARKER", "ABLATION_METRIC", "metric",
           "is_rotation", "metric_descriptions", "headline_metrics", "ablation_metrics", "ablation_rows"]

ALL_FAMILIES = ("saccade", "path", "rotation")  # the names of envs.families.FAMILIES


@dataclass(frozen=True)
class HeadlineRow:
    """A metric's row(s) in the headline table (:func:`experiments.evaluate.runner.headline`).

    ``label`` (``rotation_label`` for the 3D-rotation family) may hold ``{views}`` ("4 views") and
    ``{m}``; ``at`` picks the M of the rows: ``"each"`` (every M of the metric), ``"key"`` (M = 1,
    the headline M and the largest, of those measured), ``"headline"`` (the headline M, 4 when
    evaluated), or an int. ``if_measured``: the row appears only when the summary holds the metric.
    """

    label: str
    at: str | int
    rotation_label: str | None = None
    if_measured: bool = False


@dataclass(frozen=True)
class Metric:
    """One metric: ``name`` (the ``metric`` of a measurement), ``description`` (the report's
    glossary, arrow included), ``higher_is_better``, ``computed_by`` (the function that measures it
    for a model; the floors' rows come from :func:`~experiments.evaluate.metrics.floor_measurements`), ``rotation_description`` (the 3D-rotation
    family's wording, where it differs), ``families`` it applies to, ``needs_labels`` (class
    metrics: measured only where the data has labels), ``headline`` (its row in the headline
    table, or None), ``in_ablation`` (shown for the no-action model of ``saccade-eval --ablation``)
    and ``ablation_claim`` (the ``meta`` key of its ablation claim, or None)."""

    name: str
    description: str
    higher_is_better: bool
    computed_by: str
    rotation_description: str | None = None
    families: tuple[str, ...] = ALL_FAMILIES
    needs_labels: bool = False
    headline: HeadlineRow | None = None
    in_ablation: bool = False
    ablation_claim: str | None = None


@dataclass(frozen=True)
class Subject:
    """One column of the report: the model, a random-init copy or a floor."""

    name: str
    description: str


_M = "experiments.evaluate.metrics."
_EQUIV = "R² (↑, mean over dims) of an early-stopped MLP probe (2 hidden layers of 256) decoding the "

METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("top1_z_agg", "top-1 accuracy (↑) of a linear probe on the aggregate z_AGG after M views", True,
           _M + "model_measurements", needs_labels=True, headline=HeadlineRow("z_AGG top-1, {views}", "each"),
           in_ablation=True),
    Metric("top1_encoder", "top-1 accuracy (↑) of a linear probe on the mean of the encoder outputs of M views", True,
           _M + "model_measurements", needs_labels=True,
           headline=HeadlineRow("encoder top-1 (mean of {m} views)", "headline", if_measured=True)),
    Metric("equiv_r2_uniform", "R² (↑, scikit-learn's mean over dims) of a ridge probe decoding the true relative "
           "action (displacement) between views 0 and 1 from concat(z_0, z_1)", True, _M + "model_measurements",
           rotation_description="relative rotation R² (↑, mean over the 3 dims) of a ridge probe decoding the "
           "rotation from view 0 to view 1 (rotation vector) from concat(z_0, z_1)",
           headline=HeadlineRow("equivariance R^2 (views 0 -> 1)", 2, "relative rotation R^2 (views 0 -> 1)"),
           in_ablation=True, ablation_claim="ablation_claim"),
    Metric("equiv_r2_global", "the same probe, pooled R² (↑, 1 − total SSE / total SST)", True,
           _M + "model_measurements",
           rotation_description="the same relative-rotation probe, pooled R² (↑, 1 − total SSE / total SST)",
           in_ablation=True),
    Metric("equiv_r2_mlp", _EQUIV + "same relative action from concat(z_0, z_1)", True, _M + "model_measurements",
           rotation_description="relative rotation R² (↑, mean over the 3 dims) of an early-stopped MLP probe (2 "
           "hidden layers of 256, SIE's protocol) decoding the rotation from view 0 to view 1 from concat(z_0, z_1)",
           headline=HeadlineRow("the same, MLP probe", 2), in_ablation=True, ablation_claim="ablation_claim_mlp"),
    Metric("rot_r2_absolute", "R² (↑, mean over the 9 entries) of a ridge probe decoding the absolute orientation "
           "of view 0 (its rotation matrix) from its encoder latent z_0", True, _M + "model_measurements",
           families=("rotation",), headline=HeadlineRow("absolute rotation R^2 (view 0)", 1)),
    Metric("pathint_r2", "R² (↑) of decoding the true displacement from view 0 to view M (path integration) from "
           "concat(z_AGG of views 0..M-1, a_M)", True, _M + "model_measurements",
           rotation_description="R² (↑) of decoding the relative rotation from view 0 to view M (q_M q_0⁻¹ as a "
           "flattened 3×3 matrix) from concat(z_AGG of views 0..M-1, a_M)",
           headline=HeadlineRow("path integration R^2, {views}", "key",
                                "path integration (relative rotation) R^2, {views}")),
    Metric("pathint_r2_no_action", "path-integration R² (↑) with the aggregator's action slots zeroed", True,
           _M + "model_measurements"),
    Metric("pathint_r2_no_vision", "path-integration R² (↑) with the visual latents zeroed (actions kept)", True,
           _M + "model_measurements"),
    Metric("pathint_r2_odometry", "path-integration R² (↑), vision + actions step by step: an MLP probe decodes "
           "each true step from concat(z_{t-1}, z_t, a_t) and the decoded steps of views 1..M are summed (positions "
           "with noisy reported moves only; beside dead reckoning on a_1..a_M and the same probe on raw pixels)",
           True, _M + "model_measurements", families=("saccade", "path"),
           headline=HeadlineRow("path integration R^2, vision + actions step by step, {views}", "key",
                                if_measured=True), in_ablation=True, ablation_claim="ablation_claim_odometry"),
    Metric("pred_loss_true_action", "predictor loss (↓) on the next view given the true action", False,
           "experiments.evaluate.features.extract_split"),
    Metric("pred_loss_shuffled_action", "predictor loss (↓) with actions shuffled across sequences", False,
           "experiments.evaluate.features.extract_split"),
    Metric("pred_loss_zero_action", "predictor loss (↓) with the action set to zero", False,
           "experiments.evaluate.features.extract_split"),
    Metric("pred_loss_copy_last", "loss (↓) of copying the last observed embedding as the prediction", False,
           "experiments.evaluate.features.extract_split"),
    Metric("pred_loss_mean_target", "loss (↓) of predicting the mean training target for every sequence (no "
           "context, no action: the floor a collapsed or constant target reaches)", False,
           _M + "model_measurements"),
    Metric("pred_loss_next_state", "loss (↓) of a ridge fit of the target from the next view's true state alone "
           "(position or orientation; no context)", False, _M + "model_measurements"),
    Metric("target_r2_z_agg", "share of the target latent's variance (R², pooled) a ridge fit explains from z_AGG of "
           "the context alone (no next action): high = a per-sequence constant the predictor can copy", True,
           _M + "model_measurements"),
    Metric("target_r2_next_state", "share of the target latent's variance (R², pooled) a ridge fit explains from the "
           "next view's true state alone: high = the target is a code of where the saccade lands", True,
           _M + "model_measurements"),
)}

SUBJECTS: dict[str, Subject] = {s.name: s for s in (
    Subject("trained", "the pretrained model"),
    Subject("random_init", "the same architecture at random initialisation"),
    Subject("raw_pixels", "the raw glimpse pixels (every scale area-averaged to 8x8), concatenated over views"),
    Subject("colour_hist", "hue (saturation-weighted) and brightness histograms of the glimpses, summed over views"),
    Subject("dead_reckoning", "a ridge probe on the reported actions a_1..a_M (no vision)"),
    Subject("chance", "always predicting the training set's majority class"),
    Subject("no_action_model", "the same setting trained without actions (model.condition_aggregator=false, "
            "model.condition_predictor=false), at the same seeds"),
)}

# Derived views, in the registry's order (the report's glossary and row/column order).
METRIC_DESCRIPTIONS: dict[str, str] = {k: m.description for k, m in METRICS.items()}
ROTATION_DESCRIPTIONS: dict[str, str] = {k: m.rotation_description for k, m in METRICS.items()
                                         if m.rotation_description is not None}
SUBJECT_DESCRIPTIONS: dict[str, str] = {k: s.description for k, s in SUBJECTS.items()}
ROTATION_MARKER = "rot_r2_absolute"  # a metric measured only for the 3D-rotation family
ABLATION_METRIC = "equiv_r2_uniform"  # the ablation claim every --ablation report carries


def metric(name: str) -> Metric:
    """The registered metric ``name``; a KeyError naming the registered ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; registered: {', '.join(METRICS)}") from None


def is_rotation(rows: Iterable[Mapping[str, Any]]) -> bool:
    """The rows come from the 3D-rotation family (they hold :data:`ROTATION_MARKER`)."""
    return any(r["metric"] == ROTATION_MARKER for r in rows)


def metric_descriptions(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """:data:`METRIC_DESCRIPTIONS`, reworded by :data:`ROTATION_DESCRIPTIONS` for the rotation family."""
    return {**METRIC_DESCRIPTIONS, **(ROTATION_DESCRIPTIONS if is_rotation(rows) else {})}


def headline_metrics() -> list[Metric]:
    """The metrics with a row in the headline table, in registry order."""
    return [m for m in METRICS.values() if m.headline is not None]


def ablation_metrics() -> list[Metric]:
    """The metrics that carry an ablation claim, in registry order."""
    return [m for m in METRICS.values() if m.ablation_claim is not None]


def ablation_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of the no-action model a report shows (:attr:`Metric.in_ablation`)."""
    return [r for r in rows if r["metric"] in METRICS and METRICS[r["metric"]].in_ablation]
